"""The page on the teacher's screen (1366 x 800) and a student's phone (390 x 844): the timeline
in view after each kind of burst, the log readable without a sideways scroll, "Everyone" live,
and the lab's verdicts in the guide's words, from what was measured. Each test leaves a
screenshot in test-results/screens/ to look at."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from digits.strokes import draw_digit
from harness.launch import post_json
from tests.e2e.test_lab_panel import fire_lab_burst

SCREENS = Path(__file__).resolve().parents[2] / "test-results" / "screens"
WIDE = {"width": 1366, "height": 800}
PHONE = {"width": 390, "height": 844}
IN_VIEW = """el => { const r = el.getBoundingClientRect();
                     return r.top >= 0 && r.bottom <= window.innerHeight; }"""
WITHIN_WIDTH = "el => el.getBoundingClientRect().right <= window.innerWidth"


def screenshot(page: Page, name: str) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENS / f"{name}.png")


def burst_of_the_drawing(page: Page, n: int = 16) -> None:
    draw_digit(page, "7")
    expect(page.get_by_test_id("prediction")).to_have_attribute("data-state", "done")
    page.get_by_test_id("burst-size").fill(str(n))
    page.get_by_test_id("burst").click()
    expect(page.get_by_test_id("burst-summary")).to_have_attribute("data-requests", str(n), timeout=20_000)


@pytest.mark.parametrize("size", [WIDE, PHONE], ids=["1366x800", "390x844"])
def test_after_a_burst_the_timeline_is_in_view(lab_page: Page, size: dict) -> None:
    lab_page.set_viewport_size(size)

    burst_of_the_drawing(lab_page)

    timeline = lab_page.get_by_test_id("timeline")
    expect(timeline).to_have_attribute("data-mode", "held")
    lab_page.wait_for_function(f"() => ({IN_VIEW})(document.querySelector('[data-testid=timeline]'))")
    screenshot(lab_page, f"burst-{size['width']}x{size['height']}")
    if size is WIDE:  # the controls that fired it share the screen with it
        assert lab_page.get_by_test_id("burst").evaluate(IN_VIEW)


@pytest.mark.parametrize("size", [WIDE, PHONE], ids=["1366x800", "390x844"])
def test_after_a_lab_burst_the_timeline_and_its_summary_are_in_view(lab_page: Page, size: dict) -> None:
    lab_page.set_viewport_size(size)
    lab_page.get_by_test_id("lab-burst").scroll_into_view_if_needed()

    fire_lab_burst(lab_page, "python", 50, 4)

    lab_page.wait_for_function(f"() => ({IN_VIEW})(document.querySelector('[data-testid=timeline]'))")
    screenshot(lab_page, f"lab-burst-{size['width']}x{size['height']}")
    if size is WIDE:
        assert lab_page.get_by_test_id("lab-burst").evaluate(IN_VIEW)
        assert lab_page.get_by_test_id("lab-summary").evaluate(IN_VIEW)


def test_on_a_phone_the_log_shows_digit_and_server_time_without_a_sideways_scroll(lab_page: Page) -> None:
    lab_page.set_viewport_size(PHONE)

    burst_of_the_drawing(lab_page, 4)

    log = lab_page.locator(".table-scroll")
    log.scroll_into_view_if_needed()
    widths = log.evaluate("el => [el.scrollWidth, el.clientWidth]")
    assert widths[0] <= widths[1], f"the log scrolls sideways: {widths}"
    row = lab_page.get_by_test_id("request-row").first
    for column in ("digit-cell", "num"):  # the digit, and the server's time
        assert row.locator(f"td.{column}").first.evaluate(WITHIN_WIDTH), column
    screenshot(lab_page, "log-390x844")


def test_everyone_follows_live_even_while_the_timeline_held_a_burst(lab_page: Page, server) -> None:
    burst_of_the_drawing(lab_page, 4)
    timeline = lab_page.get_by_test_id("timeline")
    expect(timeline).to_have_attribute("data-mode", "held")

    lab_page.get_by_test_id("view-everyone").click()
    another_tab = {"image": _a_drawing(lab_page), "client_id": "other-tab"}
    status, body = post_json(server.url + "/api/predict", another_tab)

    assert status == 200
    expect(timeline).to_have_attribute("data-mode", "live")
    rid = json.loads(body)["request_id"]
    expect(lab_page.locator(f"[data-testid=request-row][data-request-id='{rid}']")).to_have_count(1)


def _a_drawing(page: Page) -> str:
    return page.get_by_test_id("canvas").evaluate("c => c.toDataURL()")


# -- the lab's verdicts: measured, in the guide's words -------------------------------------

VERDICT = """async ([kind, summary, pools, machine]) =>
    (await import('/static/js/verdicts.js')).labVerdict(kind, summary, pools, machine)"""
BUSY = {"cores": 2, "spare": 0.4, "window_s": 1.0}  # other work holds 1.6 of the 2 cores
QUIET = {"cores": 2, "spare": 1.9, "window_s": 1.0}


def summary(**measured) -> dict:
    """burst.js's summary of a burst of 4, with the figures a case changes."""
    one_process = {"sent": 4, "pids": [101], "threads": 4, "maxInFlight": 4, "cpuPercent": 100}
    return {**one_process, "medianRanShare": None, **measured}


