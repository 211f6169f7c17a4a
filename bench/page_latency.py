"""From the end of a stroke to the answer on screen, measured in a real Chromium.

    .venv/bin/python -m bench.page_latency            # its own gunicorn, 4 workers
    .venv/bin/python -m bench.page_latency --runs 60
    .venv/bin/python -m bench.page_latency --url http://localhost:2431/
    .venv/bin/python -m bench.page_latency --runs 0 --screenshot docs/screenshot.png

Draws single-stroke digits with the mouse, `--runs` times. In the page, a listener
notes the time of the stroke's pointerup; a MutationObserver notes when the
prediction turns data-state="done", and the next animation frame after it (the
answer painted), and when it turns final (data-final="true": the pen has rested
PAUSE_MS; until then the answer shows as provisional). The request row gives the
AJAX round trip and the server's own time. Then `--runs` two-stroke 4s, drawn with a
person's pause between the strokes (`--pause`, 300 ms): how often a wrong digit was
shown as a final answer, and the last stroke's end → final. Prints Markdown tables
of medians and spreads. With --screenshot, it then photographs the page as a burst
of 64 is answered (the README's picture).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

from digits.drawing import PEN
from digits.strokes import DIGIT_STROKES, draw_strokes
from harness.browser import launch_options
from harness.launch import running_server

DIGITS = ["1", "7", "0"]  # one stroke each: the stroke's end is the drawing's end
INSTRUMENT = """() => {
    const prediction = document.querySelector('[data-testid=prediction]');
    const fresh = () => ({ up: performance.now(), done: null, painted: null, final: null });
    window.latency = { up: null, done: null, painted: null, final: null };
    window.shown = [];  // every answer shown since the drawing was cleared: [digit, final]
    window.addEventListener('pointerup', () => { window.latency = fresh(); }, true);
    new MutationObserver(() => {
        const state = prediction.getAttribute('data-state');
        if (state === 'empty') window.shown = [];
        if (state !== 'done') return;
        const final = prediction.getAttribute('data-final') === 'true';
        window.shown.push([prediction.getAttribute('data-digit'), final]);
        if (window.latency.done === null) {
            window.latency.done = performance.now();
            requestAnimationFrame(() => { window.latency.painted = performance.now(); });
        }
        if (final && window.latency.final === null) window.latency.final = performance.now();
    }).observe(prediction, { attributes: true, attributeFilter: ['data-state', 'data-final', 'data-digit'] });
}"""
READ_ROW = """() => {
    const row = document.querySelector('[data-testid=request-row]');
    return { roundTrip: Number(row.dataset.roundTripMs), server: Number(row.dataset.serverMs) };
}"""


def measure_once(page: Page, digit: str) -> dict[str, float]:
    page.get_by_test_id("clear").click()
    expect(page.get_by_test_id("prediction")).to_have_attribute("data-state", "empty")
    draw_strokes(page, DIGIT_STROKES[digit], steps=2)
    expect(page.get_by_test_id("prediction")).to_have_attribute("data-digit", digit)
    page.wait_for_function("() => window.latency.painted !== null")
    times = page.evaluate("window.latency")
    row = page.evaluate(READ_ROW)
    page.wait_for_function("() => window.latency.final !== null")
    times = page.evaluate("window.latency")
    return {
        "stroke end → answer in the page": times["done"] - times["up"],
        "stroke end → answer painted": times["painted"] - times["up"],
        "stroke end → answer final": times["final"] - times["up"],
        "AJAX round trip": row["roundTrip"],
        "server (received → finished)": row["server"],
    }


def measure_two_strokes(page: Page, pause_ms: float) -> dict[str, float]:
    """A 4 in two strokes with a pause between: wrong digits shown, and shown as final."""
    page.get_by_test_id("clear").click()
    expect(page.get_by_test_id("prediction")).to_have_attribute("data-state", "empty")
    draw_strokes(page, DIGIT_STROKES["4"], steps=2, pause_ms=pause_ms)
    page.wait_for_function("() => window.latency.final !== null")
    times, shown = page.evaluate("window.latency"), page.evaluate("window.shown")
    read = shown[-1][0] == "4"
    return {
        "wrong digit shown (provisional)": float(any(not final for digit, final in shown if digit != "4")),
        "wrong digit shown as final": float(any(final for digit, final in shown if digit != "4")),
        "read as 4 in the end": float(read),
        "last stroke end → answer final": times["final"] - times["up"],
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def table(samples: list[dict[str, float]]) -> str:
    lines = [
        "| ms | median | p90 | min | max |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in samples[0]:
        values = [sample[name] for sample in samples]
        lines.append(
            f"| {name} | {statistics.median(values):.1f} | {percentile(values, 0.9):.1f} "
            f"| {min(values):.1f} | {max(values):.1f} |"
        )
    return "\n".join(lines)


def screenshot_of_a_burst(page: Page, path: Path) -> None:
    """The page as a burst of 64 is answered: the timeline holds it, overlap across workers shows."""
    from PIL import Image

    page.set_viewport_size({"width": 1280, "height": 1240})
    page.get_by_test_id("clear").click()
    draw_strokes(page, DIGIT_STROKES["7"])
    expect(page.get_by_test_id("prediction")).to_have_attribute("data-digit", "7")
    page.get_by_test_id("burst-size").fill("16")
    page.get_by_test_id("burst").click()  # a first burst: every card has work to show
    expect(page.get_by_test_id("burst-summary")).to_have_attribute("data-requests", "16")
    page.get_by_test_id("burst-size").fill("64")
    page.get_by_test_id("burst").click()
    expect(page.get_by_test_id("burst-summary")).to_have_attribute("data-requests", "64")
    page.screenshot(path=str(path))
    # 256 colours are plenty for a page of flat colours, and keep the file small.
    Image.open(path).convert("RGB").quantize(256).save(path, optimize=True)
    print(f"screenshot: {path} ({path.stat().st_size // 1024} KB)")


def run(
    url: str, runs: int, warm_up: int, screenshot: Path | None = None, pause_ms: float = 300
) -> tuple[list[dict[str, float]], list[dict[str, float]]]:
    with sync_playwright() as p:
        browser = p.chromium.launch(**launch_options())
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(url)
        expect(page.get_by_test_id("worker").first).to_be_visible()
        page.evaluate(INSTRUMENT)
        samples = []
        for i in range(warm_up + runs if runs else 0):
            sample = measure_once(page, DIGITS[i % len(DIGITS)])
            if i >= warm_up:
                samples.append(sample)
        two = [measure_two_strokes(page, pause_ms) for _ in range(runs)]
        if screenshot:
            screenshot_of_a_burst(page, screenshot)
        browser.close()
    return samples, two


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running server (default: start one with 4 workers)")
    parser.add_argument("--runs", type=int, default=30, help="measured drawings (default 30)")
    parser.add_argument("--warm-up", type=int, default=3, help="drawings not counted (default 3)")
    parser.add_argument("--screenshot", type=Path, help="then save a PNG of the page after a burst here")
    parser.add_argument("--pause", type=float, default=300, help="ms between a 4's two strokes (300)")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        url = args.url
        if not url:
            server = stack.enter_context(running_server(MODE="processes", WORKERS="4"))
            url = server.url + "/"
        samples, two = run(url, args.runs, args.warm_up, args.screenshot, args.pause)
    if not samples:
        return
    print(f"{len(samples)} drawings, stroke end → answer, Chromium on this machine ({url})\n")
    print(table(samples))
    print(f"\n{len(two)} 4s drawn in two strokes, {args.pause:g} ms apart:\n")
    for name in ("wrong digit shown (provisional)", "wrong digit shown as final", "read as 4 in the end"):
        print(f"- {name}: {sum(t[name] for t in two):.0f} of {len(two)}")
    finals = [t["last stroke end → answer final"] for t in two if t["read as 4 in the end"]]
    if finals:
        print(f"- last stroke end → answer final: median {statistics.median(finals):.0f} ms")
    print(
        f"\nThe page waits {PEN['debounce_ms']} ms after a stroke ends (another may follow) before it"
        f" sends, and shows the answer as provisional until the pen has rested {PEN['pause_ms']} ms."
    )


if __name__ == "__main__":
    main()
