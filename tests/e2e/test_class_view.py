"""The class view (GET /class) on a projector: a QR code of the page's address, and every
student's drawings live, from several browser contexts at once."""

from __future__ import annotations

import io

import zxingcpp
from PIL import Image
from playwright.sync_api import Browser, Page, expect

from digits.strokes import draw_digit

STUDENTS = 8  # browser contexts drawing at once (bench/class_view.py runs 30)


def test_the_qr_code_reads_as_the_address_it_shows(page: Page) -> None:
    page.goto("/class")
    qr = page.get_by_test_id("class-qr")
    url = qr.get_attribute("data-url")
    assert url and url.startswith("http") and url.endswith("/")
    expect(page.get_by_test_id("class-address")).to_have_text(url)
    shot = Image.open(io.BytesIO(qr.locator("svg").screenshot()))
    assert [code.text for code in zxingcpp.read_barcodes(shot)] == [url]


def test_every_students_drawing_shows_up_on_the_class_view(browser: Browser, page: Page, base_url) -> None:
    page.goto("/class")
    expect(page.get_by_test_id("worker").first).to_be_visible()
    # Each student is a browser context of their own: their own tab, their own client id.
    contexts = [
        browser.new_context(base_url=base_url, viewport={"width": 390, "height": 844})
        for _ in range(STUDENTS)
    ]
    try:
        students = [context.new_page() for context in contexts]
        for student in students:
            student.goto("/")
            expect(student.get_by_test_id("canvas")).to_be_visible()
        for student in students:  # all drawn before any answer is awaited: at once
            draw_digit(student, "7")
        for student in students:
            expect(student.get_by_test_id("prediction")).to_have_attribute(
                "data-state", "done", timeout=20_000
            )
        # Every student's request on the class view, whatever else the shared server answered.
        ids = [student.evaluate("sessionStorage.getItem('mnist-lab-client-id')") for student in students]
        assert len(set(ids)) == STUDENTS and all(ids)  # one client, one colour, per student
        page.wait_for_function(
            "ids => { const shown = new Set([...document.querySelectorAll('[data-testid=request-row]')]"
            ".map(row => row.dataset.clientId)); return ids.every(id => shown.has(id)); }",
            arg=ids,
            timeout=10_000,
        )
    finally:
        for context in contexts:
            context.close()
