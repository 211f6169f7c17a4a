"""Levers for the next training, measured on the shipped model without retraining it.

    python -m digits.levers          # accuracy per source and lever, and each lever's CPU cost

- ``aspect N``: aspect-ratio-aware preprocessing. MNIST keeps a digit's aspect and scales its
  longest side to 20 px, so a digit drawn a fifth as wide as tall becomes a 4 px wide bar that
  reads as a 1. Here ink narrower than N x its height is first stretched sideways to N x.
- ``tta K``: test-time augmentation: the probabilities averaged over the drawing and K copies
  turned by a few degrees and shifted a pixel (K more model calls per request).

    python -m digits.levers --scribbles   # a short fine-tune with scribbles (7-10 minutes)

- ``--scribbles``: outlier exposure, a fine-tune of a copy of the shipped model (never written to
  models/) for one epoch on MNIST training digits, pen-redrawn ones and random scribbles whose
  target is "every digit alike" (0.1 each), so that the model itself is unsure of ink that is no
  digit. Then "which digit" is chosen again on the tuning sets, as digits.calibrate does, and the
  held-out figures printed: scribbles of seeds and kinds it never trained on, and good drawings.

Each is measured on digits/sources.py's held-out parts, the drawn MNIST test digits and MNIST
test itself, per source and for the digits the issue names (1, 4, 7, 8, 9), and timed per
picture in this process (time.process_time, medians of repeated runs: CPU, not wall time).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from digits import dataset, sets, sources
from webapp import preprocess
from webapp.model import Model
from webapp.preprocess import normalize, to_ink, to_mnist

WATCHED = (1, 4, 7, 8, 9)
ROOT = Path(__file__).resolve().parent.parent


def preprocess_aspect(image: Image.Image, least: float | None) -> np.ndarray:
    """The server's preprocessing with its narrow-ink stretch at ``least`` (None: off)."""
    shipped = preprocess.LEAST_ASPECT
    preprocess.LEAST_ASPECT = least or 0.0
    try:
        return to_mnist(to_ink(image), area=image.width * image.height)
    finally:
        preprocess.LEAST_ASPECT = shipped


def tta_variants(pixels: np.ndarray, k: int) -> list[np.ndarray]:
    """``k`` copies of each 28x28 input: turned -8/+8 degrees, then shifted a pixel each way."""
    turns = [lambda p, a=a: np.asarray(Image.fromarray(p).rotate(a, Image.BILINEAR)) for a in (-8, 8)]
    shifts = [lambda p, s=s: np.roll(p, s, axis=1) for s in (-1, 1)]
    out = []
    for make in (turns + shifts)[:k]:
        out.append(np.array([make(p) for p in pixels]))
    return out


def predict_tta(model: Model, pixels: np.ndarray, k: int) -> np.ndarray:
    p = model.probabilities(normalize(pixels))
    for v in tta_variants(pixels, k):
        p = p + model.probabilities(normalize(v))
    return p / (k + 1)


def pictures(n: int, seed: int = 0) -> dict[str, tuple[list, np.ndarray]]:
    """Each source's pictures (canvases) and labels: held-out parts only."""
    x, y = dataset.load("test")
    out = {}
    images, labels = sources.sklearn_digits("held out", seed)
    out["sklearn, held-out writers"] = (images, labels)
    images, labels, _ = sources.debian_fonts("held out", 6, seed + 11)
    out["Debian fonts, held-out hands"] = (images, labels)
    images, labels, designs = sources.stroke_models(30, seed + 20)
    out["stroke models"] = (images, labels)
    narrow = [i for i, d in enumerate(designs) if d == "narrow hand"]
    out["stroke models: narrow hand"] = ([images[i] for i in narrow], labels[narrow])
    pick = np.random.default_rng(seed).choice(len(x), n, replace=False)
    out["MNIST test redrawn"] = (list(sets.drawn(x[pick], seed + 2)), y[pick])
    out["MNIST test, as pictures (preprocessed again)"] = ([Image.fromarray(d) for d in x[:n]], y[:n])
    return out


def measure(model: Model, n: int) -> dict:
    levers = {"no stretch": (None, 0), "aspect 0.3": (0.3, 0), "aspect 0.4": (0.4, 0), "aspect 0.5": (0.5, 0)}
    report: dict = {}
    for name, (images, labels) in pictures(n).items():
        print(f"  {name} ...", file=sys.stderr)
        by_aspect = {
            a: np.array([preprocess_aspect(im, a) for im in images]) for a in {a for a, _ in levers.values()}
        }
        report[name] = {}
        for lever, (aspect, k) in levers.items():
            right = predict_tta(model, by_aspect[aspect], k).argmax(axis=1) == labels
            report[name][lever] = {
                "accuracy": float(right.mean()),
                **{str(d): float(right[labels == d].mean()) for d in WATCHED if (labels == d).any()},
            }
    return report


def cpu_costs(model: Model, repeat: int = 300) -> dict[str, float]:
    """CPU microseconds per picture: the preprocessing with and without the aspect lever, and
    the model call (TTA adds K of them and K image copies)."""
    x, _ = dataset.load("test")
    canvas = next(sets.drawn(x[:1], 3))
    pixels = preprocess_aspect(canvas, None)[None]

    def per_call(fn) -> float:
        runs = []
        for _ in range(7):
            start = time.process_time()
            for _ in range(repeat):
                fn()
            runs.append((time.process_time() - start) / repeat * 1e6)
        return statistics.median(runs)

    return {
        "preprocess (as shipped)": per_call(lambda: preprocess_aspect(canvas, None)),
        "preprocess, aspect 0.4": per_call(lambda: preprocess_aspect(canvas, 0.4)),
        "one model call": per_call(lambda: model.probabilities(normalize(pixels))),
        "tta 2: the copies": per_call(lambda: tta_variants(pixels[0][None], 2)),
        "tta 4: the copies": per_call(lambda: tta_variants(pixels[0][None], 4)),
    }


