"""rnn.book.glue: checks its name, and does nothing without myst-nb."""
import sys

import pytest

from rnn.book import glue


@pytest.mark.parametrize("name", ["", "ch 08", "8ppl", 3, None])
def test_glue_needs_an_identifier(name):
    with pytest.raises(ValueError, match="name must be a Python identifier"):
        glue(name, "4.6")


def test_glue_without_myst_nb_does_nothing(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "myst_nb", None)  # import myst_nb now fails
    assert glue("ch08_ppl", "4.6", display=True) is None
    assert capsys.readouterr().out == ""
