"""Code lines are at most 88 characters, in the package and in the book's code cells.

A longer line scrolls sideways in a code cell at desktop width and on a phone (issue
12), and 88 is black's line length. Every line counts, docstrings and comments included.
Each file is its own test, so a failure names the file; its message lists every long
line with its number and length (in a notebook: the cell, counting every cell from 1,
and the line in that cell).

The last test checks the split between the core and the book-only helpers (issue 11):
``import rnn`` needs numpy only, so the layers can be imported without matplotlib.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

MAX_LINE = 88
ROOT = Path(__file__).resolve().parent.parent
PACKAGE_FILES = sorted((ROOT / "rnn").glob("*.py"))
NOTEBOOKS = sorted((ROOT / "book").glob("*.ipynb"))


def long_lines(text: str, where: str) -> list[str]:
    """A description of each line of ``text`` longer than MAX_LINE (numbered from 1)."""
    return [
        f"{where} line {n}: {len(line)} characters"
        for n, line in enumerate(text.splitlines(), 1)
        if len(line) > MAX_LINE
    ]


def message(found: list[str]) -> str:
    header = f"{len(found)} line(s) longer than {MAX_LINE} characters:"
    return "\n".join([header, *found])


def test_the_checks_cover_the_package_and_the_book():
    names = {path.name for path in PACKAGE_FILES}
    assert {"__init__.py", "rnn_layer.py", "diagrams.py"} <= names, names
    assert len(NOTEBOOKS) >= 13, [path.name for path in NOTEBOOKS]


def test_long_lines_are_found_numbered_and_measured_in_characters():
    text = "\n".join(["x = 1", "y" * MAX_LINE, "z" * (MAX_LINE + 1), "é" * MAX_LINE])
    assert long_lines(text, "f.py") == [f"f.py line 3: {MAX_LINE + 1} characters"]


@pytest.mark.parametrize("path", PACKAGE_FILES, ids=lambda path: path.name)
def test_package_lines_fit(path):
    found = long_lines(path.read_text(encoding="utf-8"), f"rnn/{path.name}")
    assert not found, message(found)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_code_lines_fit(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    found = []
    for number, cell in enumerate(cells, 1):
        if cell["cell_type"] == "code":
            where = f"book/{path.name} cell {number}"
            found += long_lines("".join(cell["source"]), where)
    assert not found, message(found)


def test_import_rnn_needs_no_matplotlib():
    probe = (
        "import sys, rnn; "
        "print([m for m in ('matplotlib', 'rnn.diagrams') if m in sys.modules])"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", f"import rnn loaded {result.stdout.strip()}"
