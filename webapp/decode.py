"""Request payloads -> images, strictly: a data URL, an uploaded file, a 28x28 list.

Every way a payload can be wrong ends in an ApiError with a message for a
person; nothing here lets a bad input reach the model or crash a worker.
"""

from __future__ import annotations

import base64
import binascii
import io
import itertools
import re
import struct
import warnings
from typing import Annotated

import msgspec
import numpy as np
import pyspng
from PIL import Image, UnidentifiedImageError

from .errors import ApiError

FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
# 8-bit PNGs of these modes (every canvas drawing) are decoded by libspng
# (pyspng): half the time of Pillow's decoder, which handles everything else.
# (pyspng cannot give grey + alpha: "LA" PNGs are Pillow's.)
_SPNG_MODES = {"L", "RGB", "RGBA"}
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_CHUNK = struct.Struct(">I4s")  # a PNG chunk's length and type
_RGBA = 6  # the PNG colour type of red, green, blue and alpha
_DATA_URL = re.compile(r"data:(?P<mime>[\w/+.-]+)?(?P<params>(;[\w-]+=[\w.-]+)*)(?P<b64>;base64)?,", re.I)


def image_from_data_url(value: object, max_pixels: int) -> Image.Image:
    """'data:image/png;base64,...' (PNG, JPEG or WebP) -> a decoded Pillow image."""
    if not isinstance(value, str):
        raise ApiError("bad_image", "'image' must be a string: a data URL such as canvas.toDataURL() gives.")
    match = _DATA_URL.match(value)
    if not match:
        raise ApiError("bad_data_url", "'image' is not a data URL; expected 'data:image/png;base64,...'.")
    mime = (match["mime"] or "").lower()
    if mime not in FORMATS.values():
        raise ApiError(
            "unsupported_image_type",
            f"The data URL is of type '{mime or 'text/plain'}'; send a PNG, JPEG or WebP image.",
            415,
        )
    if not match["b64"]:
        raise ApiError("bad_data_url", "The data URL must be base64-encoded (';base64,').")
    try:
        raw = base64.b64decode(value[match.end() :], validate=True)
    except (binascii.Error, ValueError):
        raise ApiError("bad_base64", "The data URL's base64 is invalid or cut short.") from None
    return open_image(raw, max_pixels)


def open_image(raw: bytes, max_pixels: int) -> Image.Image:
    """PNG/JPEG/WebP bytes -> a fully decoded image; refuses bombs and truncated files."""
    if not raw:
        raise ApiError("bad_image", "The image is empty (0 bytes).")
    canvas = _canvas_png(raw)
    if canvas is not None:  # every canvas drawing: libspng alone, without Pillow's parse
        _check_pixels(*canvas, max_pixels)
        try:
            return Image.fromarray(pyspng.load(raw, format="RGBA"))
        except (RuntimeError, ValueError, MemoryError):  # RuntimeError: libspng's word for a damaged PNG
            raise _damaged() from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(raw), formats=list(FORMATS))
            _check_pixels(*image.size, max_pixels)
            if _spng_can_decode(image):
                return Image.fromarray(pyspng.load(raw, format=image.mode))
            image.load()
    except ApiError:
        raise
    except UnidentifiedImageError:
        raise ApiError("bad_image", "The data is not a PNG, JPEG or WebP image.", 415) from None
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ApiError("image_too_large", "The image has too many pixels to decode safely.", 413) from None
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError, RuntimeError):
        raise _damaged() from None
    if getattr(image, "n_frames", 1) > 1:
        image.seek(0)  # an animated image: its first frame
    return image


def _check_pixels(width: int, height: int, max_pixels: int) -> None:
    """Refuse a picture too large to decode, from its header, before a single pixel is decoded."""
    if width * height > max_pixels:
        raise ApiError(
            "image_too_large",
            f"The image is {width}×{height} pixels; at most {max_pixels:,} pixels are accepted.",
            413,
        )


def _damaged() -> ApiError:
    return ApiError("bad_image", "The image is damaged or cut short and cannot be decoded.")


