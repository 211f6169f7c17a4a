"""A phone camera's photo through the page: 12 Mpx, 3-4 MB, upright or held sideways (EXIF). The
page turns it upright and scales it to 1,024 px before sending, shows the photo it sent on the
pad beside the answer and the 28x28 the model saw, and the answer is right."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from digits import sets
from digits.dataset import load
from digits.drawing import draw_like_a_pen, encoded

PHONE = {"width": 390, "height": 844}
IN_VIEW = "el => { const r = el.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; }"
# The files the page puts in a form to send (Playwright does not show a multipart body's files).
RECORD_FILES = """
window.sentFiles = [];
const append = FormData.prototype.append;
FormData.prototype.append = function (name, value, ...rest) {
  if (value instanceof Blob) window.sentFiles.push({name, size: value.size, type: value.type});
  return append.call(this, name, value, ...rest);
};
"""


@pytest.mark.parametrize("orientation", [1, 6], ids=["upright", "sideways-exif-6"])
def test_a_camera_photo_is_scaled_down_in_the_browser_shown_and_read(
    page: Page, camera_digit, tmp_path, orientation: int
) -> None:
    small, digit = camera_digit
    path = tmp_path / "IMG_0001.jpg"
    path.write_bytes(sets.camera_photo(small, orientation))
    assert 3_000_000 <= path.stat().st_size <= 4_000_000
    page.add_init_script(RECORD_FILES)
    page.set_viewport_size(PHONE)
    page.goto("/")
    expect(page.get_by_test_id("connection")).to_have_attribute("data-state", "up")

    page.get_by_test_id("upload-camera").set_input_files(path)

    prediction = page.get_by_test_id("prediction")
    expect(prediction).to_have_attribute("data-digit", str(digit), timeout=20_000)
    # Upright whichever way it was stored (a sideways photo's pixels are 3000 x 4000), and scaled down.
    caption = page.get_by_test_id("photo-sent-caption")
    expect(caption).to_contain_text("Sent 1024 × 768")
    expect(caption).to_contain_text("taken 4000 × 3000, 3.")
    (sent,) = page.evaluate("window.sentFiles")  # one file, a JPEG a tenth of the photo's size
    assert sent["name"] == "image" and sent["type"] == "image/jpeg" and sent["size"] < 400_000, sent
    # On the phone, the photo sent, the answer and the 28x28 the model saw are all in view.
    for hook in ("photo-sent", "answer-digit", "model-input"):
        assert page.get_by_test_id(hook).evaluate(IN_VIEW), f"{hook} is out of view"
    assert page.evaluate("window.scrollY") == 0
    # The pen puts the photo away: the pad is for drawing again.
    box = page.get_by_test_id("canvas").bounding_box()
    page.mouse.move(box["x"] + 100, box["y"] + 100)
    page.mouse.down()
    expect(page.get_by_test_id("photo-sent")).to_be_hidden()
    page.mouse.up()


def test_a_small_drawn_png_is_sent_as_it_is(page: Page, tmp_path) -> None:
    """A picture under 1,024 px and 1 MB goes unchanged (no re-encoding of what needs none)."""
    raw = encoded(draw_like_a_pen(load("test")[0][0]))
    path = tmp_path / "digit.png"
    path.write_bytes(raw)
    page.add_init_script(RECORD_FILES)
    page.goto("/")

    page.get_by_test_id("upload").set_input_files(path)

    expect(page.get_by_test_id("prediction")).to_have_attribute("data-digit", "7")
    assert page.evaluate("window.sentFiles") == [{"name": "image", "size": len(raw), "type": "image/png"}]
