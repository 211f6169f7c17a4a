"""The page on a student's phone (390 x 844): the answer and the timeline in view the moment the
pen lifts, no server jargon (that is the teacher's page), and the name the class wall shows."""

from __future__ import annotations

import json

from playwright.sync_api import Page, expect

from digits.strokes import draw_digit

PHONE = {"width": 390, "height": 844}
IN_VIEW = "el => { const r = el.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; }"


def test_on_a_phone_the_answer_and_the_timeline_are_in_view_when_the_pen_lifts(page: Page) -> None:
    page.set_viewport_size(PHONE)
    page.goto("/")
    expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "up")

    draw_digit(page, "7")

    # Pending is set as the pen lifts: the answer's place is already in view, and stays there.
    prediction = page.get_by_test_id("prediction")
    expect(prediction).to_have_attribute("data-digit", "7")
    for hook in ("canvas", "answer-digit", "confidence", "model-input", "timeline"):
        assert page.get_by_test_id(hook).evaluate(IN_VIEW), f"{hook} is out of view"
    expect(page.get_by_test_id("answer-digit")).to_have_text("7")
    expect(page.get_by_test_id("timeline")).not_to_have_attribute("data-bars", "0")
    assert page.evaluate("window.scrollY") == 0


def test_a_students_page_has_no_server_banner_the_teachers_page_has(page: Page, server) -> None:
    page.set_viewport_size(PHONE)
    page.goto("/")
    expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "up")
    assert page.locator("body").get_attribute("data-role") == "student"
    expect(page.get_by_test_id("mode-banner")).to_be_hidden()
    expect(page.get_by_test_id("spare-cores")).to_be_hidden()

    page.goto(f"/?token={server.token}")
    assert page.locator("body").get_attribute("data-role") == "teacher"
    expect(page.get_by_test_id("mode-banner")).to_contain_text("4 processes × 1 thread")


def test_the_name_for_the_wall_is_sent_kept_and_never_sent_when_the_server_would_refuse_it(
    page: Page,
) -> None:
    sent: list[dict] = []
    page.on(
        "request", lambda r: sent.append(json.loads(r.post_data)) if r.url.endswith("/api/predict") else None
    )
    page.goto("/")
    name = page.get_by_test_id("student-name")
    assert "(" in name.get_attribute("placeholder")  # the tab's code, shown while it is empty

    name.fill("<b>Ana</b>")
    expect(page.get_by_test_id("name-problem")).to_be_visible()
    assert name.get_attribute("aria-invalid") == "true"
    draw_digit(page, "1")
    expect(page.get_by_test_id("prediction")).to_have_attribute("data-state", "done")
    assert "name" not in sent[-1]

    name.fill("José M.")
    expect(page.get_by_test_id("name-problem")).to_be_hidden()
    page.get_by_test_id("predict").click()
    expect(page.get_by_test_id("prediction")).to_have_attribute("data-state", "done")
    assert sent[-1]["name"] == "José M."

    page.reload()
    expect(page.get_by_test_id("student-name")).to_have_value("José M.")
