"""When the server is down or refuses: plain words, data-state="error", and recovery."""

from __future__ import annotations

import os
import signal

from playwright.sync_api import Page, Route, expect

from digits.strokes import draw_digit

# Long enough for a gunicorn with 4 workers to start again on a slow machine.
RECOVERY_MS = 60_000


def test_a_stopped_server_is_an_error_in_plain_words_and_the_page_recovers(page: Page, start_server) -> None:
    server = start_server(MODE="processes", WORKERS="2")
    page.goto(server.url + "/")
    prediction = page.get_by_test_id("prediction")
    draw_digit(page, "1")
    expect(prediction).to_have_attribute("data-digit", "1")

    server.stop()

    expect(prediction).to_have_attribute("data-state", "error")
    expect(page.get_by_test_id("message")).to_contain_text("Cannot reach the server")
    expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "down")
    page.get_by_test_id("clear").click()
    draw_digit(page, "0")
    expect(prediction).to_have_attribute("data-state", "error")

    start_server(port=server.port, MODE="processes", WORKERS="2")

    expect(prediction).to_have_attribute("data-state", "done", timeout=RECOVERY_MS)
    expect(prediction).to_have_attribute("data-digit", "0")
    expect(page.get_by_test_id("message")).to_have_text("")
    expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "up")


def test_a_refused_request_shows_the_servers_message(lab_page: Page) -> None:
    def refuse(route: Route) -> None:
        route.fulfill(
            status=413,
            json={"error": {"code": "request_entity_too_large", "message": "The drawing is too large."}},
        )

    lab_page.route("**/api/predict", refuse)

    draw_digit(lab_page, "1")

    expect(lab_page.get_by_test_id("prediction")).to_have_attribute("data-state", "error")
    expect(lab_page.get_by_test_id("message")).to_contain_text("The drawing is too large.")


def test_too_little_ink_is_a_calm_request_for_a_bigger_digit(lab_page: Page) -> None:
    def nothing_to_read(route: Route) -> None:
        route.fulfill(status=422, json={"error": {"code": "empty_drawing", "message": "No digit found."}})

    lab_page.route("**/api/predict", nothing_to_read)

    draw_digit(lab_page, "1")

    expect(lab_page.get_by_test_id("prediction")).to_have_attribute("data-state", "empty")
    expect(lab_page.get_by_test_id("confidence")).to_contain_text("draw a bigger digit")
    expect(lab_page.get_by_test_id("message")).to_have_text("")


def test_a_worker_that_dies_greys_out_and_its_replacement_appears(page: Page, start_server) -> None:
    server = start_server(MODE="processes", WORKERS="2")
    page.goto(server.url + "/")
    cards = page.get_by_test_id("worker-panel").get_by_test_id("worker")
    expect(cards).to_have_count(2)
    victim = server.workers()[0]["pid"]

    os.kill(victim, signal.SIGKILL)

    expect(page.locator(f"[data-testid=worker][data-pid='{victim}']")).to_have_attribute(
        "data-state", "gone", timeout=RECOVERY_MS
    )
    live = page.locator("[data-testid=worker]:not([data-state=gone])")
    expect(live).to_have_count(2, timeout=RECOVERY_MS)
    assert victim not in {worker["pid"] for worker in server.workers()}
