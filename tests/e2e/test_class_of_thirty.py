"""A real class: 30 phones (390 x 844) drawing at once while the projector shows /class at
1920 x 1080. Each phone has its answer in view without scrolling, with its request on the
timeline; every drawing reaches the class wall, with the student's name, within 2 s (the wall
polls once a second); no page logs an error. Screenshots of the three screens after the burst
go to test-results/screens/ (docs/screens/ holds the ones the docs show).

Driven with Playwright's async API: the 30 phones draw concurrently in one Chromium, as the
sync API could only draw one after another. The figures are printed (pytest -s)."""

from __future__ import annotations

import asyncio
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright, expect

from digits.strokes import DIGIT_STROKES
from harness.browser import launch_options

PHONES = 30
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 800}
PROJECTOR = {"width": 1920, "height": 1080}
WALL_WITHIN_S = 2.0  # the promise: a drawing is on the wall within 2 s
WALL_POLL_S = 1.0  # static/js/class.js POLL_MS
SCREENS = Path(__file__).resolve().parents[2] / "test-results" / "screens"
JOINING = 6  # phones opening the page at once
DIGITS = ["7", "1", "0"]  # one stroke each: one request per phone

# On the projector: when each student's drawing (by client id) first showed on the wall.
RECORD_WALL = """
window.wallSeen = {};
new MutationObserver(() => {
  for (const card of document.querySelectorAll('[data-testid=class-drawing]')) {
    const id = card.getAttribute('data-client-id');
    if (id && !(id in window.wallSeen)) window.wallSeen[id] = Date.now() / 1000;
  }
}).observe(document, {subtree: true, childList: true, attributes: true,
                       attributeFilter: ['data-request-id']});
"""
# On a phone, once its answer is final: where the answer and the timeline are, and whether the
# page was scrolled (null until then).
WHERE = """() => {
  const prediction = document.querySelector('[data-testid=prediction]');
  if (prediction.dataset.state !== 'done' || prediction.dataset.final !== 'true') return null;
  const digit = document.querySelector('[data-testid=answer-digit]').getBoundingClientRect();
  const timeline = document.querySelector('[data-testid=timeline]');
  const lanes = timeline.getBoundingClientRect();
  return {digit: prediction.dataset.digit,
          scrollY: window.scrollY, height: window.innerHeight, digitTop: digit.top, digitBottom: digit.bottom,
          timelineTop: lanes.top, timelineBottom: lanes.bottom, bars: Number(timeline.dataset.bars || 0)};
}"""


async def draw(page: Page, digit: str) -> None:
    """Draw one digit with the mouse, as draw_strokes does with the sync API."""
    box = await page.get_by_test_id("canvas").bounding_box()
    assert box, "the canvas is not visible"
    for stroke in DIGIT_STROKES[digit]:
        points = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in stroke]
        await page.mouse.move(*points[0])
        await page.mouse.down()
        for point in points[1:]:
            await page.mouse.move(*point, steps=4)
        await page.mouse.up()


async def phone_draws(page: Page, digit: str) -> dict:
    """Draw, then wait for the answer: where it is, and the request that answered it."""
    await draw(page, digit)
    # Measured in the page at the first frame the answer is final (a starved machine may time a
    # request out and send it again: the answer then comes twice).
    where = await (await page.wait_for_function(WHERE, timeout=90_000)).json_value()
    # Its request on the timeline, drawn on one of the next frames (at most 20 a second).
    await page.wait_for_function(
        "() => Number(document.querySelector('[data-testid=timeline]').dataset.bars) > 0", timeout=30_000
    )
    where["bars"] = await page.get_by_test_id("timeline").get_attribute("data-bars")
    where["scrolled_since"] = await page.evaluate("window.scrollY")
    rows = page.get_by_test_id("request-row")
    await expect(rows.first).to_be_attached(timeout=10_000)
    # Its first answer (a request that timed out on a starved machine is sent again, later).
    finished = await rows.evaluate_all("rows => Math.min(...rows.map(r => Number(r.dataset.finished)))")
    return {
        **where,
        "client_id": await page.evaluate("sessionStorage.getItem('mnist-lab-client-id')"),
        "finished": finished,
    }


def say(text: str) -> None:
    """Progress on a busy machine (pytest -s shows it)."""
    print(f"{time.strftime('%H:%M:%S')} {text}", flush=True)


