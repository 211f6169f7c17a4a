"""What one image decode costs: time and peak memory, file by file.

    .venv/bin/python -m bench.decode_budget

The files are small ones that claim big pictures (webapp/decode.py refuses them
from their headers), and the largest of each kind it accepts, with the content
that decodes slowest (noise, the Paeth filter), besides a canvas drawing and a
phone photo. The budget is ~100 ms and 64 MB a decode; README "Limits, and why"
quotes this table. tests/api/test_image_limits.py posts the same files.

Each file is decoded by ``webapp.decode.open_image`` five times in a fresh
process (``--one PATH``): the median wall and CPU time (the same on an idle
machine; CPU time is what others' load on a shared VM does not inflate), and the
peak resident memory above what the process held before (Linux's VmHWM, reset
through /proc/self/clear_refs once the file is read: ru_maxrss would also count
the parent's memory at fork).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import re
import statistics
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageChops, ImageFile

from digits import dataset
from digits.drawing import draw_like_a_pen

ROOT = Path(__file__).resolve().parent.parent
PHOTO = (4032, 3024)  # a 12 Mpx phone camera's JPEG
RUNS = 5


# -- the files ---------------------------------------------------------------------


def png(
    width: int, height: int, depth: int = 8, colour: int = 6, row: bytes | None = None, paeth=False
) -> bytes:
    """A PNG written chunk by chunk, of any depth and colour type (Pillow writes no
    16-bit RGBA): every row the same (``row``, zeros by default), filtered with
    None or Paeth; quick to build however large."""
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour]
    row = row if row is not None else bytes(-(-width * channels * depth // 8))
    line = bytes([4 if paeth else 0]) + row
    compressor = zlib.compressobj(6)
    per_batch = max(1, 2**20 // len(line))
    pixels = [compressor.compress(line * min(per_batch, height - y)) for y in range(0, height, per_batch)]
    header = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", b"".join(pixels) + compressor.flush())
        + chunk(b"IEND", b"")
    )


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def noise_row(length: int, seed: int = 0) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, length, dtype=np.uint8).tobytes()


def noise(size: tuple[int, int], mode: str, seed: int = 1) -> Image.Image:
    """Every pixel random: the content that costs lossy decoders most."""
    width, height = size
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (height, width, len(mode)), np.uint8))


def saved(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    # Pillow writes a progressive JPEG through one buffer, too small for noise
    ImageFile.MAXBLOCK = max(ImageFile.MAXBLOCK, 2**24)
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


@cache
def lossless_webp() -> bytes:
    """The issue's 4000x4000 lossless WebP: well under a kilobyte."""
    return saved(Image.new("RGBA", (4000, 4000), "white"), "WEBP", lossless=True)


@cache
def strip_png() -> bytes:
    """The issue's 1x16,000,000 grey PNG, as Pillow writes it: 31 KB."""
    return saved(Image.new("L", (1, 16_000_000)), "PNG")


@cache
def deep_png() -> bytes:
    """The issue's 4000x4000 PNG of 16-bit RGBA."""
    return png(4000, 4000, depth=16)