class KerasModel:
    """A Keras model with webapp.model.Model's probabilities()."""

    def __init__(self, model):
        self.model = model

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        return self.model.predict(x, batch_size=1000, verbose=0)


def fine_tune_with_scribbles(digits: int, scribbles: int, seed: int = 7) -> KerasModel:
    """A copy of the shipped Keras model fine-tuned one epoch at a low learning rate on
    ``digits`` MNIST training digits (half of them redrawn with a pen), a fifth as many print
    digits of outline fonts (digits/pen.py) and ``scribbles`` scribbles with the uniform target."""
    import keras

    from digits import pen

    rng = np.random.default_rng(seed)
    x, y = dataset.load("train")
    pick = rng.choice(len(x), digits, replace=False)
    half = digits // 2
    print(f"redrawing {half:,} digits with a pen, {scribbles:,} scribbles ...", file=sys.stderr)
    drawn = pen.redrawn(x[pick[:half]], y[pick[:half]], seed)
    fonts, font_labels = pen.font_digits(digits // 5, seed)  # print digits, as training has them
    noise = pen.scribbles(scribbles, seed)
    inputs = np.concatenate([x[pick[half:]], drawn, fonts, noise])
    labels = np.concatenate([y[pick[half:]], y[pick[:half]], font_labels])  # in the order of ``inputs``
    targets = np.concatenate([np.eye(10)[labels], np.full((len(noise), 10), 0.1)]).astype(np.float32)
    order = rng.permutation(len(inputs))
    model = keras.models.load_model(ROOT / "models" / "mnist_cnn.keras", compile=False)
    model.compile(optimizer=keras.optimizers.Adam(3e-4), loss="categorical_crossentropy")
    model.fit(normalize(inputs[order]), targets[order], batch_size=128, epochs=1, verbose=2)
    return KerasModel(model)


def scribble_experiment(digits: int, scribbles: int) -> None:
    """Print the fine-tuned model's figures beside the shipped model's (both Keras, float)."""
    import keras

    from digits.calibrate import choose_which, fit_temperature, model_inputs, reasons_for
    from digits.evaluate import outside_report, outside_sets, outside_tables

    started = time.perf_counter()
    tuned = fine_tune_with_scribbles(digits, scribbles)
    print(f"fine-tuned in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    shipped = KerasModel(keras.models.load_model(ROOT / "models" / "mnist_cnn.keras", compile=False))
    x, y = dataset.load("test")
    outside = outside_sets()
    others = {  # more held-out sets: kinds of scribble never trained on, good drawings
        "zig-zags (seed 5)": model_inputs(sets.scribbles(300, 5))[:2],
        "looping scrawls": model_inputs(sets.loops(300, 6))[:2],
        "colouring in": model_inputs(sets.hatching(300, 7))[:2],
        "MNIST test redrawn, second half (2,000)": model_inputs(sets.drawn(x[5000:7000], 2))[:2],
        "MNIST test, second half": (x[5000:], None),
    }
    for name, model in (("shipped", shipped), ("fine-tuned with scribbles", tuned)):
        p = model.probabilities(normalize(x))
        half = len(x) // 2
        t = fit_temperature(p[:half], y[:half])
        good = {"MNIST test, first half": (x[:half], p[:half], None)}
        bad = {}
        for source, o in outside.items():
            if o["part"] == "tune":
                target = bad if o["labels"].min() < 0 else good
                target[source] = (o["pixels"], model.probabilities(normalize(o["pixels"])), o["extents"])
        which = choose_which(good, bad, t)
        print(f"\n### {name}: MNIST test {(p.argmax(1) == y).mean():.2%}, T = {t:.3f}, {which}\n")
        report = outside_report(model, outside, t, (which["confidence"], which["margin"]))
        print(outside_tables(report).split("\n\n")[1])
        for extra, (pixels, extents) in others.items():
            w = (which["confidence"], which["margin"])
            reasons = reasons_for(pixels, model.probabilities(normalize(pixels)), t, extents, w)
            unsure = np.mean([r is not None for r in reasons])
            print(f'| {extra} | held out | {len(pixels):,} | "not sure" {unsure:.2%} |')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1000, help="MNIST test digits (and redrawn) per set (1000)")
    parser.add_argument(
        "--scribbles",
        type=int,
        nargs="?",
        const=8000,
        metavar="N",
        help="the outlier-exposure fine-tune instead, with N scribbles (8000) and 20,000 digits",
    )
    args = parser.parse_args(argv)
    if args.scribbles:
        scribble_experiment(digits=20000, scribbles=args.scribbles)
        return 0
    model = Model("litert", ROOT / "models").load()
    report = measure(model, args.n)
    levers = list(next(iter(report.values())))
    print("| source | " + " | ".join(levers) + " |\n|---|" + "---:|" * len(levers))
    for name, row in report.items():
        cells = []
        for lever in levers:
            r = row[lever]
            watched = ", ".join(f"{d}: {r[str(d)]:.0%}" for d in WATCHED if str(d) in r)
            cells.append(f"{r['accuracy']:.2%} ({watched})")
        print(f"| {name} | " + " | ".join(cells) + " |")
    print("\n| CPU per picture | µs |\n|---|---:|")
    for name, us in cpu_costs(model).items():
        print(f"| {name} | {us:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
