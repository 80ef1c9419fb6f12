"""A job's results: filtered for the page and the API, and written out as CSV or JSON downloads."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass

from django.db.models import Count, Q, QuerySet

from webapp.classify.models import ClassificationJob, Prediction
from webapp.core.csvsafe import line_writer


@dataclass(frozen=True)
class ResultFilter:
    """What part of a job's results to show."""

    predicted: int | None = None  # a predicted class index
    min_confidence: float | None = None
    max_confidence: float | None = None
    low: bool = False  # below the job's low-confidence threshold
    errors: bool = False  # only files that could not be classified

    @classmethod
    def from_params(cls, params) -> ResultFilter:
        """Return the filter a query string asks for (malformed numbers are ignored)."""
        return cls(predicted=_int(params.get("class")), min_confidence=_fraction(params.get("min_confidence")),
                   max_confidence=_fraction(params.get("max_confidence")),
                   low=params.get("low") in ("1", "true", "on"), errors=params.get("errors") in ("1", "true", "on"))

    def apply(self, job: ClassificationJob, rows: QuerySet) -> QuerySet:
        if self.errors:
            return rows.exclude(error="")
        if self.predicted is not None:
            rows = rows.filter(predicted_index=self.predicted)
        if self.min_confidence is not None:
            rows = rows.filter(confidence__gte=self.min_confidence)
        if self.max_confidence is not None:
            rows = rows.filter(confidence__lte=self.max_confidence)
        if self.low:
            rows = rows.filter(confidence__lt=job.low_confidence).order_by("confidence", "position")
        return rows

    @property
    def active(self) -> bool:
        return any(v not in (None, False) for v in (self.predicted, self.min_confidence, self.max_confidence,
                                                     self.low or None, self.errors or None))


def _int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _fraction(value) -> float | None:
    try:
        number = float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None
    if number is not None and not math.isfinite(number):
        return None  # "nan" and "inf" are no confidence
    if number is not None and number > 1:
        number /= 100  # "80" in a box labelled % means 0.8
    return None if number is None else min(max(number, 0.0), 1.0)


def filtered(job: ClassificationJob, flt: ResultFilter) -> QuerySet:
    """Return the job's predictions that pass `flt`, in input order (lowest confidence first for `low`)."""
    return flt.apply(job, Prediction.objects.filter(job=job).order_by("position"))


def class_counts(job: ClassificationJob) -> list[dict]:
    """Return [{index, name, count}] of predicted classes, most frequent first."""
    names = job.class_names or []
    rows = (Prediction.objects.filter(job=job, predicted_index__isnull=False).values("predicted_index")
            .annotate(n=Count("id")).order_by("-n", "predicted_index"))
    return [{"index": r["predicted_index"], "name": _name(names, r["predicted_index"]), "count": r["n"]}
            for r in rows]


def summary(job: ClassificationJob) -> dict:
    """Return counts for the results header: classified, errors, low confidence."""
    rows = Prediction.objects.filter(job=job)
    return rows.aggregate(classified=Count("id", filter=Q(error="")), failed=Count("id", filter=~Q(error="")),
                          low=Count("id", filter=Q(error="", confidence__lt=job.low_confidence)))


def _name(names: list[str], index) -> str:
    return names[index] if index is not None and 0 <= index < len(names) else ""


def named_topk(job: ClassificationJob, prediction: Prediction) -> list[dict]:
    """Return the prediction's top-k as [{index, name, probability}]."""
    return [{"index": i, "name": _name(job.class_names, i), "probability": p} for i, p in prediction.topk]


def as_dict(job: ClassificationJob, prediction: Prediction) -> dict:
    """Return one result as the JSON download and the API write it."""
    return {
        "position": prediction.position,
        "filename": prediction.name,
        "image_id": prediction.image_id,
        "predicted_class": _name(job.class_names, prediction.predicted_index) or None,
        "confidence": prediction.confidence,
        "top_k": [{"class": t["name"], "index": t["index"], "probability": t["probability"]}
                  for t in named_topk(job, prediction)],
        "true_class": _name(job.class_names, prediction.true_index) or None,
        "error": prediction.error or None,
    }


def csv_rows(job: ClassificationJob, rows: QuerySet) -> Iterator[str]:
    """Yield the CSV download line by line: filename, top-k classes and probabilities, error."""
    writer = line_writer()  # file and class names are user input: no cell may run as a spreadsheet formula
    labelled = job.version_id is not None
    header = ["filename"] + [f"{kind}_{n}" for n in range(1, job.top_k + 1) for kind in ("class", "probability")]
    yield writer.writerow(header + (["true_class"] if labelled else []) + ["error"])
    for prediction in rows.iterator(chunk_size=1000):
        cells = [prediction.name]
        top = named_topk(job, prediction)
        for n in range(job.top_k):
            cells += [top[n]["name"], f"{top[n]['probability']:.6f}"] if n < len(top) else ["", ""]
        if labelled:
            cells.append(_name(job.class_names, prediction.true_index))
        yield writer.writerow(cells + [prediction.error])


def json_chunks(job: ClassificationJob, rows: QuerySet) -> Iterator[str]:
    """Yield the JSON download in pieces: the job, then every result, without holding them all."""
    head = {"job": job.pk, "model": job.model_label, "model_ref": job.model_ref, "status": job.status,
            "classes": job.class_names, "top_k": job.top_k, "total": job.total, "errors": job.errors}
    yield json.dumps(head)[:-1] + ', "results": ['
    for n, prediction in enumerate(rows.iterator(chunk_size=1000)):
        yield ("," if n else "") + json.dumps(as_dict(job, prediction))
    yield "]}"
