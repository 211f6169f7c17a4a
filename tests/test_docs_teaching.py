"""docs/teaching.md's links open, and its walk through the code names what is there: each link's
file exists, and each function or class a link to a Python file names (`predict()`,
`Model.load()`, `Prediction`) is defined in that file, so a renamed function breaks this test,
not the lesson."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "teaching.md"
LINK = re.compile(r"\[((?:[^\[\]]|`[^`]*`)+)\]\(([^)\s]+)\)")
NAMED = re.compile(r"`([A-Za-z_][\w.]*)(?:\(\))?`")  # `predict()`, `Model.load()`, `Prediction`


def _links() -> list[tuple[str, str]]:
    """(text, target) of every link to a file of this repository."""
    found = LINK.findall(GUIDE.read_text())
    return [(text, target) for text, target in found if not re.match(r"[a-z]+:|#", target)]


def _defined(path: Path) -> set[str]:
    """The module-level functions, classes and assignments of a Python file, and each class's
    methods as Class.method."""
    names = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        if isinstance(node, ast.ClassDef):
            names |= {f"{node.name}.{item.name}" for item in node.body if isinstance(item, ast.FunctionDef)}
        if isinstance(node, ast.Assign):
            names |= {target.id for target in node.targets if isinstance(target, ast.Name)}
    return names


def _code_links() -> list[tuple[str, str]]:
    """(name, file) of every function or class a link to a Python file names."""
    pairs = []
    for text, target in _links():
        if target.endswith(".py"):
            pairs += [(name, target) for name in NAMED.findall(text) if not name.endswith(".py")]
    return pairs


def test_the_guide_walks_a_prediction_through_the_code():
    files = {target for _, target in _code_links()}
    assert {"../gunicorn.conf.py", "../webapp/api.py", "../webapp/decode.py"} <= files
    assert {"../webapp/preprocess.py", "../webapp/model.py"} <= files


@pytest.mark.parametrize(("text", "target"), _links())
def test_each_link_of_the_guide_opens_a_file(text, target):
    path = (GUIDE.parent / target.split("#")[0]).resolve()
    assert path.is_file(), f"[{text}]({target}): no such file"
    assert path.is_relative_to(ROOT), f"[{text}]({target}) is outside the repository"


def _slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_each_link_within_the_guide_finds_its_heading():
    text = GUIDE.read_text()
    headings = {_slug(line.lstrip("#")) for line in text.splitlines() if line.startswith("#")}
    anchors = {target[1:] for _, target in LINK.findall(text) if target.startswith("#")}
    assert anchors and anchors <= headings, f"no such heading: {sorted(anchors - headings)}"


@pytest.mark.parametrize(("name", "target"), _code_links())
def test_each_function_the_guide_names_is_in_the_file_it_links(name, target):
    path = (GUIDE.parent / target).resolve()
    assert name in _defined(path), f"`{name}` is not defined in {path.relative_to(ROOT)}"
