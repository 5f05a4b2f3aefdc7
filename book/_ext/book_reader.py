"""Reader-experience plumbing for the book (a local Sphinx extension, see ``_config.yml``).

1. **Math works offline.** MathJax 3 is taken from the pinned PyPI package
   ``django-static-mathjax`` (upstream MathJax 3.2.2, Apache-2.0; the ``book`` extra installs it),
   copied into ``_build/html/_static/mathjax/`` and ``mathjax_path`` points at that copy instead of
   the jsDelivr CDN.
2. **No page loads anything from outside.** Every script and stylesheet a page links is checked
   while the page is written; a remote one is a warning, so the strict build (``-W``) fails.
   (``tests/browser`` additionally blocks and reports every non-local request in a real browser.)
3. **Launch buttons follow ``repository.url``.** ``launch_buttons`` in ``_config.yml`` lists the
   services (Binder, Colab); they appear on notebook pages only when ``repository.url`` is set.
   Left empty, no page shows a launch button (the theme would otherwise crash on an empty URL).
   The ``.ipynb`` download button is the theme's default (``use_download_button``) and is kept on.
4. **No console errors from the stack itself**: sphinx-thebe's inline config script is emitted
   twice by Sphinx 7.4 (a ``const`` redeclared: an uncaught SyntaxError on every page), and
   pydata-sphinx-theme complains about an empty ``default_mode``; both are fixed here.

``tests/browser`` checks all of this on the built pages.
"""

from __future__ import annotations

import posixpath
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
# From MathJax's es5/ tree, the other combined components and the SVG / Node-only parts are never
# loaded by this book. Everything else (TeX extensions loaded on demand, CHTML fonts, the menu,
# the accessibility components and their speech-rule maps) is copied so that it all works offline.
UNUSED_TOP = {"adaptors", "node-main.js", "output/svg", "output/svg.js"}
LAUNCH_SERVICES = ("binderhub_url", "jupyterhub_url", "thebe", "colab_url", "deepnote_url",
                   "jupyterlite_url")


def _is_remote(url: str) -> bool:
    return "://" in url or url.startswith("//")


def mathjax_source() -> Path:
    """The es5/ directory of the installed MathJax distribution."""
    try:
        dist = metadata.distribution(MATHJAX_DIST)
    except metadata.PackageNotFoundError:
        raise RuntimeError(
            f"{MATHJAX_DIST} is not installed; it serves MathJax from the build so math renders "
            f"offline. Install the book tools: pip install -c constraints.txt -e '.[book]'"
        ) from None
    src = Path(dist.locate_file(MATHJAX_DIR))
    if not (src / MATHJAX_ENTRY).is_file():
        raise RuntimeError(f"{src / MATHJAX_ENTRY} is missing from {MATHJAX_DIST} {dist.version}")
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
        theme["launch_buttons"] = {k: v for k, v in launch.items() if k not in LAUNCH_SERVICES}
    elif launch.get("thebe"):
        logger.warning("launch_buttons.thebe loads thebe from unpkg.com on click; "
                       "the book must not load remote scripts", type="book_reader",
                       subtype="remote")
    theme.setdefault("use_download_button", True)
    # 4. pydata-sphinx-theme logs "Got invalid theme mode" on every first visit when this is "";
    # "auto" is what it falls back to anyway (follow the reader's light/dark preference).
    if not config.html_context.get("default_mode"):
        config.html_context["default_mode"] = "auto"


def check_page_assets(app: Sphinx, pagename: str, templatename: str, context: dict, doctree):
    # 4. Inline scripts registered with add_js_file(None, body=...) after the builder starts are
    # emitted twice (Sphinx keeps None and "" as different file names); sphinx-thebe's
    # `const THEBE_JS_URL = ...` then throws "already been declared" on every page. Keep one.
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
            logger.warning("%s loads %s from outside the book; every page must work offline",
                           pagename, url, type="book_reader", subtype="remote")


def copy_mathjax(app: Sphinx, exc: Exception | None) -> None:
    if app.builder.format != "html" or not app.config.mathjax_path.startswith(STATIC_SUBDIR + "/"):
        return
    dest = Path(app.outdir, "_static", STATIC_SUBDIR)
    copy_asset(mathjax_source(), dest, excluded=_excluded)


def setup(app: Sphinx) -> dict:
    app.setup_extension("sphinx.ext.mathjax")
    mathjax_source()  # fail early, with the install hint, if MathJax is missing
    app.connect("config-inited", configure, priority=900)  # after the theme and jupyter-book
    app.connect("html-page-context", check_page_assets, priority=900)
    app.connect("build-finished", copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
