"""MODE=batched: requests that wait for the model at the same time share one model call.

As TensorFlow Serving and Triton do: each request thread hands its image to one
batching thread and waits. That thread takes the first waiting image, gathers
whatever else arrives within ``max_delay`` (up to ``max_size`` images), runs
them as one batch, and hands each request its own row of the result.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass

import numpy as np

log = logging.getLogger(__name__)


@dataclass
class Call:
    """What one request learns about the model call that answered it."""

    probabilities: np.ndarray  # [n, 10], this request's rows
    started: float
    finished: float
    batch_size: int
    batch_id: int


def direct(model, x: np.ndarray) -> Call:
    """No batching: one model call per request."""
    started = time.time()
    probabilities = model.probabilities(x)
    return Call(probabilities, started, time.time(), len(x), 0)


class Batcher:
    """Run requests' images in shared model calls; submit() may be called from any thread."""

    def __init__(self, model, max_size: int = 16, max_delay: float = 0.002, in_flight=None):
        """``in_flight()``, if given, counts the requests in this process that may still
        join a batch; the batcher stops waiting once they all have (a lone request
        then pays no delay)."""
        self.model, self.max_size, self.max_delay = model, max_size, max_delay
        self.in_flight = in_flight
        self._queue: queue.Queue[tuple[np.ndarray, Future]] = queue.Queue()
        self._ids = itertools.count(1)
        threading.Thread(target=self._run_forever, name="batcher", daemon=True).start()

    def submit(self, x: np.ndarray, timeout: float = 30.0) -> Call:
        """Queue x [n, 28, 28, 1] and wait for its rows of a shared call."""
        future: Future = Future()
        self._queue.put((x, future))
        return future.result(timeout)

    def _gather(self) -> list[tuple[np.ndarray, Future]]:
        items = [self._queue.get()]
        size = len(items[0][0])
        deadline = time.monotonic() + self.max_delay
        while size < self.max_size:
            if self.in_flight is not None and len(items) >= self.in_flight():
                break  # every request in this process is already in the batch
            remaining = deadline - time.monotonic()
            try:
                item = self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            items.append(item)
            size += len(item[0])
        return items

    def _run_forever(self) -> None:
        while True:
            items = self._gather()
            try:
                batch = np.concatenate([x for x, _ in items])
                started = time.time()
                probabilities = self.model.probabilities(batch)
                finished = time.time()
            except Exception as err:  # noqa: BLE001 - every waiting request must hear of it
                log.exception("batch of %d failed", len(items))
                for _, future in items:
                    future.set_exception(err)
                continue
            batch_id = next(self._ids)
            row = 0
            for x, future in items:
                rows = probabilities[row : row + len(x)]
                row += len(x)
                future.set_result(Call(rows, started, finished, len(batch), batch_id))