ONE_INTER_OP = {"intra_op": 1, "inter_op": 1}  # this server's default
TF_DEFAULTS = {"intra_op": 0, "inter_op": 0}
TWO_INTER_OP = {"intra_op": 1, "inter_op": 2}


CASES = [
    # (kind, summary, pools, words it says, words it must not say)
    ("python", summary(medianRanShare=0.27), None, ["took turns at the GIL", "27 %"], []),
    ("tensorflow", summary(), ONE_INTER_OP, ["not because of the GIL", "TF_INTER_OP=2"], ["at the GIL"]),
    ("tensorflow", summary(), TF_DEFAULTS, ["default pools"], ["at the GIL"]),
    ("tensorflow", summary(cpuPercent=189), TWO_INTER_OP, ["in parallel", "outside the GIL"], []),
    ("python", summary(pids=[1, 2, 3, 4], cpuPercent=60, medianRanShare=0.4), None, ["fewer cores"], ["GIL"]),
    ("python", summary(pids=[1, 2], cpuPercent=95), None, ["0.4 of its 2 cores", "cannot show"], [], BUSY),
    ("python", summary(pids=[1, 2], cpuPercent=95), None, ["fewer cores"], ["cannot show"], QUIET),
    ("tensorflow", summary(pids=[1, 2], threads=2, cpuPercent=98), None, ["fewer cores were free"], ["GIL"]),
    ("python", summary(pids=[1, 2], cpuPercent=190), None, ["ran in parallel"], []),
    ("io", summary(cpuPercent=4), None, ["4 requests overlapped"], ["GIL"]),
    ("python", summary(maxInFlight=1, cpuPercent=95), None, ["one request at a time"], ["GIL"]),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_the_lab_verdict_says_what_was_measured_and_no_more(lab_page: Page, case: tuple) -> None:
    kind, measured, pools, says, never, *machine = case

    text = lab_page.evaluate(VERDICT, [kind, measured, pools, machine[0] if machine else None])

    for words in says:
        assert words in text, text
    for words in never:
        assert words not in text, text


def test_a_tensorflow_burst_in_threads_mode_does_not_blame_the_gil(page: Page, start_server) -> None:
    server = start_server(MODE="threads")
    page.goto(f"{server.url}/?token={server.token}")
    page.get_by_test_id("lab-kind").select_option("tensorflow")
    page.get_by_test_id("lab-burst").click()  # the first loads TensorFlow in the worker
    expect(page.get_by_test_id("lab-summary")).to_have_attribute("data-requests", "8", timeout=120_000)

    summary = fire_lab_burst(page, "tensorflow", 50, 4)

    text = summary.inner_text()
    assert "took turns at the GIL" not in text
    said = ("not because of the GIL", "outside the GIL", "one request at a time")
    assert any(words in text for words in said), text
    screenshot(page, "tensorflow-threads")


def test_the_header_always_says_how_many_cores_are_spare(lab_page: Page) -> None:
    spare = lab_page.get_by_test_id("spare-cores")

    expect(spare).to_be_visible(timeout=10_000)
    expect(spare).to_contain_text("spare")
    assert spare.get_attribute("data-state") in ("ok", "busy")
    assert 0 <= float(spare.get_attribute("data-spare")) <= (os.cpu_count() or 1)


def test_the_same_lab_burst_in_threads_then_processes_is_set_side_by_side(page: Page, start_server) -> None:
    threads = start_server(MODE="threads")
    page.goto(f"{threads.url}/?token={threads.token}")
    fire_lab_burst(page, "python", 50, 4)
    threads.stop()

    processes = start_server(port=threads.port, MODE="processes", LAB_TOKEN=threads.token)
    expect(page.get_by_test_id("lab-mode")).to_contain_text("MODE=processes", timeout=20_000)
    fire_lab_burst(page, "python", 50, 4)

    rows = page.get_by_test_id("lab-compare-rows").locator("tr")
    expect(rows).to_have_count(2)
    assert rows.evaluate_all("rs => rs.map(r => r.dataset.mode)") == ["threads", "processes"]
    assert all(float(rps) > 0 for rps in rows.evaluate_all("rs => rs.map(r => r.dataset.rps)"))
    expect(page.get_by_test_id("lab-summary")).to_contain_text("requests/s")
    assert processes.url == threads.url
    page.get_by_test_id("lab-compare").scroll_into_view_if_needed()
    screenshot(page, "claim-4-side-by-side")


def test_the_guide_walked_on_the_page(page: Page, start_server) -> None:
    """docs/teaching.md's page steps, in order, on one tab across restarts: the setup, claims 1,
    2 and 4. Mechanisms, not timings: where the machine is too busy for parallel work to show,
    the page must say so in the words the guide gives."""
    page.set_viewport_size(WIDE)
    server = start_server(MODE="processes")
    page.goto(f"{server.url}/?token={server.token}")
    expect(page.get_by_test_id("spare-cores")).to_contain_text("spare", timeout=10_000)

    # 0. The setup: draw a digit, press Burst: several processes answer, the timeline holds it.
    burst_of_the_drawing(page)
    assert int(page.get_by_test_id("burst-summary").get_attribute("data-pids")) >= 2
    expect(page.get_by_test_id("timeline")).to_have_attribute("data-mode", "held")
    assert page.get_by_test_id("timeline").evaluate(IN_VIEW)

    # Claim 1, processes: python 100 ms, 4 at once, over several PIDs; parallel, or "cannot show".
    summary = fire_lab_burst(page, "python", 100, 4)
    assert int(summary.get_attribute("data-pids")) >= 2
    parallel = int(summary.get_attribute("data-cpu-percent")) > 110
    assert parallel or "fewer cores were free" in summary.inner_text(), summary.inner_text()

    # Claim 1, threads: one PID, striped bars, "took turns at the GIL".
    server.stop()
    server = start_server(port=server.port, MODE="threads", LAB_TOKEN=server.token)
    expect(page.get_by_test_id("lab-mode")).to_contain_text("MODE=threads", timeout=20_000)
    summary = fire_lab_burst(page, "python", 100, 4)
    assert summary.get_attribute("data-pids") == "1"
    expect(summary).to_contain_text("took turns at the GIL")
    assert int(page.get_by_test_id("timeline").get_attribute("data-striped")) >= 2

    # Claim 2: io overlaps in threads, for little CPU.
    summary = fire_lab_burst(page, "io", 100, 4)
    assert int(summary.get_attribute("data-max-in-flight")) >= 2
    expect(summary).to_contain_text("requests overlapped")

    # Claim 4: the python bursts of both modes side by side.
    modes = page.get_by_test_id("lab-compare-rows").locator("tr[data-kind=python]")
    assert modes.evaluate_all("rs => rs.map(r => r.dataset.mode)") == ["processes", "threads"]
    table = page.get_by_test_id("lab-compare")
    table.scroll_into_view_if_needed()
    # It stays in its column: never drawn over the card's other column.
    box, side = table.bounding_box(), page.locator(".lab-side").bounding_box()
    assert box["x"] + box["width"] <= side["x"], (box, side)
    screenshot(page, "guide-walked")
