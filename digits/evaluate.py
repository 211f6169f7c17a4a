"""How well a model reads drawn digits: accuracy per source and per digit; print the table.

    python -m digits.evaluate                    # the shipped model (models/)
    python -m digits.evaluate --models /tmp/m    # another one

MNIST's test set says how well a model reads MNIST; people draw otherwise. The drawn-digit
sets come from methods that training never sees: the Hershey stroke fonts in four styles
(digits.sets.fonts: print, italic, script, blackletter), drawn with the page's round pen at
any width, size, place and slant. Each picture goes through the server's own preprocessing,
as a canvas drawing (transparent), dark on light and light on dark in turn. ``mnist redrawn``,
the MNIST test digits' skeletons redrawn with the pen (digits.sets.drawn), is shown apart:
the training's stroke augmentation draws MNIST training digits the same way.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from digits import dataset, sets
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
        "per_digit": {str(d): round(float(right[labels == d].mean()), 5) for d in range(10)},
    }


def table(report: dict) -> str:
    """The report as a Markdown table: a row per source, a column per digit."""
    lines = [
        "| source | images | accuracy | " + " | ".join(map(str, range(10))) + " |",
        "|---|---:|---:|" + "---:|" * 10,
    ]
    rows = [("**all fonts**", report["all"])] + [
        (name if name != HELD_APART else f"{name} (as training draws)", r)
        for name, r in report["sources"].items()
    ]
    for name, r in rows:
        digits = " | ".join(f"{v:.1%}" for v in r["per_digit"].values())
        lines.append(f"| {name} | {r['images']:,} | {r['accuracy']:.2%} | {digits} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=ROOT / "models", help="model folder (models/)")
    parser.add_argument("-n", type=int, default=PER_SOURCE, help=f"drawings per source ({PER_SOURCE})")
    args = parser.parse_args(argv)
    from webapp.model import Model

    model = Model("litert", args.models).load()
    print(table(accuracy(model.predict, drawn_sets(args.n))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
