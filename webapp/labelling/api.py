"""The labelling REST API: pre-label jobs, suggestions, the queue, labels with their origin, and batches
(bulk accept, grid mode) with their undo. Every change goes through the services the pages call."""

from contextlib import contextmanager

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Q
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.response import Response

from webapp.api.docs import documented
from webapp.api.router import router
from webapp.api.validation import IdField, Pages, query_params
from webapp.datasets.models import Dataset
from webapp.labelling import serializers as s
from webapp.labelling.models import LabelBatch, LabelEvent, PrelabelJob, Retrain
from webapp.labelling.services import batches, loop, prelabel, queue, suggestions
from webapp.labelling.services import label as labelling
from webapp.labelling.services.access import dataset_for

answers = documented(401, 404)


class ConflictError(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The object changed meanwhile."


@contextmanager
def service_errors():
    """Turn a service's Conflict into a JSON 409 and its ValidationError into a 400, each with `detail`."""
    try:
        yield
    except labelling.Conflict as e:
        raise ConflictError(" ".join(e.messages))
    except DjangoValidationError as e:
        raise serializers.ValidationError({"detail": " ".join(e.messages)})


def _visible(user):
    return Dataset.objects.visible_to(user).values("pk")


def _class(dataset, pk):
    found = dataset.classes.filter(pk=pk).first()
    if found is None:
        raise serializers.ValidationError({"label": ["That class is not in this dataset any more (deleted?)."]})
    return found


def _job(dataset, pk):
    with service_errors():
        job = prelabel.suggesting_job(dataset, pk)
    if job is None:
        raise serializers.ValidationError({"detail": "Run a pre-label job first: this dataset has no suggestions."})
    return job


class DatasetQuery(serializers.Serializer):
    dataset = IdField(required=False, help_text="Only this dataset's.")


@extend_schema_view(
    list=extend_schema(summary="List pre-label jobs", parameters=[DatasetQuery],
                       responses=answers({200: s.PrelabelJobSerializer(many=True)}, 400, 401, 404)),
    retrieve=extend_schema(summary="A pre-label job with its progress",
                           responses=answers({200: s.PrelabelJobSerializer})),
)
class PrelabelJobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Pre-label jobs: a model's suggestions for a dataset's unlabelled images, computed on the gpu queue."""

    queryset = PrelabelJob.objects.select_related("created_by")
    serializer_class = s.PrelabelJobSerializer
    pagination_class = Pages

    def get_queryset(self):
        rows = super().get_queryset().filter(dataset__in=_visible(self.request.user))
        if self.action == "list":
            wanted = query_params(self.request, DatasetQuery).get("dataset")
            if wanted is not None:
                rows = rows.filter(dataset=dataset_for(self.request.user, wanted))
        return rows

    @extend_schema(summary="Start a pre-label job", request=s.PrelabelCreateSerializer,
                   responses=answers({201: s.PrelabelJobSerializer}, 400, 401, 404, 409, 503))
    def create(self, request):
        """Queue a job running the model over the dataset's unlabelled images; 409 while one runs already."""
        body = s.PrelabelCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        dataset = dataset_for(request.user, body.validated_data["dataset"])
        job = prelabel.start_prelabel(dataset, request.user, body.validated_data["model"],
                                      top_k=body.validated_data["top_k"])
        return Response(s.PrelabelJobSerializer(job).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Cancel a pre-label job", request=None,
                   responses=answers({200: s.PrelabelJobSerializer}, 401, 404, 409))
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel a job that has not finished (a running one stops at its next batch); 409 once it has."""
        job = prelabel.cancel_prelabel(self.get_object())
        return Response(s.PrelabelJobSerializer(job).data)


class SuggestionViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """A pre-label job's suggestions: never labels until accepted."""

    serializer_class = s.SuggestionSerializer
    pagination_class = Pages

    @extend_schema(summary="List a dataset's suggestions, filtered and ordered", parameters=[
        s.SuggestionFilterSerializer], responses=answers({200: s.SuggestionSerializer(many=True)}, 400, 401, 404))
    def list(self, request):
        """Page through the suggestions of the dataset's newest finished pre-label job (or `job`)."""
        query = query_params(request, s.SuggestionFilterSerializer)
        dataset = dataset_for(request.user, query["dataset"])
        job = _job(dataset, query.get("job"))
        label = _class(dataset, query["label"]) if "label" in query else None
        rows = suggestions.filtered(dataset, job, label=label, min_confidence=query.get("min_confidence"),
                                    max_confidence=query.get("max_confidence"), unlabelled=query["unlabelled"],
                                    order=query["order"])
        page = self.paginate_queryset(rows)
        return self.get_paginated_response(s.SuggestionSerializer(page, many=True).data)


class OneAnswerSchema(AutoSchema):
    """Describe a `list` action that answers one object (the queue pages itself with `after`), not an array."""

    def _is_list_view(self, serializer=None):
        return False


class QueueViewSet(viewsets.GenericViewSet):
    """The labelling queue: the next images to label, in the chosen order, with their suggestions."""

    serializer_class = s.QueueSerializer
    pagination_class = None  # the queue pages itself with `after`: one answer, not DRF's page envelope
    schema = OneAnswerSchema()

    @extend_schema(summary="The next images to label", parameters=[s.QueueQuerySerializer],
                   responses=answers({200: s.QueueSerializer}, 400, 401, 404))
    def list(self, request):
        """Answer the next images of the scope after `after`, in `order`, and how many are left; `suggested`,
        `min_confidence` and `max_confidence` keep only images whose suggestion matches (the job's)."""
        query = query_params(request, s.QueueQuerySerializer)
        dataset = dataset_for(request.user, query["dataset"])
        with service_errors():
            scope = queue.scope_for(dataset, query.get("scope"), suggested=query.get("suggested"),
                                    min_confidence=query.get("min_confidence"),
                                    max_confidence=query.get("max_confidence"))
            job = prelabel.suggesting_job(dataset, query.get("job"))
            order = queue.order_for(query.get("order"), job)
            queue.check_filter(scope, job)
        images = queue.next_images(dataset, scope, after=query.get("after"), order=order, job=job)
        return Response({"images": images, "order": order, "job": job.pk if job else None,
                         "model": job.model_ref if job else None, "scope": scope.title,
                         **queue.counts(dataset, scope, job)})


@extend_schema_view(
    list=extend_schema(summary="List labels given (newest first)", parameters=[DatasetQuery],
                       responses=answers({200: s.LabelEventSerializer(many=True)}, 400, 401, 404)),
    retrieve=extend_schema(summary="One label and how it was made", responses=answers({200: s.LabelEventSerializer})),
)
class LabelViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Labels with their origin (by hand, a suggestion accepted, a bulk accept) and model; undo one."""

    queryset = LabelEvent.objects.select_related("user")
    serializer_class = s.LabelEventSerializer
    pagination_class = Pages

    def get_queryset(self):
        rows = super().get_queryset().filter(dataset__in=_visible(self.request.user))
        if self.action == "list":
            wanted = query_params(self.request, DatasetQuery).get("dataset")
            if wanted is not None:
                rows = rows.filter(dataset=dataset_for(self.request.user, wanted))
        return rows

    @extend_schema(summary="Label one image, saying how", request=s.LabelCreateSerializer,
                   responses=answers({201: s.LabelEventSerializer}, 400, 401, 404, 409))
    def create(self, request):
        """Put an image in a class if it is still as you saw it (`expected`); 409 when it changed meanwhile."""
        body = s.LabelCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        dataset = dataset_for(request.user, data["dataset"])
        with service_errors():
            event = labelling.label_image(dataset, data["image"], data["label"], expected=data.get("expected"),
                                          user=request.user, origin=data["origin"], model_ref=data["model"])
        return Response(s.LabelEventSerializer(event).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Undo a label", request=None,
                   responses=answers({200: s.LabelEventSerializer}, 401, 404, 409))
    @action(detail=True, methods=["post"])
    def undo(self, request, pk=None):
        """Put the image back in the class it had before; 409 when it was labelled again since."""
        event = self.get_object()
        with service_errors():
            labelling.undo(event.dataset, event)
        event.refresh_from_db()
        return Response(s.LabelEventSerializer(event).data)


@extend_schema_view(
    retrieve=extend_schema(summary="One batch of labels", responses=answers({200: s.LabelBatchSerializer})),
)
class BatchViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Many labels applied, and undone, as one step: bulk accept above a confidence, or grid mode's choices."""

    queryset = LabelBatch.objects.select_related("user", "dataset")
    serializer_class = s.LabelBatchSerializer

    def get_queryset(self):
        return super().get_queryset().filter(Q(dataset__in=_visible(self.request.user)))

    @extend_schema(summary="How many images a bulk accept would label, with a sample",
                   parameters=[s.BatchPreviewQuerySerializer],
                   responses=answers({200: s.BatchPreviewSerializer}, 400, 401, 404))
    @action(detail=False, methods=["get"])
    def preview(self, request):
        """Count the unlabelled images suggested as `label` at `min_confidence` or more, and show some."""
        query = query_params(request, s.BatchPreviewQuerySerializer)
        dataset = dataset_for(request.user, query["dataset"])
        job = _job(dataset, None)
        return Response(batches.preview(dataset, job, _class(dataset, query["label"]), query["min_confidence"]))

    @extend_schema(summary="Accept suggestions as one batch", request=s.BatchCreateSerializer,
                   responses=answers({201: s.LabelBatchSerializer}, 400, 401, 404, 409))
    def create(self, request):
        """Label every suggestion of `label` at `min_confidence` or more (the preview's `count`), or the
        `accept` images of a grid page (marking `reject` ones wrong): all or nothing."""
        body = s.BatchCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        dataset = dataset_for(request.user, data["dataset"])
        job, label = _job(dataset, None), _class(dataset, data["label"])
        with service_errors():
            if "min_confidence" in data:
                batch = batches.accept_above(dataset, job, label, data["min_confidence"],
                                             expected_count=data["count"], user=request.user)
            else:
                batch, _ = batches.accept_chosen(dataset, job, label, data.get("accept", []),
                                                 data.get("reject", []), user=request.user)
        if batch is None:
            return Response({"batch": None, "rejected": len(data.get("reject", []))}, status=status.HTTP_200_OK)
        return Response(s.LabelBatchSerializer(batch).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Undo a batch as one step", request=None,
                   responses=answers({200: s.BatchUndoSerializer}, 401, 404, 409))
    @action(detail=True, methods=["post"])
    def undo(self, request, pk=None):
        """Put the batch's images back to unlabelled; those labelled again since are left as they are."""
        batch = self.get_object()
        with service_errors():
            outcome = batches.undo_batch(batch.dataset, batch)
        return Response(outcome)


@extend_schema_view(
    retrieve=extend_schema(summary="A retrain and the pre-label that followed it",
                           responses=answers({200: s.RetrainSerializer})),
)
class RetrainViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Retrain from the last model: a run from the suggesting run on the new labels, then a pre-label with it."""

    queryset = Retrain.objects.select_related("run")
    serializer_class = s.RetrainSerializer

    def get_queryset(self):
        return super().get_queryset().filter(dataset__in=_visible(self.request.user))

    def retrieve(self, request, pk=None):
        """Answer the retrain; a run that has ended starts its pre-label now, even with no reaper near."""
        retrain = self.get_object()
        if loop.follow(retrain):
            retrain = self.get_object()
        return Response(s.RetrainSerializer(retrain).data)

    @extend_schema(summary="Retrain from the last model", request=s.RetrainCreateSerializer,
                   responses=answers({201: s.RetrainSerializer}, 400, 401, 404, 409, 503))
    def create(self, request):
        """Freeze the dataset and launch a run starting from the suggesting run; a pre-label follows its end."""
        body = s.RetrainCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        dataset = dataset_for(request.user, body.validated_data["dataset"])
        retrain = loop.start_retrain(dataset, request.user)
        return Response(s.RetrainSerializer(retrain).data, status=status.HTTP_201_CREATED)


router.register("labelling/prelabel-jobs", PrelabelJobViewSet, basename="labelling-prelabel-job")
router.register("labelling/suggestions", SuggestionViewSet, basename="labelling-suggestion")
router.register("labelling/queue", QueueViewSet, basename="labelling-queue")
router.register("labelling/labels", LabelViewSet, basename="labelling-label")
router.register("labelling/batches", BatchViewSet, basename="labelling-batch")
router.register("labelling/retrains", RetrainViewSet, basename="labelling-retrain")
