"""Checks of the whole-book PDF that ``make pdf`` builds (``_build/latex/book.pdf``).

``make pdf`` runs them right after building the PDF and the HTML book that links it.
Without a PDF (``make test``, ``pytest tests``) they are skipped with the hint.
``BOOK_PDF`` points them at another PDF.

What they check: every page of ``_toc.yml`` is a bookmarked chapter whose page shows
its title; every figure of the notebooks is printed; every exercise's solution is
printed; every font is embedded, the Chinese terms in a CJK font and the math in a
math font; and the HTML book offers this very PDF.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import unicodedata
from base64 import b64decode
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml

pypdf = pytest.importorskip("pypdf",
                            reason="pip install -c constraints.txt -e '.[test]'")

ROOT = Path(__file__).resolve().parents[2]
PDF = Path(os.environ.get("BOOK_PDF", ROOT / "_build" / "latex" / "book.pdf"))
HTML_DIR = ROOT / "_build" / "html"
HTML_PDF = "rnn-book.pdf"  # book/_ext/book_pdf.py copies the PDF there
SOLUTION = re.compile(r"[{:]solution(?:-start)?\}")
FONT_FILES = ("/FontFile", "/FontFile2", "/FontFile3")


@pytest.fixture(scope="module")
def reader() -> pypdf.PdfReader:
    if not PDF.is_file():
        pytest.skip(f"no book PDF at {PDF}: run `make pdf` (it needs TeX Live's "
                    f"xelatex and the Noto CJK fonts; the apt-get line is above the "
                    f"Makefile's pdf target)")
    return pypdf.PdfReader(PDF)


def normalise(text: str) -> str:
    """Text as read, not as typeset: NFKC, straight quotes, one space."""
    text = unicodedata.normalize("NFKC", text).replace("\u2019", "'")
    return " ".join(text.split())


def squash(text: str) -> str:
    """For headings, which the PDF may set in capitals and extract without spaces."""
    return "".join(normalise(text).casefold().split())


def toc_sources() -> list[Path]:
    """The source file of every page of _toc.yml, in reading order."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part["chapters"]]
    sources = []
    for file in files:
        matches = [ROOT / (file + suffix) for suffix in (".md", ".ipynb")
                   if (ROOT / (file + suffix)).is_file()]
        assert len(matches) == 1, f"_toc.yml lists {file}: found {matches}"
        sources.append(matches[0])
    return sources


def markdown_of(source: Path) -> list[str]:
    if source.suffix == ".md":
        return [source.read_text(encoding="utf-8")]
    cells = json.loads(source.read_text(encoding="utf-8"))["cells"]
    return ["".join(cell["source"]) for cell in cells
            if cell["cell_type"] == "markdown"]


def title_of(source: Path) -> str:
    for text in markdown_of(source):
        for line in text.splitlines():
            if line.startswith("# "):
                return line[2:].replace("`", "").strip()
    raise AssertionError(f"{source} has no '# ' title")


def bookmarks(reader: pypdf.PdfReader) -> list[tuple[str, int]]:
    """(title, page index) of every entry of the PDF's outline, depth first."""
    found = []

    def walk(items):
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                found.append((normalise(item.title),
                              reader.get_destination_page_number(item)))

    walk(reader.outline)
    return found


def test_every_chapter_is_bookmarked_on_a_page_with_its_title(reader):
    marks = bookmarks(reader)
    problems = []
    for source in toc_sources():
        title = normalise(title_of(source))
        pages = [page for mark, page in marks if mark.endswith(title)]
        if not pages:
            problems.append(f"{source.name}: no bookmark ends with {title!r}")
        elif squash(title) not in squash(reader.pages[pages[0]].extract_text()):
            problems.append(f"{source.name}: {title!r} is not on page {pages[0] + 1}")
    assert not problems, "\n".join(problems)


def resources(reader: pypdf.PdfReader):
    """Every resource dictionary the pages draw from: the pages' and their forms'."""
    stack = [page.get("/Resources") for page in reader.pages]
    while stack:
        found = stack.pop()
        found = found.get_object() if found is not None else {}
        yield found
        for ref in (found.get("/XObject") or {}).values():
            if ref.get_object().get("/Subtype") == "/Form":
                stack.append(ref.get_object().get("/Resources"))


def page_images(reader: pypdf.PdfReader) -> set[int]:
    """The image and form XObjects the pages draw (an image used twice counts once)."""
    return {ref.idnum for found in resources(reader)
            for ref in (found.get("/XObject") or {}).values()
            if ref.get_object().get("/Subtype") in ("/Image", "/Form")}


def notebook_figures() -> set[str]:
    """Hashes of the distinct PNG outputs of the book's notebooks."""
    figures = set()
    for source in toc_sources():
        if source.suffix != ".ipynb":
            continue
        for cell in json.loads(source.read_text(encoding="utf-8"))["cells"]:
            for output in cell.get("outputs", []):
                png = output.get("data", {}).get("image/png")
                if png:
                    data = b64decode("".join(png) if isinstance(png, list) else png)
                    figures.add(hashlib.sha256(data).hexdigest())
    return figures


def test_every_notebook_figure_is_printed(reader):
    figures = notebook_figures()
    assert figures, "the notebooks have no PNG output: has the figure format changed?"
    assert len(page_images(reader)) == len(figures)


def test_every_solution_is_printed(reader):
    solutions = sum(len(SOLUTION.findall(text))
                    for source in toc_sources() for text in markdown_of(source))
    assert solutions, "no {solution} directive found in the sources"
    text = normalise(" ".join(page.extract_text() for page in reader.pages))
    assert text.count("Solution to") == solutions


def fonts(reader: pypdf.PdfReader) -> dict[str, bool]:
    """Every font the pages use, by name: is its program embedded?"""
    found = {}
    for ref in [ref for found_in in resources(reader)
                for ref in (found_in.get("/Font") or {}).values()]:
        font = ref.get_object()
        name = str(font.get("/BaseFont", font.get("/Name", "?")))
        if font.get("/Subtype") == "/Type3":
            found[name] = True  # its glyphs are drawn by the PDF itself
            continue
        if font.get("/Subtype") == "/Type0":
            font = font["/DescendantFonts"][0].get_object()
        descriptor = font.get("/FontDescriptor")
        descriptor = descriptor.get_object() if descriptor is not None else {}
        found[name] = any(key in descriptor for key in FONT_FILES)
    return found


def test_every_font_is_embedded(reader):
    used = fonts(reader)
    assert used, "the PDF uses no font"
    assert [name for name, embedded in used.items() if not embedded] == []
    assert any("CJK" in name for name in used), f"no CJK font for the Chinese: {used}"
    assert any("Math" in name for name in used), f"no math font: {used}"


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "a" and dict(attrs).get("href"):
            self.hrefs.append(dict(attrs)["href"])


def test_the_html_book_offers_this_pdf(reader):
    first = HTML_DIR / toc_sources()[0].relative_to(ROOT).with_suffix(".html")
    if not first.is_file():
        pytest.skip(f"no HTML book at {HTML_DIR} (make pdf builds it after the PDF)")
    copy = HTML_DIR / HTML_PDF
    assert copy.is_file(), f"{copy} is missing: was the HTML book built before the PDF?"
    assert copy.read_bytes() == PDF.read_bytes(), f"{copy} is not {PDF}"
    links = Links()
    links.feed(first.read_text(encoding="utf-8"))
    targets = {(first.parent / href).resolve() for href in links.hrefs}
    assert copy.resolve() in targets, f"{first.name} does not link {HTML_PDF}"
