"""Book-only helpers for the notebooks; the rest of rnn never imports this module.

``glue`` puts a number computed in a cell into the prose around it: the cell calls
``glue("ch08_rnn_ppl", f"{ppl:.2f}")`` and a sentence of the chapter says
{glue:text}`ch08_rnn_ppl`, so no sentence quotes a number by hand. Format the value in
the cell, no finer than it is the same on every CPU (the book's print rule).
"""
from __future__ import annotations

__all__ = ["glue"]


def glue(name: str, value, display: bool = False) -> None:
    """Store ``value`` under ``name`` for the chapter's text (myst-nb's ``glue``; shown
    in the cell's output only if ``display``).

    Without myst-nb (a notebook run outside the book's environment) it does nothing:
    the reader still sees every number in the cells' printed output.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"name must be a Python identifier such as 'ch08_rnn_ppl'; "
                         f"got {name!r}")
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return
    myst_glue(name, value, display=display)
