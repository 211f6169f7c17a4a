"""How well a model reads drawn digits: accuracy per source and per digit; print the table.

    python -m digits.evaluate                    # the shipped model (models/)
    python -m digits.evaluate --models /tmp/m    # another one
    python -m digits.evaluate --page 200         # and 200 drawn with the mouse on the page
    python -m digits.evaluate --only-outside     # only the outside sources (digits/sources.py)

MNIST's test set says how well a model reads MNIST; people draw otherwise. The drawn-digit
sets come from methods that training never sees: the Hershey stroke fonts in four styles
(digits.sets.fonts: print, italic, script, blackletter), drawn with the page's round pen at
any width, size, place and slant. Each picture goes through the server's own preprocessing,
as a canvas drawing (transparent), dark on light and light on dark in turn. ``mnist redrawn``,
the MNIST test digits' skeletons redrawn with the pen (digits.sets.drawn), is shown apart:
the training's stroke augmentation draws MNIST training digits the same way.

Then the outside sources of digits/sources.py (people's handwriting from scikit-learn, Debian's
handwriting fonts, stroke models of styles MNIST lacks, random scribbles), each split by writer or
design into the part the verdict's thresholds were chosen on (``tune``) and the part nothing was
chosen on (``held out``): accuracy per digit, the calibration (wrong at >= 90 % confidence,
"not sure") and the confusions, as /api/predict answers them (webapp/verdict.py).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from digits import dataset, sets, sources
from webapp.preprocess import normalize, preprocess

ROOT = Path(__file__).resolve().parent.parent
PER_SOURCE = 600  # drawings per font style: 60 per digit
HELD_APART = "mnist redrawn"


def _polarities(images: list[Image.Image]) -> list[Image.Image]:
    """Every third drawing as posted from a canvas, on white, and inverted on black."""
    out = []
    for i, image in enumerate(images):
        if i % 3 == 1:
            image = Image.alpha_composite(Image.new("RGBA", image.size, "white"), image).convert("L")
        elif i % 3 == 2:
            ink = image.getchannel("A")
            image = ink  # white ink on black, as MNIST and chalkboards
        out.append(image)
    return out


def drawn_sets(n: int = PER_SOURCE, seed: int = 0) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each source's 28x28 model inputs (uint8) and labels."""
    out = {}
    for k, style in enumerate(sets.FONT_STYLES):
        images, labels = sets.fonts(style, n, seed + k)
        out[style] = (np.array([preprocess(im) for im in _polarities(images)]).reshape(-1, 28, 28), labels)
    x, y = dataset.load("test")
    pick = np.random.default_rng(seed).choice(len(x), n, replace=False)
    redrawn = _polarities(list(sets.drawn(x[pick], seed + 10)))
    out[HELD_APART] = (np.array([preprocess(im) for im in redrawn]).reshape(-1, 28, 28), y[pick])
    return out


