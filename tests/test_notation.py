"""One notation, checked both ways: the notation page against the code and the chapters.

1. Every parameter that ``rnn`` creates has its symbol on the notation page (W_xr is
   $W_{xr}$ there), so a new parameter cannot enter the code without entering the book.
2. Every code name the notation page shows in backticks, in its tables, exists: as an
   identifier in ``rnn`` or in a chapter's code, so the page cannot drift from the code.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from rnn.layers import RecurrentSpec, init_recurrent
from rnn.model import init_language_model
from rnn.attention import init_attention_seq2seq
from rnn.seq2seq import init_seq2seq

ROOT = Path(__file__).resolve().parents[1]
NOTATION = (ROOT / "book" / "notation.md").read_text(encoding="utf-8")


def _symbols(name: str) -> list[str]:
    """The LaTeX of a parameter name: W_xr -> W_{xr}, b_c -> b_c or b_{c}, E -> E."""
    head, _, sub = name.partition("_")
    if not sub:
        return [head]
    return [f"{head}_{{{sub}}}"] + ([f"{head}_{sub}"] if len(sub) == 1 else [])


def _parameter_names() -> set[str]:
    names = set()
    for kind in ("rnn", "gru", "lstm"):
        for reset_after in ((False, True) if kind == "gru" else (False,)):
            spec = RecurrentSpec(kind, 3, 2, reset_after=reset_after)
            names |= {k.split(".")[-1] for k in init_recurrent(spec, 0)}
    model = init_language_model(5, 2, "rnn", embed_size=3, rng=np.random.default_rng(0))
    names |= {k.split(".")[-1] for k in model.params}
    for kind in ("rnn", "gru", "lstm"):
        seq2seq = init_seq2seq(5, 4, 2, kind, embed_size=3, rng=0)
        names |= {k.split(".")[-1] for k in seq2seq.params}
        attention = init_attention_seq2seq(5, 4, 2, kind, embed_size=3, rng=0)
        names |= {k.split(".")[-1] for k in attention.params}
    return names


@pytest.mark.parametrize("name", sorted(_parameter_names()))
def test_every_parameter_is_on_the_notation_page(name):
    found = [sym for sym in _symbols(name)
             if re.search(re.escape(sym) + r"(?![A-Za-z0-9{])", NOTATION)]
    assert found, (f"rnn creates a parameter {name!r}, but book/notation.md never "
                   f"writes ${_symbols(name)[0]}$: add it to the symbol tables")


def _identifiers_in_code() -> set[str]:
    words = set()
    for path in (ROOT / "rnn").glob("*.py"):
        words |= set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", path.read_text("utf-8")))
    for path in (ROOT / "book").glob("*.ipynb"):
        for cell in json.loads(path.read_text("utf-8"))["cells"]:
            if cell["cell_type"] == "code":
                source = "".join(cell["source"])
                words |= set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", source))
    return words


def _code_names_in_tables() -> list[str]:
    """Code names in the tables of the book's own notation (the translations of other
    notations at the end of the page name the sources' and frameworks' variables)."""
    ours = NOTATION.split("## Translating other notations")[0]
    names = set()
    for line in ours.splitlines():
        if line.startswith("|"):
            for code in re.findall(r"(?<![}\w])`([^`]+)`", line):
                names |= {w for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", code)
                          if len(w) > 1 and not w.startswith("_")}
    return sorted(names)


def test_the_table_scan_finds_names():
    assert {"dA", "dH_t", "W_xh", "O_gate", "H_tilde"} <= set(_code_names_in_tables())


@pytest.mark.parametrize("name", _code_names_in_tables())
def test_every_code_name_on_the_notation_page_exists(name, code_words=set()):
    if not code_words:
        code_words |= _identifiers_in_code()
    assert name in code_words, (
        f"book/notation.md shows the code name {name!r}, which appears neither in rnn "
        f"nor in any chapter's code")