def photo(digit: np.ndarray, size: tuple[int, int] = PHOTO, grain: float = 2.0) -> Image.Image:
    """A phone photo of a digit on paper: a dark pen stroke on an off-white page,
    lit unevenly (a quarter darker at the bottom), with sensor noise."""
    width, height = size
    side = int(min(size) * 0.7)
    box = ((width - side) // 2, (height - side) // 2, side)
    page = draw_like_a_pen(digit, size, box, ink=(40, 40, 60, 255), ground=(235, 230, 220, 255), mode="RGB")
    light = Image.linear_gradient("L").resize(size).point(lambda v: 255 - v // 4).convert("RGB")
    sensor = Image.effect_noise(size, grain).convert("RGB")
    return ImageChops.add(ImageChops.multiply(page, light), sensor, offset=-128)


@cache
def photo_jpeg(digit_index: int = 0, progressive: bool = False) -> bytes:
    """A 4032x3024 photo of an MNIST test digit, as a phone camera saves it (4:2:0, quality 90)."""
    images, _ = dataset.load("test")
    return saved(photo(images[digit_index]), "JPEG", quality=90, progressive=progressive)


def files() -> list[tuple[str, bytes]]:
    """(description, bytes): the refused files first, then the accepted ones at their limits."""
    from webapp import decode

    # The largest square pictures accepted, of each kind
    png_rgba = math.isqrt(decode.PNG_MAX_BYTES // 4)
    png_deep = math.isqrt(decode.PNG_MAX_BYTES // 8)
    png_grey = math.isqrt(decode.PNG_MAX_BYTES)
    webp = math.isqrt(decode.WEBP_MAX_PIXELS)
    progressive = math.isqrt(decode.JPEG_BUFFERED_SAMPLES // 3) // 16 * 16  # 4:4:4: 3 samples a pixel
    paeth = png(png_rgba, png_rgba, row=noise_row(png_rgba * 4), paeth=True)
    apng = paeth[:33] + chunk(b"acTL", struct.pack(">II", 1, 0)) + paeth[33:]  # one frame: Pillow decodes it
    digit = dataset.load("test")[0][0]
    return [
        ("refused: lossless WebP, 4000×4000 white", lossless_webp()),
        ("refused: PNG, 1×16,000,000 grey", strip_png()),
        ("refused: PNG, 4000×4000 16-bit RGBA", deep_png()),
        ("refused: PNG, 20000×20000 1-bit", saved(Image.new("1", (20_000, 20_000)), "PNG")),
        ("refused: progressive JPEG photo, 4032×3024", photo_jpeg(progressive=True)),
        ("canvas drawing, 280×280 RGBA PNG", saved(draw_like_a_pen(digit, ink=(17, 17, 17, 255)), "PNG")),
        ("JPEG photo, 4032×3024 (decoded 1008×756)", photo_jpeg()),
        (
            "JPEG photo at the limit, 4000×4000 (decoded 1000×1000)",
            saved(photo(digit, (4000, 4000), grain=3), "JPEG", quality=85),
        ),
        (
            f"progressive JPEG at the limit, {progressive}² 4:4:4 colour noise (decoded whole)",
            saved(
                noise((progressive, progressive), "RGB"), "JPEG", quality=90, subsampling=0, progressive=True
            ),
        ),
        (f"PNG at the limit, {png_rgba}² RGBA Paeth noise (libspng)", paeth),
        (f"PNG at the limit, {png_rgba}² RGBA Paeth noise, APNG (Pillow)", apng),
        (
            f"PNG at the limit, {png_deep}² 16-bit RGBA Paeth noise",
            png(png_deep, png_deep, depth=16, row=noise_row(png_deep * 8), paeth=True),
        ),
        (
            f"PNG at the limit, {png_grey}² grey Paeth noise",
            png(png_grey, png_grey, colour=0, row=noise_row(png_grey), paeth=True),
        ),
        (
            f"WebP at the limit, {webp}² lossless white",
            saved(Image.new("RGB", (webp, webp), "white"), "WEBP", lossless=True),
        ),
        (
            f"WebP at the limit, {webp}² lossy RGBA noise, q100",
            saved(noise((webp, webp), "RGBA"), "WEBP", quality=100, alpha_quality=100),
        ),
    ]


# -- measuring ----------------------------------------------------------------------


def _memory(field: str) -> int:
    """This process's VmRSS or VmHWM (peak) in bytes."""
    status = Path("/proc/self/status").read_text()
    return int(re.search(rf"{field}:\s+(\d+) kB", status)[1]) * 1024


def one(path: Path) -> dict:
    """Decode the file RUNS times in this fresh process: median ms, peak MB above the start, the answer."""
    from webapp import config, decode
    from webapp.errors import ApiError

    max_pixels = config.load({})["MAX_IMAGE_PIXELS"]  # the default
    raw = path.read_bytes()
    Path("/proc/self/clear_refs").write_text("5")  # the peak so far := now
    before = _memory("VmRSS")
    times, cpu, answer = [], [], ""
    for _ in range(RUNS):
        started, started_cpu = time.perf_counter(), time.process_time()
        try:
            image = decode.open_image(raw, max_pixels)
            answer = f"{image.width}×{image.height} {image.mode}"
        except ApiError as refused:
            answer = f"{refused.status} `{refused.code}`"
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        image = None
    peak = (_memory("VmHWM") - before) / 2**20
    return {"ms": statistics.median(times), "cpu": statistics.median(cpu), "mb": peak, "answer": answer}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--one", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one)))
        return
    print("| file | bytes | answer | decode, ms (median of 5) | CPU, ms | peak RSS, MB |")
    print("|---|---:|---|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as folder:
        for number, (name, raw) in enumerate(files()):
            path = Path(folder) / f"{number}.bin"
            path.write_bytes(raw)
            out = subprocess.run(
                [sys.executable, "-m", "bench.decode_budget", "--one", str(path)],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            )
            got = json.loads(out.stdout)
            figures = f"{got['ms']:.1f} | {got['cpu']:.1f} | {got['mb']:.1f}"
            print(f"| {name} | {len(raw):,} | {got['answer']} | {figures} |", flush=True)


if __name__ == "__main__":
    main()
