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
