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

import numpy as np
import pyspng
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ApiError


def init_app(app) -> None:
    """Pillow refuses to decode more than MAX_IMAGE_PIXELS; freed image buffers stay in the heap."""
    Image.MAX_IMAGE_PIXELS = app.config["MAX_IMAGE_PIXELS"]


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
    """PNG/JPEG/WebP bytes -> a decoded image, a large JPEG reduced (see the limits
    below); refuses from the header what would cost too much, and damaged files."""
    if not raw:
        raise ApiError("bad_image", "The image is empty (0 bytes).")
    _check_png_chunks(raw)
    canvas = _canvas_png(raw)
    if canvas is not None:  # every canvas drawing: libspng alone, without Pillow's parse
        _check_size(*canvas, max_pixels)
        _check_png_bytes(*canvas, channels=4, depth=8)
        try:
            return Image.fromarray(pyspng.load(raw, format="RGBA"))
        except (RuntimeError, ValueError, MemoryError):  # RuntimeError: libspng's word for a damaged PNG
            raise _damaged() from None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(raw), formats=list(FORMATS))
            _check_size(*image.size, max_pixels)
            if image.format == "PNG":
                _check_png(raw, image.size)
                if _spng_can_decode(image):
                    return Image.fromarray(pyspng.load(raw, format=image.mode))
            elif image.format == "WEBP":
                _check_webp(*image.size)
            else:  # JPEG, or MPO: a phone camera's JPEG with more pictures after the first
                _reduce_jpeg(image, raw)
            image.load()
            # A phone held sideways stores the photo as the sensor saw it and says in EXIF how to
            # turn it (in place: a picture without that tag is not copied).
            ImageOps.exif_transpose(image, in_place=True)
    except ApiError:
        raise
    except UnidentifiedImageError:
        raise ApiError("bad_image", "The data is not a PNG, JPEG or WebP image.", 415) from None
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ApiError(
            "image_too_large", f"The image has too many pixels: at most {max_pixels:,} are accepted.", 413
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError, RuntimeError, struct.error):
        raise _damaged() from None
    if getattr(image, "n_frames", 1) > 1:
        image.seek(0)  # an animated image: its first frame
    if image.mode.startswith("I;16"):
        return _grey_8_bits(image)
    return image


# -- what one decode may cost ----------------------------------------------------
#
# The budget: no image accepted here takes more than about 100 ms or 64 MB to
# decode on the 2-core VM (bench/decode_budget.py measures each kind of file at
# its limit; README "Limits, and why" has the figures). Every limit is decided
# from the header, before a pixel is decoded. They are constants, not settings:
# each follows from how a decoder's cost grows, not from how a class uses the
# server. MAX_IMAGE_PIXELS (config.py) caps every picture's header besides.

