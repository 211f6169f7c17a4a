"""An open page follows the server it talks to: restarted in another mode, the page shows
the new server and nothing of the old (cards, log rows, lanes, burst summaries, colours); and
no answer, however odd, stops the page polling. Real gunicorn servers, real Chromium."""

from __future__ import annotations

import json
import re

from playwright.sync_api import Page, Route, expect

from tests.e2e.test_lab_panel import LIVE, PIDS, fire_lab_burst
from tests.e2e.test_teacher_screens import screenshot


def test_a_restart_in_another_mode_leaves_no_trace_of_the_old_one(page: Page, context, start_server) -> None:
    old = start_server(MODE="processes")
    projector = context.new_page()
    projector.goto(f"{old.url}/class")
    page.goto(f"{old.url}/?token={old.token}")
    expect(page.locator(LIVE)).to_have_count(4)
    expect(projector.locator(LIVE)).to_have_count(4)
    fire_lab_burst(page, "python", 50, 4)
    page.get_by_test_id("view-everyone").click()
    old_pids = {str(worker["pid"]) for worker in old.workers()}
    classes = page.locator(LIVE).evaluate_all("els => els.map(el => el.className.match(/pid-\\d+/)[0])")
    assert len(set(classes)) == 4, f"live workers share a colour: {classes}"
    old.stop()
    expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "down", timeout=10_000)

    new = start_server(port=old.port, MODE="async", LAB_TOKEN=old.token)
    new_pid = str(new.workers()[0]["pid"])
    expect(page.get_by_test_id("lab-mode")).to_contain_text("MODE=async", timeout=20_000)
    cards = page.get_by_test_id("worker")
    expect(cards).to_have_count(1)  # no STOPPED card of the old server
    assert cards.evaluate_all(PIDS) == [new_pid]
    expect(cards.first).to_have_class(re.compile(r"\bpid-0\b"))  # the old workers' colours are free
    # The log is drawn on the next frame after the new server's first answer: wait for it.
    page.wait_for_function(
        "pids => ![...document.querySelectorAll('[data-testid=request-row]')]"
        ".some(el => pids.includes(el.dataset.pid))",
        arg=sorted(old_pids),
    )
    expect(page.get_by_test_id("timeline")).to_have_attribute("data-lanes", "1")
    for summary in ("lab-summary", "burst-summary"):
        text = page.get_by_test_id(summary).inner_text()
        assert not any(pid in text for pid in old_pids), f"{summary} names a dead PID: {text}"
        assert page.get_by_test_id(summary).get_attribute("data-burst") is None
    # The class view too: the new worker only, nothing of the old server's.
    expect(projector.get_by_test_id("worker")).to_have_count(1)
    assert projector.get_by_test_id("worker").evaluate_all(PIDS) == [new_pid]
    assert not set(projector.get_by_test_id("request-row").evaluate_all(PIDS)) & old_pids
    projector.close()
    # The mode said by what it does: waiting overlaps, computing waits.
    expect(page.get_by_test_id("lab-expect")).to_contain_text("waiting overlaps, computing waits")

    # Four io requests at once on one greenlet worker: one lane, four bars side by side.
    summary = fire_lab_burst(page, "io", 150, 4)
    assert summary.get_attribute("data-max-in-flight") == "4"
    timeline = page.get_by_test_id("timeline")
    expect(timeline).to_have_attribute("data-lanes", "1")
    expect(timeline).to_have_attribute("data-stacked", "4")
    for width, height in ((390, 844), (1366, 800), (1920, 1080)):
        page.set_viewport_size({"width": width, "height": height})
        timeline.scroll_into_view_if_needed()
        screenshot(page, f"async-io-stacked-{width}")


def _hostile(route: Route, change) -> None:
    """The real server's answer, with hostile entries added."""
    response = route.fetch()
    body = response.json()
    change(body)
    route.fulfill(response=response, body=json.dumps(body))


def _hostile_workers(body: dict) -> None:
    body["workers"] = [
        {"pid": "1]", "host": "x", "cpu_seconds": 0},  # a jQuery selector from data would throw
        {"pid": 7, "host": {"a": 1}, "cpu_seconds": "lots"},
        None,
        *body["workers"],
    ]


