"""The shipped CNN run by numpy alone: the ``numpy`` runtime.

LiteRT and TensorFlow have no builds for free-threaded Python (no GIL); numpy has. So
``mnist_cnn.npz`` holds the same trained weights as ``mnist_cnn.keras``, each batch norm
folded into the layer before it (train.py writes it beside the other two files;
``python -m webapp.numpynet`` writes it again from the .keras file), and ``forward`` is the
network's inference pass in a dozen lines. Float32 weights: the same digit as the int8 LiteRT
model on >= 99.9 % of MNIST's test set (tests/test_shipped_model.py).

    python -m webapp.numpynet [models/]   # .keras -> .npz (needs Keras: the normal .venv)
"""

from __future__ import annotations

import argparse
import io
import sys
import zipfile
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

# The arrays of the file, in the network's order: three 3x3 convolutions, a dense layer, the output.
LAYERS = ("conv1", "conv2", "conv3", "dense", "out")


def load(file: Path | io.BytesIO) -> dict[str, np.ndarray]:
    """The weights of an .npz file (plain arrays: no pickles are read)."""
    with np.load(file, allow_pickle=False) as data:
        return {name: data[name] for name in data.files}


def conv3x3(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """'valid' 3x3 convolution: [n, h, w, c] -> [n, h-2, w-2, filters]."""
    windows = sliding_window_view(x, (3, 3), axis=(1, 2))  # [n, h-2, w-2, c, 3, 3]
    return np.tensordot(windows, kernel.transpose(2, 0, 1, 3), axes=3) + bias


def max_pool(x: np.ndarray) -> np.ndarray:
    """2x2 max pooling, stride 2 (an odd last row or column is dropped, as Keras does)."""
    n, h, w, c = x.shape
    return x[:, : h // 2 * 2, : w // 2 * 2].reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0, out=x)


def forward(weights: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """float32 [n, 28, 28, 1] in [0, 1] -> float32 [n, 10] probabilities."""
    w = weights
    x = max_pool(relu(conv3x3(x, w["conv1_kernel"], w["conv1_bias"])))
    x = max_pool(relu(conv3x3(x, w["conv2_kernel"], w["conv2_bias"])))
    x = relu(conv3x3(x, w["conv3_kernel"], w["conv3_bias"]))
    x = relu(x.reshape(len(x), -1) @ w["dense_kernel"] + w["dense_bias"])
    logits = x @ w["out_kernel"] + w["out_bias"]
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def fold(model) -> dict[str, np.ndarray]:
    """A Keras model's weights as forward() takes them: each Conv2D or Dense with the
    BatchNormalization after it folded into one kernel and bias (inference: fixed statistics)."""
    folded: list[list[np.ndarray]] = []
    for layer in model.layers:
        kind = type(layer).__name__
        if kind in ("Conv2D", "Dense"):
            kernel, *bias = layer.get_weights()
            folded.append([kernel, bias[0] if bias else np.zeros(kernel.shape[-1], kernel.dtype)])
        elif kind == "BatchNormalization":
            gamma, beta, mean, variance = layer.get_weights()
            scale = gamma / np.sqrt(variance + layer.epsilon)
            kernel, bias = folded[-1]
            folded[-1] = [kernel * scale, (bias - mean) * scale + beta]
    if len(folded) != len(LAYERS):
        raise ValueError(f"forward() runs {len(LAYERS)} layers with weights; this model has {len(folded)}")
    return {
        f"{name}_{part}": array.astype(np.float32)
        for name, (kernel, bias) in zip(LAYERS, folded, strict=True)
        for part, array in (("kernel", kernel), ("bias", bias))
    }


def save(weights: dict[str, np.ndarray], path: Path) -> Path:
    """An .npz file np.load reads, byte for byte the same for the same weights (no timestamps)."""
    with zipfile.ZipFile(path, "w") as archive:  # stored: the same bytes on any zlib
        for name, array in weights.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
            entry = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            archive.writestr(entry, buffer.getvalue())
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m webapp.numpynet", description="mnist_cnn.keras -> .npz")
    parser.add_argument("folder", nargs="?", type=Path, default=Path("models"), help="models/ by default")
    folder = parser.parse_args(argv).folder
    import keras

    model = keras.models.load_model(folder / "mnist_cnn.keras", compile=False)
    print(save(fold(model), folder / "mnist_cnn.npz"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