async def class_of_thirty(url: str, token: str) -> dict:
    errors: list[str] = []
    polls: list[float] = []

    def watch(page: Page, who: str) -> None:
        page.on("console", lambda m: errors.append(f"{who}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"{who}: {e}"))

    async with async_playwright() as p:
        browser = await p.chromium.launch(**launch_options())
        projector = await (await browser.new_context(viewport=PROJECTOR)).new_page()
        await projector.add_init_script(RECORD_WALL)
        watch(projector, "/class")
        projector.on("response", lambda r: polls.append(time.time()) if "/api/requests" in r.url else None)
        await projector.goto(url + "/class")

        phones = []
        for i in range(PHONES):
            context = await browser.new_context(viewport=PHONE, has_touch=True)
            page = await context.new_page()
            watch(page, f"phone {i + 1}")
            phones.append(page)

        async def join(i: int, page: Page) -> None:
            await page.goto(url + "/", timeout=120_000)
            await page.get_by_test_id("student-name").fill(f"Student {i + 1:02d}")
            connection = page.get_by_test_id("connection")
            await expect(connection).to_have_attribute("data-state", "up", timeout=30_000)

        # The class arrives a few at a time (each page is ~40 files from 4 workers); then draws at once.
        for first in range(0, PHONES, JOINING):
            await asyncio.gather(*(join(i, phones[i]) for i in range(first, min(first + JOINING, PHONES))))
            say(f"{min(first + JOINING, PHONES)} phones have joined")
        begun = time.time()
        answers = await asyncio.gather(*(phone_draws(page, DIGITS[i % 3]) for i, page in enumerate(phones)))
        drawn_in = time.time() - begun
        say(f"{PHONES} phones drew and read their answers in {drawn_in:.1f} s")

        wall = projector.get_by_test_id("class-drawing")
        try:
            for answer in answers:
                card = wall.and_(projector.locator(f'[data-client-id="{answer["client_id"]}"]'))
                await expect(card.first).to_be_attached(timeout=60_000)
        except AssertionError as missing:
            shown = await wall.evaluate_all("cards => cards.map(c => c.dataset.requestId)")
            found = f"on the wall: {shown}\nerrors: {errors}\npolls: {polls}"
            raise AssertionError(f"{missing}\n{found}") from None
        on_wall_at = time.time()
        say("every drawing is on the wall")
        seen = await projector.evaluate("window.wallSeen")
        cards = await wall.evaluate_all(
            "cards => cards.map(c => [c.dataset.clientId, c.dataset.name, c.dataset.digit])"
        )

        # The three screens after the burst: the projector; a phone (its drawing sent again, so
        # that its bar is in the timeline's 10 s); the class view on a teacher's laptop.
        SCREENS.mkdir(parents=True, exist_ok=True)
        await projector.screenshot(path=SCREENS / "class-wall-1920x1080.png")
        await phones[0].get_by_test_id("predict").click()
        await phones[0].wait_for_function(WHERE, timeout=60_000)
        await phones[0].wait_for_timeout(500)
        await phones[0].screenshot(path=SCREENS / "class-phone-390x844.png")
        laptop = await (await browser.new_context(viewport=LAPTOP)).new_page()
        watch(laptop, "the class view on a laptop")
        await laptop.goto(f"{url}/class", timeout=120_000)
        await expect(laptop.get_by_test_id("class-drawing").nth(PHONES - 1)).to_be_attached(timeout=60_000)
        await laptop.screenshot(path=SCREENS / "class-laptop-1366x800.png")
        await browser.close()
    return {
        "answers": answers,
        "seen": seen,
        "cards": cards,
        "errors": errors,
        "polls": polls,
        "drawn_in": drawn_in,
        "burst": (begun, on_wall_at),
    }


@pytest.mark.timeout(900)  # 31 pages in one Chromium: minutes on a busy 2-core machine
def test_thirty_phones_draw_at_once_and_every_drawing_reaches_the_wall(server) -> None:
    # A thread of its own: the session's sync Playwright (the other e2e tests) keeps an event loop
    # running in this one, and asyncio.run() refuses to start a second loop beside it.
    with ThreadPoolExecutor(1) as pool:
        result = pool.submit(asyncio.run, class_of_thirty(server.url, server.token)).result()
    answers, seen = result["answers"], result["seen"]

    # Each phone: the answer in view with no scrolling, and its request on the timeline in view.
    for i, answer in enumerate(answers):
        phone = f"phone {i + 1}: {answer}"
        assert answer["scrollY"] == 0, phone
        assert 0 <= answer["digitTop"] and answer["digitBottom"] <= answer["height"], phone
        assert answer["timelineBottom"] <= answer["height"], phone
        assert int(answer["bars"]) >= 1 and answer["scrolled_since"] == 0
        assert answer["digit"] == DIGITS[i % 3], f"phone {i + 1} drew {DIGITS[i % 3]}, read {answer['digit']}"
    on_wall = {client: (name, digit) for client, name, digit in result["cards"]}
    assert [on_wall[a["client_id"]] for a in answers] == [
        (f"Student {i + 1:02d}", DIGITS[i % 3]) for i in range(PHONES)
    ]
    assert result["errors"] == []

    delays = sorted(seen[a["client_id"]] - a["finished"] for a in answers)
    # The wall's polls from the class's first stroke until every drawing was on it.
    begun, ended = result["burst"]
    polls = [t for t in result["polls"] if begun <= t <= ended]
    gaps = [b - a for a, b in zip(polls, polls[1:], strict=False)] or [ended - begun]
    print(
        f"\n{PHONES} phones drew in {result['drawn_in']:.1f} s; answer -> on the wall: median "
        f"{statistics.median(delays):.2f} s, slowest {delays[-1]:.2f} s; the wall's polls: median "
        f"{statistics.median(gaps):.2f} s apart, longest {max(gaps):.2f} s"
    )
    if delays[-1] > WALL_WITHIN_S and max(gaps) > 1.5 * WALL_POLL_S:
        pytest.xfail(
            f"a drawing took {delays[-1]:.2f} s to reach the wall, but the machine was too busy for the wall "
            f"to poll every {WALL_POLL_S:.0f} s (a gap of {max(gaps):.2f} s between its polls)"
        )
    assert delays[-1] <= WALL_WITHIN_S
