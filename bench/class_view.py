"""A class on their phones: N browser contexts draw at once; how long until the class view shows them all.

    .venv/bin/python -m bench.class_view                  # 30 students, its own gunicorn
    .venv/bin/python -m bench.class_view --students 60 --url http://localhost:2431/

Opens /class in one context (the projector) and /, at a phone's size, in
--students others (each its own tab: its own client id). All of them draw a 7 with
the mouse at the same moment (asyncio: Chromium gets every context's input events
together). Measures, for each student, the stroke's end to the answer on their
phone; and from the first stroke to the moment the class view's log holds every
student's request, and its wall every student's drawing. Prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time

from playwright.async_api import Page, async_playwright

from digits.strokes import DIGIT_STROKES
from harness.browser import launch_options
from harness.launch import running_server

PHONE = {"width": 390, "height": 844}


async def draw(page: Page) -> float:
    """A 7 with the mouse; the seconds from the stroke's end to the answer shown."""
    box = await page.get_by_test_id("canvas").bounding_box()
    points = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in DIGIT_STROKES["7"][0]]
    await page.mouse.move(*points[0])
    await page.mouse.down()
    for point in points[1:]:
        await page.mouse.move(*point, steps=4)
    await page.mouse.up()
    lifted = time.perf_counter()
    await page.wait_for_selector("[data-testid=prediction][data-state=done]", timeout=60_000)
    return time.perf_counter() - lifted


async def every_student(projector: Page, hook: str, students: int) -> None:
    """Wait until the class view's elements `hook` name that many distinct clients."""
    await projector.wait_for_function(
        f"n => new Set([...document.querySelectorAll('[data-testid={hook}]')]"
        ".map(el => el.dataset.clientId)).size >= n",
        arg=students,
        timeout=60_000,
    )


async def run(url: str, students: int) -> dict:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(**launch_options())
        try:
            projector = await (await browser.new_context(base_url=url)).new_page()
            await projector.goto("/class")
            await projector.wait_for_selector("[data-testid=worker]")
            print(f"opening {students} phones ...", flush=True)
            phones = []
            for _ in range(students):
                phone = await (await browser.new_context(base_url=url, viewport=PHONE)).new_page()
                await phone.goto("/")
                phones.append(phone)
            await asyncio.gather(*(p.wait_for_selector("[data-testid=canvas]") for p in phones))
            print(f"{students} students draw at once ...", flush=True)
            started = time.perf_counter()
            answers = await asyncio.gather(*(draw(phone) for phone in phones))
            await every_student(projector, "request-row", students)
            on_projector = time.perf_counter() - started
            await every_student(projector, "class-drawing", students)
            on_wall = time.perf_counter() - started
        finally:
            await browser.close()
    return {"answers": answers, "on_projector": on_projector, "on_wall": on_wall}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=30)
    parser.add_argument("--url", help="a running server (default: start one, MODE=processes)")
    args = parser.parse_args(argv)
    if args.url:
        result = asyncio.run(run(args.url.rstrip("/"), args.students))
    else:
        with running_server() as server:
            result = asyncio.run(run(server.url, args.students))
    answers = sorted(result["answers"])
    print(
        f"\n| {args.students} students drawing at once | seconds |\n|---|---:|\n"
        f"| stroke end → answer on the phone, median | {statistics.median(answers):.2f} |\n"
        f"| stroke end → answer on the phone, slowest | {answers[-1]:.2f} |\n"
        f"| first stroke → every student on the class view | {result['on_projector']:.2f} |\n"
        f"| first stroke → every student's drawing on the class wall | {result['on_wall']:.2f} |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
