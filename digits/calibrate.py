"""Calibrate the shipped model and measure the "not sure" verdict; print every figure.

    python -m digits.calibrate            # fit, print, write models/calibration.json + the card
    python -m digits.calibrate --check    # print only (writes nothing)

Temperature scaling (one number T: softmax(log p / T)) is fitted by the negative log-likelihood
on held-out images the model never trained on: the first half of the MNIST test set and the same
digits redrawn as the page draws them (digits.sets.drawn). The expected calibration error (ECE,
15 bins of confidence) is reported on the other half, before and after. Then the verdict's rules
(webapp/verdict.py) run over that half, drawn and as it is, over the stroke fonts, and over
dots, tiny digits, scribbles and colouring in: how often each fires, which must stay rare on
good drawings. The "which digit" threshold is chosen here on tuning sets only (choose_which), and
every set is marked as a tuning set or held out.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

import numpy as np

from digits import dataset, sets
from webapp import verdict
from webapp.errors import ApiError
from webapp.model import Model
from webapp.preprocess import normalize, preprocess_measured
from webapp.verdict import CALIBRATION_FILE, REASONS, calibrated, shape, unsure_reason

ROOT = Path(__file__).resolve().parent.parent
BINS = 15
MARK = ("<!-- calibration: python -m digits.calibrate -->", "<!-- end of calibration -->")


def ece(probabilities: np.ndarray, labels: np.ndarray, bins: int = BINS) -> float:
    """Expected calibration error: the gap between confidence and accuracy, weighted by bin."""
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == labels
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            total += inside.mean() * abs(correct[inside].mean() - confidence[inside].mean())
    return float(total)


def fit_temperature(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The T in [0.3, 10] that minimises the negative log-likelihood (a fine grid over log T)."""
    best, best_nll = 1.0, np.inf
    for t in np.exp(np.linspace(np.log(0.3), np.log(10), 400)):
        p = calibrated(probabilities, t)[np.arange(len(labels)), labels]
        nll = -np.log(np.clip(p, 1e-12, None)).mean()
        if nll < best_nll:
            best, best_nll = float(t), nll
    return best


def model_inputs(images) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pictures -> uint8 28x28 inputs, the ink's extent in each, and which pictures had ink
    (an empty one is refused, 422, before any verdict)."""
    out, extents, kept = [], [], []
    for image in images:
        try:
            pixels, extent = preprocess_measured(image)
        except ApiError:
            kept.append(False)
            continue
        out.append(pixels)
        extents.append(extent)
        kept.append(True)
    return np.array(out).reshape(-1, 28, 28), np.array(extents), np.array(kept)


def verdicts(model: Model, pixels: np.ndarray, temperature: float, extents=None) -> list:
    """The verdict (a reason, or None) of each 28x28 input, as the model reads it."""
    return reasons_for(pixels, model.probabilities(normalize(pixels)), temperature, extents)


def reasons_for(
    pixels: np.ndarray, probabilities: np.ndarray, temperature: float, extents=None, which=None
) -> list:
    """The verdict of each 28x28 input, given the model's (uncalibrated) probabilities for it;
    ``which``: other thresholds for "which digit" than webapp/verdict.py's."""
    second, first = np.sort(calibrated(probabilities, temperature), axis=1)[:, -2:].T
    extents = [None] * len(pixels) if extents is None else extents
    kwargs = {} if which is None else {"which": which}
    return [
        unsure_reason(shape(x), float(top), e, float(top - next_), **kwargs)
        for x, top, next_, e in zip(pixels, first, second, extents, strict=True)
    ]


# "Which digit": the thresholds tried, and how much more of each good tuning set it may fire on.
CONFIDENCES = [round(c, 2) for c in np.arange(0.15, 0.951, 0.05)]
MARGINS = [round(m, 2) for m in np.arange(0.0, 0.81, 0.1)]
EXTRA_ON_GOOD = 0.01


