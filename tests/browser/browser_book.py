"""What the browser tests know about the book: paths, the toc, the built HTML (see conftest.py)."""

from __future__ import annotations

import functools
import glob
import os
import shutil
from html.parser import HTMLParser
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
HTML_DIR = Path(os.environ.get("BOOK_HTML", ROOT / "_build" / "html")).resolve()
TOC = Path(os.environ.get("BOOK_TOC", ROOT / "_toc.yml")).resolve()
CONFIG = Path(os.environ.get("BOOK_CONFIG", TOC.parent / "_config.yml")).resolve()
SOURCE_DIR = CONFIG.parent  # the book's root: sources are named relative to it
SCREENSHOTS = HTML_DIR.parent / "screenshots"
SOURCE_SUFFIXES = (".ipynb", ".md", ".rst")

CHROMIUM_ARGS = [  # quiet: no update checks, sync, first-run or GPU probing on a closed network
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    "--disable-default-apps", "--disable-extensions", "--no-default-browser-check",
]


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which(
        "chromium-browser")


# --------------------------------------------------------------------------- the toc


def _docname(file: str) -> str:
    file = file.strip("/")
    for suffix in SOURCE_SUFFIXES:
        if file.endswith(suffix):
            return file[: -len(suffix)]
    return file


def source_file(docname: str) -> Path | None:
    for suffix in SOURCE_SUFFIXES:
        if (SOURCE_DIR / (docname + suffix)).is_file():
            return SOURCE_DIR / (docname + suffix)
    return None


def toc_entries() -> list[dict]:
    """The pages of _toc.yml in reading (= sidebar) order: dicts with docname, title, caption."""
    if not TOC.is_file():
        return []
    toc = yaml.safe_load(TOC.read_text(encoding="utf8")) or {}
    entries: list[dict] = []
    listed = set()

    def add(file, title=None, caption=None):
        doc = _docname(file)
        if doc not in listed:
            listed.add(doc)
            entries.append({"docname": doc, "title": title, "caption": caption})

    def walk(items, caption):
        for item in items or []:
            if "file" in item:
                add(item["file"], item.get("title"), caption)
            elif "glob" in item:
                for path in sorted(glob.glob(str(SOURCE_DIR / item["glob"]))):
                    if Path(path).suffix in SOURCE_SUFFIXES:
                        add(Path(path).relative_to(SOURCE_DIR).as_posix(), None, caption)
            # "url" entries are external links: nothing to build or load
            for key in ("sections", "chapters"):
                walk(item.get(key), caption)
            for part in item.get("parts") or []:
                walk(part.get("chapters") or part.get("sections"), part.get("caption"))

    add(toc["root"])
    walk([{k: toc[k] for k in ("chapters", "sections", "parts") if k in toc}], None)
    return entries


@functools.cache
def book_config() -> dict:
    return yaml.safe_load(CONFIG.read_text(encoding="utf8")) if CONFIG.is_file() else {}


# --------------------------------------------------------------------------- static HTML


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.tags: list[tuple[str, dict]] = []
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        attrs = {k: (v or "") for k, v in attrs}
        for key in ("id", "name"):
            if attrs.get(key):
                self.ids.add(attrs[key])
        self.tags.append((tag, attrs))
        self._in_title = tag == "title"

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data


@functools.cache
def parsed(path: Path) -> _Collector:
    collector = _Collector()
    collector.feed(path.read_text(encoding="utf8", errors="replace"))
    return collector


def page_title(docname: str) -> str:
    """The title Sphinx gives the page (what the sidebar shows), from its <title>."""
    title = " ".join(parsed(HTML_DIR / f"{docname}.html").title.split())
    suffix = " — " + " ".join(str(book_config().get("title", "")).split())
    return title[: -len(suffix)] if suffix != " — " and title.endswith(suffix) else title
