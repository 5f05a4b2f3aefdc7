"""Browser checks of the built book: every page of ``_toc.yml`` opened in headless Chromium.

Run them after a build (``make test`` does: ``book-strict`` then ``browser``)::

    make browser                       # = .venv/bin/pytest tests/browser
    BOOK_HTML=/tmp/bk/_build/html .venv/bin/pytest tests/browser   # another build

They need Playwright's Python package (the ``test`` extra) and a Chromium on PATH
(``apt-get install -y chromium`` as root; or ``CHROMIUM=/path/to/chrome``). Without either they are
skipped with that hint. Playwright's own browser download (``playwright install``) is not used.

Collection: ``pytest tests`` (the unit run, before any book exists) leaves this directory out; the
tests here are collected only when ``tests/browser`` (or a file in it) is named on the command line.

Environment: ``BOOK_HTML`` the built HTML (default ``_build/html``), ``BOOK_TOC`` the table of
contents (default ``_toc.yml``), ``BOOK_CONFIG`` (default ``_config.yml`` next to the toc; its
folder is the book's root), ``BROWSER_WORKERS`` pages open at once (default 2), ``CHROMIUM``.
Full-page screenshots go to ``<BOOK_HTML>/../screenshots/<docname>.png`` (``_build/screenshots/``);
``BROWSER_SCREENSHOTS=0`` skips them, which halves the run time.
"""

from __future__ import annotations

import functools
import http.server
import threading
from pathlib import Path

import pytest

from browser_book import HERE, HTML_DIR, SCREENSHOTS, chromium_path, toc_entries


# --------------------------------------------------------------------------- collection


def _named_on_command_line(config) -> bool:
    for arg in config.invocation_params.args:
        if arg.startswith("-"):
            continue
        path = Path(config.invocation_params.dir, arg.split("::")[0]).resolve()
        if path == HERE or HERE in path.parents:
            return True
    return False


def pytest_ignore_collect(collection_path, config):
    """Leave tests/browser out of ``pytest tests``; they need a built book."""
    if collection_path.resolve().parent == HERE and not _named_on_command_line(config):
        return True
    return None


def pytest_collection_modifyitems(session, config, items):
    """One clear error, not one per test, when there is no built book to check."""
    ours = [item for item in items if HERE in Path(str(item.path)).resolve().parents]
    if ours and not (HTML_DIR / "index.html").is_file():
        pytest.exit(f"tests/browser: no built book at {HTML_DIR}; run `make book` first "
                    f"(or point BOOK_HTML at a build)", returncode=1)


# --------------------------------------------------------------------------- fixtures


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def html_dir() -> Path:
    if not (HTML_DIR / "index.html").is_file():
        pytest.fail(f"no built book at {HTML_DIR}: run `make book` first (or set BOOK_HTML)")
    return HTML_DIR


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
    """The Chromium to drive; skips the browser tests, saying how to enable them, if missing."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        pytest.skip("browser tests need Playwright: .venv/bin/pip install -c constraints.txt "
                    "-e '.[test]' (make install does it)")
    executable = chromium_path()
    if not executable:
        pytest.skip("browser tests need Chromium: apt-get install -y chromium (as root), "
                    "or CHROMIUM=/path/to/chromium")
    return executable


@pytest.fixture(scope="session")
def visits(chromium, site):
    """Every toc page opened once in headless Chromium: {docname: Visit or exception}."""
    from browser_visit import visit_all

    return visit_all(chromium, site, [e["docname"] for e in toc_entries()], SCREENSHOTS)


@pytest.fixture
def visit(visits, docname):
    found = visits.get(docname)
    if isinstance(found, BaseException):
        pytest.fail(f"{docname}: the page could not be inspected: {found!r}")
    return found
