"""Show ``rnn``'s docstrings verbatim in the API reference (a local Sphinx extension).

The package's docstrings are written for a reader of the source: Unicode math (H_t = tanh(X_t W_xh + …)),
shapes like (*S, D) and aligned equations. Parsed as reStructuredText, the ``*`` and ``|`` in them would
be read as markup. This extension hands autodoc each docstring as a literal block instead, so the page
shows exactly what ``help()`` shows, and the strict build stays free of markup warnings.
"""

from __future__ import annotations

from pathlib import Path

from sphinx.application import Sphinx

STATIC = Path(__file__).parent / "static"


def literal_docstring(app, what, name, obj, options, lines: list[str]) -> None:
    if not any(line.strip() for line in lines):
        return
    body = ["    " + line if line.strip() else "" for line in lines]
    lines[:] = [".. code-block:: text", ""] + body + [""]


def add_static_path(app: Sphinx) -> None:
    app.config.html_static_path.append(str(STATIC))


def setup(app: Sphinx) -> dict:
    app.setup_extension("sphinx.ext.autodoc")
    app.connect("autodoc-process-docstring", literal_docstring)
    app.connect("builder-inited", add_static_path)
    app.add_css_file("api.css")  # wrap the long lines of the verbatim docstrings
    return {"parallel_read_safe": True, "parallel_write_safe": True}
