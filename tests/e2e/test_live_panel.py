"""The live panel: workers, bursts, the timeline, and every client's requests."""

from __future__ import annotations

import json

from playwright.sync_api import Page, expect

from digits.drawing import data_url
from digits.strokes import DIGIT_STROKES, draw_digit, render_strokes
from harness.launch import post_json

ROW_FIELDS = """rows => rows.map(r => [
    r.dataset.pid, Number(r.dataset.received), Number(r.dataset.finished), r.dataset.digit
])"""


def max_in_flight(intervals: list[tuple[float, float]]) -> int:
    """Most intervals open at one instant (an end at the very start of another is no overlap)."""
    events = sorted([(start, 1) for start, _ in intervals] + [(end, -1) for _, end in intervals])
    most = now = 0
    for _, change in events:
        now += change
        most = max(most, now)
    return most


def test_the_worker_panel_shows_the_four_workers_and_the_mode(stored_lab_page: Page, stored_server) -> None:
    lab_page, server = stored_lab_page, stored_server
    workers = lab_page.get_by_test_id("worker-panel").get_by_test_id("worker")

    expect(workers).to_have_count(4)
    pids = {str(worker["pid"]) for worker in server.workers()}
    assert {workers.nth(i).get_attribute("data-pid") for i in range(4)} == pids
    hosts = {w["host"] for w in server.workers()}
    assert {workers.nth(i).get_attribute("data-host") for i in range(4)} == hosts  # the contract's hook
    expect(lab_page.get_by_test_id("mode-banner")).to_contain_text("4 processes × 1 thread")


def test_a_burst_of_16_is_answered_by_several_workers_and_summed_up(lab_page: Page) -> None:
    draw_digit(lab_page, "7")
    expect(lab_page.get_by_test_id("prediction")).to_have_attribute("data-state", "done")
    lab_page.get_by_test_id("burst-size").fill("16")

    lab_page.get_by_test_id("burst").click()

    summary = lab_page.get_by_test_id("burst-summary")
    expect(summary).to_have_attribute("data-requests", "16")
    rows = lab_page.locator("[data-testid=request-row][data-burst='1']")
    expect(rows).to_have_count(16)
    found = rows.evaluate_all(ROW_FIELDS)
    pids = {pid for pid, *_ in found}
    assert len(pids) >= 2, f"a burst of 16 was answered by one worker only: {pids}"
    assert summary.get_attribute("data-pids") == str(len(pids))
    assert summary.get_attribute("data-max-in-flight") == str(max_in_flight([(r, f) for _, r, f, _ in found]))
    assert summary.get_attribute("data-failed") == "0"
    assert {digit for *_, digit in found} == {"7"}
    # Beside its PID, each row's short id tells it apart (ids end in a per-worker counter).
    shown = list(
        zip(
            rows.evaluate_all("rows => rows.map(r => r.dataset.pid)"),
            rows.locator(".rid").all_inner_texts(),
            strict=True,
        )
    )
    assert len(set(shown)) == 16, f"rows the log's columns cannot tell apart: {shown}"
    expect(lab_page.get_by_test_id("worker-panel").get_by_test_id("worker")).to_have_count(4)
    timeline = lab_page.get_by_test_id("timeline")
    expect(timeline).to_have_attribute("data-mode", "held")
    expect(timeline).to_have_attribute("data-bars", "16")


def test_the_burst_size_is_kept_between_1_and_64(lab_page: Page) -> None:
    draw_digit(lab_page, "1")
    lab_page.get_by_test_id("burst-size").fill("500")

    lab_page.get_by_test_id("burst").click()

    expect(lab_page.get_by_test_id("burst-size")).to_have_value("64")
    expect(lab_page.get_by_test_id("burst-summary")).to_have_attribute("data-requests", "64")


def test_everyone_shows_other_clients_requests_and_mine_hides_them(
    stored_lab_page: Page, stored_server
) -> None:
    lab_page, server = stored_lab_page, stored_server
    draw_digit(lab_page, "1")
    expect(lab_page.get_by_test_id("request-row")).to_have_count(1)
    other = _predict_as_another_client(server.url)

    lab_page.get_by_test_id("view-everyone").click()

    log = lab_page.get_by_test_id("request-log")
    expect(log.locator(f"[data-request-id='{other}']")).to_have_count(1)
    lab_page.get_by_test_id("view-mine").click()
    expect(log.locator(f"[data-request-id='{other}']")).to_have_count(0)
    expect(log.get_by_test_id("request-row")).to_have_count(1)


def test_the_timeline_window_can_follow_live_again_after_a_burst(lab_page: Page) -> None:
    draw_digit(lab_page, "1")
    lab_page.get_by_test_id("burst-size").fill("4")
    lab_page.get_by_test_id("burst").click()
    timeline = lab_page.get_by_test_id("timeline")
    expect(timeline).to_have_attribute("data-mode", "held")

    lab_page.locator("[data-testid=timeline-window][data-seconds='10']").click()

    expect(timeline).to_have_attribute("data-mode", "live")
    expect(timeline).to_have_attribute("data-lanes", "4")


def test_threaded_modes_get_a_timeline_lane_per_thread(page: Page, start_server) -> None:
    server = start_server(MODE="threads")
    page.goto(server.url + "/")
    expect(page.get_by_test_id("mode-banner")).to_contain_text("1 process × 4 threads")
    draw_digit(page, "1")
    page.get_by_test_id("burst-size").fill("16")

    page.get_by_test_id("burst").click()

    expect(page.get_by_test_id("burst-summary")).to_have_attribute("data-requests", "16")
    rows = page.get_by_test_id("request-row")
    threads = set(rows.evaluate_all("rows => rows.map(r => r.children[3].textContent)"))
    assert len(threads) >= 2, f"4 threads, 16 requests at once, yet one thread answered all: {threads}"
    timeline = page.get_by_test_id("timeline")
    expect(timeline).to_have_attribute("data-lanes", "1")
    expect(timeline).to_have_attribute("data-sub-lanes", str(len(threads)))


def _predict_as_another_client(url: str) -> str:
    """A drawing sent by some other client (curl, another tab): its request id."""
    body = {"image": data_url(render_strokes(DIGIT_STROKES["7"])), "client_id": "another-tab"}
    return json.loads(post_json(url + "/api/predict", body)[1])["request_id"]