def choose_which(good: dict, bad: dict, temperature: float) -> dict:
    """The "which digit" thresholds (confidence, margin) that catch the most of the ``bad``
    tuning drawings while firing on at most EXTRA_ON_GOOD more of each ``good`` tuning set than
    the ink rules do. Sets: {name: (pixels, raw probabilities, extents)}."""

    def features(pixels, raw, extents):
        base = np.array([r is not None for r in reasons_for(pixels, raw, temperature, extents, which=(0, 0))])
        second, first = np.sort(calibrated(raw, temperature), axis=1)[:, -2:].T
        return base, first, first - second

    good_f = [features(*v) for v in good.values()]
    bad_f = [features(*v) for v in bad.values()]
    best = (-1.0, 0.0, 0.0)
    for c in CONFIDENCES:
        for m in MARGINS:
            if all(((~b) & ((t < c) | (g < m))).mean() <= EXTRA_ON_GOOD for b, t, g in good_f):
                caught = float(np.mean([(b | (t < c) | (g < m)).mean() for b, t, g in bad_f]))
                if caught > best[0]:
                    best = (caught, c, m)
    return {
        "confidence": float(best[1]),
        "margin": float(best[2]),
        "scribbles_caught_when_tuning": round(best[0], 5),
        "tuned_on": [*good, *bad],
    }


