"""The README's layout tables are true: the served package's table names each of its modules,
data files and folders once, and nothing that is not there; the folder table names serving/ too."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def _table_after(line: str) -> list[str]:
    """The first column's `names` of the first table after ``line``."""
    table = re.search(r"^\|.*?(?=\n\n)", README[README.index(line) :], re.S | re.M)[0]
    return [name for row in table.splitlines()[2:] for name in re.findall(r"`([^`]+)`", row.split(" | ")[0])]


def test_the_served_package_table_lists_every_module_of_webapp_once():
    listed = _table_after("The served package, one line a module:")
    there = [p.name for p in (ROOT / "webapp").iterdir() if p.suffix in (".py", ".json")]
    there += [p.name + "/" for p in (ROOT / "webapp").iterdir() if (p / "__init__.py").is_file()]
    assert sorted(listed) == sorted(there)


def test_the_folder_table_names_the_packages_a_worker_imports():
    listed = _table_after("What a gunicorn worker imports is")
    assert {"webapp/", "serving/"} <= set(listed)
