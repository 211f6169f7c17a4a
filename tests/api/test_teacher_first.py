"""The teacher's demonstration comes first: students looping lab work never narrow the
teacher's burst (webapp/lab_api/limits.py). Real gunicorn, 4 worker processes, three students
on addresses of their own, each as the page sends (two at once) but coming back at once when
refused, as a script would."""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from harness.launch import post_json, running_server
from tests.api.test_live_class import _lab_from
from tests.waiting import wait_for

WORKERS = 4
WORK = {"kind": "python", "ms": 100}


def _max_overlap(spans: list[tuple[float, float]]) -> int:
    events = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans], key=lambda e: (e[0], e[1]))
    now = most = 0
    for _, change in events:
        now += change
        most = max(most, now)
    return most


@pytest.fixture(scope="module")
def four_workers(tmp_path_factory):
    logs = tmp_path_factory.mktemp("gunicorn")
    with running_server(MODE="processes", WORKERS=str(WORKERS), log_dir=logs) as srv:
        yield srv


def test_three_students_looping_lab_work_never_narrow_the_teachers_burst(four_workers):
    server = four_workers
    stop = threading.Event()
    answers: list[tuple[float, int, dict]] = []  # (when, status, body) of every student request

    def student(source: str) -> None:
        while not stop.is_set():
            status, body = _lab_from(server.port, source, WORK)
            answers.append((time.time(), status, body))
            if status != 200:
                time.sleep(0.02)  # a script, not the page: back at once

    sources = [f"127.0.0.{2 + i}" for i in range(3)]
    with ThreadPoolExecutor(6) as students:
        for source in sources * 2:  # two at once each, the per-client cap
            students.submit(student, source)
        wait_for(lambda: sum(status == 200 for _, status, _ in answers) >= 6, 30, "the students' lab work")

        def teacher(_):
            status, body = post_json(server.url + "/api/lab/work", WORK, timeout=30, token=server.token)
            return status, json.loads(body)

        begun = time.time()
        with ThreadPoolExecutor(WORKERS) as pool:  # the page sends as many at once as the server runs
            burst = list(pool.map(teacher, range(3 * WORKERS)))
        ended = time.time()
        # After the burst the students' work runs again: nobody is starved for good.
        wait_for(
            lambda: any(status == 200 and when > ended + 0.1 for when, status, _ in answers),
            30,
            "a student's lab work after the teacher's burst",
        )
        stop.set()

    assert [status for status, _ in burst] == [200] * len(burst), burst
    spans = [(body["timing"]["started"], body["timing"]["finished"]) for _, body in burst]
    # Full width: every worker ran the teacher's work at one moment.
    assert _max_overlap(spans) == WORKERS
    assert len({body["worker"]["pid"] for _, body in burst}) == WORKERS
    # The mechanism: while the burst ran, students were told the teacher comes first.
    during = [body for when, status, body in answers if begun < when < ended and status == 429]
    assert any("teacher is demonstrating" in body["error"]["message"] for body in during)
    # And no student's work started once the teacher's first workload had.
    first = min(started for started, _ in spans)
    last = max(finished for _, finished in spans)
    student_starts = [body["timing"]["started"] for _, status, body in answers if status == 200]
    assert not [t for t in student_starts if first + 0.05 < t < last], "a student's work ran inside the burst"
