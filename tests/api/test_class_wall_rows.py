"""What the class wall (GET /class) reads from /api/requests: each prediction's drawing (the
28x28 the model saw) and the name the student gave, checked like client_id."""

from __future__ import annotations

import io
import json

import pytest

from digits.drawing import data_url, draw_like_a_pen, encoded
from harness.launch import get_json, post_json
from tests.waiting import wait_for


@pytest.fixture(scope="module")
def seven(mnist_test):
    images, labels = mnist_test
    assert labels[0] == 7
    return draw_like_a_pen(images[0])


def _row(client, request_id: str) -> dict:
    rows = client.get("/api/requests?limit=1000&drawings=true").get_json()["requests"]
    return next(row for row in rows if row["request_id"] == request_id)


@pytest.mark.parametrize("name", ["Ana", "José M.", "Zoë-2", "O'Neil", "table_3", "7B"])
def test_a_prediction_logs_its_name_and_the_drawing_the_model_saw(client, seven, name) -> None:
    answer = client.post("/api/predict", json={"image": data_url(seven), "client_id": "tab-w", "name": name})
    assert answer.status_code == 200
    body = answer.get_json()

    row = _row(client, body["request_id"])

    assert row["name"] == name and row["client_id"] == "tab-w"
    assert row["drawing"] == body["model_input"]  # the very 28x28 the model saw, as a PNG data URL
    assert len(row["drawing"]) < 1300


def test_an_upload_carries_its_name_as_a_form_field(client, seven) -> None:
    form = {"image": (io.BytesIO(encoded(seven)), "d.png"), "client_id": "phone", "name": "Kim"}
    body = client.post("/api/predict", data=form, content_type="multipart/form-data").get_json()
    assert _row(client, body["request_id"])["name"] == "Kim"


def test_a_prediction_without_a_name_logs_none_and_inference_logs_its_drawing(client, seven) -> None:
    body = client.post("/api/predict", json={"image": data_url(seven)}).get_json()
    assert _row(client, body["request_id"])["name"] is None
    rows = [[0] * 28 for _ in range(28)]
    for r in range(6, 22):
        rows[r][14] = 255
    answer = client.post("/inference", json={"images": rows})
    last = client.get("/api/requests?limit=1&drawings=true").get_json()["requests"][-1]
    assert answer.status_code == 200 and last["route"] == "/inference"
    assert last["drawing"].startswith("data:image/png;base64,") and last["name"] is None


@pytest.mark.parametrize(
    "name",
    ["", " Ana", "_x", "a<b>", "<script>", "Ana\n", "x" * 25, "a\u202eb", "a\x00", "a/b", 7],
)
def test_a_bad_name_is_refused_with_a_clear_400(client, seven, name) -> None:
    response = client.post("/api/predict", json={"image": data_url(seven), "name": name})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "bad_name" and "'name' must be" in error["message"]


def test_both_stores_keep_the_name_and_the_drawing(stored_server, seven) -> None:
    """The SQLite log and the shared Redis one (STORE=redis://...) alike."""
    status, raw = post_json(
        stored_server.url + "/api/predict", {"image": data_url(seven), "client_id": "tab-s", "name": "Ana"}
    )
    body = json.loads(raw)
    assert status == 200

    def logged() -> list[dict]:
        """The prediction's row, once the worker that answered it has stored it (within 50 ms)."""
        rows = get_json(f"{stored_server.url}/api/requests?client_id=tab-s&limit=1000&drawings=true")[1][
            "requests"
        ]
        return [row for row in rows if row["request_id"] == body["request_id"]]

    (row,) = wait_for(logged, timeout=10)
    assert row["name"] == "Ana" and row["drawing"] == body["model_input"]


def test_a_poll_carries_drawings_only_when_it_asks(client, seven) -> None:
    """The page's polls and a curl loop stay small; only the class wall asks for the pictures."""
    client.post("/api/predict", json={"image": data_url(seven)})
    plain = client.get("/api/requests?limit=1000").get_json()["requests"]
    assert plain and all(row["drawing"] is None for row in plain)
    wall = client.get("/api/requests?limit=1000&drawings=true").get_json()["requests"]
    assert any(row["drawing"] for row in wall)
    refused = client.get("/api/requests?drawings=maybe")
    assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "bad_drawings"
