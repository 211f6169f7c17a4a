"""The page's code keeps its layout: only view modules touch the DOM, and the server's rules
are asked of the server (GET /api/workers), never copied. Reads static/js; no browser."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from serving.config import MODES

JS = Path(__file__).resolve().parents[2] / "static" / "js"
MODULES = sorted(JS.glob("*.js"))
# jQuery's $(…), the document, the window, or the computed styles the timeline reads.
TOUCHES_DOM = re.compile(r"\$\(|\bdocument\b|\bwindow\.|getComputedStyle|ResizeObserver")


def is_view(module: Path) -> bool:
    """A view module says so on its first line."""
    return module.read_text().startswith("// View:")


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.name)
def test_only_view_modules_touch_the_dom(module: Path) -> None:
    code = "\n".join(line.split("//")[0] for line in module.read_text().splitlines())

    assert is_view(module) or not TOUCHES_DOM.search(code), f"{module.name} touches the DOM: make it a view's"


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.name)
def test_the_page_asks_a_modes_properties_never_tests_its_name(module: Path) -> None:
    names = "|".join(map(re.escape, MODES))
    compared = re.compile(rf"[!=]==\s*['\"]({names})['\"]|['\"]({names})['\"]\s*[!=]==")

    assert not compared.search(module.read_text()), f"{module.name} tests a mode's name"


def test_the_page_reads_the_labs_limits_from_the_workers_settings_not_openapi() -> None:
    page = [m for m in MODULES if m.name != "docs.js"]  # docs.js is Swagger UI on /docs

    assert not [m.name for m in page if "openapi" in m.read_text()]
