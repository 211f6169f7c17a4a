"""docs/testing.md stays true: its example is the file that CI runs."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

ROOT = Path(__file__).resolve().parents[2]


def test_the_documented_example_is_the_test_file_run_in_ci() -> None:
    doc = (ROOT / "docs" / "testing.md").read_text()
    example = (ROOT / "tests" / "e2e" / "test_example_from_docs.py").read_text()

    assert f"```python\n{example}```" in doc


def test_the_page_links_to_the_api_page_and_back(page: Page) -> None:
    page.goto("/")
    page.get_by_role("link", name="The API").click()
    expect(page).to_have_url(re.compile(r"/docs$"))
    page.get_by_role("link", name="Back to the page").click()
    expect(page.get_by_test_id("canvas")).to_be_visible()
