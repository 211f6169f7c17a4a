"""A class of students on the demo page, for Locust.

Each simulated student does what the page does: polls /api/workers and
/api/requests about once a second, draws and sends a digit every few seconds
(real canvas-sized PNGs of several MNIST digits, drawn with a round pen), and
now and then presses "burst" (16 requests at once). Run it through
`python -m bench.classroom`, which starts the server and prints the table, or
by hand:

    locust -f bench/locustfile.py --headless -u 100 -r 20 -t 60s --host http://localhost:2431

bench.classroom draws the digits in Chromium's canvas and encodes them with its
toDataURL(), as the page does, and hands them over in a JSON file named by
CLASSROOM_DRAWINGS. Run by hand without it, the digits are drawn and encoded
by Pillow instead (the same strokes; Pillow compresses harder).
"""

from __future__ import annotations

import json
import os
import random
import uuid

import gevent
from locust import HttpUser, constant, task

BURST_SIZE = 16
SEND_EVERY = (2, 6)  # seconds between two drawings of one student
BURST_CHANCE = 0.01  # per second: about one burst a student every 100 s


def _drawings() -> list[str]:
    """Data URLs of MNIST test digits drawn like a canvas, as the page sends them."""
    given = os.environ.get("CLASSROOM_DRAWINGS")
    if given:
        with open(given) as f:
            return json.load(f)
    from bench.classroom import DRAWING_COUNT
    from digits import dataset
    from digits.drawing import data_url, draw_like_a_pen

    images, _ = dataset.load("test")
    return [data_url(draw_like_a_pen(image)) for image in images[:DRAWING_COUNT]]


DRAWINGS = _drawings()


class Student(HttpUser):
    """One browser tab of the demo page."""

    wait_time = constant(1)  # the page's polling period

    def on_start(self):
        self.client_id = f"student-{uuid.uuid4().hex[:12]}"
        self.latest = None
        self.next_send = random.uniform(0, SEND_EVERY[1])

    @task
    def one_second_of_the_page(self):
        self.client.get("/api/workers", name="/api/workers")
        query = f"?since={self.latest}" if self.latest else ""
        with self.client.get(f"/api/requests{query}", name="/api/requests", catch_response=True) as response:
            if response.ok:
                self.latest = response.json().get("latest") or self.latest
        self.next_send -= 1
        if self.next_send <= 0:
            self.send_drawing()
            self.next_send = random.uniform(*SEND_EVERY)
        if random.random() < BURST_CHANCE:
            gevent.joinall(
                [gevent.spawn(self.send_drawing, "/api/predict (burst)") for _ in range(BURST_SIZE)]
            )

    def send_drawing(self, name: str = "/api/predict"):
        body = {"image": random.choice(DRAWINGS), "client_id": self.client_id}
        self.client.post("/api/predict", json=body, name=name)