def accuracy(predict, inputs: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict:
    """Per source and per digit accuracy of ``predict`` (float inputs -> probabilities); ``all``
    pools the sources training never sees."""
    report: dict = {"sources": {}}
    pooled_right, pooled_labels = [], []
    for name, (x, y) in inputs.items():
        right = predict(normalize(x)).argmax(axis=1) == y
        report["sources"][name] = _summary(right, y)
        if name != HELD_APART:
            pooled_right.append(right)
            pooled_labels.append(y)
    report["all"] = _summary(np.concatenate(pooled_right), np.concatenate(pooled_labels))
    return report


def _summary(right: np.ndarray, labels: np.ndarray) -> dict:
    return {
        "images": len(labels),
        "accuracy": round(float(right.mean()), 5),
        "per_digit": {str(d): round(float(right[labels == d].mean()), 5) for d in range(10) if d in labels},
    }


def table(report: dict) -> str:
    """The report as a Markdown table: a row per source, a column per digit."""
    lines = [
        "| source | images | accuracy | " + " | ".join(map(str, range(10))) + " |",
        "|---|---:|---:|" + "---:|" * 10,
    ]
    pooled = [("**all fonts**", report["all"])] if report["all"] and len(report["sources"]) > 2 else []
    rows = pooled + [
        (name if name != HELD_APART else f"{name} (as training draws)", r)
        for name, r in report["sources"].items()
    ]
    for name, r in rows:
        per_digit = r["per_digit"]
        digits = " | ".join(f"{per_digit[str(d)]:.1%}" if str(d) in per_digit else "–" for d in range(10))
        lines.append(f"| {name} | {r['images']:,} | {r['accuracy']:.2%} | {digits} |")
    return "\n".join(lines)


# -- outside sources: people's handwriting, fonts of hands, stroke models, scribbles -----------

WRONG_AND_SURE = 0.9  # the answer's confidence from which a wrong answer counts as "sure"


def outside_sets(scale: int = 1, seed: int = 0, hershey: bool = False) -> dict[str, dict]:
    """digits/sources.py's sources as the server sees them: {name: pixels (uint8 28x28), labels
    (-1: no digit), extents, part ("tune" or "held out"), designs}. ``scale``: drawings per design;
    ``hershey``: the Hershey font styles first (tuning sets: the ink rules were chosen on them)."""
    from digits.calibrate import model_inputs

    out = {}

    def add(name, part, images, labels, designs):
        pixels, extents, kept = model_inputs(images)
        keep = np.flatnonzero(kept)
        out[name] = {
            "pixels": pixels,
            "labels": np.asarray(labels)[keep],
            "extents": extents,
            "part": part,
            "designs": [designs[i] for i in keep],
        }

    for k, style in enumerate(sets.FONT_STYLES if hershey else ()):
        images, labels = sets.fonts(style, PER_SOURCE * scale, seed + k)
        fonts = sets.FONT_STYLES[style]
        add(
            f"Hershey: {style}",
            "tune",
            images,
            labels,
            [fonts[(i // 10) % len(fonts)] for i in range(len(labels))],
        )
    for k, part in enumerate(sources.PARTS):
        images, labels = sources.sklearn_digits(part, seed + k)
        add(
            f"sklearn: {len(labels):,} digits of 13 writers, {'first' if k == 0 else 'second'} half",
            part,
            images,
            labels,
            ["sklearn"] * len(labels),
        )
        images, labels, designs = sources.debian_fonts(part, 6 * scale, seed + 10 + k)
        add(f"Debian fonts: {len(set(designs))} hands", part, images, labels, designs)
    images, labels, designs = sources.stroke_models(30 * scale, seed + 20)
    add("stroke models", "held out", images, labels, designs)
    for k, part in enumerate(sources.PARTS):
        scribbles = sources.three_strokes(150 * scale, seed + 30 + k)
        add(
            f"three-stroke scribbles, seed {seed + 30 + k}",
            part,
            scribbles,
            [-1] * len(scribbles),
            ["scribble"] * len(scribbles),
        )
    return out


def outside_report(model, outside: dict[str, dict], temperature: float, which=None) -> dict:
    """Per source: accuracy per digit and per design, wrong at >= 90 % confidence, "not sure",
    and the confusions (digit -> answer: count), as /api/predict would answer (``which``: other
    "which digit" thresholds than webapp/verdict.py's)."""
    from digits.calibrate import reasons_for

    report = {}
    for name, s in outside.items():
        raw = model.probabilities(normalize(s["pixels"]))
        reasons = reasons_for(s["pixels"], raw, temperature, s["extents"], which)
        unsure = np.array([r is not None for r in reasons])
        labels, read = s["labels"], raw.argmax(axis=1)
        row = {"part": s["part"], "images": len(labels), "unsure": round(float(unsure.mean()), 5)}
        if (labels < 0).all():  # no digit: how often it is "not sure"
            report[name] = row
            continue
        right = read == labels
        sure = raw.max(axis=1) >= WRONG_AND_SURE
        designs = np.array(s["designs"])
        row |= _summary(right, labels) | {
            "wrong_at_90": round(float((~right & sure).mean()), 5),
            "wrong_and_sure": round(float((~right & sure & ~unsure).mean()), 5),
            "unsure_but_right": round(float((unsure & right).mean()), 5),
            "confusions": _confusions(labels[~right], read[~right]),
            "per_design": {
                d: {
                    "accuracy": round(float(right[designs == d].mean()), 5),
                    "confusions": _confusions(labels[~right & (designs == d)], read[~right & (designs == d)]),
                }
                for d in dict.fromkeys(s["designs"])
            },
        }
        report[name] = row
    return report


def outside_tables(report: dict) -> str:
    """The outside sources' accuracy per digit, calibration, designs and confusions, in Markdown."""
    digits = {n: r for n, r in report.items() if "per_digit" in r}
    lines = [table({"sources": digits, "all": {}}), ""]
    lines += [
        '| source | part | images | accuracy | wrong, >= 90 % sure | of those, not flagged | "not sure" |'
        " not sure, read right |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in report.items():
        if "per_digit" in r:
            lines.append(
                f"| {name} | {r['part']} | {r['images']:,} | {r['accuracy']:.2%} | {r['wrong_at_90']:.2%}"
                f" | {r['wrong_and_sure']:.2%} | {r['unsure']:.2%} | {r['unsure_but_right']:.2%} |"
            )
        else:
            lines.append(
                f"| {name} (no digit) | {r['part']} | {r['images']:,} | – | – | – | {r['unsure']:.2%} | – |"
            )
    lines += ["", "| source | design | accuracy | confusions (digit->answer: count) |", "|---|---|---:|---|"]
    for name, r in digits.items():
        rows = list(r["per_design"].items()) if len(r["per_design"]) > 1 else []
        for design, d in [*rows, ("**all**", r)]:
            top = ", ".join(f"{k}: {v}" for k, v in list(d["confusions"].items())[:8]) or "–"
            lines.append(f"| {name} | {design} | {d['accuracy']:.1%} | {top} |")
    return "\n".join(lines)


def _confusions(labels: np.ndarray, answers: np.ndarray) -> dict[str, int]:
    """{"8->1": how often an 8 was read as a 1, ...}, the most frequent first."""
    counts: dict[str, int] = {}
    for d, a in zip(labels, answers, strict=True):
        counts[f"{d}->{a}"] = counts.get(f"{d}->{a}", 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


# -- on the page ---------------------------------------------------------------------------


def page_drawings(n: int, seed: int = 0) -> list[tuple[list, int]]:
    """``n`` font digits (the styles in turn) placed on the canvas as a person would draw them:
    (strokes in canvas units, digit). The page's own pen (20 px) draws them."""
    rng = np.random.default_rng(seed)
    glyphs = [sets.font_glyphs(style) for style in sets.FONT_STYLES]
    out = []
    for i in range(n):
        style = glyphs[i % len(glyphs)]
        _, digit, strokes = style[(i // len(glyphs)) % len(style)]
        side = rng.uniform(0.45, 0.85)
        left, top = rng.uniform(0.06, 0.94 - side, 2)
        out.append(([[(left + x * side, top + y * side) for x, y in s] for s in strokes], digit))
    return out


def read_on_page(page, drawings: list[tuple[list, int]], progress: bool = False) -> list[tuple[int, bool]]:
    """Each drawing drawn with the mouse on an open page, stroke by stroke: the final answer the
    page shows for it (once the pen has rested), and whether it said "not sure"."""
    from playwright.sync_api import expect

    from digits.strokes import draw_strokes

    prediction = page.get_by_test_id("prediction")
    shown = []
    for i, (strokes, _) in enumerate(drawings, 1):
        page.get_by_test_id("clear").click()
        expect(prediction).to_have_attribute("data-state", "empty")
        draw_strokes(page, strokes, steps=2)
        expect(prediction).to_have_attribute("data-final", "true")
        expect(prediction).to_have_attribute("data-state", "done")
        shown.append(
            (
                int(prediction.get_attribute("data-digit")),
                prediction.get_attribute("data-verdict") == "unsure",
            )
        )
        if progress:
            print(f"\rdrawing on the page: {i}/{len(drawings)}", end="", file=sys.stderr)
    if progress:
        print(file=sys.stderr)
    return shown


def on_the_page(url: str, n: int, seed: int = 0) -> dict:
    """``n`` font digits drawn on the page in Chromium, as ``accuracy`` reports them."""
    from playwright.sync_api import sync_playwright

    from harness.browser import launch_options

    drawings = page_drawings(n, seed)
    with sync_playwright() as p:
        browser = p.chromium.launch(**launch_options())
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(url)
        shown = read_on_page(page, drawings, progress=True)
        browser.close()
    labels = np.array([digit for _, digit in drawings])
    summary = _summary(np.array([digit for digit, _ in shown]) == labels, labels)
    unsure = float(np.mean([unsure for _, unsure in shown]))
    return {"sources": {"fonts drawn on the page": summary}, "all": summary, "unsure": round(unsure, 5)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=ROOT / "models", help="model folder (models/)")
    parser.add_argument("-n", type=int, default=PER_SOURCE, help=f"drawings per source ({PER_SOURCE})")
    parser.add_argument(
        "--page",
        type=int,
        default=0,
        metavar="N",
        help="then draw N font digits with the mouse on the page, in Chromium, on its own server",
    )
    parser.add_argument("--only-outside", action="store_true", help="only digits/sources.py's sources")
    args = parser.parse_args(argv)
    from webapp.model import Model
    from webapp.verdict import load_temperature

    if missing := sources.missing_fonts():
        parser.error(f"install the fonts first: apt-get install {' '.join(missing)}")
    model = Model("litert", args.models).load()
    if not args.only_outside:
        print(table(accuracy(model.probabilities, drawn_sets(args.n))), end="\n\n", flush=True)
    print("outside sources (digits/sources.py) ...", file=sys.stderr)
    outside = outside_sets(hershey=True)
    print(outside_tables(outside_report(model, outside, load_temperature(args.models))))
    if args.page:
        from harness.launch import running_server

        with running_server(MODE="processes", WORKERS="2", MODEL_DIR=str(args.models)) as server:
            report = on_the_page(server.url + "/", args.page)
        print(f"\n{table(report)}")
        print(f'\n"Not sure" on the page: {report["unsure"]:.2%} of the drawings')
    return 0


if __name__ == "__main__":
    sys.exit(main())
