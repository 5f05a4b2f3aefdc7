"""The API reference: docstrings as text, linked to the source and from the chapters.

A local Sphinx extension (see ``_config.yml``) that does three things:

1. **Docstrings render as formatted text.** ``rnn``'s docstrings are written for a
   reader of the source: Unicode math (H_t = tanh(X_t W_xh + …)), shapes such as
   (*S, D), aligned equations, ``name`` for code and a few "- " lists. Read as
   reStructuredText, their ``*``, ``|`` and indentation would be markup, so autodoc
   hands each docstring to the ``rnn-docstring`` directive below. It knows exactly the
   conventions the docstrings use and treats everything else as plain text, so no
   docstring can cause a markup warning:

   - a blank line separates paragraphs; within one, lines are joined, except that a
     line opening with a label ("Returns …", "X: (T, B, D) …", "Shapes: …") after a
     line that ended a sentence or clause starts a new line;
   - lines indented deeper than their paragraph (aligned equations) stay preformatted,
     and so do equations laid out with runs of spaces ("dX = …;  dH = …");
   - lines starting with "- " or "* " are list items (continued by deeper lines);
   - ``name`` and :func:`name` are inline code.

2. **Links to the source**: ``sphinx.ext.viewcode`` writes highlighted copies of the
   modules into the build (``_modules/``; nothing is fetched) and gives each entry a
   [source] link.

3. **Chapters link function names to the reference.** Once every page is read, inline
   code anywhere in the book that names a documented ``rnn`` object becomes a link to
   its entry: ``rnn.gru.gru_forward``, ``gru.gru_forward``, ``gru_forward`` and
   ``gru_forward(X, H0, params)`` all link to ``rnn.gru.gru_forward``. A bare name links
   only when exactly one documented function or class has it; methods and fields need
   their class (``Model.forward``), modules their full name (``rnn.gru``). Code cells
   are not touched.
"""

from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import make_refnode

STATIC = Path(__file__).parent / "static"
PACKAGE = "rnn"

# ``code`` or :role:`code` inside a docstring's text.
INLINE_CODE = re.compile(r"``(.+?)``|:[a-z]+(?::[a-z]+)?:`~?(.+?)`")
BULLET = re.compile(r"([-*•]) +")
# A label that starts a new line inside a paragraph: "Returns …", "Raises …", a short
# capitalised label ("Shapes: …", "For speed: …") or a name and a colon ("dH_t: …").
LABEL = re.compile(
    r"(Returns?|Raises|Yields)\b|[A-Z][\w()*·,' -]{0,24}: |[A-Za-z_][\w.*\[\]]*: "
)
# Inline code naming an object, perhaps called: ``gru_forward``, ``gru.gru_forward(X)``
# or ``gru_forward(`` (arguments may nest one level of parentheses).
CODE_NAME = re.compile(r"([A-Za-z_][\w.]*)(?:\((?:[^()]|\([^()]*\))*\)?)?")
# What a line ends with when the next one may start a new line with a label.
CLAUSE_END = (".", ":", ";", ")", "]", "}")
# An unindented line of equations set apart by runs of spaces: "dA = …;  dX = dA W;".
FORMULA_LINE = re.compile(r"=.*\S {2,}\S|\S {2,}\S.*=")
FIELD_ALIAS = re.compile(r"Alias for field number \d+")
LINKABLE_BY_NAME = {"function", "class", "exception"}
# Inline code in these is never turned into a link.
SKIP_INSIDE = (
    nodes.reference, nodes.title, addnodes.desc_signature, addnodes.pending_xref
)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _inline(text: str) -> list[nodes.Node]:
    """Text with ``code`` and :role:`code` as literal nodes; nothing else is markup."""
    out: list[nodes.Node] = []
    pos = 0
    for m in INLINE_CODE.finditer(text):
        if m.start() > pos:
            out.append(nodes.Text(text[pos:m.start()]))
        code = m.group(1) if m.group(1) is not None else m.group(2)
        out.append(nodes.literal(code, code))
        pos = m.end()
    if pos < len(text):
        out.append(nodes.Text(text[pos:]))
    return out


def _paragraph(lines: list[str]) -> list[nodes.Node]:
    """Prose lines, joined; a labelled line after a finished clause starts a new one."""
    logical: list[list[str]] = []
    for line in lines:
        if not logical or (
            LABEL.match(line.strip()) and logical[-1][-1].endswith(CLAUSE_END)
        ):
            logical.append([])
        logical[-1].append(line.strip())
    return [nodes.paragraph("", "", *_inline(" ".join(part))) for part in logical]


def _preformatted(lines: list[str]) -> nodes.literal_block:
    cut = min(_indent(line) for line in lines if line.strip())
    text = "\n".join(line[cut:].rstrip() for line in lines)
    block = nodes.literal_block(text, text, classes=["rnn-doc-formula"])
    block["language"] = "text"
    return block


