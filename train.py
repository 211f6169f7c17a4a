"""Train the MNIST CNN that the server ships, and write it with its model card.

    .venv/bin/python train.py                      # the shipped model: full MNIST, defaults
    .venv/bin/python train.py --limit 2000 --epochs 1 --drawn 60 --out /tmp/m   # a quick run

Reads top to bottom: setup, prepare data, augmentation, build, train, evaluate,
export (Keras + TensorFlow Lite), model card. The server's preprocessing maps a
drawing into MNIST's format (webapp/preprocess.py). What remains between a canvas
drawing and an MNIST digit is the pen and the hand: training adds MNIST's digits
and print digits of outline fonts redrawn with a round pen (digits/pen.py, through
that same preprocessing), and augments all of them (slant, rotation, position,
size and stroke width). The model card measures drawn digits made another way
(digits/evaluate.py).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from digits import dataset, pen
from digits.evaluate import PER_SOURCE as DRAWN_PER_SOURCE
from digits.evaluate import accuracy as drawn_accuracy
from digits.evaluate import drawn_sets
from digits.evaluate import table as drawn_table
from digits.extra import load_corrections
from webapp import numpynet
from webapp.preprocess import normalize

NUM_CLASSES = 10
INPUT_SHAPE = (28, 28, 1)
BATCH_SIZE = 128
LEARNING_RATE = 3e-3
EPOCHS = 15
FINE_TUNE_EPOCHS = 2  # starting from the shipped model: one augmented epoch, one clean
CLEAN_EPOCHS = 2  # the last epochs train on unaugmented digits
MODEL_NAME = "mnist_cnn"
# A class corrects tens of drawings, against 60,000 MNIST images: each correction is seen this
# many times an epoch, so a lesson's corrections move the model without swamping MNIST.
EXTRA_WEIGHT = 10
# Random scribbles, trained towards "every digit alike" (outlier exposure), per MNIST digit: 12,000
# against 144,000 digits. digits.levers' one-epoch fine-tune with 8,000 moved three-stroke
# scribbles answered "not sure" from 17 % to 66 %, and MNIST by 0.1 point.
SCRIBBLE_SHARE = 0.2
FONT_SHARE = 0.4  # print digits (digits/pen.py) per MNIST digit: 24,000, 114 of each of 210 font glyphs
MAX_WRONG_SHOWN = 96  # misclassified.png shows at most this many digits
ROOT = Path(__file__).resolve().parent


# -- setup -------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options; the defaults produce the shipped model."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--epochs",
        type=int,
        default=None,
        help=f"passes over the data ({EPOCHS}; {FINE_TUNE_EPOCHS} to fine-tune)",
    )
    parser.add_argument("--limit", type=int, default=0, help="train on the first N images only")
    parser.add_argument("--out", type=Path, default=ROOT / "models", help="output dir (models/)")
    parser.add_argument("--data", type=Path, default=None, help="MNIST idx dir (data/mnist/)")
    parser.add_argument("--seed", type=int, default=2431, help="random seed (2431)")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument(
        "--pen",
        type=int,
        default=1,
        metavar="N",
        help="also train on N copies of the training digits redrawn with a pen (1; 0: MNIST only)",
    )
    parser.add_argument(
        "--fonts",
        type=float,
        default=FONT_SHARE,
        metavar="SHARE",
        help=f"and on print digits of outline fonts redrawn with a pen, SHARE per MNIST digit ({FONT_SHARE})",
    )
    parser.add_argument(
        "--scribbles",
        type=float,
        default=SCRIBBLE_SHARE,
        metavar="SHARE",
        help=f"and on random scribbles (as no digit), SHARE per MNIST digit ({SCRIBBLE_SHARE})",
    )
    parser.add_argument(
        "--extra",
        type=Path,
        default=None,
        metavar="DIR",
        help="also train on the corrections the server stored in DIR (CORRECTIONS=DIR)",
    )
    parser.add_argument(
        "--fine-tune",
        action="store_true",
        help=f"start from the model in --out ({FINE_TUNE_EPOCHS} epochs): a lesson's corrections in minutes",
    )
    parser.add_argument(
        "--drawn",
        type=int,
        default=DRAWN_PER_SOURCE,
        metavar="N",
        help=f"drawn digits per source the card's figures read ({DRAWN_PER_SOURCE}; fewer for a quick run)",
    )
    parser.add_argument(
        "--extra-weight",
        type=int,
        default=EXTRA_WEIGHT,
        help=f"each correction counts as this many MNIST images ({EXTRA_WEIGHT})",
    )
    args = parser.parse_args(argv)
    if args.epochs is None:
        args.epochs = FINE_TUNE_EPOCHS if args.fine_tune else EPOCHS
    return args


def seed_everything(seed: int) -> None:
    """Same seed, same model: seeds Python, numpy and TF, and makes TF ops deterministic."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


