"""The data-check REST API: checks (jobs) with their stored results, live near-duplicate reports, group fixes."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from webapp.api.docs import documented
from webapp.api.router import router
from webapp.api.validation import query_params
from webapp.core.errors import FieldError
from webapp.core.ids import parse_id
from webapp.datachecks import serializers as s
from webapp.datachecks.models import CheckKind, DataCheck
from webapp.datachecks.services import checks, duplicates, fixes
from webapp.datachecks.services.access import dataset_for
from webapp.datachecks.services.present import group_tiles
from webapp.datasets.models import Dataset
from webapp.datasets.serializers import DatasetFilterSerializer

answers = documented(400, 401, 403, 404)


def _version(dataset, number):
    if number is None:
        return None
    found = dataset.versions.filter(number=number).first()
    if found is None:
        raise FieldError(f"Dataset {dataset.pk} has no version {number}.", "version")
    return found


@extend_schema_view(
    list=extend_schema(parameters=[DatasetFilterSerializer],
                       responses=answers({200: s.DataCheckSerializer(many=True)})),
    retrieve=extend_schema(responses=answers({200: s.DataCheckSerializer}, 401, 403, 404)),
)
class DataCheckViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Data checks: run one as a job, read its stored counts and findings, see near-duplicates, fix a group."""

    serializer_class = s.DataCheckSerializer

    def get_queryset(self):
        rows = DataCheck.objects.filter(dataset__in=Dataset.objects.visible_to(self.request.user).values("pk"))
        if self.action == "list":
            wanted = query_params(self.request, DatasetFilterSerializer).get("dataset")
            if wanted is not None:
                rows = rows.filter(dataset=dataset_for(self.request.user, wanted))
        return rows.select_related("version").order_by("-created_at", "-id")

    @extend_schema(request=s.CheckCreateSerializer, responses=answers({202: s.DataCheckSerializer}))
    def create(self, request):
        """Queue a check: near-duplicates and leakage (hashing images that have none first) on the default queue,
        or label errors / outliers (embeddings from the newest run's model) of a version on the GPU queue. A check
        of the same kind already waiting is returned."""
        body = s.CheckCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        dataset = dataset_for(request.user, data["dataset"])
        version = _version(dataset, data.get("version"))
        if data["kind"] == CheckKind.LABELS:
            from webapp.datachecks.services.labels import start_label_check

            check = start_label_check(dataset, request.user, version)
        elif data["kind"] == CheckKind.OUTLIERS:
            from webapp.datachecks.services.outliers import start_outlier_check

            check = start_outlier_check(dataset, request.user, version)
        else:
            check = checks.start_check(dataset, request.user, threshold=data["threshold"], version=version)
        return Response(s.DataCheckSerializer(check).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(parameters=[s.ReportQuerySerializer], responses=answers({200: s.ReportSerializer}))
    @action(detail=False, methods=["get"])
    def duplicates(self, request):
        """Group a dataset's near-duplicate images at a threshold, now, from their stored hashes; say what leaks."""
        query = query_params(request, s.ReportQuerySerializer)
        dataset = dataset_for(request.user, query["dataset"])
        version = _version(dataset, query.get("version"))
        report = (duplicates.version_report(version, query["threshold"]) if version
                  else duplicates.dataset_report(dataset, query["threshold"]))
        counts = report.counts()
        groups = [{"leaks": g["leaks"],
                   "images": [{"id": img.pk, "name": str(img), "split": img.split,
                               "label": img.label.name if img.label_id else None} for img in g["images"]]}
                  for g in group_tiles(dataset, report)]
        return Response({"threshold": report.threshold, "counts": counts, "warnings": duplicates.warnings(counts),
                         "groups": groups})

    @extend_schema(request=s.FixSerializer, responses=answers({200: s.FixResultSerializer}, 400, 401, 403, 404, 409))
    @action(detail=False, methods=["post"])
    def fix(self, request):
        """Fix one group: `move` every image into one split, or `keep` one and delete the rest (soft where a version
        uses them). 409, with nothing changed, when an image was deleted or moved since you looked."""
        body = s.FixSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        dataset = dataset_for(request.user, data["dataset"])
        expected = {}
        for key, split in (data.get("expected") or {}).items():
            pk = parse_id(key)
            if pk is None:
                raise FieldError(f"“{str(key)[:20]}” is not an image id.", "expected")
            expected[pk] = split
        if "move" in data:
            done = fixes.move_group(dataset, data["images"], data["move"], expected=expected)
        else:
            done = fixes.keep_one(dataset, data["images"], data["keep"], expected=expected)
        return Response({"detail": done, "counts": duplicates.dataset_report(dataset).counts()})

    @extend_schema(request=s.SuspectActionSerializer, responses=answers({200: s.ActionResultSerializer},
                                                                        400, 401, 403, 404, 409))
    @action(detail=True, methods=["post"])
    def act(self, request, pk=None):
        """Act on one label suspect of a finished label check: `relabel` it as suggested, `keep` its label (it
        leaves the list), or `remove` it from the dataset. 409, with nothing changed, when it was removed already."""
        check = self.get_object()
        body = s.SuspectActionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if check.kind != CheckKind.LABELS or check.status != "succeeded":
            raise FieldError("Only a finished label check has suspects to act on.", status=409)
        from webapp.datachecks.services.labels import act

        done = act(check, body.validated_data["image"], body.validated_data["action"], user=request.user)
        return Response({"detail": done})


router.register("data-checks", DataCheckViewSet, basename="data-check")
