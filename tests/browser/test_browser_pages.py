"""Every page of _toc.yml, opened in headless Chromium, as a reader gets it (see conftest.py).

Each page is loaded once (browser_visit.py; every request to a host other than 127.0.0.1 is
aborted and reported); the tests below read that visit, so a failure names the page and the check.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

import pytest

from browser_book import HTML_DIR, TOC, book_config, page_title, parsed, source_file, toc_entries
from browser_visit import LOCAL_HOSTS, SCREENSHOTS_ON

ENTRIES = toc_entries()
pages = pytest.mark.parametrize("docname", [entry["docname"] for entry in ENTRIES])
SECTION_NUMBER = re.compile(r"^\d+(\.\d+)*\.?\s+")  # "2. " / "2.1 " (toc numbering or by hand)


def _report(title: str, problems: list) -> str:
    return title + "".join(f"\n  - {p}" for p in problems)


def _is_notebook(docname: str) -> bool:
    source = source_file(docname)
    return source is not None and source.suffix == ".ipynb"


def test_toc_lists_pages():
    assert ENTRIES, f"no pages: {TOC} is missing or lists nothing"


@pages
def test_page_loads_cleanly(visit):
    problems = ([f"console: {e}" for e in visit.console_errors]
                + [f"request failed: {e}" for e in visit.failed_requests]
                + [f"request to another host (blocked; the book must work offline): {u}"
                   for u in visit.blocked_requests])
    assert not problems, _report(f"{visit.docname}.html ({visit.seconds:.1f} s)", problems)


@pages
def test_math_is_typeset(visit):
    math = visit.math
    problems = []
    if math["status"] == "MathJax did not start":
        problems.append("MathJax did not start (is _static/mathjax/ in the build?)")
    if math["count"] and not math["mjx"]:
        problems.append(f"{math['count']} formulas but no <mjx-container> (MathJax output)")
    problems += [f"not typeset: {t}" for t in math["untypeset"]]
    problems += [f"raw TeX left in the text: {t!r}" for t in math["raw"]]
    problems += [f"MathJax error: {t}" for t in math["errors"]]
    problems += [f"undefined macro: {t}" for t in math["undefinedMacros"]]
    assert not problems, _report(f"{visit.docname}.html", problems)


@pages
def test_images_load(visit):
    broken = [img["src"] for img in visit.images if not img["width"]]
    assert not broken, _report(f"{visit.docname}.html: images with naturalWidth 0", broken)


@pages
def test_figures_have_alt_text(visit):
    # Sphinx fills a missing alt with the image's file name: that describes nothing either.
    missing = [img["src"] for img in visit.images
               if img["inArticle"] and (not img["alt"] or img["alt"].lower().endswith((".png", ".svg", ".jpg")))]
    assert not missing, _report(f"{visit.docname}.html: figures without alt text", missing)


@pages
def test_sidebar_lists_the_toc_in_order(visit):
    assert visit.sidebar is not None, "no sidebar navigation (nav.bd-docs-nav) on the page"
    home_in_nav = (book_config().get("html") or {}).get("home_page_in_navbar", True)
    expected = [(SECTION_NUMBER.sub("", e["title"] or page_title(e["docname"])),
                 f"/{e['docname']}.html") for e in ENTRIES[(0 if home_in_nav else 1):]]
    actual = [(SECTION_NUMBER.sub("", link["text"]), urlsplit(link["href"]).path)
              for link in visit.sidebar if urlsplit(link["href"]).hostname in LOCAL_HOSTS]
    got, want = [p for _, p in actual], [p for _, p in expected]
    assert got == want, _report("sidebar pages differ from the _toc.yml order (sidebar | toc)",
                                [f"{g} | {w}" for g, w in zip(got + ["-"] * len(want),
                                                              want + ["-"] * len(got))
                                 if (g, w) != ("-", "-")])
    wrong = [f"{path}: sidebar says {text!r}, the page's title is {title!r}"
             for (text, path), (title, _) in zip(actual, expected) if text != title]
    assert not wrong, _report("sidebar link texts differ from the page titles", wrong)
    captions = list(dict.fromkeys(e["caption"] for e in ENTRIES if e["caption"]))
    assert visit.captions == captions, f"sidebar captions {visit.captions} != toc parts {captions}"


def _target_file(path: str):
    rel = unquote(path).lstrip("/")
    target = HTML_DIR / rel
    return target / "index.html" if rel == "" or path.endswith("/") else target


@pages
def test_internal_links_resolve(visit):
    problems = []
    here = urlsplit(visit.url).path
    for href in dict.fromkeys(visit.links):
        parts = urlsplit(href)
        if parts.scheme not in ("http", "https") or parts.hostname not in LOCAL_HOSTS:
            continue  # mailto:, javascript:, and links out of the book (never loaded here)
        target = _target_file(parts.path)
        if not target.is_file():
            problems.append(f"{href}: no such file in the build")
            continue
        anchor = unquote(parts.fragment)
        if anchor and target.suffix == ".html":
            ids = parsed(target).ids | (visit.live_ids if parts.path == here else set())
            if anchor not in ids:
                problems.append(f"{href}: no id {anchor!r} in {target.relative_to(HTML_DIR)}")
    assert not problems, _report(f"{visit.docname}.html: broken links", problems)


@pages
def test_solutions_open_on_click(visit):
    problems = [r for r in visit.solutions if r != "ok"]
    assert not problems, _report(f"{visit.docname}.html: folded solutions", problems)


@pages
def test_notebook_has_download_button(visit, docname):
    if not _is_notebook(docname):
        pytest.skip("not a notebook page")
    wanted = f"/_sources/{docname}.ipynb"
    assert any(urlsplit(link).path.endswith(wanted) for link in visit.links), (
        f"{docname}.html has no download link to {wanted}")


@pages
def test_launch_buttons_follow_repository_url(visit, docname):
    if not (book_config().get("repository") or {}).get("url"):
        assert visit.launch_buttons == 0, (
            f"{docname}.html shows launch buttons, but _config.yml sets no repository.url")
    elif _is_notebook(docname):
        assert visit.launch_buttons, f"{docname}.html: repository.url is set, no launch button"


@pages
def test_screenshot_written(visit):
    if not SCREENSHOTS_ON:
        pytest.skip("BROWSER_SCREENSHOTS=0")
    for shot, size in ((visit.screenshot, "1280 px"), (visit.phone_screenshot, "390 px")):
        assert shot is not None and shot.is_file() and shot.stat().st_size > 1000, (
            f"no {size} screenshot of {visit.docname}")
