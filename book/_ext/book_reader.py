"""Reader-experience plumbing for the book (a local Sphinx extension, see
``_config.yml``).

1. **Math works offline.** MathJax 3 is taken from the pinned PyPI package
   ``django-static-mathjax`` (upstream MathJax 3.2.2, Apache-2.0; the ``book`` extra
   installs it), copied into ``_build/html/_static/mathjax/`` and ``mathjax_path``
   points at that copy instead of the jsDelivr CDN.
2. **No page loads anything from outside.** Every script and stylesheet a page links is
   checked while the page is written; a remote one is a warning, so the strict build
   (``-W``) fails. (``tests/browser`` also blocks and reports every non-local request.)
3. **Launch buttons follow ``repository.url``.** ``launch_buttons`` in ``_config.yml``
   lists the services (Binder, Colab); they appear on notebook pages only when
   ``repository.url`` is set. Left empty, no page shows a launch button (the theme would
   otherwise crash on an empty URL). The ``.ipynb`` download button is the theme's
   default (``use_download_button``) and is kept on.
4. **No console errors from the stack itself**: sphinx-thebe's inline config script is
   emitted twice by Sphinx 7.4 (a ``const`` redeclared: an uncaught SyntaxError on every
   page), and pydata-sphinx-theme complains about an empty ``default_mode``; both are
   fixed.
5. **Navigation works on a phone and on a desktop; one search box.** pydata-sphinx-theme
   0.17.1 sets ``navbar_persistent`` to a search field when the option is not in
   ``html_theme_options``; it does not see sphinx-book-theme's empty default in
   ``theme.conf``. That renders pydata's own header above the page: a second search box
   on a desktop, and hidden copies of both sidebar toggles *before* the visible ones in
   the page. Both themes bind their click handlers with
   ``querySelector(".primary-toggle")`` (the first match:
   pydata/pydata-sphinx-theme#2451, executablebooks/sphinx-book-theme#988), so the
   buttons a reader taps did nothing. Setting ``navbar_persistent`` to ``[]`` removes
   that header; the article header's toggles and search button are then the only ones.
6. **Nothing overflows the article** (``static/book_reader.css`` and ``.js``): display
   math is scaled down to fit, or scrolls in its own box; inline math, tables and code
   scroll in theirs; API signatures wrap.
7. **Chinese is marked as Chinese**: each run of CJK characters in a written page's text
   (article, sidebar, links named after a title) is wrapped in ``<span lang="zh-Hans">``
   (:func:`mark_chinese`), so screen readers and fonts treat it as Chinese. No chapter
   needs editing.
8. **A favicon** (``static/favicon.svg``, drawn for the book): no 404 for
   ``/favicon.ico``.
9. **Accessibility** (axe-core, in ``tests/browser``): docutils gives bibliography
   entries ``role="doc-biblioentry"`` inside a ``role="list"``, which needs ``listitem``
   children; they get ``role="listitem"``. Code blocks and outputs that scroll, e.g. in
   a solution opened later, get a tab stop (``book_reader.js``) so a keyboard scrolls
   them.

``tests/browser`` checks all of this on the built pages.
"""

from __future__ import annotations

import posixpath
import re
from html.parser import HTMLParser
from importlib import metadata
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.ext.mathjax import MATHJAX_URL
from sphinx.util import logging
from sphinx.util.fileutil import copy_asset

logger = logging.getLogger(__name__)

MATHJAX_DIST = "django-static-mathjax"
MATHJAX_DIR = "mathjax/static/mathjax/es5"  # inside the installed distribution
MATHJAX_ENTRY = "tex-mml-chtml.js"  # the combined component Sphinx loads by default
STATIC_SUBDIR = "mathjax"  # -> _static/mathjax/
# From MathJax's es5/ tree, the other combined components and the SVG / Node-only parts
# are never loaded by this book. Everything else (TeX extensions loaded on demand, CHTML
# fonts, the menu, the accessibility components and their speech-rule maps) is copied so
# that it all works offline.
UNUSED_TOP = {"adaptors", "node-main.js", "output/svg", "output/svg.js"}
STATIC = Path(__file__).parent / "static"
# CJK ideographs (with extension A and compatibility ideographs), CJK punctuation and
# full-width forms: one run of these is one Chinese phrase.
CJK_RUN = re.compile(
    "[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]+")
