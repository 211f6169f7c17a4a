"""Draw a digit and wait for the answer: the example of docs/testing.md, run in CI."""

import re

from playwright.sync_api import Page, expect


def draw_a_one(page: Page) -> None:
    """One vertical stroke down the middle of the canvas, with the mouse."""
    box = page.get_by_test_id("canvas").bounding_box()
    x = box["x"] + box["width"] / 2
    page.mouse.move(x, box["y"] + box["height"] * 0.2)
    page.mouse.down()
    page.mouse.move(x, box["y"] + box["height"] * 0.8, steps=10)
    page.mouse.up()


def test_a_drawn_one_is_read_as_1(page: Page) -> None:
    page.goto("/")

    draw_a_one(page)

    prediction = page.get_by_test_id("prediction")
    expect(prediction).to_have_attribute("data-state", "done")  # expect() retries: no sleeps
    expect(prediction).to_have_attribute("data-digit", "1")
    row = page.get_by_test_id("request-log").get_by_test_id("request-row").first
    expect(row).to_have_attribute("data-pid", re.compile(r"^\d+$"))
