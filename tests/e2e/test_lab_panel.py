"""The lab card: bursts of lab work in process and thread modes, adding and removing
workers live, and a server with the lab off. Against real gunicorn servers."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

BURST_TIMEOUT_MS = 30_000  # 8 x 100 ms of CPU on a shared 2-core machine, with margin
SPARE_CORES = 1.4  # below this many idle cores, more than 100 % CPU is beyond the server's reach
LIVE = "[data-testid=worker]:not([data-state=gone])"
PIDS = "els => els.map(el => el.dataset.pid)"


def fire_lab_burst(page: Page, kind: str = "python", ms: int = 100, n: int = 8) -> Locator:
    """Choose the workload and N in the lab card, fire, and wait for the summary."""
    page.get_by_test_id("lab-kind").select_option(kind)
    page.get_by_test_id("lab-ms").fill(str(ms))
    page.get_by_test_id("lab-size").fill(str(n))
    page.get_by_test_id("lab-burst").click()
    summary = page.get_by_test_id("lab-summary")
    expect(summary).to_have_attribute("data-requests", str(n), timeout=BURST_TIMEOUT_MS)
    assert summary.get_attribute("data-failed") == "0"
    return summary


def machine_busy_seconds() -> float:
    """CPU seconds every process on this machine has used since boot (/proc/stat)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields)
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def test_a_python_burst_in_processes_mode_runs_in_parallel_over_several_pids(lab_page: Page) -> None:
    panel = lab_page.get_by_test_id("lab-panel")
    expect(panel).to_have_attribute("data-state", "on")
    expect(lab_page.get_by_test_id("lab-mode")).to_contain_text("MODE=processes")
    expect(lab_page.get_by_test_id("lab-restart")).to_have_text("MODE=threads make run")
    busy_before, begun = machine_busy_seconds(), time.monotonic()

    summary = fire_lab_burst(lab_page, "python", 100, 8)

    busy, wall = machine_busy_seconds() - busy_before, time.monotonic() - begun
    rows = lab_page.locator("[data-testid=request-row][data-kind=python]")
    expect(rows).to_have_count(8)
    pids = set(rows.evaluate_all(PIDS))
    assert len(pids) >= 2, f"8 requests of python work were answered by one process: {pids}"
    assert summary.get_attribute("data-pids") == str(len(pids))
    assert int(summary.get_attribute("data-max-in-flight")) >= 2
    timeline = lab_page.get_by_test_id("timeline")
    expect(timeline).to_have_attribute("data-mode", "held")
    expect(timeline).to_have_attribute("data-bars", "8")
    cpu_percent = int(summary.get_attribute("data-cpu-percent"))
    server_cpu = int(summary.get_attribute("data-cpu-ms")) / 1000
    assert server_cpu == pytest.approx(0.8, rel=0.35), "8 x 100 ms of CPU, as the server measured it"
    spare = (os.cpu_count() or 1) - (busy - server_cpu) / wall
    if cpu_percent <= 100 and spare < SPARE_CORES:
        pytest.xfail(f"other work kept this machine busy ({spare:.1f} cores spare): CPU {cpu_percent} %")
    assert cpu_percent > 100, f"CPU {cpu_percent} % with {spare:.1f} cores spare"


def test_choosing_tensorflow_warns_that_each_worker_loads_it_first(lab_page: Page) -> None:
    warm_up = lab_page.get_by_test_id("lab-warmup")
    expect(warm_up).to_be_hidden()

    lab_page.get_by_test_id("lab-kind").select_option("tensorflow")

    expect(warm_up).to_be_visible()
    expect(warm_up).to_contain_text("loads TensorFlow")
    expect(warm_up).to_contain_text("of 4 workers")