def _canvas_png(raw: bytes) -> tuple[int, int] | None:
    """Width and height of a still 8-bit RGBA PNG, from its chunk headers; None for
    anything else, which Pillow opens.

    Every canvas.toDataURL() is one. A PNG with an alpha channel has no tRNS colour
    key, and one without an acTL chunk before its pixels is not animated: libspng
    then decodes exactly what Pillow would. Skipping Pillow's parse of the header
    takes 45 µs off a loaded /api/predict (5 %).
    """
    if not raw.startswith(_PNG_SIGNATURE):
        return None
    try:
        length, kind = _CHUNK.unpack_from(raw, 8)
        if kind != b"IHDR" or length != 13:
            return None
        width, height, depth, colour = struct.unpack_from(">IIBB", raw, 16)
        position = 8 + 12 + length
        while kind != b"IDAT":  # the chunks before the pixels: none may be acTL
            length, kind = _CHUNK.unpack_from(raw, position)
            if kind == b"acTL":
                return None
            position += 12 + length
    except struct.error:  # cut short before its pixels: Pillow says so
        return None
    return (width, height) if depth == 8 and colour == _RGBA else None


def _spng_can_decode(image: Image.Image) -> bool:
    """A still PNG whose pixels come out the same from libspng as from Pillow."""
    return (
        image.format == "PNG"
        and image.mode in _SPNG_MODES
        and "transparency" not in image.info  # a tRNS colour key: Pillow keeps it as info
        and getattr(image, "n_frames", 1) == 1
    )


# The reference's request, checked by msgspec while it parses (in C): an object
# whose "images" is 28 rows of 28 numbers from 0 to 255. msgspec refuses
# booleans as numbers, and NaN and Infinity are not JSON.
_Pixel = Annotated[float, msgspec.Meta(ge=0, le=255)]
_Row = Annotated[list[_Pixel], msgspec.Meta(min_length=28, max_length=28)]


class _ReferenceBody(msgspec.Struct):
    images: Annotated[list[_Row], msgspec.Meta(min_length=28, max_length=28)]


_reference_body = msgspec.json.Decoder(_ReferenceBody)


def reference_pixels(raw: bytes) -> np.ndarray | None:
    """The pixels of a valid /inference body as float32 [28, 28]; None if it is not one.

    Half the time of parsing first and checking after (array_from_list). A body
    it refuses goes the slow way, whose checks say exactly what is wrong.
    """
    try:
        rows = _reference_body.decode(raw).images
    except (msgspec.MsgspecError, ValueError):  # ValueError: bytes that are not UTF-8
        return None
    # One flat pass over the numbers: np.array() would first walk the nested lists for their shape.
    return np.fromiter(itertools.chain.from_iterable(rows), np.float32, 28 * 28).reshape(28, 28)


def array_from_list(value: object) -> np.ndarray:
    """The reference repo's input: a 28x28 list of 0-255 numbers -> float32 array [28, 28]."""
    shape_error = ApiError("bad_images", "'images' must be a list of 28 rows of 28 numbers (0-255).")
    if type(value) is not list or len(value) != 28:
        raise shape_error
    for row in value:
        if type(row) is not list or len(row) != 28:
            raise shape_error
    # bool is an int in Python, but true/false are not pixel values.
    kinds = set(map(type, itertools.chain.from_iterable(value)))
    if not kinds <= {int, float}:
        odd = next(iter(kinds - {int, float}))
        raise ApiError(
            "bad_images",
            f"'images' holds {_JSON_TYPES.get(odd, 'a number')}; every pixel must be a number 0-255.",
        )
    try:
        # Checked in float64, as msgspec checks: float32 would round -1e-50 to 0
        # and 255.000001 to 255, and let them in.
        pixels = np.array(value, dtype=np.float64)
    except OverflowError:
        pixels = np.array([[np.inf]])
    # NaN fails both comparisons, and so do the infinities and huge integers.
    if not (pixels.min() >= 0 and pixels.max() <= 255):
        raise ApiError(
            "bad_images", "'images' holds a value outside 0-255 (or NaN); every pixel must be 0-255."
        )
    return pixels.astype(np.float32)


_JSON_TYPES = {bool: "a boolean", str: "a string", list: "a list", dict: "an object", type(None): "null"}


def json_type(value: object) -> str:
    """The JSON name of a parsed value's type, for error messages."""
    return _JSON_TYPES.get(type(value), "a number")