# -- prepare data ------------------------------------------------------------


def load_data(data_dir: Path | None, limit: int):
    """Verified MNIST as uint8 28x28 images and labels: (train, test)."""
    x_train, y_train = dataset.load("train", data_dir)
    x_test, y_test = dataset.load("test", data_dir)
    if limit:
        x_train, y_train = x_train[:limit], y_train[:limit]
    print(f"data: {len(x_train):,} training and {len(x_test):,} test images")
    return (x_train, y_train), (x_test, y_test)


def add_pen_drawn(x_train, y_train, copies: int, font_share: float, seed: int):
    """MNIST plus ``copies`` of its digits redrawn with a pen, plus ``font_share`` print digits
    of outline fonts redrawn with a pen per MNIST digit (digits/pen.py): how people draw."""
    images, labels = [x_train], [y_train]
    fonts = round(len(x_train) * font_share)
    for k in range(copies):
        images.append(pen.redrawn(x_train, y_train, seed + k))
        labels.append(y_train)
    if fonts:
        drawn, digits = pen.font_digits(fonts, seed)
        images.append(drawn)
        labels.append(digits)
    print(
        f"pen-drawn: {copies} x {len(x_train):,} training digits and {fonts:,} font digits redrawn with a pen"
    )
    return np.concatenate(images), np.concatenate(labels)


def add_scribbles(x_train, y_train, n: int, seed: int):
    """Training digits plus ``n`` scribbles (digits/pen.py), labelled -1: no digit."""
    if not n:
        return x_train, y_train
    noise = pen.scribbles(n, seed)
    print(f"scribbles: {n:,} (three strokes and zig-zags), as no digit")
    return np.concatenate([x_train, noise]), np.concatenate([y_train.astype(np.int64), np.full(n, -1)])


def targets(labels: np.ndarray) -> np.ndarray:
    """Labels -> the probabilities training aims at: the digit, or for a scribble (-1) every
    digit alike."""
    out = np.full((len(labels), NUM_CLASSES), 1 / NUM_CLASSES, np.float32)
    digits = labels >= 0
    out[digits] = np.eye(NUM_CLASSES, dtype=np.float32)[labels[digits]]
    return out


def add_corrections(x_train, y_train, folder: Path, corrections: tuple, weight: int):
    """MNIST plus the server's stored corrections (load_corrections(folder): deduplicated),
    each repeated ``weight`` times."""
    images, labels, counts = corrections
    print(
        f"corrections in {folder}: {counts['used']} used of {counts['found']} stored"
        f" ({counts['duplicates']} duplicates, {counts['conflicting']} drawings with two labels,"
        f" {counts['unreadable']} unreadable left out), each x{weight}"
    )
    if counts["used"]:
        x_train = np.concatenate([x_train, np.repeat(images, weight, axis=0)])
        y_train = np.concatenate([y_train, np.repeat(labels, weight)])
    return x_train, y_train, {"dir": str(folder), "weight": weight, **counts}


# -- augmentation ------------------------------------------------------------


def stroke_width(images, strength):
    """Thicken (strength > 0) or thin (< 0) each image's strokes, by a grey-level
    dilation or erosion blended in by |strength|: people draw with any pen."""
    import tensorflow as tf

    dilated = tf.nn.max_pool2d(images, 3, 1, "SAME")
    eroded = -tf.nn.max_pool2d(-images, 3, 1, "SAME")
    s = tf.reshape(strength, (-1, 1, 1, 1))
    return tf.where(s > 0, images + s * (dilated - images), images + s * (images - eroded))


