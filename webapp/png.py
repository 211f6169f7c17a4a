"""The 28x28 model input as a small greyscale PNG, written directly.

Pillow takes 80 µs for this 800-byte picture, nearly all of it in its plugin
machinery; the file itself is three chunks around one zlib stream (12 µs).
Only what the PNG specification requires: 8-bit greyscale, no interlace, and
filter type 0 (None) on every row.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_GREY_8BIT = (8, 0, 0, 0, 0)  # bit depth, colour type, compression, filter method, interlace


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))


def grey_png(pixels: np.ndarray) -> bytes:
    """uint8 [height, width] -> the bytes of a PNG file of those pixels."""
    height, width = pixels.shape
    rows = np.zeros((height, width + 1), np.uint8)  # each row opens with its filter type: 0
    rows[:, 1:] = pixels
    # A 512-byte window and the least memory: the data is under 1 KB. Run-length
    # matching only: 6 µs instead of 10 for the default strategy, 3 % larger.
    deflate = zlib.compressobj(1, zlib.DEFLATED, 9, 1, zlib.Z_RLE)
    stream = deflate.compress(rows.tobytes()) + deflate.flush()
    header = struct.pack(">II5B", width, height, *_GREY_8BIT)
    return SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", stream) + _chunk(b"IEND", b"")
