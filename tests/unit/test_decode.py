"""The fast paths of decoding give what the strict, general ones give: /inference's numbers, canvas PNGs."""

from __future__ import annotations

import io
import json
import struct
import zlib

import numpy as np
import orjson
import pytest
from PIL import Image

from tests.api.test_errors import CASES
from webapp.decode import array_from_list, open_image, reference_pixels
from webapp.drawing import draw_like_a_pen
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
    body([ROW] * 27 + [[-1e-50] + [0] * 27]),  # 0 in float32, but below 0
    body([ROW] * 27 + [[255.000001] + [0] * 27]),  # 255 in float32, but above it
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


# -- canvas PNGs: libspng without Pillow's parse --------------------------------


def png(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG", **options)
    return buffer.getvalue()


def with_size(raw: bytes, width: int, height: int) -> bytes:
    """The same PNG with its header claiming another size (and a valid CRC)."""
    ihdr = bytearray(raw[12:29])  # type and data of IHDR
    ihdr[4:12] = struct.pack(">II", width, height)
    return raw[:12] + bytes(ihdr) + struct.pack(">I", zlib.crc32(ihdr)) + raw[33:]


@pytest.fixture(scope="module")
def drawing(mnist_test) -> Image.Image:
    return draw_like_a_pen(mnist_test[0][0], ink=(200, 30, 30, 180))


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
@pytest.mark.parametrize("options", [{}, {"optimize": True}, {"compress_level": 0}])
def test_a_png_with_alpha_decodes_to_the_same_pixels_as_pillow(drawing, mode, options) -> None:
    raw = png(drawing.convert(mode), **options)
    image = open_image(raw, 10**6)
    assert image.mode == mode
    np.testing.assert_array_equal(np.asarray(image), np.asarray(Image.open(io.BytesIO(raw)).convert(mode)))


def test_a_header_claiming_too_many_pixels_is_refused_before_decoding(drawing) -> None:
    with pytest.raises(ApiError) as refused:
        open_image(with_size(png(drawing), 20_000, 20_000), 10**6)
    assert refused.value.code == "image_too_large" and refused.value.status == 413


@pytest.mark.parametrize("cut", [60, 200, -30])
def test_a_damaged_or_cut_png_is_a_bad_image(drawing, cut) -> None:
    raw = bytearray(png(drawing))
    if cut > 0:
        raw = raw[:cut]
    else:
        raw[cut] ^= 0xFF  # a flipped byte at the end of the compressed pixels
    with pytest.raises(ApiError) as refused:
        open_image(bytes(raw), 10**6)
    assert refused.value.code == "bad_image" and refused.value.status == 400


def test_an_animated_png_is_read_by_pillow_as_its_first_frame(drawing) -> None:
    second = Image.new("RGBA", drawing.size, (0, 0, 0, 255))
    raw = png(drawing, save_all=True, append_images=[second])
    np.testing.assert_array_equal(np.asarray(open_image(raw, 10**6)), np.asarray(drawing))
