"""Figures are sharp on 2x screens and pages stay light enough for a phone.

The notebooks store their figures as 2x ("retina") PNGs: twice the pixels of the size they
are shown at, which the image's width attribute fixes. The budget below is what a chapter
may load in figures; a static scan of the build, no browser needed.
"""

from __future__ import annotations

import re
from pathlib import Path

from browser_book import parsed, toc_entries

# The figures of one page, in bytes. The heaviest chapter (2) loads about 0.7 MiB today.
FIGURE_BUDGET = 1024 * 1024


def _page_images(html_dir: Path, page: Path) -> list[tuple[Path, dict]]:
    found = []
    for tag, attrs in parsed(page).tags:
        src = attrs.get("src", "")
        if tag == "img" and src.endswith(".png") and "_static" not in src:
            found.append(((page.parent / src).resolve(), attrs))
    return found


def _chapter_pages(html_dir: Path) -> list[Path]:
    pages = [html_dir / f"{e['docname']}.html" for e in toc_entries()]
    return [p for p in pages if p.is_file()]


def test_figures_within_the_page_weight_budget(html_dir):
    heavy = []
    for page in _chapter_pages(html_dir):
        size = sum(path.stat().st_size for path, _ in _page_images(html_dir, page))
        if size > FIGURE_BUDGET:
            heavy.append(f"{page.name}: {size / 2**20:.1f} MiB")
    assert not heavy, (f"pages over the figure budget of {FIGURE_BUDGET / 2**20:.0f} MiB "
                       f"(PNG at 2x is heavy; use fewer or smaller figures):\n  "
                       + "\n  ".join(heavy))


def test_figures_are_stored_at_twice_their_display_width(html_dir):
    """A 2x PNG is shown at half its pixel width (myst-nb writes the width from the
    image's metadata into a style or width attribute); a 1x one is blurry."""
    blurry = []
    for page in _chapter_pages(html_dir):
        for path, attrs in _page_images(html_dir, page):
            with path.open("rb") as f:
                header = f.read(24)
            pixels = int.from_bytes(header[16:20], "big")      # IHDR width
            style = re.search(r"width:\s*(\d+)px", attrs.get("style", ""))
            shown = style.group(1) if style else attrs.get("width", "")
            if not shown.isdigit() or pixels < 2 * int(shown) - 1:
                blurry.append(f"{page.name}: {path.name} is {pixels} px wide, "
                              f"shown at width={shown or 'unset'}")
    assert not blurry, "figures not stored at 2x:\n  " + "\n  ".join(blurry)