# Each side at most: JPEG draft mode reduces by 8 at most, so no JPEG decodes to
# more than JPEG_DECODED_SIDE a side; PNG decoders pay ~40 ns a row (a 31 KB PNG
# of 1x16,000,000 took 0.64 s).
MAX_SIDE = 8192
# Nothing with a digit in it is ten times longer one way than the other (a
# canvas is square, a photo 4:3 or 16:9): a longer strip is a mistake or a trap.
MAX_ASPECT = 10
# A larger JPEG is decoded reduced by 2, 4 or 8 inside libjpeg's inverse DCT
# (draft mode), to at most this a side: the model needs 28x28. A 4032x3024
# photo decodes to 1008x756 in a fifth of the time and a twelfth of the memory.
JPEG_DECODED_SIDE = 1024
# A progressive JPEG (or one whose first scan lacks a colour) is decoded from a
# buffer of all its DCT coefficients, 2 bytes a sample however much it is
# reduced, and every scan walks it: up to ~30 ns a sample (colour noise). At
# most this many samples (6 MB; 2 Mpx with 4:2:0 colour, 1 Mpx with 4:4:4).
# Phone cameras write baseline JPEGs.
JPEG_BUFFERED_SAMPLES = 3_000_000
# Each scan of a progressive JPEG walks that whole buffer again (~1.5 ms a scan at
# JPEG_BUFFERED_SAMPLES, measured by bench/abuse.py's scan bomb): a file of tens of
# thousands of tiny repeated scans costs seconds however few its pixels. libjpeg's own
# progressive script writes 10 scans (6 for grey), optimizing encoders ~20; Pillow
# exposes no scan limit of libjpeg's, so the scans are counted before decoding.
JPEG_MAX_SCANS = 32
# Markers walked to count them: a real JPEG has a few dozen.
JPEG_MAX_MARKERS = 1000
# PNG decoders (libspng, Pillow) unfilter every byte of pixel data, ~12 ns a
# byte at worst (the Paeth filter on 16-bit or Pillow-decoded rows): at most
# this many, counting at least a byte a channel. 1.5 Mpx of RGBA, 6 Mpx of grey;
# half as many at 16 bits a channel.
PNG_MAX_BYTES = 6_000_000
# WebP cannot be decoded reduced, and noise-like lossy content costs ~100 ns a
# pixel (libwebp): at most this many pixels.
WEBP_MAX_PIXELS = 800_000

