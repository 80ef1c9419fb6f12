"""The batch pipeline: threads decode, the model answers in batches, order and errors are kept."""

import io

import numpy as np
import pytest
import torch
from PIL import Image

from classifier.predict import predict_topk
from classifier.presets import EvalPreset
from tests import hostile_files as h
from tests.factories import colour_image, jpeg, png, tiny_model
from webapp.classify.services.decode import decode
from webapp.classify.services.pipeline import classify_stream


def direct(model, preset, data: bytes, k: int):
    """Return classifier.predict's answer for one file, decoded as training's EvalPreset does."""
    probabilities, indices = predict_topk(model, preset(Image.open(io.BytesIO(data)))[None], k=k)
    return probabilities[0].tolist(), indices[0].tolist()


@pytest.mark.parametrize("workers", [1, 3])
def test_it_answers_in_input_order_with_errors_in_place(workers):
    model, preset = tiny_model(), EvalPreset(size=16)
    files = [png(colour_image("red", seed=1)), h.truncated_jpeg(), jpeg(colour_image("blue", seed=2)),
             h.html_page(), png(colour_image("green", seed=3, size=40))] * 3
    batches = list(classify_stream(model, preset, list(enumerate(files)), lambda item: decode(item[1], 16), k=2,
                                   batch_size=4, workers=workers))
    outcomes = [o for batch in batches for o in batch]
    assert [o.item[0] for o in outcomes] == list(range(len(files)))
    assert [bool(o.error) for o in outcomes] == [False, True, False, True, False] * 3
    assert "truncated" in outcomes[1].error and "HTML" in outcomes[3].error
    for outcome in outcomes:
        if not outcome.error:
            probabilities, indices = direct(model, preset, outcome.item[1], 2)
            assert outcome.indices == indices
            assert outcome.probabilities == pytest.approx(probabilities, abs=1e-5)
    assert len(batches) >= 3  # 9 good images in batches of 4


def test_it_turns_exif_rotated_photos_upright_once():
    pixels = decode(h.exif_rotated_jpeg(), 20).pixels  # stored 40x20 sideways, displayed 20x40: red over blue
    assert pixels.shape == (20, 20, 3)
    top, bottom = pixels[2, 10], pixels[17, 10]
    assert top[0] > 200 and top[2] < 60, top  # red: the upper half once turned upright (twice would put blue here)
    assert bottom[2] > 200 and bottom[0] < 60, bottom


def test_it_keeps_logits_when_asked():
    model, preset = tiny_model(), EvalPreset(size=16)
    files = [png(colour_image(c, seed=i)) for i, c in enumerate(["red", "green", "blue"])]
    outcomes = next(classify_stream(model, preset, files, lambda data: decode(data, 16), keep_logits=True))
    logits = torch.stack([o.logits for o in outcomes])
    with torch.inference_mode():
        expected = model(torch.stack([preset(Image.open(io.BytesIO(d))) for d in files]))
    assert torch.allclose(logits, expected, atol=1e-5)
    assert np.allclose([o.probabilities[0] for o in outcomes], expected.softmax(1).max(1).values, atol=1e-6)
