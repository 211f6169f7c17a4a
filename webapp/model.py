"""The digit classifier of one worker: load(), warm_up(), probabilities().

Two runtimes run the same trained network (train.py writes both files):
- ``litert`` (default): the .tflite conversion in Google's LiteRT interpreter.
  No TensorFlow import, ~50 MB, microseconds per image.
- ``tensorflow``: the Keras model behind a ``tf.function`` with a fixed input
  signature, with TensorFlow's thread pools set per worker. Kept for teaching:
  its per-call overhead is the lesson.
- ``numpy``: the same weights (.npz) in a forward pass written in numpy
  (webapp/numpynet.py): the runtime of free-threaded Python, where neither of the
  others has a build.

Loaded in each gunicorn worker after the fork, never in the master:
TensorFlow's runtime is not fork-safe once started.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from flask import Flask, current_app

from serving.config import MODES

from . import numpynet
from .batching import Batcher, Call, direct
from .verdict import load_temperature

log = logging.getLogger(__name__)

MODEL_NAME = "mnist_cnn"
SUFFIXES = {"litert": ".tflite", "tensorflow": ".keras", "numpy": ".npz"}  # each runtime's file
INPUT_SHAPE = (28, 28, 1)


class Model:
    """One loaded model; probabilities() may be called from several threads at once."""

    def __init__(self, runtime: str, model_dir: Path, threads: int = 1, intra_op: int = 1, inter_op: int = 1):
        self.runtime = runtime
        self.model_dir = Path(model_dir)
        self.threads, self.intra_op, self.inter_op = threads, intra_op, inter_op
        self.ready = False
        self.load_seconds = self.warm_up_seconds = 0.0
        self._local = threading.local()
        self._fn = None
        self._tflite: bytes | None = None
        self._weights: dict[str, np.ndarray] | None = None
        self.sha256: str | None = None
        self.temperature = 1.0  # of the "not sure" verdict's calibration (webapp/verdict.py)

    @property
    def path(self) -> Path:
        return self.model_dir / f"{MODEL_NAME}{SUFFIXES[self.runtime]}"

    def load(self) -> Model:
        """Read the model file and build the runtime; raises if the file is missing."""
        started = time.perf_counter()
        # Which file this worker serves: after a `kill -HUP` reload, new workers
        # load the file as it is then, and /api/workers shows its hash.
        content = self.path.read_bytes()
        self.sha256 = hashlib.sha256(content).hexdigest()
        self.temperature = load_temperature(self.model_dir)
        if self.runtime == "litert":
            self._tflite = content
            self._interpreter()  # fail now, not on the first request
        elif self.runtime == "numpy":
            self._weights = numpynet.load(io.BytesIO(content))
        else:
            self._fn = self._load_tensorflow()
        self.load_seconds = time.perf_counter() - started
        log.info("pid %d loaded %s (%s) in %.3f s", os.getpid(), self.path, self.runtime, self.load_seconds)
        return self

    def warm_up(self) -> Model:
        """Run a few calls so the first real request pays no one-off costs."""
        started = time.perf_counter()
        for batch in (1, 1, 4):
            self.probabilities(np.zeros((batch, *INPUT_SHAPE), np.float32))
        self.warm_up_seconds = time.perf_counter() - started
        self.ready = True
        return self

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """float32 [n, 28, 28, 1] in [0, 1] -> float32 [n, 10] probabilities."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        if self.runtime == "litert":
            return self._litert_probabilities(x)
        if self.runtime == "numpy":
            return numpynet.forward(self._weights, x)
        return self._fn(x).numpy()

    # -- LiteRT --------------------------------------------------------------

    def _interpreter(self):
        """This thread's interpreter: LiteRT interpreters must not be shared by threads."""
        state = self._local
        if getattr(state, "interpreter", None) is None:
            from ai_edge_litert.interpreter import Interpreter

            interpreter = Interpreter(model_content=self._tflite, num_threads=self.threads)
            interpreter.allocate_tensors()
            state.interpreter = interpreter
            state.input = interpreter.get_input_details()[0]["index"]
            state.output = interpreter.get_output_details()[0]["index"]
            state.batch = 1
        return state

    def _litert_probabilities(self, x: np.ndarray) -> np.ndarray:
        state = self._interpreter()
        if state.batch != len(x):
            state.interpreter.resize_tensor_input(state.input, x.shape)
            state.interpreter.allocate_tensors()
            state.batch = len(x)
        state.interpreter.set_tensor(state.input, x)
        state.interpreter.invoke()
        return state.interpreter.get_tensor(state.output).copy()

    # -- TensorFlow ----------------------------------------------------------

    def _load_tensorflow(self):
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        import keras
        import tensorflow as tf

        # Pools must be sized before TensorFlow runs its first op in this process.
        # A worker loads TensorFlow once; only a process that already ran
        # TensorFlow (a test session) keeps the pools it started with.
        try:
            tf.config.threading.set_intra_op_parallelism_threads(self.intra_op)
            tf.config.threading.set_inter_op_parallelism_threads(self.inter_op)
        except RuntimeError:
            log.warning("pid %d: TensorFlow already running; its thread pools stay as they are", os.getpid())
        model = keras.models.load_model(self.path, compile=False)

        @tf.function(input_signature=[tf.TensorSpec((None, *INPUT_SHAPE), tf.float32)])
        def serve(x):
            return model(x, training=False)

        return serve

    def describe(self) -> dict:
        """What /api/workers and answers say about the model."""
        return {
            "runtime": self.runtime,
            "file": self.path.name,
            "sha256": self.sha256,
            "temperature": self.temperature,
            "ready": self.ready,
            "load_seconds": round(self.load_seconds, 4),
            "warm_up_seconds": round(self.warm_up_seconds, 4),
        }


def init_app(app: Flask, in_flight: Callable[[], int] | None = None) -> Model:
    """This worker's model, loaded and warm (unless DEFER_MODEL), and where the mode batches,
    the batcher its requests share calls through (``in_flight()``: the requests in this
    process that may still join a batch)."""
    config = app.config
    model = Model(
        config["RUNTIME"],
        config["SERVED_MODEL_DIR"],
        threads=config["MODEL_THREADS"],
        intra_op=config["TF_INTRA_OP"],
        inter_op=config["TF_INTER_OP"],
    )
    app.extensions["model"] = model
    if MODES[config["MODE"]].batches:
        max_delay = config["BATCH_MAX_DELAY_MS"] / 1000
        app.extensions["batcher"] = Batcher(model, config["BATCH_MAX_SIZE"], max_delay, in_flight=in_flight)
    if not config.get("DEFER_MODEL"):
        model.load().warm_up()
    return model


def get_model() -> Model:
    """The model of the app handling this request."""
    return current_app.extensions["model"]


def get_batcher() -> Batcher | None:
    """The batcher of the app handling this request, in a mode that batches; else None."""
    return current_app.extensions.get("batcher")


def infer(x: np.ndarray) -> Call:
    """Probabilities for x and the model call that made them: one call of its own, or
    (MODE=batched) its rows of a call shared with other requests."""
    batcher = get_batcher()
    if batcher is None:
        return direct(get_model(), x)
    return batcher.submit(x)