CHINESE = "zh-Hans"  # the course's Chinese terms are in simplified characters
LAUNCH_SERVICES = ("binderhub_url", "jupyterhub_url", "thebe", "colab_url",
                   "deepnote_url", "jupyterlite_url")


def _is_remote(url: str) -> bool:
    return "://" in url or url.startswith("//")


def mathjax_source() -> Path:
    """The es5/ directory of the installed MathJax distribution."""
    try:
        dist = metadata.distribution(MATHJAX_DIST)
    except metadata.PackageNotFoundError:
        raise RuntimeError(
            f"{MATHJAX_DIST} is not installed; it serves MathJax from the build so "
            f"math renders offline. Install the book tools: "
            f"pip install -c constraints.txt -e '.[book]'"
        ) from None
    src = Path(dist.locate_file(MATHJAX_DIR))
    if not (src / MATHJAX_ENTRY).is_file():
        raise RuntimeError(
            f"{src / MATHJAX_ENTRY} is missing from {MATHJAX_DIST} {dist.version}")
    return src


def _excluded(relpath: str) -> bool:
    relpath = relpath.lstrip("./")
    if "/" not in relpath and relpath.endswith(".js") and relpath != MATHJAX_ENTRY:
        return True  # another combined component (tex-svg.js, mml-chtml.js, ...)
    return relpath in UNUSED_TOP


def configure(app: Sphinx, config) -> None:
    # 1. Local MathJax. A relative mathjax_path is served from _static/.
    path = config.mathjax_path
    if not path or path == MATHJAX_URL:  # unset, or Sphinx's CDN default
        config.mathjax_path = posixpath.join(STATIC_SUBDIR, MATHJAX_ENTRY)
    elif _is_remote(path):
        logger.warning("mathjax_path %s is remote: math would not render offline; "
                       "remove it from _config.yml to use the bundled MathJax", path,
                       type="book_reader", subtype="remote")

    # 3. Launch buttons only with a repository URL.
    theme = config.html_theme_options
    launch = theme.get("launch_buttons") or {}
    if not theme.get("repository_url"):
        theme["launch_buttons"] = {k: v for k, v in launch.items()
                                   if k not in LAUNCH_SERVICES}
    elif launch.get("thebe"):
        logger.warning("launch_buttons.thebe loads thebe from unpkg.com on click; "
                       "the book must not load remote scripts", type="book_reader",
                       subtype="remote")
    theme.setdefault("use_download_button", True)
    # 5. No theme header: one search box, and the sidebar toggles a reader taps are the
    # first.
    theme.setdefault("navbar_persistent", [])
    # 8. The book's favicon.
    if not config.html_favicon:
        config.html_favicon = str(STATIC / "favicon.svg")
    # 4. pydata-sphinx-theme logs "Got invalid theme mode" on every first visit when
    # this is ""; "auto" is what it falls back to anyway (the reader's light/dark
    # preference).
    if not config.html_context.get("default_mode"):
        config.html_context["default_mode"] = "auto"


