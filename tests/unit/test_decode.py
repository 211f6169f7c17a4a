"""The fast paths of decoding give what the strict, general ones give: /inference's numbers,
canvas PNGs; and what a decode may cost: refused from the header, or decoded reduced."""

from __future__ import annotations

import io
import json
import math
import struct
import zlib

import msgspec
import numpy as np
import orjson
import pytest
from PIL import Image, ImageFile, WebPImagePlugin

from bench.decode_budget import PHOTO, chunk, deep_png, lossless_webp, photo_jpeg, strip_png
from bench.decode_budget import png as raw_png
from digits.drawing import draw_like_a_pen, encoded
from webapp import decode
from webapp.decode import open_image, pixels_from_rows
from webapp.errors import ApiError
from webapp.preprocess import preprocess
from webapp.schemas import InferenceBody

ROW = [0] * 28


def body(images, **extra) -> bytes:
    return json.dumps({"images": images, **extra}).encode()


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
def test_a_valid_body_gives_its_pixels(raw: bytes) -> None:
    pixels = pixels_from_rows(msgspec.json.decode(raw, type=InferenceBody).images)
    assert pixels.dtype == np.float32
    np.testing.assert_array_equal(pixels, np.array(orjson.loads(raw)["images"], np.float32))


@pytest.mark.parametrize("raw", INVALID)
def test_an_invalid_body_is_refused_while_it_is_parsed(raw: bytes) -> None:
    with pytest.raises((msgspec.ValidationError, msgspec.DecodeError)):
        msgspec.json.decode(raw, type=InferenceBody)


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


# -- what a decode may cost: refused from the header, or decoded reduced -------