def measure(model_dir: Path, n: int) -> dict:
    """Every figure: temperature, ECE before/after, the verdict on good and bad drawings."""
    model = Model("litert", model_dir).load()
    x, y = dataset.load("test")
    half = len(x) // 2
    fit_idx = np.arange(0, half)[:n]
    eval_idx = np.arange(half, len(x))[:n]

    def drawn(idx, seed):
        pixels, extents, kept = model_inputs(sets.drawn(x[idx], seed))
        return pixels, y[idx][kept], extents

    def fonts(style, seed):
        images, labels = sets.fonts(style, min(n, 5000) // 4, seed)
        pixels, extents, kept = model_inputs(images)
        return pixels, labels[kept], extents

    from digits.evaluate import outside_sets

    fit_sets = [(x[fit_idx], y[fit_idx], None), drawn(fit_idx, 1)]
    hershey = {f"font: {style}": fonts(style, 30 + k) for k, style in enumerate(sets.FONT_STYLES)}
    outside = {
        name: (o["pixels"], o["labels"], o["extents"], o["part"]) for name, o in outside_sets().items()
    }
    eval_sets = {
        "MNIST test": (x[eval_idx], y[eval_idx], None),
        "drawn": drawn(eval_idx, 2),
        **hershey,
        **{name: o[:3] for name, o in outside.items() if o[1].min() >= 0},
    }
    # Where the thresholds are chosen (never reported as held out): the fit halves, the Hershey
    # fonts (the ink rules were chosen on them), and each outside source's tuning part.
    tuning = {"MNIST test, fit half", "drawn, fit half", *hershey}
    tuning |= {name for name, o in outside.items() if o[3] == "tune"}

    fit_p = [model.probabilities(normalize(px)) for px, _, _ in fit_sets]
    temperature = fit_temperature(np.concatenate(fit_p), np.concatenate([lab for _, lab, _ in fit_sets]))

    def with_raw(pixels, extents):
        return pixels, model.probabilities(normalize(pixels)), extents

    good = {
        "MNIST test, fit half": (fit_sets[0][0], fit_p[0], None),
        "drawn, fit half": (fit_sets[1][0], fit_p[1], fit_sets[1][2]),
        **{n: with_raw(px, e) for n, (px, _, e) in eval_sets.items() if n in tuning},
    }
    scribbles = {n: with_raw(o[0], o[2]) for n, o in outside.items() if n in tuning and o[1].min() < 0}
    which = choose_which(good, scribbles, temperature)
    report: dict = {
        "temperature": round(temperature, 4),
        "which_digit": which,
        "held_out": {},
        "verdict_on_good": {},
    }
    for name, (pixels, labels, extents) in eval_sets.items():
        raw = model.probabilities(normalize(pixels))
        reasons = reasons_for(pixels, raw, temperature, extents)
        fired = Counter(r for r in reasons if r)
        right = raw.argmax(1) == labels
        unsure = np.array([r is not None for r in reasons])
        report["held_out"][name] = {
            "images": len(labels),
            "accuracy": round(float(right.mean()), 5),
            "ece_before": round(ece(raw, labels), 5),
            "ece_after": round(ece(calibrated(raw, temperature), labels), 5),
        }
        report["verdict_on_good"][name] = {
            "part": "tune" if name in tuning else "held out",
            "images": len(labels),
            "unsure": round(sum(fired.values()) / len(labels), 5),
            "unsure_but_right": round(float((unsure & right).mean()), 5),
            "wrong_and_sure": round(float((~unsure & ~right).mean()), 5),
            "by_reason": dict(fired),
        }
    drawn_set = [r for name, r in report["verdict_on_good"].items() if name == "drawn" or name in hershey]
    unsure = sum(r["unsure"] * r["images"] for r in drawn_set) / sum(r["images"] for r in drawn_set)
    report["unsure_on_drawn_set"] = round(unsure, 5)
    bad = {
        "dots": sets.dots(300, 3),
        "tiny digits (12-45 px, 20 px pen)": sets.tiny(x[eval_idx][:300], 4),
        "scribbles: zig-zags": sets.scribbles(300, 5),
        "scribbles: loops": sets.loops(300, 6),
        "colouring in": sets.hatching(300, 7),
        **{f"{name} ({o[3]})": o[0] for name, o in outside.items() if o[1].min() < 0},
    }
    report["verdict_on_bad"] = {}
    for name, images in bad.items():
        if isinstance(images, np.ndarray):  # already the model's inputs (an outside source)
            pixels, extents, kept = images, outside[name.rsplit(" (", 1)[0]][2], np.ones(len(images), bool)
        else:
            pixels, extents, kept = model_inputs(images)
        reasons = verdicts(model, pixels, temperature, extents)
        fired = Counter(r for r in reasons if r)
        empty = int((~kept).sum())  # answered 422 empty_drawing: caught before the verdict
        report["verdict_on_bad"][name] = {
            "images": len(images),
            "caught": round((sum(fired.values()) + empty) / len(images), 5),
            "by_reason": {**dict(fired), **({"empty_drawing": empty} if empty else {})},
        }
    return report


def print_report(report: dict) -> None:
    print(f"temperature T = {report['temperature']} (fitted on the held-out fit half)")
    w = report["which_digit"]
    print(
        f'\n"Which digit": calibrated confidence under {w["confidence"]} or a margin under {w["margin"]}'
        f" over the next digit, chosen on the tuning sets ({', '.join(w['tuned_on'])}): the most"
        f" scribbles caught ({w['scribbles_caught_when_tuning']:.1%}) while firing on at most"
        f" {EXTRA_ON_GOOD:.0%} more of each good tuning set."
    )
    if (w["confidence"], w["margin"]) != (verdict.UNSURE_CONFIDENCE, verdict.UNSURE_MARGIN):
        print(
            f"NOTE: webapp/verdict.py has UNSURE_CONFIDENCE = {verdict.UNSURE_CONFIDENCE},"
            f" UNSURE_MARGIN = {verdict.UNSURE_MARGIN}: set them to these and run again",
            file=sys.stderr,
        )
    print("\n| held-out set | images | accuracy | ECE before | ECE after |\n|---|---:|---:|---:|---:|")
    for name, r in report["held_out"].items():
        before, after = f"{r['ece_before']:.2%}", f"{r['ece_after']:.2%}"
        print(f"| {name} | {r['images']:,} | {r['accuracy']:.2%} | {before} | {after} |")
    print(
        '\n| good drawings | part | images | "not sure" | of those read right | wrong, and sure | by reason |'
        "\n|---|---|---:|---:|---:|---:|---|"
    )
    for name, r in report["verdict_on_good"].items():
        print(
            f"| {name} | {r['part']} | {r['images']:,} | {r['unsure']:.2%} | {r['unsure_but_right']:.2%}"
            f" | {r['wrong_and_sure']:.2%} | {_reasons(r['by_reason'])} |"
        )
    pooled = report["unsure_on_drawn_set"]
    print(f'\n"Not sure" on the whole drawn set (drawn and fonts, pooled): {pooled:.2%}')
    print("\n| not a readable digit | images | caught | by reason |\n|---|---:|---:|---|")
    for name, r in report["verdict_on_bad"].items():
        print(f"| {name} | {r['images']:,} | {r['caught']:.2%} | {_reasons(r['by_reason'])} |")


def _reasons(counts: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "–"


def write(report: dict, model_dir: Path) -> None:
    """calibration.json beside the model (the server reads T from it) and the card's section."""
    (model_dir / CALIBRATION_FILE).write_text(json.dumps(report, indent=2) + "\n")
    card_path = model_dir / "model_card.json"
    if card_path.is_file():
        card = json.loads(card_path.read_text())
        card["calibration"] = report
        card_path.write_text(json.dumps(card, indent=2) + "\n")
    readme = model_dir / "README.md"
    text = readme.read_text() if readme.is_file() else ""
    text = re.sub(rf"\n*{re.escape(MARK[0])}.*?{re.escape(MARK[1])}\n?", "\n", text, flags=re.S).rstrip()
    readme.write_text(f"{text}\n\n{MARK[0]}\n{_section(report, _handwriting(model_dir, report))}{MARK[1]}\n")


def _handwriting(model_dir: Path, report: dict) -> str:
    """digits.evaluate's tables of the outside sources, for the model in model_dir."""
    from digits.evaluate import outside_report, outside_sets, outside_tables

    model = Model("litert", model_dir).load()
    return outside_tables(outside_report(model, outside_sets(), report["temperature"]))


def _section(report: dict, handwriting: str) -> str:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        print_report(report)
    reasons = "\n".join(f'- `{k}`: "{v.format(alternatives="7 or 1")}"' for k, v in REASONS.items())
    return f"""## Calibration and "not sure"

Written by `.venv/bin/python -m digits.calibrate` (rerun it after training). The probabilities of the
answer are the model's own; the verdict uses them temperature-scaled (`calibration.json`).
Held-out images: the second half of the MNIST test set, and the same digits redrawn with the
page's kind of pen (`digits/sets.py`, `drawn`); T is fitted on the first half. `font: …`: the
four styles of stroke fonts of `digits/evaluate.py`, never used in training; the other sources are
`digits/sources.py`'s (people's handwriting, Debian's handwriting fonts, stroke models, random
scribbles). `part` says where the thresholds were chosen (`tune`: the ink rules on the fonts,
"which digit" on every tuning part) and what nothing was chosen on (`held out`). "Not
sure" is right where the model would have misread the drawing: the table counts the drawings it
would have read right (false alarms), and those still answered wrong without it.

{out.getvalue().strip()}

`/api/predict` answers `"verdict": "unsure"` with a `reason` in words, its `reason_code` and the
likeliest digits, best first (`alternatives`, e.g. `[7, 1]`; `webapp/verdict.py`):

{reasons}

## People's handwriting

The sources of `digits/sources.py` (README, "People's handwriting": why each is independent of
training), per source, per digit and per design, as `/api/predict` would answer them
(`.venv/bin/python -m digits.evaluate` prints the same):

{handwriting}
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=ROOT / "models", help="model folder (models/)")
    parser.add_argument("-n", type=int, default=5000, help="held-out images per half and set (5000)")
    parser.add_argument("--check", action="store_true", help="print the figures, write nothing")
    args = parser.parse_args(argv)
    report = measure(args.models, args.n)
    print_report(report)
    if not args.check:
        write(report, args.models)
        print(f"\nwritten: {args.models / CALIBRATION_FILE}, model_card.json, README.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