def test_a_python_burst_in_threads_mode_takes_turns_on_one_pid(page: Page, start_server) -> None:
    server = start_server(MODE="threads")
    page.goto(f"{server.url}/?token={server.token}")
    expect(page.get_by_test_id("lab-mode")).to_contain_text("MODE=threads")
    expect(page.get_by_test_id("lab-restart")).to_have_text("MODE=processes make run")

    summary = fire_lab_burst(page, "python", 100, 8)

    assert summary.get_attribute("data-pids") == "1"
    assert int(summary.get_attribute("data-threads")) >= 2
    # They overlapped in time (interleaved) yet used one core at most: the GIL.
    assert int(summary.get_attribute("data-max-in-flight")) >= 2
    assert int(summary.get_attribute("data-cpu-percent")) <= 110
    server_ms = page.locator("[data-testid=request-row][data-kind=python]").evaluate_all(
        "rows => rows.map(r => Number(r.dataset.serverMs))"
    )
    assert sorted(server_ms)[len(server_ms) // 2] > 150, f"100 ms of work did not stretch: {server_ms}"
    timeline = page.get_by_test_id("timeline")
    expect(timeline).to_have_attribute("data-bars", "8")
    expect(timeline).to_have_attribute("data-sub-lanes", re.compile(r"^[2-9]$"))
    # Most bars are striped: each thread ran only part of its request's time.
    assert int(timeline.get_attribute("data-striped")) >= 4


def test_threads_mode_cannot_add_workers_and_says_why(page: Page, start_server) -> None:
    server = start_server(MODE="threads")
    page.goto(f"{server.url}/?token={server.token}")

    expect(page.get_by_test_id("lab-workers")).to_have_attribute("data-scalable", "false")
    expect(page.get_by_test_id("add-worker")).to_be_disabled()
    expect(page.get_by_test_id("remove-worker")).to_be_disabled()
    expect(page.get_by_test_id("lab-workers-note")).to_contain_text("process modes only")


def test_adding_a_worker_brings_a_new_pid_that_takes_requests_and_removing_it_goes_back(
    page: Page, start_server
) -> None:
    # Room for lab work on all three workers (by default one stays free for predictions).
    server = start_server(MODE="processes", WORKERS="2", LAB_MAX_IN_FLIGHT="3")
    page.goto(f"{server.url}/?token={server.token}")
    live = page.get_by_test_id("worker-panel").locator(LIVE)
    expect(live).to_have_count(2)
    before = set(live.evaluate_all(PIDS))

    page.get_by_test_id("add-worker").click()

    expect(live).to_have_count(3, timeout=15_000)
    (new_pid,) = set(live.evaluate_all(PIDS)) - before
    note = page.get_by_test_id("lab-workers-note")
    expect(note).to_have_attribute("data-state", "done")
    expect(note).to_contain_text(f"{new_pid} joined")
    expect(page.get_by_test_id("lab-mode")).to_contain_text("3 live now")
    expect(live.and_(page.locator(f"[data-pid='{new_pid}']"))).not_to_have_attribute("data-state", "starting")
    # Six requests of 200 ms of waiting at once: three idle workers each catch some.
    summary = fire_lab_burst(page, "io", 200, 6)
    assert new_pid in summary.get_attribute("data-per-pid").replace(":", " ").split()

    page.get_by_test_id("remove-worker").click()

    expect(live).to_have_count(2, timeout=15_000)
    expect(note).to_have_attribute("data-state", "done")
    expect(note).to_contain_text("left")
    expect(page.get_by_test_id("add-worker")).to_be_enabled()


def test_a_first_tensorflow_burst_says_which_worker_is_loading_it_and_completes(
    page: Page, start_server
) -> None:
    server = start_server(MODE="processes", WORKERS="2")
    page.goto(f"{server.url}/?token={server.token}")
    expect(page.get_by_test_id("worker").first).to_be_visible()
    page.get_by_test_id("lab-kind").select_option("tensorflow")
    page.get_by_test_id("lab-ms").fill("20")
    page.get_by_test_id("lab-size").fill("4")
    page.get_by_test_id("lab-burst").click()

    warmup = page.get_by_test_id("lab-warmup")
    expect(warmup).to_contain_text(re.compile(r"(Loading TensorFlow in|before) worker \d+"))
    summary = page.get_by_test_id("lab-summary")
    expect(summary).to_have_attribute("data-requests", "4", timeout=120_000)
    assert summary.get_attribute("data-failed") == "0"
    expect(summary).to_contain_text(re.compile(r"loaded TensorFlow during this burst|still loading it"))
    # The warm-up note counts what the summary counts: every worker that loaded it during the burst.
    said, noted = summary.inner_text(), warmup.inner_text()
    loaded_now = re.search(r"(\d+) workers? loaded TensorFlow during", said)
    loaded_seen = re.search(r"(\d+) of 2 workers", noted)
    assert int(loaded_seen[1]) >= (int(loaded_now[1]) if loaded_now else 0), (said, noted)


def test_a_students_page_has_no_server_controls_and_says_whose_they_are(page: Page) -> None:
    page.goto("/")
    expect(page.get_by_test_id("lab-workers")).to_have_attribute("data-teacher", "false")
    expect(page.get_by_test_id("add-worker")).to_be_hidden()
    expect(page.get_by_test_id("remove-worker")).to_be_hidden()
    expect(page.get_by_test_id("lab-workers-note")).to_contain_text("the teacher")


def test_with_the_lab_off_the_lab_card_hides_itself(page: Page, start_server) -> None:
    server = start_server(LAB="0")
    page.goto(server.url)
    expect(page.get_by_test_id("worker").first).to_be_visible()

    panel = page.get_by_test_id("lab-panel")
    expect(panel).to_have_attribute("data-state", "off")
    expect(panel).to_be_hidden()
