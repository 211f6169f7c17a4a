"""From the end of a stroke to the answer on screen, measured in a real Chromium.

    .venv/bin/python -m bench.page_latency            # its own gunicorn, 4 workers
    .venv/bin/python -m bench.page_latency --runs 60
    .venv/bin/python -m bench.page_latency --url http://localhost:2431/
    .venv/bin/python -m bench.page_latency --runs 0 --screenshot docs/screenshot.png

Draws single-stroke digits with the mouse, `--runs` times. In the page, a listener
notes the time of the stroke's pointerup; a MutationObserver notes when the
prediction turns data-state="done", and the next animation frame after it (the
answer painted). The request row gives the AJAX round trip and the server's own
time. Prints a Markdown table of medians and spreads. With --screenshot, it then
photographs the page as a burst of 64 is answered (the README's picture).
"""

from __future__ import annotations

import argparse
import contextlib
import re
import statistics
from pathlib import Path

from playwright.sync_api import Page, expect, sync_playwright

from digits.strokes import DIGIT_STROKES, draw_strokes
from harness.browser import LAUNCH_ARGS, find_chromium
from harness.launch import running_server

ROOT = Path(__file__).resolve().parent.parent

DIGITS = ["1", "7", "0"]  # one stroke each: the stroke's end is the drawing's end
INSTRUMENT = """() => {
    const prediction = document.querySelector('[data-testid=prediction]');
    window.latency = { up: null, done: null, painted: null };
    window.addEventListener('pointerup', () => {
        window.latency = { up: performance.now(), done: null, painted: null };
    }, true);
    new MutationObserver(() => {
        if (prediction.getAttribute('data-state') !== 'done' || window.latency.done !== null) return;
        window.latency.done = performance.now();
        requestAnimationFrame(() => { window.latency.painted = performance.now(); });
    }).observe(prediction, { attributes: true, attributeFilter: ['data-state'] });
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
    return {
        "stroke end → answer in the page": times["done"] - times["up"],
        "stroke end → answer painted": times["painted"] - times["up"],
        "AJAX round trip": row["roundTrip"],
        "server (received → finished)": row["server"],
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


def run(url: str, runs: int, warm_up: int, screenshot: Path | None = None) -> list[dict[str, float]]:
    path = find_chromium()
    with sync_playwright() as p:
        browser = p.chromium.launch(**({"executable_path": path} if path else {}), args=LAUNCH_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(url)
        expect(page.get_by_test_id("worker").first).to_be_visible()
        page.evaluate(INSTRUMENT)
        samples = []
        for i in range(warm_up + runs if runs else 0):
            sample = measure_once(page, DIGITS[i % len(DIGITS)])
            if i >= warm_up:
                samples.append(sample)
        if screenshot:
            screenshot_of_a_burst(page, screenshot)
        browser.close()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running server (default: start one with 4 workers)")
    parser.add_argument("--runs", type=int, default=30, help="measured drawings (default 30)")
    parser.add_argument("--warm-up", type=int, default=3, help="drawings not counted (default 3)")
    parser.add_argument("--screenshot", type=Path, help="then save a PNG of the page after a burst here")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        url = args.url
        if not url:
            server = stack.enter_context(running_server(MODE="processes", WORKERS="4"))
            url = server.url + "/"
        samples = run(url, args.runs, args.warm_up, args.screenshot)
    if not samples:
        return
    print(f"{len(samples)} drawings, stroke end → answer, Chromium on this machine ({url})\n")
    print(table(samples))
    debounce = re.search(r"DEBOUNCE_MS = (\d+)", (ROOT / "static/js/app.js").read_text())
    if debounce:
        print(f"\nThe page waits {debounce[1]} ms after a stroke ends (another may follow) before it sends.")


if __name__ == "__main__":
    main()