def build_augmenter(seed: int):
    """Random slant, rotation, size, aspect and position, as drawings vary."""
    import keras

    return keras.Sequential(
        [
            keras.layers.RandomShear(x_factor=0.25, fill_mode="constant", seed=seed),
            keras.layers.RandomRotation(12 / 360, fill_mode="constant", seed=seed + 1),
            keras.layers.RandomZoom((-0.15, 0.2), (-0.2, 0.2), fill_mode="constant", seed=seed + 2),
            keras.layers.RandomTranslation(0.08, 0.08, fill_mode="constant", seed=seed + 3),
        ],
        name="augment",
    )


def training_batches(x, y, batch_size: int, seed: int, augmented: bool = True):
    """Shuffled (and augmented) batches as a tf.data pipeline (augmentation off the model)."""
    import tensorflow as tf

    augment = build_augmenter(seed)
    rng = tf.random.Generator.from_seed(seed)

    def _augment(images, labels):
        # Thin strokes at most 60 %: MNIST's thinnest digits are already 1-2 px.
        # Thickening up to a full dilation: bold digits are rare in MNIST, and
        # with less the model reads MNIST's few bold 1s as 8s.
        strength = rng.uniform((tf.shape(images)[0],), -0.6, 1.0)
        images = stroke_width(images, strength)
        images = augment(images, training=True)
        return tf.clip_by_value(images, 0.0, 1.0), labels

    batches = (
        tf.data.Dataset.from_tensor_slices((x, y))
        .shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size)
    )
    if augmented:
        batches = batches.map(_augment, num_parallel_calls=1, deterministic=True)
    return batches.prefetch(2)


# -- build -------------------------------------------------------------------


def build_model():
    """A small CNN: three 3x3 conv layers with batch norm, pooling between, a dense head.

    32, 64 and 128 channels: about 3 M multiply-adds and 243 k weights per image.
    With half the channels (99 k weights, shipped before) the network read MNIST
    as well but not both MNIST and the pen-drawn digits: 99.38 % on MNIST's test
    set against 99.50 %, and less on drawn digits (digits/evaluate.py). Its
    cost under load is measured by python -m bench.cpu (README, "The model").
    """
    import keras
    from keras import layers

    def conv(filters):
        return [
            layers.Conv2D(filters, 3, use_bias=False),
            layers.BatchNormalization(),
            layers.ReLU(),
        ]

    return keras.Sequential(
        [
            keras.Input(INPUT_SHAPE, name="image"),
            *conv(32),
            layers.MaxPooling2D(),
            layers.Dropout(0.1),
            *conv(64),
            layers.MaxPooling2D(),
            layers.Dropout(0.2),
            *conv(128),
            layers.Flatten(),
            layers.Dense(128, use_bias=False),
            layers.BatchNormalization(),
            layers.ReLU(),
            layers.Dropout(0.3),
            layers.Dense(NUM_CLASSES, activation="softmax", name="probabilities"),
        ],
        name=MODEL_NAME,
    )


# -- train -------------------------------------------------------------------


def train(model, augmented, clean, epochs: int, steps: int, fine_tune: bool = False):
    """Adam with a cosine learning-rate decay; Keras' progress bar shows each epoch.

    The last CLEAN_EPOCHS see the digits as they are: at a low learning rate,
    they settle batch norm's statistics on unaugmented images, which is what
    the server's preprocessing produces. Fine-tuning a trained model starts at a
    tenth of the learning rate, without the warm-up.
    """
    import keras

    warm_up = {} if fine_tune else {"warmup_target": LEARNING_RATE, "warmup_steps": steps}
    schedule = keras.optimizers.schedules.CosineDecay(LEARNING_RATE * 0.1, epochs * steps, **warm_up)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    verbose = 1 if sys.stdout.isatty() else 2
    switch = max(1, epochs - CLEAN_EPOCHS) if epochs > 1 else epochs
    model.fit(augmented, epochs=switch, verbose=verbose)
    if switch < epochs:
        print(f"last {epochs - switch} epoch(s) on unaugmented digits")
        model.fit(clean, initial_epoch=switch, epochs=epochs, verbose=verbose)


