"""docs/testing.md stays true: its example is the file that CI runs."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_documented_example_is_the_test_file_run_in_ci() -> None:
    doc = (ROOT / "docs" / "testing.md").read_text()
    example = (ROOT / "tests" / "e2e" / "test_example_from_docs.py").read_text()

    assert f"```python\n{example}```" in doc
