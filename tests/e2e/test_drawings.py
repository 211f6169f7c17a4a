"""Drawings that are no readable digit, corrections and uploads, on the page in Chromium."""

from __future__ import annotations

import contextlib
import json
import sqlite3

import numpy as np
import pytest
from playwright.sync_api import Page, expect

from digits import sets
from digits.evaluate import page_drawings, read_on_page
from digits.strokes import DIGIT_STROKES, draw_strokes
from harness.launch import get_json

TINY = 0.12  # of the canvas: a 7 about 34 px tall, drawn with the 20 px pen
SCRIBBLE = [[tuple(p) for p in np.random.default_rng(0).uniform(0.2, 0.8, (25, 2))]]  # 25 random turns
NOT_READABLE = {
    "a dot": ([[(0.5, 0.5)]], "bigger"),
    "a tiny digit": (
        [[(0.45 + (x - 0.5) * TINY, 0.45 + (y - 0.5) * TINY) for x, y in s] for s in DIGIT_STROKES["7"]],
        "bigger",
    ),
    "a scribble": (
        [[tuple(p) for p in np.random.default_rng(0).uniform(0.2, 0.8, (25, 2))]],
        "Is that a digit?",
    ),
}


@pytest.mark.parametrize("name", NOT_READABLE)
def test_a_drawing_that_is_no_readable_digit_is_answered_not_sure_in_words(page: Page, name: str) -> None:
    strokes, words = NOT_READABLE[name]
    page.goto("/")
    prediction = page.get_by_test_id("prediction")

    draw_strokes(page, strokes)

    expect(prediction).to_have_attribute("data-state", "done")
    expect(prediction).to_have_attribute("data-verdict", "unsure")
    unsure = page.get_by_test_id("unsure")
    expect(unsure).to_be_visible()
    expect(unsure).to_contain_text("Not sure")
    expect(unsure).to_contain_text(words)
    expect(page.get_by_test_id("confidence")).to_contain_text("Not sure")


def test_a_good_digit_is_not_answered_not_sure_and_clear_hides_it(page: Page) -> None:
    page.goto("/")
    draw_strokes(page, NOT_READABLE["a dot"][0])
    expect(page.get_by_test_id("unsure")).to_be_visible()
    page.get_by_test_id("clear").click()
    expect(page.get_by_test_id("unsure")).to_be_hidden()
    draw_strokes(page, DIGIT_STROKES["1"])
    prediction = page.get_by_test_id("prediction")
    expect(prediction).to_have_attribute("data-digit", "1")
    expect(prediction).to_have_attribute("data-verdict", "digit")
    expect(page.get_by_test_id("unsure")).to_be_hidden()


def test_corrections_are_not_offered_when_the_server_does_not_store_them(page: Page) -> None:
    page.goto("/")
    draw_strokes(page, DIGIT_STROKES["1"])
    expect(page.get_by_test_id("prediction")).to_have_attribute("data-state", "done")
    expect(page.get_by_test_id("correct-digit")).to_be_hidden()


def test_a_wrong_answer_corrected_on_the_page_is_stored(page: Page, start_server, tmp_path) -> None:
    folder = tmp_path / "corrections"
    server = start_server(MODE="processes", WORKERS="2", CORRECTIONS=str(folder))
    page.goto(server.url + "/")
    # A server just started, on a busy machine: its first answers can take seconds.
    expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "up", timeout=30_000)
    prediction = page.get_by_test_id("prediction")
    draw_strokes(page, DIGIT_STROKES["7"])
    expect(prediction).to_have_attribute("data-state", "done")
    answer = int(prediction.get_attribute("data-digit"))
    right = (answer + 1) % 10  # the person says the answer was wrong: it is this digit

    box = page.get_by_test_id("correct-digit")
    expect(box).to_be_visible()
    box.get_by_role("button", name=str(right), exact=True).click()

    expect(box).to_have_attribute("data-state", "stored")
    expect(page.get_by_test_id("correct-note")).to_contain_text(f"stored as a {right}")
    ((label, request_id, image, state),) = kept(folder)  # pending the teacher's review
    assert label == right and request_id and image.startswith(b"\x89PNG") and state == "pending"
    # A new stroke: the correction offer is for the answer on screen only.
    draw_strokes(page, [[(0.2, 0.9), (0.3, 0.9)]])
    expect(box).not_to_have_attribute("data-state", "stored")


def kept(folder) -> list[tuple]:
    """The corrections the server keeps in the folder: (label, request_id, 28x28 PNG, state)."""
    with contextlib.closing(sqlite3.connect(folder / "corrections.sqlite")) as db:
        return db.execute("SELECT label, request_id, image, state FROM corrections").fetchall()


@pytest.fixture(scope="module")
def photo_of_a_digit(mnist_test, server):
    """A photo-like JPEG (paper, uneven light, shadow, blur) that the server reads right, and its digit."""
    images, labels = mnist_test
    rng = np.random.default_rng(16)
    for index in range(40):
        raw = sets.photo(images[index], rng)
        status, answer = _post_file(server.url, raw)
        if status == 200 and answer["digit"] == labels[index] and answer["verdict"] == "digit":
            return raw, int(labels[index])
    pytest.fail("no photo-like image among 40 was read right")


