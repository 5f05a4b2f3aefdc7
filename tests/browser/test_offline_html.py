"""No built page refers to a script, stylesheet, font, image or frame on another host.

A static scan of every .html file of the build (also pages outside the toc: search, genindex);
it needs no browser. Plain links (<a href>) out of the book are fine: they are not loaded.
"""

from __future__ import annotations

from browser_book import parsed

LOADED = {  # tag -> attributes whose URL the browser fetches when the page loads
    "script": ("src",), "img": ("src", "srcset"), "iframe": ("src",), "source": ("src", "srcset"),
    "video": ("src", "poster"), "audio": ("src",), "embed": ("src",), "object": ("data",),
    "input": ("src",),
}
LINK_RELS = {"stylesheet", "preload", "modulepreload", "icon", "shortcut", "apple-touch-icon",
             "manifest", "prefetch", "preconnect", "dns-prefetch", "mask-icon"}


def _remote(url: str) -> bool:
    url = url.strip().lower()
    return url.startswith(("http://", "https://", "//"))


def test_no_page_loads_remote_assets(html_dir):
    problems = []
    pages = sorted(html_dir.rglob("*.html"))
    assert pages, f"no .html files in {html_dir}"
    for page in pages:
        for tag, attrs in parsed(page).tags:
            urls = [attrs.get(a, "") for a in LOADED.get(tag, ())]
            if tag == "link" and LINK_RELS & set(attrs.get("rel", "").lower().split()):
                urls.append(attrs.get("href", ""))
            for value in urls:
                for url in value.split(","):  # srcset: "url 1x, url 2x"
                    url = url.strip().split(" ")[0]
                    if url and _remote(url):
                        problems.append(f"{page.relative_to(html_dir)}: <{tag}> loads {url}")
    assert not problems, "pages load files from other hosts (the book must work offline):\n  " + \
        "\n  ".join(problems)


def test_mathjax_is_in_the_build(html_dir):
    entry = html_dir / "_static" / "mathjax" / "tex-mml-chtml.js"
    fonts = list((html_dir / "_static" / "mathjax" / "output" / "chtml" / "fonts").rglob("*.woff"))
    assert entry.is_file(), f"{entry} missing: is book/_ext/book_reader.py in _config.yml?"
    assert fonts, "MathJax CHTML fonts missing from _static/mathjax/output/chtml/fonts"
