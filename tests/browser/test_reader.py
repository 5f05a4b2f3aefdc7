"""What a reader meets on a phone and on a desktop (conftest.py, browser_visit.py).

Each page is opened at 1280x900 and at 390x844 with touch; the tests read those visits:
the sidebar toggles open and close what they should, nothing sticks out of the article,
axe-core finds no serious or critical accessibility violation, Chinese text is marked as
Chinese, there is one search box, and the page has a favicon that is in the build.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import pytest

from browser_book import HTML_DIR, parsed, toc_entries
from browser_visit import DESKTOP, PHONE

pages = pytest.mark.parametrize("docname", [e["docname"] for e in toc_entries()])
widths = pytest.mark.parametrize("width", [PHONE["width"], DESKTOP["width"]])
BLOCKING = ("serious", "critical")  # axe-core impacts that fail the check


def _report(title: str, problems: list) -> str:
    return title + "".join(f"\n  - {p}" for p in problems)


@pages
@widths
def test_navigation_toggles_work(visit, width):
    # 390 px: a tap on the chapter-list and page-contents buttons opens each dialog with
    # its links, a tap on the backdrop closes it. 1280 px: the menu button hides and
    # shows the chapter list; at 1024 px the page-contents button opens and closes its
    # dialog.
    problems = visit.navigation.get(width)
    assert problems is not None, f"{visit.docname}: navigation not checked at {width}px"
    assert not problems, _report(f"{visit.docname}.html at {width} px", problems)


@pages
@widths
def test_article_does_not_overflow(visit, width):
    problems = visit.overflow.get(width)
    assert problems is not None, f"{visit.docname}: overflow not measured at {width}px"
    assert not problems, _report(f"{visit.docname}.html at {width} px: wider than the "
                                 f"article, outside a scroll box", problems)


@pages
def test_no_serious_accessibility_violations(visit):
    blocking = [f"{v['impact']} {v['id']}: {v['help']} ({v['count']} elements, e.g. "
                f"{'; '.join(v['nodes'][:3])})"
                for v in visit.axe if v["impact"] in BLOCKING]
    assert not blocking, _report(f"{visit.docname}.html: axe-core violations", blocking)


@pages
def test_chinese_is_marked(visit):
    assert not visit.unmarked_chinese, _report(
        f'{visit.docname}.html: Chinese text outside lang="zh-Hans"',
        visit.unmarked_chinese)


@pages
@widths
def test_one_search_box(visit, width):
    count = visit.search_boxes.get(width)
    assert count == 1, (
        f"{visit.docname}.html at {width} px: {count} search boxes, expected one")


@pages
def test_page_has_a_local_favicon(docname):
    page = HTML_DIR / f"{docname}.html"
    icons = [attrs.get("href", "") for tag, attrs in parsed(page).tags
             if tag == "link" and "icon" in attrs.get("rel", "").lower().split()]
    assert icons, (f"{docname}.html declares no <link rel=icon> "
                   f"(a browser then asks for /favicon.ico: a 404)")
    base = f"http://book/{docname}.html"
    missing = [href for href in icons
               if not (HTML_DIR / urlsplit(urljoin(base, href)).path[1:]).is_file()]
    assert not missing, f"{docname}.html: favicon not in the build: {missing}"

