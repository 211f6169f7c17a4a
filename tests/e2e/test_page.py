"""The page itself: strict CSP with nothing inline, vendored jQuery, keyboard and screen readers."""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path

from playwright.sync_api import Page, expect

from digits.strokes import draw_digit

ROOT = Path(__file__).resolve().parents[2]
RECORD_CSP_VIOLATIONS = """
    window.cspViolations = [];
    document.addEventListener('securitypolicyviolation', e => window.cspViolations.push(e.violatedDirective));
"""


def test_the_page_is_sent_with_a_strict_content_security_policy(server) -> None:
    with urllib.request.urlopen(server.url + "/") as response:
        policy = response.headers["Content-Security-Policy"]
        html = response.read().decode()

    assert "script-src 'self'" in policy and "style-src 'self'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script> in the page"
    assert "<style" not in html and not re.search(r"\sstyle=", html), "inline style in the page"
    assert not re.search(r"\son[a-z]+=", html), "inline event handler in the page"
    assert "//" not in re.sub(r"https?://", "", " ".join(re.findall(r'(?:src|href)="([^"]+)"', html)))


def test_jquery_is_vendored_with_its_version_and_licence(server) -> None:
    vendored = sorted((ROOT / "static" / "vendor").glob("jquery-*.min.js"))
    assert vendored, "no static/vendor/jquery-<version>.min.js"
    version = vendored[-1].name.removeprefix("jquery-").removesuffix(".min.js")
    assert re.fullmatch(r"\d+\.\d+\.\d+", version)
    assert (ROOT / "static" / "vendor" / f"jquery-{version}.LICENSE.txt").is_file()
    assert f"jQuery v{version}" in vendored[-1].read_text()[:200]


def test_drawing_and_a_burst_cause_no_console_errors_or_policy_violations(page: Page) -> None:
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    page.goto("/")

    draw_digit(page, "7")
    expect(page.get_by_test_id("prediction")).to_have_attribute("data-state", "done")
    page.get_by_test_id("burst-size").fill("8")
    page.get_by_test_id("burst").click()
    expect(page.get_by_test_id("burst-summary")).to_have_attribute("data-requests", "8")

    assert page.evaluate("window.cspViolations") == []
    assert errors == []


def test_the_buttons_work_from_the_keyboard_and_the_answer_is_announced(lab_page: Page) -> None:
    draw_digit(lab_page, "1")
    expect(lab_page.get_by_test_id("announce")).to_have_text(re.compile(r"reads 1\b"))
    assert lab_page.get_by_test_id("announce").get_attribute("aria-live") == "polite"

    lab_page.get_by_test_id("predict").focus()
    reached = []
    for _ in range(6):
        reached.append(lab_page.evaluate("document.activeElement.dataset.testid"))
        lab_page.keyboard.press("Tab")
    assert reached == ["predict", "undo", "clear", "upload", "upload-camera", "burst-size"]

    lab_page.get_by_test_id("clear").focus()
    lab_page.keyboard.press("Enter")
    expect(lab_page.get_by_test_id("prediction")).to_have_attribute("data-state", "empty")
