"""Open pages of the built book in headless Chromium and record what a reader would meet.

All pages are visited once, a few at a time (``BROWSER_WORKERS``, default 2), with Playwright's
async API; the tests in test_browser_pages.py only read the recorded :class:`Visit` objects.
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
    screenshot: Path | None = None
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


async def visit_page(browser, site: str, docname: str, screenshot: Path) -> Visit:
    start = time.monotonic()
    visit = Visit(docname, f"{site}{docname}.html")
    context = await browser.new_context(viewport={"width": 1280, "height": 900},
                                        service_workers="block")
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
            visit.console_errors.append(f"{msg.text} ({where})")

    def failed(request):
        if request.url not in visit.blocked_requests:
            visit.failed_requests.append(f"{request.url}: {request.failure}")

    def response(resp):
        if resp.status >= 400:
            visit.failed_requests.append(f"{resp.url}: HTTP {resp.status}")

    await context.route("**/*", route)
    page = await context.new_page()
    page.on("console", console)
    page.on("pageerror", lambda exc: visit.console_errors.append(f"uncaught: {exc}"))
    page.on("requestfailed", failed)
    page.on("response", response)
    clock = [time.monotonic()]

    def phase(name):
        clock.append(time.monotonic())
        visit.phases[name] = round(clock[-1] - clock[-2], 2)

    try:
        await page.goto(visit.url, wait_until="load")
        phase("load")
        status = await page.evaluate(WAIT_FOR_MATHJAX, MATHJAX_TIMEOUT_MS)
        phase("math")
        await page.evaluate(LOAD_IMAGES)
        found = await page.evaluate(INSPECT)
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
        phase("solutions")
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
                    results[docname] = await visit_page(browser, site, docname,
                                                        screenshots / f"{docname}.png")
                except Exception as exc:  # noqa: BLE001 - reported by every test of the page
                    results[docname] = exc

        await asyncio.gather(*(one(d) for d in docnames))
        await browser.close()
    return results


def visit_all(executable: str, site: str, docnames: list[str], screenshots: Path):
    """Visit every page; returns {docname: Visit, or the exception that stopped the visit}."""
    return asyncio.run(_visit_all(executable, site, docnames, screenshots))
