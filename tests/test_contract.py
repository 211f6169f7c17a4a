"""The stable contract, as the README and docs/testing.md state it, checked against the code:
every route the app serves is in the README's API table (and nothing else is), and every
data-testid the page has is in the testing guide's hooks table (and nothing else is)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _table_after(text: str, heading: str) -> str:
    """The first Markdown table after ``heading``."""
    rest = text.split(heading, 1)[1]
    lines = rest.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return "\n".join(lines[start:end])


def test_the_readmes_api_table_lists_every_route_the_app_serves(app):
    served = {
        f"{method} {rule.rule}"
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    table = _table_after((ROOT / "README.md").read_text(), "## API")
    documented = set()
    for cell in re.findall(r"^\| ([^|]+?) \|", table, re.M):
        for method, path in re.findall(r"`(GET|POST|PUT|DELETE) ([^`?]+)", cell):
            documented.add(f"{method} {path}")
        # "`GET /openapi.json`, `GET /docs`" style cells are caught above; the header row is not a route.
    assert served == documented, (
        f"served, not in the README: {served - documented}; in the README, not served: {documented - served}"
    )


def _documented_hooks() -> set[str]:
    """The data-testid names in the testing guide's hook tables (those headed `data-testid`)."""
    hooks: set[str] = set()
    text = (ROOT / "docs" / "testing.md").read_text()
    for table in re.split(r"\n(?=\| `data-testid` \|)", text)[1:]:
        for line in table.splitlines()[2:]:
            if not line.startswith("|"):
                break
            first_cell = line.split("|")[1]
            hooks.update(re.findall(r"`([a-z0-9-]+)`", first_cell))
    return hooks


def _page_hooks() -> set[str]:
    """Every data-testid the page's templates and scripts put on an element."""
    hooks: set[str] = set()
    for path in (ROOT / "templates").glob("*.html"):
        hooks.update(re.findall(r'data-testid="([a-z0-9-]+)"', path.read_text()))
    for path in (ROOT / "static" / "js").glob("*.js"):
        hooks.update(re.findall(r"""['"]data-testid['"]\s*:\s*['"]([a-z0-9-]+)['"]""", path.read_text()))
    return hooks


def test_the_testing_guide_lists_every_hook_the_page_has():
    page, documented = _page_hooks(), _documented_hooks()
    assert page == documented, (
        f"on the page, not in docs/testing.md: {page - documented}; "
        f"in docs/testing.md, not on the page: {documented - page}"
    )
