"""grey_png writes PNG files that other decoders read back pixel for pixel."""

from __future__ import annotations

import io

import numpy as np
import pyspng
import pytest
from PIL import Image

from webapp.png import grey_png


@pytest.mark.parametrize("shape", [(28, 28), (1, 1), (3, 50), (64, 7)])
def test_pillow_and_libspng_read_back_the_same_pixels(shape: tuple[int, int]) -> None:
    pixels = np.random.default_rng(sum(shape)).integers(0, 256, shape, dtype=np.uint8)
    data = grey_png(pixels)
    image = Image.open(io.BytesIO(data))
    image.load()  # checks every CRC and the zlib stream's checksum
    assert image.format == "PNG" and image.mode == "L" and image.size == shape[::-1]
    np.testing.assert_array_equal(np.asarray(image), pixels)
    np.testing.assert_array_equal(pyspng.load(data), pixels)


def test_a_model_input_is_compressed(mnist_test) -> None:
    # What /api/predict sends back with every answer: a fraction of the raw 784 bytes.
    images, _ = mnist_test
    for digit in images[:50]:
        assert len(grey_png(digit)) < 784 * 0.45
