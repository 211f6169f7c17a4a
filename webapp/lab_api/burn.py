"""The lab's ``python`` workload: pure-Python CPU work. Standard library only, so that
bench/nogil.py can run the very same loop on an interpreter without the app's packages."""

from __future__ import annotations

import time


def burn_python(ms: float) -> None:
    """Pure-Python arithmetic until this thread has used `ms` of CPU.

    Counting this thread's CPU time, not the clock, keeps the work the same
    however many threads take turns at the GIL: two at once take twice as long.
    """
    end = time.thread_time() + ms / 1000
    x = 0
    while time.thread_time() < end:
        for i in range(200):
            x += i * i
