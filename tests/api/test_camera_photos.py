"""Photos as a phone camera writes them, sent whole through the API (curl -F image=@photo.jpg):
12 Mpx, 3-4 MB, and held sideways (an EXIF orientation tag) are read right."""

from __future__ import annotations

import base64
import io
import json
import urllib.error
import urllib.request

import numpy as np
import pytest
from PIL import Image

from digits import sets


def post_photo(url: str, raw: bytes, **fields: str) -> tuple[int, dict]:
    """POST a JPEG as a multipart file field, as curl -F does; (status, JSON)."""
    boundary = "photoboundary"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="IMG_0001.jpg"\r\n'
        "Content-Type: image/jpeg\r\n\r\n".encode()
        + raw
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        url + "/api/predict", b"".join(parts), {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.fixture(scope="module")
def small_photo(mnist_test, server) -> tuple[bytes, int]:
    """A photo-like JPEG of a digit on paper that the server reads right (upright), and its digit."""
    images, labels = mnist_test
    rng = np.random.default_rng(22)
    for index in range(40):
        raw = sets.photo(images[index], rng, quality=90)
        status, answer = post_photo(server.url, raw)
        # A digit that turned on its side reads as another: a 0, 1 or 8 would prove nothing.
        if status == 200 and answer["digit"] == labels[index] and labels[index] not in (0, 1, 8):
            return raw, int(labels[index])
    pytest.fail("no photo-like image among 40 was read right")


def test_a_12_megapixel_phone_photo_of_3_to_4_mb_is_read(server, small_photo) -> None:
    small, digit = small_photo
    raw = sets.camera_photo(small)
    assert Image.open(io.BytesIO(raw)).size == (4000, 3000)
    assert 3_000_000 <= len(raw) <= 4_000_000

    status, answer = post_photo(server.url, raw, client_id="phone-1")

    assert status == 200, answer
    assert answer["digit"] == digit


def test_a_photo_taken_sideways_is_turned_upright_by_its_exif_tag(server, small_photo) -> None:
    small, digit = small_photo
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