def render_docstring(lines: list[str]) -> list[nodes.Node]:
    """The doctree of one docstring (lines already dedented, as autodoc passes them)."""
    body: list[nodes.Node] = []
    prose: list[str] = []
    pre: list[str] = []
    items: list[list[str]] = []  # the current list's items, each a list of lines
    base = min((_indent(line) for line in lines if line.strip()), default=0)

    def flush_prose():
        if prose:
            body.extend(_paragraph(prose))
            prose.clear()

    def flush_pre():
        if pre:
            while pre and not pre[-1].strip():
                pre.pop()
            body.append(_preformatted(pre))
            pre.clear()

    def flush_items():
        if items:
            bullets = nodes.bullet_list(bullet="-")
            for item in items:
                bullets += nodes.list_item("", *_paragraph([" ".join(item)]))
            body.append(bullets)
            items.clear()

    for line in lines:
        indent = _indent(line)
        if not line.strip():
            flush_prose()
            flush_items()
            if pre:
                pre.append("")  # a blank line inside an equation block is kept
            continue
        bullet = BULLET.match(line[indent:]) if indent == base else None
        if bullet:
            flush_prose()
            flush_pre()
            items.append([line[indent + bullet.end():].strip()])
        elif items and indent > base:
            items[-1].append(line.strip())
        elif indent > base or FORMULA_LINE.search(line):
            flush_prose()
            flush_items()
            pre.append(line)
        else:
            flush_pre()
            flush_items()
            prose.append(line)
    flush_prose()
    flush_pre()
    flush_items()
    return body


class DocstringDirective(SphinxDirective):
    """``.. rnn-docstring::`` followed by a docstring's lines, indented."""

    has_content = True

    def run(self) -> list[nodes.Node]:
        box = nodes.container(classes=["rnn-doc"])
        box.extend(render_docstring(list(self.content)))
        return [box]


def field_comment(name: str) -> str | None:
    """The comment after a NamedTuple field in its class (``X: ndarray  # (T, B)``)."""
    *owner_path, field = name.split(".")
    for cut in range(len(owner_path), 0, -1):  # the longest importable module prefix
        try:
            owner = importlib.import_module(".".join(owner_path[:cut]))
        except ImportError:
            continue
        for attr in owner_path[cut:]:
            owner = getattr(owner, attr, None)
        break
    else:
        return None
    try:
        source = inspect.getsource(owner)
    except (OSError, TypeError):
        return None
    m = re.search(rf"^\s+{re.escape(field)}\s*:[^#\n]*#\s*(.+)$", source, re.MULTILINE)
    return m.group(1).strip() if m else None


def wrap_docstring(app, what, name, obj, options, lines: list[str]) -> None:
    """Hand a docstring to the directive instead of the reStructuredText parser.

    A NamedTuple field's generated docstring ("Alias for field number 0") is replaced by
    the comment that follows the field in the source, or dropped if there is none.
    """
    if what == "attribute" and len(lines) and FIELD_ALIAS.fullmatch(lines[0].strip()):
        comment = field_comment(name)
        lines[:] = [comment] if comment else []
    if not any(line.strip() for line in lines):
        return
    body = ["   " + line if line.strip() else "" for line in lines]
    lines[:] = [".. rnn-docstring::", ""] + body + [""]


def name_index(env) -> dict[str, tuple[str, str, str]]:
    """How a page may write each documented rnn object -> (docname, anchor, full name).

    Full names and names without the package prefix always; a bare function or class
    name, or Class.member, only when it names exactly one object.
    """
    index: dict[str, tuple[str, str, str]] = {}
    short: dict[str, set] = {}
    for fullname, entry in env.get_domain("py").objects.items():
        if entry.aliased or not fullname.startswith(PACKAGE + "."):
            continue
        target = (entry.docname, entry.node_id, fullname)
        index[fullname] = target
        parts = fullname.split(".")
        if entry.objtype == "module":
            continue
        index[".".join(parts[1:])] = target  # gru.gru_forward
        if entry.objtype in LINKABLE_BY_NAME:
            short.setdefault(parts[-1], set()).add(target)
        elif len(parts) >= 4:  # rnn.module.Class.member -> Class.member
            short.setdefault(".".join(parts[-2:]), set()).add(target)
    for name, targets in short.items():
        if len(targets) == 1 and name not in index:
            index[name] = next(iter(targets))
    return index


class LinkRnnNames(SphinxPostTransform):
    """Inline code naming a documented rnn object becomes a link to its API entry."""

    default_priority = 20  # after Sphinx resolves the cross-references (priority 10)

    def run(self, **kwargs) -> None:
        builder = self.app.builder  # one index per build, made once every page is read
        index = getattr(builder, "rnn_name_index", None)
        if index is None:
            index = builder.rnn_name_index = name_index(self.env)
        fromdoc = self.env.docname
        for literal in list(self.document.findall(nodes.literal)):
            if self._inside_link_or_heading(literal):
                continue
            m = CODE_NAME.fullmatch(literal.astext().strip())
            target = index.get(m.group(1)) if m else None
            if target is None:
                continue
            docname, anchor, fullname = target
            ref = make_refnode(builder, fromdoc, docname, anchor, literal.deepcopy(),
                               title=fullname)
            ref["classes"].append("rnn-api-link")
            literal.replace_self(ref)

    @staticmethod
    def _inside_link_or_heading(node: nodes.Node) -> bool:
        parent = node.parent
        while parent is not None:
            if isinstance(parent, SKIP_INSIDE):
                return True
            parent = parent.parent
        return False


def add_static_path(app: Sphinx) -> None:
    app.config.html_static_path.append(str(STATIC))


def setup(app: Sphinx) -> dict:
    app.setup_extension("sphinx.ext.autodoc")
    app.setup_extension("sphinx.ext.viewcode")
    app.add_directive("rnn-docstring", DocstringDirective)
    app.connect("autodoc-process-docstring", wrap_docstring)
    app.add_post_transform(LinkRnnNames)
    app.connect("builder-inited", add_static_path)
    app.add_css_file("api.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
