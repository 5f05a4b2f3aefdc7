"""The whole book as one PDF, and a link to it from the HTML book (a local extension).

``make pdf`` builds the LaTeX book (``jupyter-book build . --builder latex``), runs
xelatex on it (``_build/latex/book.pdf``) and then builds the HTML book, which offers
the PDF. This extension does three things:

1. **A book on paper.** The LaTeX preamble sets A4 paper, the Chinese terms in Noto
   CJK (xeCJK) and the TeX macros the HTML book gives MathJax (``mathjax3_config``).
   ``bbm.sty``, which jupyter-book's LaTeX class loads for macros this book never
   uses, lives only in TeX Live's 1.4 GB font collection, so a three-line stand-in is
   written next to the .tex instead.
2. **Front matter, main matter, back matter.** sphinx-jupyterbook-latex turns every
   caption of ``_toc.yml`` into a ``\\part``. Here the preface gets its title back
   and, with the "Front matter" chapters, is unnumbered; "Part I: Sequences" prints
   as "Part I / Sequences" and its chapters count from 1, as in the HTML book; the
   "Back matter" chapters are appendices A, B, .... Folded solutions are printed
   (Sphinx's LaTeX writer ignores the dropdown class).
3. **The link.** When ``_build/latex/book.pdf`` exists at HTML build time, it is
   copied to ``_build/html/rnn-book.pdf`` and every page's download menu offers it.
   Without the PDF there is neither the file nor the link, so a book built by
   ``make book`` or ``make test`` alone has no dead link. The config value
   ``book_pdf`` (the file name, or "") is part of the HTML build's fingerprint, so a
   PDF appearing or disappearing rewrites every page.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.builders.latex import LaTeXBuilder
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging
from sphinx.util.math import wrap_displaymath
from sphinx.util.texescape import escape as tex_escape

logger = logging.getLogger(__name__)

LATEX_PDF = "book.pdf"  # from latex.latex_documents.targetname in _config.yml
HTML_PDF = "rnn-book.pdf"  # the name a reader downloads
FRONT_MATTER = "Front matter"
BACK_MATTER = "Back matter"
NUMBERED_PART = re.compile(r"Part [IVXLC]+:\s*(?P<title>.+)")
TAG = re.compile(r"\\tag\*?\{[^{}]*\}")

BBM_STANDIN = r"""\ProvidesPackage{bbm}[2026/01/01 book_pdf stand-in: mathbbm is mathbb]
\RequirePackage{amssymb}
\providecommand{\mathbbm}[1]{\mathbb{#1}}
"""

PREAMBLE = r"""
% --- book_pdf (book/_ext/book_pdf.py) ---
\usepackage{xeCJK}
\setCJKmainfont{Noto Serif CJK SC}
\setCJKsansfont{Noto Sans CJK SC}
\setCJKmonofont{Noto Sans Mono CJK SC}
% xeCJK would set quotes, dashes and the ellipsis as full-width CJK punctuation
% ("source' s"); in this English book they belong to the Latin font.
\xeCJKDeclareCharClass{Default}{"00B7, "2013, "2014, "2018, "2019, "201C, "201D, "2026}
% FreeMono, the code font, has no superscript T (U+1D40) of the docstrings' W^T.
\usepackage{newunicodechar}
\newunicodechar{ᵀ}{\textsuperscript{T}}
% The bibliography follows the "Bibliography" appendix's heading and introduction
% instead of opening a second, unnumbered chapter of the same name.
\makeatletter
\renewenvironment{sphinxthebibliography}[1]
  {\let\chapter\@gobbletwo\begin{thebibliography}{#1}}{\end{thebibliography}}
\makeatother
% Front matter unnumbered, main matter from chapter 1, back matter as appendices.
\newcounter{booksecnumdepth}
\newcommand{\bookfrontmatter}{%
  \setcounter{booksecnumdepth}{\value{secnumdepth}}\setcounter{secnumdepth}{-1}}
\newcommand{\bookmainmatter}{%
  \setcounter{secnumdepth}{\value{booksecnumdepth}}\setcounter{chapter}{0}}
"""


def tex_macros(config) -> str:
    """``\\newcommand`` lines for the MathJax macros of ``_config.yml``."""
    macros = (config.mathjax3_config or {}).get("tex", {}).get("macros", {})
    lines = []
    for name, body in macros.items():
        if isinstance(body, list):  # MathJax's [definition, number of arguments]
            body, nargs = body[0], body[1]
            lines.append(f"\\newcommand{{\\{name}}}[{nargs}]{{{body}}}")
        else:
            lines.append(f"\\newcommand{{\\{name}}}{{{body}}}")
    return "\n".join(lines)


def latex_pdf(app: Sphinx) -> Path:
    return Path(app.outdir).parent / "latex" / LATEX_PDF


def configure(app: Sphinx, config) -> None:
    # After sphinx-jupyterbook-latex (priority 500), whose preamble loads unicode-math.
    elements = config.latex_elements
    elements["papersize"] = "a4paper"
    elements["preamble"] = (elements.get("preamble", "") + PREAMBLE
                            + tex_macros(config) + "\n")
    config.book_pdf = HTML_PDF if latex_pdf(app).is_file() else ""


def write_bbm_standin(app: Sphinx) -> None:
    if isinstance(app.builder, LaTeXBuilder):
        Path(app.outdir).mkdir(parents=True, exist_ok=True)
        Path(app.outdir, "bbm.sty").write_text(BBM_STANDIN, encoding="utf-8")


def _raw(tex: str) -> nodes.raw:
    return nodes.raw("", tex, format="latex")


class BookMatter(SphinxPostTransform):
    """Preface and front matter unnumbered, Parts numbered, back matter as appendices.

    Runs on the assembled root document after sphinx-jupyterbook-latex (priority 700)
    has made one section per ``_toc.yml`` caption.
    """

    default_priority = 800
    builders = ("latex",)

    def apply(self, **kwargs) -> None:
        root = self.config.root_doc
        if self.app.project.path2doc(self.document["source"]) != root:
            return
        preface = next((s for s in self.document.findall(nodes.section)
                        if s.get("docname") == root), None)
        if preface is None or not isinstance(preface[0], nodes.title):
            logger.warning("book_pdf: no title section for %s", root,
                           type="book_pdf", subtype="structure")
            return
        # The writer takes the root title as the book's title and prints no heading.
        title = preface[0].astext()
        preface.insert(1, _raw("\\bookfrontmatter\n\\chapter{%s}\n"
                               % tex_escape(title, self.config.latex_engine)))
        main_started = False
        for part in list(self.document.findall(nodes.section)):
            if part is preface or not isinstance(part[0], nodes.title):
                continue
            if part.get("docname") != part[0].astext():
                continue  # a chapter or section, not a caption's part
            caption = part[0].astext()
            numbered = NUMBERED_PART.fullmatch(caption)
            if caption == FRONT_MATTER:
                part[0].replace_self(_raw(""))
            elif caption == BACK_MATTER:
                part[0].replace_self(_raw("\\appendix\n"))
            elif numbered:
                part[0].replace_self(
                    [_raw("" if main_started else "\\bookmainmatter\n"),
                     nodes.title("", numbered["title"])])
                main_started = True
            else:
                logger.warning("book_pdf: _toc.yml caption %r is neither %r, %r nor "
                               "'Part N: title'", caption, FRONT_MATTER, BACK_MATTER,
                               type="book_pdf", subtype="structure")


class TagOutsideSplit(SphinxPostTransform):
    """Move a display's ``\\tag{...}`` out of the ``split`` Sphinx wraps it in.

    MathJax accepts ``$$ ... \\tag{8} $$``; amsmath does not allow ``\\tag`` inside
    ``split`` ("\\tag not allowed here"), so the tag goes after ``\\end{split}``.
    """

    default_priority = 800
    builders = ("latex",)

    def apply(self, **kwargs) -> None:
        for node in list(self.document.findall(nodes.math_block)):
            tags = TAG.findall(node.astext())
            if not tags or node.get("nowrap") or node.get("number"):
                continue
            if len(tags) > 1:
                logger.warning("book_pdf: a display has %d \\tag; LaTeX allows one",
                               len(tags), location=node, type="book_pdf",
                               subtype="math")
                continue
            body = TAG.sub("", node.astext()).strip()
            tex = wrap_displaymath(body, None, False).replace(
                "\\end{equation*}", f"{tags[0]}\n\\end{{equation*}}")
            node.replace_self(_raw(tex))


def add_pdf_button(app: Sphinx, pagename: str, templatename: str, context: dict,
                   doctree) -> None:
    """Offer the whole-book PDF first in the page's download menu."""
    if not app.config.book_pdf:
        return
    button = {
        "type": "link",
        "url": context["pathto"](app.config.book_pdf, 1),
        "text": "Whole book (.pdf)",
        "tooltip": "Download the whole book as one PDF",
        "icon": "fas fa-book",
        "label": "download-book-pdf-button",
    }
    buttons = context.get("header_buttons")
    if buttons is None:
        return
    group = next((b for b in buttons if b.get("label") == "download-buttons"), None)
    if group is not None:
        group["buttons"].insert(0, button)
        group["tooltip"] = "Download this page or the whole book"
    else:
        buttons.append(button)


def copy_pdf(app: Sphinx, exc: Exception | None) -> None:
    if exc is not None:
        return
    if isinstance(app.builder, LaTeXBuilder):
        tex = str(Path(LATEX_PDF).with_suffix(".tex"))
        targets = [document[1] for document in app.config.latex_documents]
        if tex not in targets:
            logger.warning("book_pdf: the LaTeX book is %s, but the HTML book links "
                           "the PDF only when it is %s (set latex.latex_documents."
                           "targetname in _config.yml)", targets, tex,
                           type="book_pdf", subtype="name")
        return
    if app.builder.format == "html" and app.config.book_pdf:
        shutil.copyfile(latex_pdf(app), Path(app.outdir, app.config.book_pdf))


def setup(app: Sphinx) -> dict:
    app.add_config_value("book_pdf", "", "html", str)
    app.connect("config-inited", configure, priority=900)
    app.connect("builder-inited", write_bbm_standin, priority=900)
    app.add_post_transform(BookMatter)
    app.add_post_transform(TagOutsideSplit)
    app.connect("html-page-context", add_pdf_button, priority=900)
    app.connect("build-finished", copy_pdf)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