# -- evaluate ----------------------------------------------------------------


def evaluate(probabilities: np.ndarray, labels: np.ndarray) -> dict:
    """Accuracy, per-digit accuracy and the confusion matrix (rows: true digit)."""
    predicted = probabilities.argmax(axis=1)
    confusion = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=int)
    np.add.at(confusion, (labels, predicted), 1)
    per_digit = confusion.diagonal() / confusion.sum(axis=1)
    return {
        "test_accuracy": round(float((predicted == labels).mean()), 5),
        "per_digit_accuracy": {str(d): round(float(a), 5) for d, a in enumerate(per_digit)},
        "confusion_matrix": confusion.tolist(),
        "predicted": predicted,
    }


def predict_tflite(path: Path, x: np.ndarray, batch: int = 1000) -> np.ndarray:
    """Run the converted model over x with LiteRT, as the server does."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(path))
    inp = interpreter.get_input_details()[0]["index"]
    out = interpreter.get_output_details()[0]["index"]
    results = []
    for start in range(0, len(x), batch):
        chunk = x[start : start + batch]
        interpreter.resize_tensor_input(inp, chunk.shape)
        interpreter.allocate_tensors()
        interpreter.set_tensor(inp, chunk)
        interpreter.invoke()
        results.append(interpreter.get_tensor(out).copy())
    return np.concatenate(results)


# -- export ------------------------------------------------------------------


def export(model, out: Path) -> dict[str, Path]:
    """Write the Keras model, its TensorFlow Lite conversion (int8 weights, any batch size) and
    its weights for the numpy runtime of free-threaded Python (webapp/numpynet.py)."""
    import tensorflow as tf

    out.mkdir(parents=True, exist_ok=True)
    keras_path = out / f"{MODEL_NAME}.keras"
    tflite_path = out / f"{MODEL_NAME}.tflite"
    # The optimizer's state is only needed to resume training; leave it out.
    model.optimizer = None
    model.save(keras_path)

    # The input keeps its open batch dimension, so the server can batch requests.
    # Dynamic-range quantization stores the weights as int8 and LiteRT's XNNPACK
    # kernels compute in int8: a quarter of the file and three times faster than
    # float32 (19 µs against 61 µs per image here), the same digit as Keras on
    # 99.99 % of the test set. Input and output stay float32.
    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    tflite_path.write_bytes(converter.convert())
    numpy_path = numpynet.save(numpynet.fold(model), out / f"{MODEL_NAME}.npz")
    return {"keras": keras_path, "tflite": tflite_path, "numpy": numpy_path}


# -- model card --------------------------------------------------------------


def write_pictures(metrics: dict, x_test: np.ndarray, y_test: np.ndarray, out: Path) -> None:
    """confusion_matrix.png and misclassified.png, linked from models/README.md."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    confusion = np.array(metrics["confusion_matrix"])
    fig, ax = plt.subplots(figsize=(6, 5.4), dpi=100)
    shown = np.log1p(confusion)
    ax.imshow(shown, cmap="Blues")
    for (i, j), n in np.ndenumerate(confusion):
        if n:
            light = shown[i, j] > shown.max() * 0.6
            ax.text(j, i, n, ha="center", va="center", fontsize=8, color="white" if light else "black")
    ax.set(xticks=range(10), yticks=range(10), xlabel="predicted digit", ylabel="true digit")
    ax.set_title(f"MNIST test set: {metrics['test_accuracy']:.2%} correct")
    fig.tight_layout()
    fig.savefig(out / "confusion_matrix.png")
    plt.close(fig)

    all_wrong = np.flatnonzero(metrics["predicted"] != y_test)
    wrong = all_wrong[:MAX_WRONG_SHOWN]
    cols = 12
    rows = max(1, -(-len(wrong) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 0.9, rows * 1.05), dpi=100, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, wrong, strict=False):
        ax.imshow(x_test[i], cmap="gray")
        ax.set_title(f"{y_test[i]}→{metrics['predicted'][i]}", fontsize=8)
    heading = f"The {len(wrong)}" if len(wrong) == len(all_wrong) else f"{len(wrong)} of {len(all_wrong)}"
    fig.suptitle(f"{heading} test digits it gets wrong (true→predicted)", fontsize=10)
    fig.tight_layout()
    fig.savefig(out / "misclassified.png")
    plt.close(fig)