def _hostile_requests(body: dict) -> None:
    first = {"request_id": None, "pid": "1]", "received": 1, "started": 1, "finished": 2, "thread": 5}
    body["requests"] = [first, {"request_id": "r-1", "pid": 3}, "text", *body["requests"]]


def _still_polling(page: Page, polls: list[str], who: str) -> None:
    """Both polls go on: each asked at least twice more in the next 3 s."""
    seen = len(polls)
    page.wait_for_timeout(3000)
    for route in ("/api/workers", "/api/requests"):
        assert sum(route in url for url in polls[seen:]) >= 2, f"{who} stopped polling {route}"


def test_hostile_answers_never_stop_the_page_or_the_class_view_polling(page: Page, server) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.route("**/api/workers*", lambda route: _hostile(route, _hostile_workers))
    page.route("**/api/requests*", lambda route: _hostile(route, _hostile_requests))
    polls: list[str] = []
    page.on("request", lambda request: polls.append(request.url))

    page.goto(f"{server.url}/")
    page.get_by_test_id("view-everyone").click()
    # The real workers are shown, the hostile entries left out, and polling goes on.
    expect(page.locator(LIVE)).to_have_count(4)
    _still_polling(page, polls, "the page")
    assert set(page.locator(LIVE).evaluate_all(PIDS)) == {str(w["pid"]) for w in server.workers()}

    page.goto(f"{server.url}/class")
    expect(page.locator(LIVE)).to_have_count(4)
    _still_polling(page, polls, "the class view")
    assert not errors, errors
    page.unroute_all(behavior="ignoreErrors")  # polls still in flight when the page closes


def test_a_stale_teachers_address_says_so_and_the_teachers_page_shows_its_own(page: Page, server) -> None:
    page.goto(f"{server.url}/?token={'x' * 32}")
    problem = page.get_by_test_id("token-problem")
    expect(problem).to_be_visible()
    expect(problem).to_contain_text("token this server does not know")
    expect(page.get_by_test_id("add-worker")).to_be_hidden()
    screenshot(page, "stale-token-1366")

    page.goto(f"{server.url}/?token={server.token}")
    expect(problem).to_be_hidden()
    address = page.get_by_test_id("teacher-address")
    expect(address).to_be_visible()
    address.locator("summary").click()
    expect(page.get_by_test_id("teacher-address-url")).to_have_text(f"{server.url}/?token={server.token}")
    expect(page.get_by_test_id("lab-priority")).to_contain_text("Your lab work comes first")


def test_the_side_by_side_compares_only_bursts_alike_and_can_be_cleared(page: Page, start_server) -> None:
    server = start_server(MODE="threads")
    page.goto(f"{server.url}/?token={server.token}")
    fire_lab_burst(page, "python", 20, 4)
    fire_lab_burst(page, "python", 20, 2)
    rows = page.get_by_test_id("lab-compare-rows").locator("tr")
    expect(rows).to_have_count(2)
    assert rows.evaluate_all("rs => rs.map(r => r.dataset.n)") == ["4", "2"]
    # A burst of 4 and one of 2 are not compared: nothing alike yet.
    assert rows.evaluate_all("rs => rs.map(r => r.lastElementChild.textContent)") == ["–", "–"]
    fire_lab_burst(page, "python", 20, 4)
    expect(rows).to_have_count(2)  # the newest burst of 4 replaced the older one
    page.get_by_test_id("teacher-address").locator("summary").click()
    for width, height in ((390, 844), (1366, 800), (1920, 1080)):
        page.set_viewport_size({"width": width, "height": height})
        page.get_by_test_id("lab-compare").scroll_into_view_if_needed()
        screenshot(page, f"lab-card-compare-{width}")

    page.get_by_test_id("lab-compare-clear").click()
    expect(page.get_by_test_id("lab-compare")).to_be_hidden()
    expect(page.get_by_test_id("lab-compare-clear")).to_be_hidden()
    page.reload()
    expect(page.get_by_test_id("lab-panel")).to_have_attribute("data-state", "on")
    expect(page.get_by_test_id("lab-compare")).to_be_hidden()  # cleared for good, not just hidden
