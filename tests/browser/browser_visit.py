"""Open pages of the built book in headless Chromium and record what a reader would meet.

All pages are visited once at each size, a few at a time (``BROWSER_WORKERS``,
default 2), with Playwright's async API: at 1280x900 (a desktop: every check) and at
390x844 with touch (a phone: overflow, navigation, search box, screenshot, which goes to
``screenshots/390/``). The tests in test_browser_pages.py and test_reader.py only read the
recorded :class:`Visit` objects.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from browser_book import CHROMIUM_ARGS

LOCAL_HOSTS = {"127.0.0.1", "localhost"}
MATHJAX_TIMEOUT_MS = 20_000
PAGE_TIMEOUT_MS = 60_000
WORKERS = max(1, int(os.environ.get("BROWSER_WORKERS", "2")))
# Full-page PNGs are about half of the run time; BROWSER_SCREENSHOTS=0 skips them (quick local runs).
SCREENSHOTS_ON = os.environ.get("BROWSER_SCREENSHOTS", "1") != "0"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1024, "height": 900}  # the page contents become a toggle


@dataclass
class Visit:
    docname: str
    url: str
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    blocked_requests: list[str] = field(default_factory=list)
    math: dict = field(default_factory=dict)
    images: list[dict] = field(default_factory=list)
    sidebar: list[dict] | None = None
    captions: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    live_ids: set[str] = field(default_factory=set)
    solutions: list[str] = field(default_factory=list)  # per folded solution: "ok" or the problem
    launch_buttons: int = 0
    overflow: dict = field(default_factory=dict)  # viewport width -> what sticks out
    navigation: dict = field(default_factory=dict)  # viewport width -> toggle problems
    search_boxes: dict = field(default_factory=dict)  # viewport width -> visible ones
    unmarked_chinese: list[str] = field(default_factory=list)  # without lang="zh-*"
    axe: list[dict] = field(default_factory=list)  # axe-core violations (all impacts)
    screenshot: Path | None = None
    phone_screenshot: Path | None = None
    seconds: float = 0.0
    phases: dict = field(default_factory=dict)  # seconds spent loading, typesetting, ...


# JavaScript run in the page ------------------------------------------------------------------

WAIT_FOR_MATHJAX = """async (timeout) => {
  const start = Date.now();
  if (document.querySelector('.math, script[src*="mathjax"]') === null) return 'no math';
  while (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) {
    if (Date.now() - start > timeout) return 'MathJax did not start';
    await new Promise(r => setTimeout(r, 50));
  }
  await MathJax.startup.promise;
  await document.fonts.ready;
  return 'typeset';
}"""

LOAD_IMAGES = """async () => {
  await Promise.all([...document.images].map(img => {
    if (img.loading === 'lazy') img.loading = 'eager';
    if (img.complete) return null;
    return Promise.race([new Promise(r => { img.addEventListener('load', r); img.addEventListener('error', r); }),
                         new Promise(r => setTimeout(r, 10000))]);
  }));
}"""

INSPECT = r"""() => {
  const text = e => e.textContent.replace(/\s+/g, ' ').trim();
  // not .mathjax_ignore: myst marks whole sections so, and MathJax then leaves their raw TeX alone
  const SKIP = 'pre, code, script, style, textarea, kbd, samp, mjx-container';
  const raw = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    if (!node.parentElement || node.parentElement.closest(SKIP)) continue;
    if (/\$\$|\\\(|\\\)|\\\[|\\\]|\\begin\{/.test(node.textContent)) raw.push(node.textContent.trim().slice(0, 120));
  }
  const mathEls = [...document.querySelectorAll('.math')].filter(e => e.closest('pre, code') === null);
  const untypeset = mathEls.filter(e => !e.querySelector('mjx-container')).map(e => text(e).slice(0, 120));
  const errors = [...document.querySelectorAll('mjx-merror, [data-mjx-error]')]
                   .map(e => e.getAttribute('data-mjx-error') || text(e).slice(0, 120));
  const undefinedMacros = [];   // MathJax's noundefined package shows \foo in red instead of failing
  if (window.MathJax && MathJax.startup && MathJax.startup.document && MathJax.startup.toMML) {
    for (const item of MathJax.startup.document.math) {
      for (const m of MathJax.startup.toMML(item.root).matchAll(/<mtext mathcolor="red">(\\[A-Za-z]+)<\/mtext>/g))
        undefinedMacros.push(m[1]);
    }
  }
  const images = [...document.images].map(img => ({src: img.currentSrc || img.src, width: img.naturalWidth,
                                                  alt: (img.getAttribute('alt') || '').trim(),
                                                  inArticle: img.closest('article') !== null}));
  const nav = document.querySelector('nav.bd-docs-nav, nav.bd-links');
  const sidebar = nav ? [...nav.querySelectorAll('a[href]')].map(a => ({text: text(a), href: a.href})) : null;
  const captions = nav ? [...nav.querySelectorAll('.caption')].map(text) : [];
  const links = [...document.querySelectorAll('a[href]')].map(a => a.href);
  const ids = [...document.querySelectorAll('[id], a[name]')].map(e => e.id || e.getAttribute('name'));
  const launch = document.querySelectorAll('.dropdown-launch-buttons, a[href*="mybinder.org"], a[href*="colab.research.google.com"], .btn-launch-thebe').length;
  return {math: {raw, count: mathEls.length, mjx: document.querySelectorAll('mjx-container').length,
                 untypeset, errors, undefinedMacros},
          images, sidebar, captions, links, ids, launch};
}"""

# sphinx-exercise 1.2.1 emits `:class: dropdown` solutions as <div class="solution dropdown
# admonition">; sphinx-togglebutton folds them and makes the title clickable. <details> is handled
# too, in case a later version switches to it.
OPEN_SOLUTIONS = r"""() => {
  const out = [];
  const sols = document.querySelectorAll('.solution.dropdown, details.solution, details:has(> .solution)');
  [...sols].forEach((sol, i) => {
    const name = sol.id || `solution #${i + 1}`;
    const isDetails = sol.tagName === 'DETAILS';
    const body = sol.querySelector(isDetails ? ':scope > :not(summary)' : ':scope > :not(.admonition-title)');
    const handle = isDetails ? sol.querySelector(':scope > summary')
      : (sol.querySelector(':scope > .admonition-title .toggle-button') || sol.querySelector(':scope > .admonition-title'));
    if (!body || !handle) { out.push(`${name}: no body or nothing to click`); return; }
    // sphinx-togglebutton folds with visibility:hidden, height:0 and opacity:0 (opacity fades in)
    const shown = () => body.checkVisibility({visibilityProperty: true}) && body.getBoundingClientRect().height > 0;
    if (shown()) { out.push(`${name}: shown before any click (not folded)`); return; }
    handle.click();
    out.push(shown() ? 'ok' : `${name}: still hidden after a click on its title`);
  });
  return out;
}"""

# Horizontal overflow of the article: every visible element must lie within the
# article's box, or within the nearest box that scrolls it (overflow-x auto/scroll), and
# not start left of that box (a scroll box never scrolls left of its start). A box with
# overflow hidden or clip that cuts an element off is reported too. MathJax's
# screen-reader copy (mjx-assistive-mml) is clipped to nothing on purpose and left out.
OVERFLOW = r"""() => {
  const article = document.querySelector('article.bd-article');
  if (!article) return ['no <article class="bd-article"> on the page'];
  const describe = e => {
    const cls = typeof e.className === 'string' && e.className.trim()
      ? '.' + e.className.trim().split(/\s+/).slice(0, 2).join('.') : '';
    const sec = e.closest('section[id]');
    const text = (e.textContent || '').replace(/\s+/g, ' ').trim().slice(0, 60);
    const id = e.id ? '#' + e.id : '';
    return `<${e.tagName.toLowerCase()}${id}${cls}> in #${sec ? sec.id : '-'} `
      + JSON.stringify(text);
  };
  const box = article.getBoundingClientRect();
  const out = [];
  const screen = document.documentElement.clientWidth;
  if (box.right > screen + 1)
    out.push(`the article reaches ${Math.round(box.right)} px of a ${screen} px page`);
  const overflowX = e => getComputedStyle(e).overflowX;
  const reported = [];
  for (const el of article.querySelectorAll('*')) {
    if (el.closest('mjx-assistive-mml') || reported.some(p => p.contains(el))) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    if (!el.checkVisibility({visibilityProperty: true})) continue;
    let holder = null;
    for (let p = el.parentElement; p && p !== article; p = p.parentElement)
      if (overflowX(p) !== 'visible') { holder = p; break; }
    let problem = null;
    if (holder) {
      const hb = holder.getBoundingClientRect();
      const start = hb.left + holder.clientLeft - holder.scrollLeft;
      const scrolls = ['auto', 'scroll'].includes(overflowX(holder));
      if (r.left < start - 1)
        problem = `starts ${Math.round(start - r.left)} px left of its scroll box, `
          + 'where no scrolling reaches';
      else if (!scrolls && r.right > hb.right + 1)
        problem = `is cut off by ${describe(holder)} (overflow ${overflowX(holder)})`;
    } else if (r.right > box.right + 1 || r.left < box.left - 1) {
      const [from, to] = [r.left - box.left, r.right - box.left].map(Math.round);
      problem = `spans ${from}..${to} px of a ${Math.round(box.width)} px article`;
    }
    if (problem) { reported.push(el); out.push(`${describe(el)} ${problem}`); }
  }
  return out;
}"""

# Every text node with Chinese characters must be inside an element whose lang is zh.
UNMARKED_CHINESE = r"""() => {
  const han = /[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]/;
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, el = node.parentElement;
    if (!el || !han.test(node.textContent)) continue;
    if (el.closest('script, style, mjx-assistive-mml')) continue;
    const marked = el.closest('[lang]') || document.documentElement;
    const lang = (marked.getAttribute('lang') || '').toLowerCase();
    if (!lang.startsWith('zh')) out.push(node.textContent.trim().slice(0, 60));
  }
  return out;
}"""

# The search boxes and buttons a reader sees (the search dialog itself is closed).
SEARCH_BOXES = r"""() => [...document.querySelectorAll(
    '.search-button-field, .search-button, form.bd-search')]
  .filter(e => !e.closest('dialog') && e.checkVisibility({visibilityProperty: true}))
  .length"""

# preload: false: axe would re-fetch the stylesheets and resolve their @import against
# the page (a request for /basic.css that 404s); no rule that runs here needs them.
AXE_RUN = r"""async () => {
  const result = await axe.run(document, {resultTypes: ['violations'], preload: false});
  return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5), count: v.nodes.length}));
}"""

DIALOG_OPEN = "id => Boolean(document.getElementById(id)?.open)"
DIALOG_CLOSED = "id => !document.getElementById(id)?.open"
SHOWN = """sel => [...document.querySelectorAll(sel)]
  .some(e => e.checkVisibility({visibilityProperty: true}))"""
HIDDEN = """sel => ![...document.querySelectorAll(sel)]
  .some(e => e.checkVisibility({visibilityProperty: true}))"""


PRIMARY = ("chapter list", ".primary-toggle", "pst-primary-sidebar-modal",
           "#pst-primary-sidebar", "nav.bd-docs-nav a")
SECONDARY = ("page contents", ".secondary-toggle", "pst-secondary-sidebar-modal",
             "#pst-secondary-sidebar", "nav.page-toc a")
UI_TIMEOUT_MS = 3000  # a sidebar slides in .25 s


async def _waits(page, script: str, arg, timeout: int = UI_TIMEOUT_MS) -> bool:
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    try:
        await page.wait_for_function(script, arg=arg, timeout=timeout)
    except PlaywrightTimeout:
        return False
    return True


async def _one_visible(page, selector: str, what: str):
    buttons = page.locator(f"{selector}:visible")
    count = await buttons.count()
    return (buttons, None) if count == 1 else (
        None, f"{what}: {count} visible {selector} buttons, expected one")


async def check_dialog(page, toggle: tuple, touch: bool) -> list[str]:
    """Tap (or click) a sidebar toggle: its dialog must open and show the sidebar's
    links; a tap beside the dialog (on the backdrop) must close it and put them back."""
    name, selector, dialog, sidebar, links = toggle
    how = "a tap" if touch else "a click"
    button, problem = await _one_visible(page, selector, name)
    if problem:
        return [problem]
    await (button.tap() if touch else button.click())
    if not await _waits(page, DIALOG_OPEN, dialog):
        return [f"{name}: {how} on {selector} did not open #{dialog}"]
    problems = []
    if not await page.evaluate(SHOWN, f"#{dialog} {links}"):
        problems.append(f"{name}: #{dialog} opened but shows no {links}")
    box = await page.locator(f"#{dialog}").bounding_box()
    width, height = page.viewport_size["width"], page.viewport_size["height"]
    right = box["x"] + box["width"]
    x = (right + width) / 2 if width - right > 40 else box["x"] / 2  # beside the dialog
    y = height / 2
    await (page.touchscreen.tap(x, y) if touch else page.mouse.click(x, y))
    if not await _waits(page, DIALOG_CLOSED, dialog):
        problems.append(f"{name}: {how} on the backdrop did not close #{dialog}")
    # the theme moves the links back on the dialog's close event, a task after .open flips
    elif not await _waits(page, "sel => document.querySelector(sel) !== null",
                          f"{sidebar} {links}"):
        problems.append(f"{name}: after closing, {sidebar} did not get its links back")
    return problems


async def check_collapse(page) -> list[str]:
    """Desktop: a click on the menu button hides the chapter list, a second shows it."""
    name, selector, _, sidebar, links = PRIMARY
    button, problem = await _one_visible(page, selector, name)
    if problem:
        return [problem]
    if not await page.evaluate(SHOWN, f"{sidebar} {links}"):
        return [f"{name}: {sidebar} is not shown on a desktop"]
    await button.click()
    if not await _waits(page, HIDDEN, f"{sidebar} {links}"):
        return [f"{name}: a click on {selector} did not hide {sidebar}"]
    await button.click()
    if not await _waits(page, SHOWN, f"{sidebar} {links}"):
        return [f"{name}: a second click on {selector} did not show {sidebar} again"]
    return []


async def _has_page_toc(page) -> bool:
    return await page.evaluate("() => document.querySelector('nav.page-toc a') != null")


async def _open(browser, visit: Visit, viewport: dict, touch: bool):
    """A fresh context and page at this size; every non-local request is blocked."""
    tag = "" if viewport == DESKTOP else f"[{viewport['width']} px] "
    context = await browser.new_context(viewport=viewport, has_touch=touch,
                                        is_mobile=touch, service_workers="block")
    context.set_default_timeout(PAGE_TIMEOUT_MS)

    async def route(route):
        if urlsplit(route.request.url).hostname in LOCAL_HOSTS:
            await route.continue_()
        else:  # the book must work offline: nothing may come from elsewhere
            visit.blocked_requests.append(route.request.url)
            await route.abort("blockedbyclient")

    def console(msg):
        if msg.type == "error":
            where = f"{msg.location.get('url', '')}:{msg.location.get('lineNumber', '')}"
            visit.console_errors.append(f"{tag}{msg.text} ({where})")

    def failed(request):
        if request.url not in visit.blocked_requests:
            visit.failed_requests.append(f"{tag}{request.url}: {request.failure}")

    def response(resp):
        if resp.status >= 400:
            visit.failed_requests.append(f"{tag}{resp.url}: HTTP {resp.status}")

    await context.route("**/*", route)
    page = await context.new_page()
    page.on("console", console)
    page.on("pageerror",
            lambda exc: visit.console_errors.append(f"{tag}uncaught: {exc}"))
    page.on("requestfailed", failed)
    page.on("response", response)
    return context, page


async def visit_page(browser, site: str, docname: str, screenshot: Path,
                     phone_screenshot: Path) -> Visit:
    from axe_playwright_python.base import AXE_FILE_PATH

    start = time.monotonic()
    visit = Visit(docname, f"{site}{docname}.html")
    clock = [time.monotonic()]

    def phase(name):
        clock.append(time.monotonic())
        visit.phases[name] = round(clock[-1] - clock[-2], 2)

    context, page = await _open(browser, visit, DESKTOP, touch=False)
    try:
        await page.goto(visit.url, wait_until="load")
        phase("load")
        status = await page.evaluate(WAIT_FOR_MATHJAX, MATHJAX_TIMEOUT_MS)
        phase("math")
        await page.evaluate(LOAD_IMAGES)
        found = await page.evaluate(INSPECT)
        visit.overflow[DESKTOP["width"]] = await page.evaluate(OVERFLOW)
        visit.search_boxes[DESKTOP["width"]] = await page.evaluate(SEARCH_BOXES)
        visit.unmarked_chinese = await page.evaluate(UNMARKED_CHINESE)
        phase("inspect")
        visit.math = {**found["math"], "status": status}
        visit.images = found["images"]
        visit.sidebar = found["sidebar"]
        visit.captions = found["captions"]
        visit.links = found["links"]
        visit.live_ids = set(found["ids"])
        visit.launch_buttons = found["launch"]
        if SCREENSHOTS_ON:  # as the reader first sees the page: solutions still folded
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(screenshot), full_page=True)
            visit.screenshot = screenshot
            phase("screenshot")
        visit.solutions = await page.evaluate(OPEN_SOLUTIONS)
        await page.wait_for_timeout(500)  # the opened solutions settle (book_reader.js)
        phase("solutions")
        # axe-core from the pinned package, injected inline (no request), solutions open
        await page.add_script_tag(path=str(AXE_FILE_PATH))
        visit.axe = await page.evaluate(AXE_RUN)
        phase("axe")
        nav = await check_collapse(page)
        if await _has_page_toc(page):
            await page.set_viewport_size(LAPTOP)
            laptop = await check_dialog(page, SECONDARY, touch=False)
            nav += [f"[{LAPTOP['width']} px] {p}" for p in laptop]
        visit.navigation[DESKTOP["width"]] = nav
        phase("navigation")
    finally:
        await context.close()

    context, page = await _open(browser, visit, PHONE, touch=True)
    try:
        await page.goto(visit.url, wait_until="load")
        await page.evaluate(WAIT_FOR_MATHJAX, MATHJAX_TIMEOUT_MS)
        await page.evaluate(LOAD_IMAGES)
        visit.overflow[PHONE["width"]] = await page.evaluate(OVERFLOW)
        visit.search_boxes[PHONE["width"]] = await page.evaluate(SEARCH_BOXES)
        if SCREENSHOTS_ON:
            phone_screenshot.parent.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(phone_screenshot), full_page=True)
            visit.phone_screenshot = phone_screenshot
        nav = await check_dialog(page, PRIMARY, touch=True)
        if await _has_page_toc(page):
            nav += await check_dialog(page, SECONDARY, touch=True)
        visit.navigation[PHONE["width"]] = nav
        phase("phone")
    finally:
        await context.close()
    visit.seconds = time.monotonic() - start
    return visit


async def _visit_all(executable: str, site: str, docnames: list[str], screenshots: Path):
    from playwright.async_api import async_playwright

    results: dict[str, Visit | BaseException] = {}
    async with async_playwright() as playwright:
        # Playwright starts Chromium headless with a fresh temporary profile (user-data-dir).
        browser = await playwright.chromium.launch(executable_path=executable, headless=True,
                                                   args=CHROMIUM_ARGS)
        slots = asyncio.Semaphore(WORKERS)

        async def one(docname):
            async with slots:
                try:
                    results[docname] = await visit_page(
                        browser, site, docname, screenshots / f"{docname}.png",
                        screenshots / str(PHONE["width"]) / f"{docname}.png")
                except Exception as exc:  # noqa: BLE001 - reported by every test of the page
                    results[docname] = exc

        await asyncio.gather(*(one(d) for d in docnames))
        await browser.close()
    return results


def visit_all(executable: str, site: str, docnames: list[str], screenshots: Path):
    """Visit every page; returns {docname: Visit, or the exception that stopped the visit}."""
    return asyncio.run(_visit_all(executable, site, docnames, screenshots))
