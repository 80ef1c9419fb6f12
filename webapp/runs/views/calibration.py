"""Read a reliability diagram for the results page: which side of the diagonal its bars sit on, in words."""

# An average gap between accuracy and confidence smaller than this reads as "on the diagonal".
CALIBRATED_GAP = 0.02


def calibration_reading(reliability: list[dict]) -> dict | None:
    """Return the reading of the bars ("over", "under" or "calibrated") with its sentence; None without bins.

    The gap is averaged over images (bins weighted by their counts), so a lone bin of two images does not
    outvote the bins where nearly all predictions fall.
    """
    total = sum(b.get("count") or 0 for b in reliability)
    if not total:
        return None
    confidence = sum(b["confidence"] * b["count"] for b in reliability if b.get("count")) / total
    accuracy = sum(b["accuracy"] * b["count"] for b in reliability if b.get("count")) / total
    said, right = f"{confidence * 100:.0f}%", f"{accuracy * 100:.0f}%"
    if accuracy < confidence - CALIBRATED_GAP:
        return {"kind": "over", "text": (
            f"Here the bars sit mostly below the diagonal: the model is over-confident. On average it says "
            f"{said} sure and is right {right} of the time, so read its scores as higher than its accuracy.")}
    if accuracy > confidence + CALIBRATED_GAP:
        return {"kind": "under", "text": (
            f"Here the bars sit mostly above the diagonal: the model is under-confident. On average it says "
            f"{said} sure and is right {right} of the time, so its answers are better than its scores say "
            f"(label smoothing and strong augmentation often do this).")}
    return {"kind": "calibrated", "text": (
        f"Here the bars sit close to the diagonal: on average it says {said} sure and is right {right} of the "
        f"time, so its scores can be read as probabilities.")}