def jpeg(image: Image.Image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", **options)
    return buffer.getvalue()


def jpeg_headers(width: int, height: int, scan_colours: int, frame: int = 0xC0) -> bytes:
    """A JPEG's headers alone, up to its first scan: three colours at full resolution,
    the first scan carrying ``scan_colours`` of them (no pixels follow)."""
    colours = b"".join(bytes([i, 0x11, 0]) for i in (1, 2, 3))
    frame_header = struct.pack(">BHHB", 8, height, width, 3) + colours
    scan = (
        bytes([scan_colours]) + b"".join(bytes([i, 0]) for i in range(1, scan_colours + 1)) + b"\x00\x3f\x00"
    )
    return (
        b"\xff\xd8"
        + struct.pack(">BBH", 0xFF, frame, 2 + len(frame_header))
        + frame_header
        + struct.pack(">BBH", 0xFF, 0xDA, 2 + len(scan))
        + scan
        + b"\x00" * 64
        + b"\xff\xd9"
    )


def refused(raw: bytes, max_pixels: int = 16_000_000) -> ApiError:
    with pytest.raises(ApiError) as error:
        open_image(raw, max_pixels)
    return error.value


@pytest.fixture()
def no_decoding(monkeypatch):
    """Any pixel decoding fails the test: what is refused is refused from its header."""

    def decoded(*args, **kwargs):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", decoded)
    monkeypatch.setattr(WebPImagePlugin.WebPImageFile, "load", decoded)
    monkeypatch.setattr(decode.pyspng, "load", decoded)


# The largest square pictures of each kind accepted (one pixel more a side is refused).
RGBA_SIDE = math.isqrt(decode.PNG_MAX_BYTES // 4)  # 1224: 8-bit RGBA, libspng's canvas path
DEEP_SIDE = math.isqrt(decode.PNG_MAX_BYTES // 8)  # 866: 16-bit RGBA
GREY_SIDE = math.isqrt(decode.PNG_MAX_BYTES)  # 2449: 8-bit grey
WEBP_SIDE = math.isqrt(decode.WEBP_MAX_PIXELS)  # 894
# Progressive JPEGs, in whole 16x16 blocks: 1.5 samples a pixel with 4:2:0 colour, 3 with 4:4:4.
PROGRESSIVE_SIDE = {2: math.isqrt(decode.JPEG_BUFFERED_SAMPLES * 2 // 3) // 16 * 16}  # 1408
PROGRESSIVE_SIDE[0] = math.isqrt(decode.JPEG_BUFFERED_SAMPLES // 3) // 16 * 16  # 992
LIMITS = {
    "side": f"{decode.MAX_SIDE:,}",
    "aspect": f"{decode.MAX_ASPECT} times",
    "png": f"{decode.PNG_MAX_BYTES:,}",
    "webp": f"{decode.WEBP_MAX_PIXELS:,}",
    "buffered": f"{decode.JPEG_BUFFERED_SAMPLES:,}",
}
TALL, WIDE = decode.MAX_ASPECT * 100, 100


def progressive(side: int, subsampling: int) -> bytes:
    image = Image.new("RGB", (side, side), "white")
    return jpeg(image, progressive=True, subsampling=subsampling)


HEADER_REFUSALS = {
    # name: (the file, status, code, the limit its message names)
    "the issue's 4000x4000 lossless WebP": (lossless_webp, 413, "image_too_large", "webp"),
    "the issue's 1x16,000,000 PNG": (strip_png, 413, "image_too_large", "side"),
    "the issue's 4000x4000 16-bit RGBA PNG": (deep_png, 413, "image_too_large", "png"),
    "a canvas-like PNG a pixel too wide": (
        lambda: raw_png(decode.MAX_SIDE + 1, 1000),
        413,
        "image_too_large",
        "side",
    ),
    "a JPEG a pixel too wide": (
        lambda: jpeg(Image.new("L", (decode.MAX_SIDE + 1, 1000))),
        413,
        "image_too_large",
        "side",
    ),
    "a strip": (lambda: raw_png(TALL + 1, WIDE), 422, "bad_aspect_ratio", "aspect"),
    "a grey strip": (lambda: raw_png(WIDE, TALL + 1, colour=0), 422, "bad_aspect_ratio", "aspect"),
    "a 16-bit RGBA PNG": (
        lambda: raw_png(DEEP_SIDE + 1, DEEP_SIDE + 1, depth=16),
        413,
        "image_too_large",
        "png",
    ),
    "an RGBA PNG": (lambda: raw_png(RGBA_SIDE + 1, RGBA_SIDE + 1), 413, "image_too_large", "png"),
    "a grey PNG": (lambda: raw_png(GREY_SIDE + 1, GREY_SIDE + 1, colour=0), 413, "image_too_large", "png"),
    "a WebP": (
        lambda: encoded(Image.new("RGB", (WEBP_SIDE + 1, WEBP_SIDE + 1), "white"), "WEBP"),
        413,
        "image_too_large",
        "webp",
    ),
    "a progressive JPEG (4:2:0)": (
        lambda: progressive(PROGRESSIVE_SIDE[2] + 16, 2),
        413,
        "image_too_large",
        "buffered",
    ),
    "a progressive JPEG (4:4:4)": (
        lambda: progressive(PROGRESSIVE_SIDE[0] + 16, 0),
        413,
        "image_too_large",
        "buffered",
    ),
    "a JPEG whose first scan has one colour of three": (
        lambda: jpeg_headers(PROGRESSIVE_SIDE[0] + 16, PROGRESSIVE_SIDE[0] + 16, scan_colours=1),
        413,
        "image_too_large",
        "buffered",
    ),
    "a lossless JPEG (SOF3)": (
        lambda: jpeg_headers(64, 64, 3, frame=0xC3),
        415,
        "unsupported_image_type",
        None,
    ),
    "an arithmetic-coded JPEG (SOF9)": (
        lambda: jpeg_headers(64, 64, 3, frame=0xC9),
        415,
        "unsupported_image_type",
        None,
    ),
}


@pytest.mark.parametrize("name", HEADER_REFUSALS)
def test_a_costly_picture_is_refused_from_its_header(no_decoding, name) -> None:
    build, status, code, limit = HEADER_REFUSALS[name]
    error = refused(build())
    assert (error.status, error.code) == (status, code)
    assert LIMITS.get(limit, "SOF") in error.message, error.message


ACCEPTED = {
    "an RGBA PNG (the canvas path)": lambda: raw_png(RGBA_SIDE, RGBA_SIDE),
    "a 16-bit RGBA PNG": lambda: raw_png(DEEP_SIDE, DEEP_SIDE, depth=16),
    "a grey PNG": lambda: raw_png(GREY_SIDE, GREY_SIDE, colour=0),
    "a strip": lambda: raw_png(TALL, WIDE),
    "a WebP": lambda: encoded(Image.new("RGB", (WEBP_SIDE, WEBP_SIDE), "white"), "WEBP"),
    "a progressive JPEG (4:2:0)": lambda: progressive(PROGRESSIVE_SIDE[2], 2),
    "a progressive JPEG (4:4:4)": lambda: progressive(PROGRESSIVE_SIDE[0], 0),
    "a JPEG whose first scan has one colour of three": lambda: jpeg_headers(
        PROGRESSIVE_SIDE[0], PROGRESSIVE_SIDE[0], scan_colours=1
    ),
}


@pytest.mark.parametrize("name", ACCEPTED)
def test_the_largest_picture_of_each_kind_passes_the_limits(name) -> None:
    raw = ACCEPTED[name]()
    try:
        image = open_image(raw, 16_000_000)
    except ApiError as error:  # the headers alone, whose missing pixels are all the decoder refuses
        assert name.startswith("a JPEG whose") and error.code == "bad_image", error.message
    else:  # whole, or a JPEG reduced
        assert 1 <= max(image.size) <= max(Image.open(io.BytesIO(raw)).size)


@pytest.mark.parametrize(
    ("size", "decoded"),
    [
        ((1024, 700), (1024, 700)),  # small enough: decoded whole, as before
        ((1025, 700), (513, 350)),
        ((4032, 3024), (1008, 756)),
        ((3000, 4000), (750, 1000)),
        ((8192, 1000), (1024, 125)),
    ],
)
def test_a_large_jpeg_is_decoded_reduced_in_draft_mode(size, decoded) -> None:
    image = open_image(jpeg(Image.new("RGB", size, "white")), 16_000_000)
    assert image.size == decoded and image.mode == "RGB"


def test_a_phone_photo_decoded_reduced_gives_the_model_what_the_whole_one_would(mnist_test) -> None:
    raw = photo_jpeg(0)
    reduced = open_image(raw, 16_000_000)
    assert reduced.size == (1008, 756)
    whole = Image.open(io.BytesIO(raw))
    whole.load()
    assert whole.size == PHOTO
    small, full = preprocess(reduced), preprocess(whole)
    assert small.shape == (28, 28) and small.max() > 128
    # The same strokes, grey levels apart at their edges (2.6 of 255 on average); the ground,
    # estimated on each picture, may move a stroke's faintest edge pixel (1 of 187 here).
    inked, inked_full = small > 0, full > 0
    assert (inked & inked_full).sum() / (inked | inked_full).sum() > 0.98
    assert np.abs(small.astype(int) - full.astype(int)).mean() < 8


def test_an_mpo_phone_photo_is_decoded_reduced_as_its_first_picture() -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (2048, 1536), "white").save(
        buffer, "MPO", save_all=True, append_images=[Image.new("RGB", (2048, 1536))]
    )
    image = open_image(buffer.getvalue(), 16_000_000)
    assert image.size == (1024, 768) and image.getpixel((0, 0)) == (255, 255, 255)


def test_the_hostile_files_pillow_would_have_decoded_do_exist() -> None:
    """The refused files are real pictures, not broken ones: Pillow reads their headers."""
    for build, size in [
        (lossless_webp, (4000, 4000)),
        (strip_png, (1, 16_000_000)),
        (deep_png, (4000, 4000)),
    ]:
        assert Image.open(io.BytesIO(build())).size == size


def test_a_16_bit_grey_png_keeps_its_greys() -> None:
    """Pillow reads it as 'I;16', and its convert('L') clips: every grey above 255 white."""
    row = struct.pack(">4H", 0, 0x4000, 0x8000, 0xFFFF)
    image = open_image(raw_png(4, 1, depth=16, colour=0, row=row), 10**6)
    assert image.mode == "L"
    assert list(np.asarray(image)[0]) == [0, 0x40, 0x80, 0xFF]


def test_a_16_bit_grey_png_with_a_transparent_grey_keeps_it_transparent() -> None:
    row = struct.pack(">4H", 0, 0x4000, 0x8000, 0xFFFF)
    raw = raw_png(4, 1, depth=16, colour=0, row=row)
    trns = chunk(b"tRNS", struct.pack(">H", 0xFFFF))
    image = open_image(raw[:33] + trns + raw[33:], 10**6)
    assert image.mode == "LA"
    assert list(np.asarray(image)[0, :, 1]) == [255, 255, 255, 0]
