"""Photos as a phone camera writes them, sent whole through the API (curl -F image=@photo.jpg):
12 Mpx, 3-4 MB, and held sideways (an EXIF orientation tag) are read right."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

from digits import sets
from tests.conftest import post_photo


def test_a_12_megapixel_phone_photo_of_3_to_4_mb_is_read(server, camera_digit) -> None:
    small, digit = camera_digit
    raw = sets.camera_photo(small)
    assert Image.open(io.BytesIO(raw)).size == (4000, 3000)
    assert 3_000_000 <= len(raw) <= 4_000_000

    status, answer = post_photo(server.url, raw, client_id="phone-1")

    assert status == 200, answer
    assert answer["digit"] == digit


def test_a_photo_taken_sideways_is_turned_upright_by_its_exif_tag(server, camera_digit) -> None:
    small, digit = camera_digit
    sideways = sets.camera_photo(small, orientation=6)
    stored = Image.open(io.BytesIO(sideways))
    assert stored.size == (3000, 4000) and stored.getexif()[0x0112] == 6

    status, answer = post_photo(server.url, sideways)

    assert status == 200, answer
    assert answer["digit"] == digit
    # The same pixels without the tag are a digit on its side: the tag is what makes it right.
    untagged = io.BytesIO()
    stored.save(untagged, "JPEG", quality=95)
    status, turned = post_photo(server.url, untagged.getvalue())
    upright = post_photo(server.url, sets.camera_photo(small))[1]
    assert status == 200 and _difference(turned, answer) > 10  # measured: 17
    assert _difference(upright, answer) < 1  # the same, but for JPEG's rounding (measured: 0.01)


def _difference(a: dict, b: dict) -> float:
    """How far apart the 28x28 pictures the model saw for two answers are: mean |a - b| of 0-255."""
    return float(np.abs(_model_input(a) - _model_input(b)).mean())


def _model_input(answer: dict) -> np.ndarray:
    png = base64.b64decode(answer["model_input"].split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(png)), np.float32)
