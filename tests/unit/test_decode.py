"""/inference's fast path (msgspec) accepts exactly what the strict checks accept, with the same pixels."""

from __future__ import annotations

import json

import numpy as np
import orjson
import pytest

from tests.api.test_errors import CASES
from webapp.decode import array_from_list, reference_pixels
from webapp.errors import ApiError

ROW = [0] * 28


def body(images, **extra) -> bytes:
    return json.dumps({"images": images, **extra}).encode()


def strict(raw: bytes) -> np.ndarray | None:
    """The slow path: parse, then check (None where it refuses)."""
    try:
        value = orjson.loads(raw)
        return array_from_list(value["images"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ApiError):
        return None


VALID = [
    body([ROW] * 28),
    body([[255] * 28] * 28),
    body([[0.5 * i for i in range(28)]] * 28),
    body([[255.0] + [1e-9] * 27] + [ROW] * 27),
    body([ROW] * 28, client_id="x", extra=[1, 2]),  # other fields are ignored by both
    b'{"images": [' + b",".join([b"[" + b",".join([b"1e2"] * 28) + b"]"] * 28) + b"]}",
]

INVALID = [
    body([ROW] * 27),
    body([ROW] * 29),
    body([[0] * 27] * 28),
    body([ROW] * 27 + [[0] * 29]),
    body([ROW] * 27 + [[-0.001] + [0] * 27]),
    body([ROW] * 27 + [[255.001] + [0] * 27]),
    body([ROW] * 27 + [[2**64] + [0] * 27]),
    body([ROW] * 27 + [[True] + [0] * 27]),
    body([ROW] * 27 + [[False] * 28]),
    body([ROW] * 27 + [["7"] + [0] * 27]),
    body([ROW] * 27 + [[None] + [0] * 27]),
    body([ROW] * 27 + [[[0]] + [0] * 27]),
    body([ROW] * 27 + [{"0": 0}]),
    body("28x28"),
    body(None),
    b'{"image": []}',
    b"[]",
    b'{"images": [[0]] ',
    b"\xff\xfe",
]


@pytest.mark.parametrize("raw", VALID)
def test_a_valid_body_gives_the_same_pixels_both_ways(raw: bytes) -> None:
    fast = reference_pixels(raw)
    assert fast is not None and fast.dtype == np.float32 and fast.shape == (28, 28)
    np.testing.assert_array_equal(fast, strict(raw))


@pytest.mark.parametrize("raw", INVALID)
def test_the_fast_path_refuses_what_the_strict_checks_refuse(raw: bytes) -> None:
    assert strict(raw) is None
    assert reference_pixels(raw) is None


@pytest.mark.parametrize("kwargs", [kwargs for route, kwargs, _, _ in CASES if route == "/inference"])
def test_no_bad_request_of_the_api_tests_passes_the_fast_path(kwargs: dict) -> None:
    raw = kwargs["data"].encode() if "data" in kwargs else json.dumps(kwargs["json"]).encode()
    assert reference_pixels(raw) is None