def check_page_assets(app: Sphinx, pagename: str, templatename: str, context: dict,
                      doctree) -> None:
    # 4. Inline scripts registered with add_js_file(None, body=...) after the builder
    # starts are emitted twice (Sphinx keeps None and "" as different file names);
    # sphinx-thebe's `const THEBE_JS_URL = ...` then throws "already been declared" on
    # every page. Keep one.
    scripts = context.get("script_files")
    if isinstance(scripts, list):
        seen, unique = set(), []
        for js in scripts:
            key = (getattr(js, "filename", js) or "", getattr(js, "priority", 0),
                   repr(sorted(getattr(js, "attributes", {}).items())))
            if key not in seen:
                seen.add(key)
                unique.append(js)
        scripts[:] = unique

    # 2. Every <script src> and <link href> the page will load must be local.
    for asset in [*context.get("script_files", ()), *context.get("css_files", ())]:
        url = getattr(asset, "filename", asset)
        if url and _is_remote(str(url)):
            logger.warning("%s loads %s from outside the book; every page must "
                           "work offline", pagename, url, type="book_reader",
                           subtype="remote")


class _ChineseRuns(HTMLParser):
    """Offsets of the CJK runs in an HTML page's text, outside script, style, title,
    math (MathJax reads its TeX) and elements already marked as Chinese."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
            "source", "track", "wbr"}
    SKIP = {"script", "style", "title", "textarea"}

    def __init__(self, html: str):
        super().__init__(convert_charrefs=False)  # text chunks are slices of the page
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", html)]
        self.open: list[tuple[str, bool]] = []  # (tag, skip its text)
        self.runs: list[tuple[int, int]] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        attrs = dict(attrs)
        skip = (tag in self.SKIP or "math" in (attrs.get("class") or "").split()
                or (attrs.get("lang") or "").lower().startswith("zh"))
        self.open.append((tag, skip))

    def handle_endtag(self, tag):
        for i in range(len(self.open) - 1, -1, -1):
            if self.open[i][0] == tag:
                del self.open[i:]
                return

    def handle_data(self, data):
        if any(skip for _, skip in self.open):
            return
        line, column = self.getpos()  # where this chunk starts
        start = self.line_starts[line - 1] + column
        self.runs += [(start + m.start(), start + m.end())
                      for m in CJK_RUN.finditer(data)]


def mark_chinese(html: str) -> str:
    """7. Wrap each run of Chinese in the page's text in ``<span lang="zh-Hans">``."""
    pieces, done = [], 0
    for start, end in _ChineseRuns(html).runs:
        pieces += [html[done:start], f'<span lang="{CHINESE}">', html[start:end],
                   "</span>"]
        done = end
    return "".join(pieces) + html[done:]


def finish_pages(app: Sphinx, exc: Exception | None) -> None:
    """7. Chinese marked on every written page (text, sidebar, links named by titles);
    9. docutils' bibliography entries get the role their ``role="list"`` parent needs.
    """
    if exc is not None or app.builder.format != "html":
        return
    for page in Path(app.outdir).rglob("*.html"):
        if "_static" in page.parts:
            continue
        html = page.read_text(encoding="utf8")
        new = mark_chinese(html).replace('role="doc-biblioentry"', 'role="listitem"')
        if new != html:
            page.write_text(new, encoding="utf8")


def add_static_files(app: Sphinx) -> None:
    if str(STATIC) not in app.config.html_static_path:
        app.config.html_static_path.append(str(STATIC))


def copy_mathjax(app: Sphinx, exc: Exception | None) -> None:
    local = app.config.mathjax_path.startswith(STATIC_SUBDIR + "/")
    if app.builder.format != "html" or not local:
        return
    dest = Path(app.outdir, "_static", STATIC_SUBDIR)
    copy_asset(mathjax_source(), dest, excluded=_excluded)


def setup(app: Sphinx) -> dict:
    app.setup_extension("sphinx.ext.mathjax")
    mathjax_source()  # fail early, with the install hint, if MathJax is missing
    # after the theme and jupyter-book:
    app.connect("config-inited", configure, priority=900)
    app.connect("html-page-context", check_page_assets, priority=900)
    app.connect("builder-inited", add_static_files)
    app.add_css_file("book_reader.css")
    app.add_js_file("book_reader.js")
    app.connect("build-finished", finish_pages)
    app.connect("build-finished", copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