def write_card(card: dict, out: Path) -> None:
    """model_card.json and a short README.md that shows it to a person."""
    (out / "model_card.json").write_text(json.dumps(card, indent=2) + "\n")
    per_digit = " | ".join(f"{v:.2%}" for v in card["per_digit_accuracy"].values())
    (out / "README.md").write_text(
        f"""# The shipped MNIST model

`{MODEL_NAME}.keras` (Keras), `{MODEL_NAME}.tflite` (the same network converted to
TensorFlow Lite with 8-bit weights, run by the server's default LiteRT runtime) and
`{MODEL_NAME}.npz` (its float32 weights, batch norms folded in, for the `numpy` runtime of
free-threaded Python: `webapp/numpynet.py`). Written by

    {card["command"]}

on {card["created"][:10]}, in {card["training_seconds"]:.0f} s ({card["epochs"]} epochs{_fine_tuned(card)},
seed {card["seed"]}, {card["training_images"]:,} training images, {card["parameters"]:,}
parameters; TensorFlow {card["tensorflow_version"]}, Keras {card["keras_version"]}).
Every figure here is in [`model_card.json`](model_card.json).{_corrections_line(card.get("corrections"))}
On the same TensorFlow version, the same command writes the same weights again, with the SHA-256

    {card["weights_sha256"]}

(`weights_sha256`), and the same `.tflite` and `.npz` files byte for byte (the `.keras` zip
also stores the time it was saved).

**Test accuracy: {card["test_accuracy"]:.2%}** on the 10,000 MNIST test images
(TensorFlow Lite: {card["tflite_test_accuracy"]:.2%}, same digit as Keras on
{card["tflite_agreement"]:.2%} of them).

| digit | {" | ".join(card["per_digit_accuracy"])} |
|---|{"---|" * 10}
| accuracy | {per_digit} |

## Drawn digits

People do not draw like MNIST. Read by the shipped TensorFlow Lite model, through the server's
own preprocessing (`.venv/bin/python -m digits.evaluate` prints it again): digits of the
Hershey stroke fonts in four styles drawn with the page's kind of round pen (14-26 px, 110-250
px tall, anywhere, slanted), none of them seen in training. Training also saw each MNIST digit redrawn with a
pen ({card["pen_copies"]} x) and print digits of 21 outline fonts redrawn with a pen
({card["font_share"]} per MNIST digit), both by `digits/pen.py`; `mnist redrawn` measures that
method on the MNIST test digits. And {card.get("scribbles", 0):,} random scribbles (three strokes,
zig-zags) with the target "every digit alike", so the model itself is unsure of ink that is no digit.

{drawn_table(card["drawn"])}

Input: float32 `[batch, 28, 28, 1]` in [0, 1], white digit on black, as
`webapp.preprocess.normalize` makes it. Output: ten probabilities.

![Confusion matrix](confusion_matrix.png)

![Test digits it gets wrong](misclassified.png)
"""
    )


def _fine_tuned(card: dict) -> str:
    return " fine-tuning the model that was there" if card["fine_tuned"] else ""


def _corrections_line(extra: dict | None) -> str:
    if not extra:
        return ""
    return (
        f"\n\nCorrections (`--extra {extra['dir']}`): **{extra['used']} used** of {extra['found']} stored"
        f" ({extra['duplicates']} duplicates, {extra['conflicting']} drawings given two labels,"
        f" {extra['unreadable']} unreadable), each counted {extra['weight']} times."
    )


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def weights_sha256(model) -> str:
    """The SHA-256 of the model's weights, in order, as float32 bytes: the same for the same
    training, where the .keras file's own hash is not (the zip stores the time it was saved)."""
    digest = hashlib.sha256()
    for weights in model.get_weights():
        digest.update(np.ascontiguousarray(weights, np.float32).tobytes())
    return digest.hexdigest()