_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # by colour type: grey, RGB, palette, grey + alpha, RGBA
# JPEG start-of-frame markers, which name the coding process; cameras and
# browsers write the first three (Huffman-coded baseline, extended, progressive).
_JPEG_FRAMES = set(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_JPEG_DECODED = {0xC0, 0xC1, 0xC2}
_JPEG_PROGRESSIVE = 0xC2
_JPEG_SCAN = 0xDA


def _check_size(width: int, height: int, max_pixels: int) -> None:
    """Refuse a picture too large or too thin to decode, from its header, before a single pixel is decoded."""
    if width < 1 or height < 1:
        raise _damaged()
    if max(width, height) > MAX_SIDE:
        raise ApiError(
            "image_too_large",
            f"The image is {width:,}×{height:,} pixels; each side may be at most {MAX_SIDE:,} pixels.",
            413,
        )
    if width * height > max_pixels:
        raise ApiError(
            "image_too_large",
            f"The image is {width:,}×{height:,} pixels; at most {max_pixels:,} pixels are accepted.",
            413,
        )
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise ApiError(
            "bad_aspect_ratio",
            f"The image is {width:,}×{height:,} pixels, a strip; a picture of a digit may be at most "
            f"{MAX_ASPECT} times as long as it is wide.",
            422,
        )


def _check_png(raw: bytes, size: tuple[int, int]) -> None:
    """A PNG Pillow has opened: its pixel data, from the IHDR chunk (first in every PNG)."""
    width, height, depth, colour = struct.unpack_from(">IIBB", raw, 16)
    if raw[12:16] != b"IHDR" or (width, height) != size or colour not in _PNG_CHANNELS:
        raise _damaged()
    _check_png_bytes(width, height, _PNG_CHANNELS[colour], depth)


def _check_png_bytes(width: int, height: int, channels: int, depth: int) -> None:
    size = width * height * channels * max(depth, 8) // 8
    if size > PNG_MAX_BYTES:
        raise ApiError(
            "image_too_large",
            f"The PNG is {width:,}×{height:,} pixels, {channels} channel{'s' * (channels > 1)} "
            f"of {depth} bits: {size:,} bytes to decode; at most {PNG_MAX_BYTES:,} are accepted "
            f"({PNG_MAX_BYTES // 4:,} pixels of 8-bit RGBA).",
            413,
        )


def _check_webp(width: int, height: int) -> None:
    if width * height > WEBP_MAX_PIXELS:
        raise ApiError(
            "image_too_large",
            f"The WebP image is {width:,}×{height:,} pixels; a WebP image may have at most "
            f"{WEBP_MAX_PIXELS:,} (it cannot be decoded reduced): send a smaller one, or a JPEG.",
            413,
        )


def _reduce_jpeg(image: Image.Image, raw: bytes) -> None:
    """Refuse a JPEG too costly to decode even reduced; set a large one to decode
    reduced by 2, 4 or 8 (Pillow's draft mode), to at most JPEG_DECODED_SIDE a side."""
    header = _jpeg_header(raw)
    if header is None:
        raise _damaged()
    frame, buffered = header
    if frame not in _JPEG_DECODED:
        raise ApiError(
            "unsupported_image_type",
            f"This JPEG's coding process (SOF{frame - 0xC0}) is not supported; send a baseline or "
            "progressive JPEG, as cameras and browsers write.",
            415,
        )
    _check_scans(raw)
    width, height = image.size
    if buffered and (samples := _coefficient_samples(image)) > JPEG_BUFFERED_SAMPLES:
        kind = "progressive" if frame == _JPEG_PROGRESSIVE else "multi-scan"
        raise ApiError(
            "image_too_large",
            f"The JPEG is {kind} and {width:,}×{height:,} pixels: its decoder would hold {samples:,} "
            f"samples at once, however much it is reduced; at most {JPEG_BUFFERED_SAMPLES:,} are "
            f"accepted ({JPEG_BUFFERED_SAMPLES * width * height // samples:,} pixels with its colour "
            "sampling). Send it as a baseline JPEG, or smaller.",
            413,
        )
    longest = max(width, height)
    scale = next((s for s in (1, 2, 4, 8) if -(-longest // s) <= JPEG_DECODED_SIDE), 8)
    if scale > 1:
        image.draft(None, (width // scale, height // scale))
        if max(image.size) > JPEG_DECODED_SIDE:  # draft mode declined: never decode it whole
            message = f"The JPEG is {width:,}×{height:,} pixels and cannot be decoded reduced."
            raise ApiError("image_too_large", message, 413)


def _jpeg_header(raw: bytes) -> tuple[int, bool] | None:
    """A JPEG's start-of-frame marker, and whether libjpeg must buffer all its
    coefficients: a progressive JPEG, or one whose first scan lacks some of its
    colours (libjpeg's has_multiple_scans). None if there is no frame and scan.

    Read from the markers before the first scan, as Pillow reads them (it keeps
    neither): bytes between markers are skipped.
    """
    frame = components = None
    position = 2  # after the start-of-image marker
    while (position := raw.find(b"\xff", position)) >= 0 and position + 10 <= len(raw):
        marker = raw[position + 1]
        if marker in (0x00, 0x01, 0xFF) or 0xD0 <= marker <= 0xD9:
            position += 1  # a fill byte, or a marker without a segment
        elif marker == _JPEG_SCAN:
            if frame is None:
                return None
            return frame, frame == _JPEG_PROGRESSIVE or raw[position + 4] < components
        else:
            if marker in _JPEG_FRAMES and frame is None:
                frame, components = marker, raw[position + 9]
            position += 2 + int.from_bytes(raw[position + 2 : position + 4], "big")
    return None


# In entropy-coded data a 0xFF byte is followed by 0x00 (a stuffed byte) or a restart
# marker (0xD0-0xD7): anything else is the next marker.
_JPEG_NEXT_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")


def _check_scans(raw: bytes) -> None:
    """Refuse a JPEG of more than JPEG_MAX_SCANS scans (a "scan bomb"), counted from its
    markers up to the end of its first picture, before a pixel is decoded."""
    scans = markers = 0
    position = 2  # after the start-of-image marker
    while (match := _JPEG_NEXT_MARKER.search(raw, position)) and (markers := markers + 1) <= JPEG_MAX_MARKERS:
        position = match.start()
        marker = raw[position + 1]
        if marker == 0xD9:  # end of image: an MPO's next pictures are never decoded
            return
        if 0xD0 <= marker <= 0xD8 or marker == 0x01:
            position += 2  # a marker without a segment
            continue
        scans += marker == _JPEG_SCAN
        if scans > JPEG_MAX_SCANS:
            raise ApiError(
                "too_many_scans",
                f"The JPEG has more than {JPEG_MAX_SCANS} scans (a progressive JPEG from a camera or a "
                "browser has at most about 10); each costs a pass over the whole picture. "
                "Send it as a baseline JPEG.",
                422,
            )
        position += 2 + int.from_bytes(raw[position + 2 : position + 4], "big")  # its header
    if markers > JPEG_MAX_MARKERS:
        raise ApiError(
            "bad_image", f"The JPEG has more than {JPEG_MAX_MARKERS} markers; it cannot be decoded."
        )


def _coefficient_samples(image: Image.Image) -> int:
    """Samples in libjpeg's whole-image coefficient buffer: every colour's 8x8 blocks
    (its chroma fewer, when subsampled), from the frame header Pillow has read."""
    width, height = image.size
    layers = image.layer  # (id, horizontal, vertical sampling factor, table) a colour
    most_h = max(1, *(h for _, h, _, _ in layers))  # 0 is invalid: libjpeg refuses it when decoding
    most_v = max(1, *(v for _, _, v, _ in layers))
    return sum(64 * -(-width * h // (8 * most_h)) * -(-height * v // (8 * most_v)) for _, h, v, _ in layers)


def _grey_8_bits(image: Image.Image) -> Image.Image:
    """A 16-bit grey PNG ('I;16') -> 8-bit grey ('L', or 'LA' with a tRNS key):
    the high bytes. Pillow's own convert() clips at 255, making every grey white."""
    pixels = np.asarray(image)
    grey = Image.fromarray((pixels >> 8).astype(np.uint8))
    key = image.info.get("transparency")
    if not isinstance(key, int):
        return grey
    return Image.merge("LA", (grey, Image.fromarray(np.where(pixels == key, 0, 255).astype(np.uint8))))


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


# Chunks a PNG may have before its pixels (IHDR, a palette, colour and text chunks): a canvas
# has 2, a photo editor's export ~10. Pillow parses each in Python (139,000 empty text chunks
# in a 2 MB PNG cost 0.34 s to 2.5 s), so they are counted first, up to this many.
PNG_MAX_CHUNKS = 64


def _check_png_chunks(raw: bytes) -> None:
    """Refuse a PNG with more than PNG_MAX_CHUNKS chunks before its pixels (from their lengths)."""
    if not raw.startswith(_PNG_SIGNATURE):
        return
    position = len(_PNG_SIGNATURE)
    for _ in range(PNG_MAX_CHUNKS):
        if position + 8 > len(raw):
            return  # cut short: the decoders say so
        length, kind = _CHUNK.unpack_from(raw, position)
        if kind == b"IDAT":
            return
        position += 12 + length
    raise ApiError(
        "bad_image", f"The PNG has more than {PNG_MAX_CHUNKS} chunks before its pixels; it is not a picture."
    )


def _spng_can_decode(image: Image.Image) -> bool:
    """A still PNG whose pixels come out the same from libspng as from Pillow."""
    return (
        image.format == "PNG"
        and image.mode in _SPNG_MODES
        and "transparency" not in image.info  # a tRNS colour key: Pillow keeps it as info
        and getattr(image, "n_frames", 1) == 1
    )


def pixels_from_rows(rows: list[list[float]]) -> np.ndarray:
    """/inference's 28 rows of 28 numbers, checked by msgspec while it parsed
    (schemas.InferenceBody) -> float32 [28, 28]."""
    # One flat pass over the numbers: np.array() would first walk the nested lists for their shape.
    return np.fromiter(itertools.chain.from_iterable(rows), np.float32, 28 * 28).reshape(28, 28)
