"""Small files that claim big pictures get a JSON 4xx naming the limit, decided
from their headers; a 12 Mpx phone photo is decoded reduced, and read.

The files are built in memory by bench/decode_budget.py's builders, so the
benchmark measures the very files posted here: the issue's sub-kilobyte
4000x4000 lossless WebP, its 31 KB 1x16,000,000 PNG, its 4000x4000 16-bit RGBA
PNG, and a phone photo of an MNIST digit.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.request
import uuid

import pytest

from bench.decode_budget import deep_png, lossless_webp, photo_jpeg, strip_png

# name: (builder, MIME type, status, code, words of the message: the limit it names)
HOSTILE = {
    "4000x4000 lossless WebP": (lossless_webp, "image/webp", 413, "image_too_large", "800,000"),
    "1x16,000,000 PNG": (strip_png, "image/png", 413, "image_too_large", "8,192"),
    "4000x4000 16-bit RGBA PNG": (deep_png, "image/png", 413, "image_too_large", "6,000,000"),
}
PROMPTLY = 2.0  # seconds: a refusal from the header takes milliseconds


def as_data_url(raw: bytes, mime: str) -> str:
    return f"data:{mime};base64," + base64.b64encode(raw).decode()


def multipart(raw: bytes, mime: str) -> tuple[bytes, str]:
    """The body and Content-Type of one file field named 'image', as curl -F image=@file sends.

    Built here rather than by Werkzeug's test client, whose encoder leaves a
    temporary file open for bodies over 500 KB (the photo).
    """
    boundary = uuid.uuid4().hex
    head = f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="picture"\r\n'
    head += f"Content-Type: {mime}\r\n\r\n"
    body = head.encode() + raw + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def upload(raw: bytes, mime: str) -> dict:
    """Flask test client arguments for a multipart upload."""
    body, content_type = multipart(raw, mime)
    return {"data": body, "content_type": content_type}


@pytest.mark.parametrize("transport", ["data URL", "multipart"])
@pytest.mark.parametrize("name", HOSTILE)
def test_a_small_file_claiming_a_big_picture_is_refused_naming_the_limit(client, name, transport):
    build, mime, status, code, limit = HOSTILE[name]
    raw = build()
    assert len(raw) < 200_000  # small files, big pictures
    if transport == "data URL":
        response = client.post("/api/predict", json={"image": as_data_url(raw, mime)})
    else:
        response = client.post("/api/predict", **upload(raw, mime))
    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["code"] == code
    assert limit in error["message"], error["message"]


def test_a_phone_photo_is_decoded_reduced_and_read(client, mnist_test):
    """A 4032x3024 JPEG (decoded 1008x756 in draft mode) of a digit on paper."""
    images, labels = mnist_test
    raw = photo_jpeg(0)
    response = client.post("/api/predict", **upload(raw, "image/jpeg"))
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["digit"] == labels[0]


def post_file(url: str, raw: bytes, mime: str) -> tuple[int, dict]:
    """A multipart upload to a real server; the status and JSON answer."""
    body, content_type = multipart(raw, mime)
    request = urllib.request.Request(url, body, {"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=PROMPTLY) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read())


def test_gunicorn_refuses_each_hostile_file_promptly_and_stays_healthy(server):
    for name, (build, mime, status, code, limit) in HOSTILE.items():
        raw = build()
        started = time.monotonic()
        got, answer = post_file(server.url + "/api/predict", raw, mime)
        took = time.monotonic() - started
        assert (got, answer["error"]["code"]) == (status, code), name
        assert limit in answer["error"]["message"], name
        assert took < PROMPTLY, f"{name}: {took:.2f} s"
    with urllib.request.urlopen(server.url + "/healthz", timeout=PROMPTLY) as response:
        assert response.status == 200