# -- main --------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started = time.perf_counter()
    # What the command line names must be there before TensorFlow loads and minutes of redrawing.
    if args.fine_tune and not (args.out / f"{MODEL_NAME}.keras").is_file():
        print(f"error: no {MODEL_NAME}.keras in {args.out} to fine-tune", file=sys.stderr)
        return 2
    try:
        corrections = load_corrections(args.extra) if args.extra else None
        (x_train, y_train), (raw_test, y_test) = load_data(args.data, args.limit)
    except (OSError, dataset.DatasetError) as err:  # OSError: a planted file among the corrections
        print(f"error: {err}", file=sys.stderr)
        return 2
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    seed_everything(args.seed)
    scribbles = round(len(x_train) * args.scribbles)
    x_train, y_train = add_pen_drawn(x_train, y_train, args.pen, args.fonts, args.seed)
    extra = None
    if corrections is not None:
        x_train, y_train, extra = add_corrections(
            x_train, y_train, args.extra, corrections, args.extra_weight
        )
    x_train, y_train = add_scribbles(x_train, y_train, scribbles, args.seed)
    x_train, x_test, y_train = normalize(x_train), normalize(raw_test), targets(y_train)

    if args.fine_tune:
        model = keras.models.load_model(args.out / f"{MODEL_NAME}.keras")
        print(f"fine-tuning {args.out / f'{MODEL_NAME}.keras'} for {args.epochs} epoch(s)")
    else:
        model = build_model()
    model.summary(print_fn=lambda line, **_: print(line))
    steps = -(-len(x_train) // args.batch_size)
    train_started = time.perf_counter()
    train(
        model,
        training_batches(x_train, y_train, args.batch_size, args.seed),
        training_batches(x_train, y_train, args.batch_size, args.seed, augmented=False),
        args.epochs,
        steps,
        fine_tune=args.fine_tune,
    )
    training_seconds = time.perf_counter() - train_started

    metrics = evaluate(model.predict(x_test, batch_size=1000, verbose=0), y_test)
    paths = export(model, args.out)
    tflite_metrics = evaluate(predict_tflite(paths["tflite"], x_test), y_test)
    agreement = float((tflite_metrics["predicted"] == metrics["predicted"]).mean())
    write_pictures(metrics, raw_test, y_test, args.out)
    print("reading drawn digits (digits/evaluate.py) ...")
    drawn = drawn_accuracy(lambda x: predict_tflite(paths["tflite"], x), drawn_sets(args.drawn))

    card = {
        "name": MODEL_NAME,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python", "train.py", *(argv if argv is not None else sys.argv[1:])]),
        "test_accuracy": metrics["test_accuracy"],
        "tflite_test_accuracy": tflite_metrics["test_accuracy"],
        "tflite_agreement": round(agreement, 5),
        "per_digit_accuracy": metrics["per_digit_accuracy"],
        "confusion_matrix": metrics["confusion_matrix"],
        "drawn": drawn,
        "pen_copies": args.pen,
        "font_share": args.fonts,
        "scribbles": scribbles,
        "scribble_share": args.scribbles,
        "epochs": args.epochs,
        "fine_tuned": args.fine_tune,
        "seed": args.seed,
        "batch_size": args.batch_size,
        "training_images": len(x_train),
        "corrections": extra,
        "parameters": int(model.count_params()),
        "training_seconds": round(training_seconds, 1),
        "data_sha256": dataset.checksums(args.data),
        "files": {kind: {"path": p.name, "sha256": file_sha256(p)} for kind, p in paths.items()},
        "weights_sha256": weights_sha256(model),
        "input": {"shape": [None, *INPUT_SHAPE], "dtype": "float32", "range": [0, 1]},
        "tensorflow_version": tf.__version__,
        "keras_version": keras.__version__,
        "python_version": platform.python_version(),
    }
    write_card(card, args.out)
    total = time.perf_counter() - started
    print(
        f"test accuracy {metrics['test_accuracy']:.2%} (TFLite {tflite_metrics['test_accuracy']:.2%},"
        f" agreement {agreement:.2%}); trained in {training_seconds:.0f} s, {total:.0f} s in all;"
        f" written to {args.out}"
    )
    print(f'next: python -m digits.calibrate --models {args.out}  (the "not sure" verdict\'s calibration)')
    return 0


if __name__ == "__main__":
    sys.exit(main())
