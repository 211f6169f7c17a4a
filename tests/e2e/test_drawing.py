"""Drawing on the page and getting the answer: mouse, touch, MNIST traces, clear and undo."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, Route, expect

from digits.drawing import mnist_strokes
from digits.strokes import DIGIT_STROKES, draw_digit, draw_strokes, ink_pixels, touch_strokes

RECORD_POINTER_KINDS = """canvas => {
    window.pointerKinds = [];
    canvas.addEventListener('pointerdown', event => window.pointerKinds.push(event.pointerType));
}"""
PNG_DATA_URL = re.compile(r"^data:image/png;base64,")
RECORD_STATES = """el => {
    window.predictionStates = [];
    new MutationObserver(() => window.predictionStates.push(el.getAttribute('data-state')))
        .observe(el, {attributes: true, attributeFilter: ['data-state']});
}"""


@pytest.mark.parametrize("digit", ["1", "0"])
def test_a_digit_drawn_with_the_mouse_is_answered(lab_page: Page, server, digit: str) -> None:
    prediction = lab_page.get_by_test_id("prediction")
    prediction.evaluate(RECORD_STATES)

    draw_digit(lab_page, digit)

    expect(prediction).to_have_attribute("data-state", "done")
    expect(prediction).to_have_attribute("data-digit", digit)
    states = lab_page.evaluate("window.predictionStates")
    assert "pending" in states and states.index("pending") < len(states) - 1, states
    assert states[-1] == "done", states
    row = lab_page.get_by_test_id("request-log").get_by_test_id("request-row").first
    expect(row).to_have_attribute("data-digit", digit)
    live_pids = {str(worker["pid"]) for worker in server.workers()}
    assert row.get_attribute("data-pid") in live_pids


def test_mnist_test_digits_traced_as_strokes_are_read_right(
    lab_page: Page, mnist_test, traceable_digits
) -> None:
    images, _ = mnist_test
    prediction = lab_page.get_by_test_id("prediction")
    misread = []
    for index, label in traceable_digits:
        lab_page.get_by_test_id("clear").click()
        expect(prediction).to_have_attribute("data-state", "empty")
        draw_strokes(lab_page, mnist_strokes(images[index]), steps=1)
        expect(prediction).to_have_attribute("data-state", "done")
        if prediction.get_attribute("data-digit") != str(label):
            misread.append((index, label, prediction.get_attribute("data-digit")))
    assert len(traceable_digits) == 10
    assert not misread, f"(MNIST index, label, answer) read wrong: {misread}"


def test_clear_empties_the_canvas_and_the_prediction(lab_page: Page) -> None:
    draw_digit(lab_page, "7")
    expect(lab_page.get_by_test_id("prediction")).to_have_attribute("data-state", "done")

    lab_page.get_by_test_id("clear").click()

    prediction = lab_page.get_by_test_id("prediction")
    expect(prediction).to_have_attribute("data-state", "empty")
    expect(prediction).not_to_have_attribute("data-digit", "7")
    assert ink_pixels(lab_page) == 0


def test_undo_removes_only_the_last_stroke(lab_page: Page) -> None:
    prediction = lab_page.get_by_test_id("prediction")
    draw_digit(lab_page, "1")
    expect(prediction).to_have_attribute("data-digit", "1")
    one_stroke = ink_pixels(lab_page)
    draw_strokes(lab_page, [[(0.2, 0.5), (0.8, 0.5)]])
    assert ink_pixels(lab_page) > one_stroke

    lab_page.get_by_test_id("undo").click()

    assert ink_pixels(lab_page) == one_stroke
    expect(prediction).to_have_attribute("data-state", "done")
    expect(prediction).to_have_attribute("data-digit", "1")
    lab_page.get_by_test_id("undo").click()
    assert ink_pixels(lab_page) == 0
    expect(prediction).to_have_attribute("data-state", "empty")


def test_predict_on_an_empty_canvas_asks_for_a_digit(lab_page: Page) -> None:
    lab_page.get_by_test_id("predict").click()

    expect(lab_page.get_by_test_id("prediction")).to_have_attribute("data-state", "empty")
    expect(lab_page.get_by_test_id("confidence")).to_have_text("Draw a digit first")


def test_the_answer_shows_probabilities_and_the_models_input(lab_page: Page) -> None:
    draw_digit(lab_page, "7")

    expect(lab_page.get_by_test_id("prediction")).to_have_attribute("data-digit", "7")
    expect(lab_page.get_by_test_id("probabilities").locator("li")).to_have_count(10)
    expect(lab_page.get_by_test_id("probabilities").locator("li.best")).to_have_attribute("data-digit", "7")
    expect(lab_page.get_by_test_id("model-input")).to_have_attribute("src", PNG_DATA_URL)
    expect(lab_page.get_by_test_id("announce")).to_contain_text("7")


@pytest.mark.browser_context_args(viewport={"width": 360, "height": 740}, has_touch=True, is_mobile=True)
def test_a_finger_draws_on_a_phone_without_scrolling_the_page(lab_page: Page) -> None:
    canvas = lab_page.get_by_test_id("canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box and box["width"] <= 360 and box["x"] >= 0
    assert lab_page.evaluate("document.documentElement.scrollWidth") <= 360
    scroll_before = lab_page.evaluate("window.scrollY")
    canvas.evaluate(RECORD_POINTER_KINDS)

    touch_strokes(lab_page, DIGIT_STROKES["7"])

    prediction = lab_page.get_by_test_id("prediction")
    expect(prediction).to_have_attribute("data-state", "done")
    expect(prediction).to_have_attribute("data-digit", "7")
    assert lab_page.evaluate("window.scrollY") == scroll_before
    assert lab_page.evaluate("window.pointerKinds") == ["touch"]


def test_an_answer_to_an_older_drawing_never_replaces_a_newer_one(lab_page: Page) -> None:
    held: list[Route] = []

    def hold_the_first(route: Route) -> None:
        if held:
            route.continue_()
        else:
            held.append(route)

    lab_page.route("**/api/predict", hold_the_first)
    prediction = lab_page.get_by_test_id("prediction")
    # The "1" goes 40 ms after the pen lifts: wait until it has, or Clear would cancel it
    # and the "0" would be the request held.
    with lab_page.expect_request("**/api/predict"):
        draw_digit(lab_page, "1")
    expect(prediction).to_have_attribute("data-state", "pending")
    lab_page.get_by_test_id("clear").click()
    draw_digit(lab_page, "0")
    expect(prediction).to_have_attribute("data-digit", "0")

    held[0].continue_()  # the answer for the "1" arrives last

    expect(lab_page.get_by_test_id("request-row")).to_have_count(2)
    expect(lab_page.locator("[data-testid=request-row][data-digit='1']")).to_have_count(1)
    expect(prediction).to_have_attribute("data-state", "done")
    expect(prediction).to_have_attribute("data-digit", "0")
