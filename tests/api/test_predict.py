"""The API's answers, through Flask's test client with the shipped model."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from digits.drawing import data_url, draw_like_a_pen, encoded
from webapp.preprocess import preprocess


@pytest.fixture(scope="module")
def seven(mnist_test):
    """A canvas drawing of the first MNIST test digit (a 7)."""
    images, labels = mnist_test
    assert labels[0] == 7
    return draw_like_a_pen(images[0])


def test_predict_answers_with_every_contract_field(client, seven):
    response = client.post("/api/predict", json={"image": data_url(seven), "client_id": "tab-1"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["digit"] == 7
    assert body["confidence"] == max(body["probabilities"])
    assert len(body["probabilities"]) == 10 and sum(body["probabilities"]) == pytest.approx(1, abs=1e-3)
    assert body["request_id"] and body["client_id"] == "tab-1"
    worker = body["worker"]
    assert {"pid", "thread", "thread_id", "host", "started", "requests", "runtime"} <= worker.keys()
    timing = body["timing"]
    assert timing["received"] <= timing["started"] <= timing["finished"]
    assert response.headers["X-Request-ID"] == body["request_id"]


def test_predict_shows_the_28x28_image_the_model_saw(client, seven):
    body = client.post("/api/predict", json={"image": data_url(seven)}).get_json()
    header, payload = body["model_input"].split(",", 1)
    assert header == "data:image/png;base64"
    image = Image.open(io.BytesIO(base64.b64decode(payload)))
    assert image.size == (28, 28) and image.mode == "L"
    pixels = np.asarray(image)
    assert pixels.max() == 255 and pixels[0].max() == 0  # white ink, black border, like MNIST
    np.testing.assert_array_equal(pixels, preprocess(seven))  # exactly what the model was given


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_jpeg_and_webp_data_urls_work_too(client, mnist_test, fmt):
    drawing = draw_like_a_pen(mnist_test[0][1], ground=(255, 255, 255, 255), mode="RGB")
    body = client.post("/api/predict", json={"image": data_url(drawing, fmt)}).get_json()
    assert body["digit"] == mnist_test[1][1]


def test_a_multipart_upload_works_like_curl_F(client, seven):
    response = client.post(
        "/api/predict",
        data={"image": (io.BytesIO(encoded(seven)), "digit.png"), "client_id": "curl"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    assert response.get_json()["digit"] == 7 and response.get_json()["client_id"] == "curl"


def test_a_proxys_sane_request_id_is_kept_a_clients_never(client, seven):
    from webapp import create_app

    # The test client comes from 127.0.0.1: here a trusted proxy (nginx in front).
    behind_nginx = create_app({"TESTING": True, "TRUSTED_PROXIES": frozenset({"127.0.0.1"})}).test_client()
    body = {"image": data_url(seven)}
    kept = behind_nginx.post("/api/predict", json=body, headers={"X-Request-ID": "abc-123"})
    assert kept.get_json()["request_id"] == "abc-123" == kept.headers["X-Request-ID"]
    replaced = behind_nginx.post("/api/predict", json=body, headers={"X-Request-ID": "a b\x01"})
    assert replaced.get_json()["request_id"] != "a b\x01"
    # Straight from a client, its own id would let it reuse another's and hide rows
    # from the log's readers: the server makes its own.
    ignored = client.post("/api/predict", json=body, headers={"X-Request-ID": "abc-123"})
    assert ignored.get_json()["request_id"] != "abc-123"


def test_inference_keeps_the_reference_contract(client, mnist_test):
    images, labels = mnist_test
    for i in range(5):
        response = client.post("/inference", json={"images": images[i].tolist()})
        assert response.status_code == 200
        assert response.mimetype == "text/plain"
        assert response.get_data(as_text=True) == str(labels[i])


def test_inference_accepts_float_pixels(client, mnist_test):
    images, labels = mnist_test
    response = client.post("/inference", json={"images": (images[2] / 1.0).tolist()})
    assert response.get_data(as_text=True) == str(labels[2])


def test_the_request_log_returns_what_came_after_an_id(client, seven):
    first = client.post("/api/predict", json={"image": data_url(seven), "client_id": "log-a"}).get_json()
    second = client.post("/api/predict", json={"image": data_url(seven), "client_id": "log-b"}).get_json()
    third = client.post("/api/predict", json={"image": data_url(seven), "client_id": "log-a"}).get_json()
    after_first = client.get(f"/api/requests?since={first['request_id']}").get_json()["requests"]
    assert [r["request_id"] for r in after_first] == [second["request_id"], third["request_id"]]
    mine = client.get("/api/requests?client_id=log-a").get_json()["requests"]
    assert [r["request_id"] for r in mine][-2:] == [first["request_id"], third["request_id"]]
    row = mine[-1]
    assert row["pid"] == third["worker"]["pid"] and row["digit"] == 7
    assert row["received"] == pytest.approx(third["timing"]["received"])


def test_health_readiness_and_metrics(client, seven):
    client.post("/api/predict", json={"image": data_url(seven)})
    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json()["ready"] is True
    metrics = client.get("/metrics").get_data(as_text=True)
    host = client.get("/api/workers").get_json()["settings"]["host"]
    assert (
        f'mnist_http_requests_total{{host="{host}",method="POST",route="/api/predict",status="200"}}'
        in metrics
    )
    assert "mnist_http_request_duration_seconds_bucket" in metrics


def test_readyz_is_503_until_the_model_is_warm():
    from webapp import create_app

    app = create_app({"TESTING": True, "DEFER_MODEL": True})
    response = app.test_client().get("/readyz")
    assert response.status_code == 503 and response.get_json()["ready"] is False


def test_not_sure_names_the_likeliest_digits_in_words_and_as_numbers(client, seven):
    """Random scribbles: every "not sure" answer lists the likeliest digits, the answer's first;
    when the model cannot tell which digit, the reason says them ("2 or 5?")."""
    from digits.sources import three_strokes
    from webapp.verdict import in_words

    codes = set()
    for drawing in three_strokes(150, seed=31):
        body = client.post("/api/predict", json={"image": data_url(drawing)}).get_json()
        if body["verdict"] == "digit":
            assert "alternatives" not in body
            continue
        alternatives = body["alternatives"]
        assert 2 <= len(alternatives) <= 3 and len(set(alternatives)) == len(alternatives)
        assert alternatives[0] == body["digit"]
        ranked = sorted(range(10), key=lambda d: -body["probabilities"][d])
        assert body["probabilities"][alternatives[1]] == body["probabilities"][ranked[1]]
        codes.add(body["reason_code"])
        if body["reason_code"] == "which_digit":
            assert body["reason"].startswith(f"{in_words(alternatives)}?")
    assert codes == {"which_digit", "not_a_digit"}
    body = client.post("/api/predict", json={"image": data_url(seven)}).get_json()
    assert body["verdict"] == "digit" and "alternatives" not in body