def _post_file(url: str, raw: bytes) -> tuple[int, dict]:
    import urllib.request

    boundary = "digitboundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="d.jpg"\r\n'
            f"Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + raw
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        url + "/api/predict", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_an_uploaded_photo_can_be_corrected_too(page: Page, photo_of_a_digit, start_server, tmp_path) -> None:
    raw, digit = photo_of_a_digit
    path = tmp_path / "digit.jpg"
    path.write_bytes(raw)
    folder = tmp_path / "corrections"
    server = start_server(MODE="processes", WORKERS="2", CORRECTIONS=str(folder))
    page.goto(server.url + "/")
    # A server just started, on a busy machine: its first answers can take seconds.
    expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "up", timeout=30_000)

    page.get_by_test_id("upload").set_input_files(path)
    expect(page.get_by_test_id("prediction")).to_have_attribute("data-digit", str(digit))
    page.get_by_test_id("correct-digit").get_by_role("button", name=str(digit), exact=True).click()

    expect(page.get_by_test_id("correct-digit")).to_have_attribute("data-state", "stored")
    ((label, _, _, _),) = kept(folder)
    assert label == digit


def test_an_uploaded_photo_of_a_digit_on_paper_is_read(page: Page, photo_of_a_digit, tmp_path) -> None:
    raw, digit = photo_of_a_digit
    path = tmp_path / "digit.jpg"
    path.write_bytes(raw)
    page.goto("/")
    draw_strokes(page, DIGIT_STROKES["1"])  # a drawing first: the picture replaces it

    page.get_by_test_id("upload").set_input_files(path)

    prediction = page.get_by_test_id("prediction")
    expect(prediction).to_have_attribute("data-state", "done")
    expect(prediction).to_have_attribute("data-digit", str(digit))
    expect(page.get_by_test_id("model-input")).to_be_visible()
    assert page.get_by_test_id("canvas").evaluate(
        "c => !c.getContext('2d').getImageData(0, 0, c.width, c.height).data.some(v => v)"
    ), "the drawing was not cleared"


def test_a_photo_dropped_on_the_drawing_area_is_read(page: Page, photo_of_a_digit) -> None:
    raw, digit = photo_of_a_digit
    page.goto("/")
    transfer = page.evaluate_handle(
        """async (bytes) => {
            const file = new File([new Uint8Array(bytes)], 'digit.jpg', {type: 'image/jpeg'});
            const transfer = new DataTransfer();
            transfer.items.add(file);
            return transfer;
        }""",
        list(raw),
    )
    page.get_by_test_id("canvas").dispatch_event("drop", {"dataTransfer": transfer})

    expect(page.get_by_test_id("prediction")).to_have_attribute("data-digit", str(digit))


def test_the_camera_input_asks_a_phone_for_its_back_camera(page: Page, server) -> None:
    page.goto("/")
    camera = page.get_by_test_id("upload-camera")
    assert camera.get_attribute("capture") == "environment"
    assert get_json(server.url + "/api/workers")[1]["settings"]["corrections"] is False


RECORD_FINAL = """el => {
    window.finalDigits = [];
    new MutationObserver(() => {
        if (el.getAttribute('data-state') === 'done' && el.getAttribute('data-final') === 'true')
            window.finalDigits.push(el.getAttribute('data-digit'));
    }).observe(el, {attributes: true, attributeFilter: ['data-state', 'data-final', 'data-digit']});
}"""


def test_a_4_in_two_strokes_never_shows_its_first_stroke_as_the_answer(page: Page) -> None:
    page.goto("/")
    prediction = page.get_by_test_id("prediction")
    prediction.evaluate(RECORD_FINAL)

    draw_strokes(page, DIGIT_STROKES["4"][:1])
    expect(prediction).to_have_attribute("data-final", "false")  # the first stroke's answer: provisional
    expect(page.get_by_test_id("confidence")).to_contain_text("Still drawing")
    draw_strokes(page, DIGIT_STROKES["4"][1:])

    expect(prediction).to_have_attribute("data-final", "true")
    expect(prediction).to_have_attribute("data-digit", "4")
    assert set(page.evaluate("window.finalDigits")) == {"4"}


def test_font_digits_drawn_with_the_mouse_are_read(page: Page) -> None:
    """Digits of the four stroke-font styles (digits/evaluate.py), drawn on the page stroke by
    stroke with the page's own pen: the final answers are the digits."""
    page.goto("/")
    drawings = page_drawings(20, seed=5)
    shown = read_on_page(page, drawings)
    wrong = [
        (digit, answer) for (_, digit), (answer, _) in zip(drawings, shown, strict=True) if digit != answer
    ]
    assert len(wrong) <= 1, f"(digit, answer): {wrong}"
    assert sum(unsure for _, unsure in shown) <= 1
