"""Every bad input gets the contract's JSON error with a 4xx status, and nothing else."""

from __future__ import annotations

import base64
import io
import json

import pytest
from PIL import Image

from digits.drawing import encoded

ROW = [0] * 28
GOOD_LIST = [ROW] * 28


def png_bytes(size=(280, 280), color=(0, 0, 0, 0)) -> bytes:
    return encoded(Image.new("RGBA", size, color))


def data_url(raw: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64," + base64.b64encode(raw).decode()


def bomb_png() -> bytes:
    """A tiny file that claims a huge image: 20000 x 20000 of one colour."""
    return encoded(Image.new("1", (20_000, 20_000)))


CASES = [
    # (route, kwargs for client.post, status, code)
    ("/api/predict", {"data": "{not json", "content_type": "application/json"}, 400, "bad_json"),
    ("/api/predict", {"data": "[1, 2]", "content_type": "application/json"}, 400, "bad_json"),
    ("/api/predict", {"data": "[" * 100_000, "content_type": "application/json"}, 400, "bad_json"),
    ("/api/predict", {"json": {}}, 400, "missing_image"),
    ("/api/predict", {"json": {"image": 42}}, 400, "bad_image"),
    ("/api/predict", {"json": {"image": "hello"}}, 400, "bad_data_url"),
    ("/api/predict", {"json": {"image": "data:text/plain;base64,aGVsbG8="}}, 415, "unsupported_image_type"),
    ("/api/predict", {"json": {"image": "data:image/png,rawtext"}}, 400, "bad_data_url"),
    ("/api/predict", {"json": {"image": "data:image/png;base64,***not base64***"}}, 400, "bad_base64"),
    ("/api/predict", {"json": {"image": "data:image/png;base64,iVBORw0KGgo"}}, 400, "bad_base64"),
    ("/api/predict", {"json": {"image": data_url(b"GIF89a not an image")}}, 415, "bad_image"),
    ("/api/predict", {"json": {"image": data_url(png_bytes()[:60])}}, 400, "bad_image"),
    ("/api/predict", {"json": {"image": data_url(b"")}}, 400, "bad_image"),
    ("/api/predict", {"json": {"image": data_url(bomb_png())}}, 413, "image_too_large"),
    ("/api/predict", {"json": {"image": data_url(png_bytes())}}, 422, "empty_drawing"),
    (
        "/api/predict",
        {"json": {"image": data_url(png_bytes(color=(255, 255, 255, 255)))}},
        422,
        "empty_drawing",
    ),
    (
        "/api/predict",
        {"json": {"image": data_url(png_bytes()), "client_id": "no spaces!"}},
        400,
        "bad_client_id",
    ),
    ("/api/predict", {"json": {"image": data_url(png_bytes()), "client_id": ["x"]}}, 400, "bad_client_id"),
    # The schema says 1-64 characters: an empty id is refused, not taken for none.
    ("/api/predict", {"json": {"image": data_url(png_bytes()), "client_id": ""}}, 400, "bad_client_id"),
    (
        "/api/predict",
        {"data": {"image": (io.BytesIO(png_bytes()), "a.png"), "client_id": ""}},
        400,
        "bad_client_id",
    ),
    ("/api/lab/work", {"json": {"kind": "io", "ms": 0, "client_id": ""}}, 400, "bad_client_id"),
    ("/api/predict", {"data": "image=abc", "content_type": "text/plain"}, 415, "unsupported_media_type"),
    ("/api/predict", {"data": {"file": (io.BytesIO(b"x"), "x.png")}}, 400, "missing_image"),
    ("/api/predict", {"data": {"image": (io.BytesIO(b"not an image"), "x.png")}}, 415, "bad_image"),
    ("/inference", {"json": {}}, 400, "missing_images"),
    ("/inference", {"json": {"images": "28x28"}}, 400, "bad_images"),
    ("/inference", {"json": {"images": [ROW] * 27}}, 400, "bad_images"),
    ("/inference", {"json": {"images": [[0] * 27] * 28}}, 400, "bad_images"),
    ("/inference", {"json": {"images": [ROW] * 27 + [[256] + [0] * 27]}}, 400, "bad_images"),
    ("/inference", {"json": {"images": [ROW] * 27 + [[-1] + [0] * 27]}}, 400, "bad_images"),
    ("/inference", {"json": {"images": [ROW] * 27 + [[True] + [0] * 27]}}, 400, "bad_images"),
    ("/inference", {"json": {"images": [ROW] * 27 + [["7"] + [0] * 27]}}, 400, "bad_images"),
    ("/inference", {"json": {"images": [ROW] * 27 + [[None] + [0] * 27]}}, 400, "bad_images"),
    # NaN, Infinity and integers past 64 bits are not JSON (Python's json module
    # writes the first two all the same): refused before they reach the pixels.
    (
        "/inference",
        {"data": json.dumps({"images": [[float("nan")] * 28] * 28}), "content_type": "application/json"},
        400,
        "bad_json",
    ),
    (
        "/inference",
        {
            "data": '{"images": [' + ",".join(["[" + ",".join(["Infinity"] * 28) + "]"] * 28) + "]}",
            "content_type": "application/json",
        },
        400,
        "bad_json",
    ),
    (  # a 400-digit integer is JSON, and far outside 0-255
        "/inference",
        {"data": '{"images": [[' + "1" * 400 + "]]}", "content_type": "application/json"},
        400,
        "bad_images",
    ),
    ("/inference", {"json": {"images": [ROW] * 27 + [[1e300] + [0] * 27]}}, 400, "bad_images"),
    ("/inference", {"data": "images", "content_type": "text/plain"}, 415, "unsupported_media_type"),
]


@pytest.mark.parametrize(("route", "kwargs", "status", "code"), CASES)
def test_bad_input_gets_a_clear_json_error(client, route, kwargs, status, code):
    response = client.post(route, **kwargs)
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == code
    assert len(error["message"]) > 10


def test_a_body_over_the_limit_says_the_limit(client, app):
    limit = app.config["MAX_CONTENT_LENGTH"]
    response = client.post("/api/predict", data=b"x" * (limit + 1), content_type="application/json")
    assert response.status_code == 413
    assert "MB" in response.get_json()["error"]["message"]


@pytest.mark.parametrize(
    ("method", "route", "status", "code"),
    [
        ("get", "/api/nope", 404, "not_found"),
        ("get", "/api/predict", 405, "method_not_allowed"),
        ("put", "/inference", 405, "method_not_allowed"),
        ("post", "/api/workers", 405, "method_not_allowed"),
    ],
)
def test_unknown_routes_and_wrong_methods_are_json(client, method, route, status, code):
    response = getattr(client, method)(route)
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code


@pytest.mark.parametrize(
    "query",
    [
        "limit=0",
        "limit=abc",
        "limit=5000",
        "client_id=bad id",
        "client_id=",
        "since=",
        "since=a b",
        "since=" + "x" * 65,
    ],
)
def test_bad_request_log_queries_are_refused(client, query):
    response = client.get(f"/api/requests?{query}")
    assert response.status_code == 400
    assert "error" in response.get_json()
