"""Browser checks of the built book: every page of ``_toc.yml`` opened in headless
Chromium.

Run them after a build (``make test`` does: ``book-strict`` then ``browser``)::

    make browser                       # = .venv/bin/pytest tests/browser
    BOOK_HTML=/tmp/bk/_build/html .venv/bin/pytest tests/browser   # another build

They need Playwright's Python package (the ``test`` extra) and a Chromium on PATH
(``apt-get install -y chromium`` as root; or ``CHROMIUM=/path/to/chrome``). Without
either they are skipped with that hint. Playwright's own browser download
(``playwright install``) is not used.

Collection never errors. ``pytest tests`` (the unit run, before any book exists) reports
each module here as skipped: they run only when ``tests/browser`` (or a file in it) is
named on the command line. Named, a module is skipped with the reason when PyYAML (it
reads ``_toc.yml``; the ``book`` extra installs it) is missing or there is no built
book. A skipped module is not imported, so none of its imports can fail.

Environment: ``BOOK_HTML`` the built HTML (default ``_build/html``), ``BOOK_TOC`` the
table of contents (default ``_toc.yml``), ``BOOK_CONFIG`` (default ``_config.yml`` next
to the toc; its folder is the book's root), ``BROWSER_WORKERS`` pages open at once
(default 2), ``CHROMIUM``. Full-page screenshots go to
``<BOOK_HTML>/../screenshots/<docname>.png`` (``_build/screenshots/``);
``BROWSER_SCREENSHOTS=0`` skips them, which halves the run time.
"""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
try:
    import yaml  # noqa: F401  (browser_book reads _toc.yml with it)
except ImportError:
    browser_book = None
else:
    import browser_book


# --------------------------------------------------------------------------- collection


def _named_on_command_line(config) -> bool:
    for arg in config.invocation_params.args:
        if arg.startswith("-"):
            continue
        path = Path(config.invocation_params.dir, arg.split("::")[0]).resolve()
        if path == HERE or HERE in path.parents:
            return True
    return False


def _why_not_run(config) -> str | None:
    """Why the modules here cannot run in this session, or None."""
    if not _named_on_command_line(config):
        return ("browser checks of the built book: run them with `make browser` (or "
                "name tests/browser on the command line) after `make book`")
    if browser_book is None:
        return ("browser checks need PyYAML to read _toc.yml: "
                ".venv/bin/pip install -c constraints.txt -e '.[book,test]'")
    if not (browser_book.HTML_DIR / "index.html").is_file():
        return (f"no built book at {browser_book.HTML_DIR}: run `make book` first "
                f"(or point BOOK_HTML at a build)")
    return None


class _SkippedModule(pytest.Module):
    """A test module reported as skipped without being imported."""

    reason = ""

    def collect(self):
        pytest.skip(self.reason, allow_module_level=True)


def pytest_pycollect_makemodule(module_path, parent):
    """Skip (never import) the modules here when they cannot run; see the docstring."""
    reason = _why_not_run(parent.config)
    if reason is None:
        return None
    module = _SkippedModule.from_parent(parent, path=module_path)
    module.reason = reason
    return module


# --------------------------------------------------------------------------- fixtures


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def html_dir() -> Path:
    html = browser_book.HTML_DIR
    if not (html / "index.html").is_file():
        pytest.fail(f"no built book at {html}: run `make book` first "
                    f"(or set BOOK_HTML)")
    return html


@pytest.fixture(scope="session")
def site(html_dir):
    """Serve the built book on 127.0.0.1 at a free port; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(html_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def chromium() -> str:
    """The Chromium to drive; if missing, skips the tests saying how to get it."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        pytest.skip("browser tests need Playwright: .venv/bin/pip install "
                    "-c constraints.txt -e '.[test]' (make install does it)")
    executable = browser_book.chromium_path()
    if not executable:
        pytest.skip("browser tests need Chromium: apt-get install -y chromium "
                    "(as root), or CHROMIUM=/path/to/chromium")
    return executable


@pytest.fixture(scope="session")
def visits(chromium, site):
    """Every toc page opened once in headless Chromium: {docname: Visit or error}."""
    from browser_visit import visit_all

    docnames = [e["docname"] for e in browser_book.toc_entries()]
    return visit_all(chromium, site, docnames, browser_book.SCREENSHOTS)


@pytest.fixture
def visit(visits, docname):
    found = visits.get(docname)
    if isinstance(found, BaseException):
        pytest.fail(f"{docname}: the page could not be inspected: {found!r}")
    return found
