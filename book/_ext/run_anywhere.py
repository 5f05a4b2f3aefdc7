"""Notebooks that run outside the repository (a local Sphinx extension).

Every chapter imports ``rnn``, the course's package. Inside the repository ``make
install`` installs it; a notebook downloaded from its page, or opened in Colab, needs
one step first. This extension makes that step work without any network at build time
and says it on every notebook page:

1. **A wheel of rnn in the book.** The build writes
   ``_static/rnn-VERSION-py3-none-any.whl``, a standard pure-Python wheel of
   ``rnn/*.py`` whose metadata (name, version, Python and package requirements, the
   ``data`` extra) comes from ``pyproject.toml``. It is made here by zipping the sources
   (same sources, same bytes): nothing is downloaded and no build backend runs.
   ``%pip install "rnn-0.1.0-py3-none-any.whl[data]"`` next to a downloaded notebook
   installs the course's package with its corpus.
2. **A note on each notebook page** (folded, HTML only): how to run the notebook
   elsewhere, with a link to that wheel; when ``repository.url`` is set in
   ``_config.yml``, also the one-line install from the repository (for Colab) and that
   Binder needs no step (its environment is described in ``binder/``).
"""

from __future__ import annotations

import base64
import hashlib
import io
import posixpath
import tomllib
import zipfile
from pathlib import Path

from docutils import nodes
from sphinx.application import Sphinx

FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # zip timestamps: the bytes depend on content only
EXTRA = "data"  # the extra that brings the corpus (names), as in pyproject.toml


def project_metadata(root: Path) -> dict:
    text = (root / "pyproject.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)["project"]


def wheel_name(project: dict) -> str:
    return f"{project['name']}-{project['version']}-py3-none-any.whl"


def _metadata_text(project: dict) -> str:
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {project['name']}",
        f"Version: {project['version']}",
        f"Summary: {project['description']}",
        f"Requires-Python: {project['requires-python']}",
    ]
    if "license" in project:
        lines.append(f"License: {project['license']['text']}")
    lines += [f"Requires-Dist: {req}" for req in project.get("dependencies", [])]
    for extra, reqs in project.get("optional-dependencies", {}).items():
        if extra == EXTRA:
            lines.append(f"Provides-Extra: {extra}")
            lines += [f'Requires-Dist: {req}; extra == "{extra}"' for req in reqs]
    return "\n".join(lines) + "\n"


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"{path},sha256={digest.decode()},{len(data)}"


def build_wheel(root: Path) -> tuple[str, bytes]:
    """A pure-Python wheel of the package in ``root``: (file name, bytes)."""
    project = project_metadata(root)
    name, version = project["name"], project["version"]
    sources = sorted((root / name).rglob("*.py"))
    if not sources:
        raise RuntimeError(f"no Python files under {root / name}: no wheel to build")
    files = {src.relative_to(root).as_posix(): src.read_bytes() for src in sources}
    info = f"{name}-{version}.dist-info"
    if (root / "LICENSE").is_file():
        files[f"{info}/LICENSE"] = (root / "LICENSE").read_bytes()
    files[f"{info}/METADATA"] = _metadata_text(project).encode()
    files[f"{info}/WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: book/_ext/run_anywhere.py\n"
        "Root-Is-Purelib: true\nTag: py3-none-any\n"
    ).encode()
    record = [_record_line(path, data) for path, data in files.items()]
    files[f"{info}/RECORD"] = ("\n".join(record + [f"{info}/RECORD,,"]) + "\n").encode()

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as wheel:
        for path, data in files.items():
            entry = zipfile.ZipInfo(path, date_time=FIXED_TIME)
            entry.external_attr = 0o644 << 16
            wheel.writestr(entry, data, compress_type=zipfile.ZIP_DEFLATED)
    return wheel_name(project), buffer.getvalue()


def write_wheel(app: Sphinx, exc: Exception | None) -> None:
    if exc is not None or app.builder.format != "html":
        return
    name, data = build_wheel(Path(app.confdir))
    target = Path(app.outdir, "_static", name)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


def _code(text: str) -> nodes.literal:
    return nodes.literal(text, text)


def run_elsewhere_note(app: Sphinx, docname: str) -> nodes.admonition:
    """The folded note: how to get rnn for this notebook outside the repository."""
    project = project_metadata(Path(app.confdir))
    wheel = wheel_name(project)
    href = posixpath.relpath(f"_static/{wheel}", posixpath.dirname(docname) or ".")
    link = nodes.reference("", "", _code(wheel), refuri=href)
    install = f'%pip install "{wheel}[{EXTRA}]"'
    note = nodes.admonition(classes=["dropdown", "rnn-run-anywhere"])
    note += nodes.title("", "Running this notebook outside the repository")
    note += nodes.paragraph(
        "", "",
        nodes.Text("The notebook (download button, top right) imports "), _code("rnn"),
        nodes.Text(", the course's package. Inside the repository "),
        _code("make install"),
        nodes.Text(" installs it. Anywhere else, install it once: save "), link,
        nodes.Text(" next to the notebook and run "), _code(install),
        nodes.Text(" in a cell."),
    )
    theme = app.config.html_theme_options
    url = (theme.get("repository_url") or "").rstrip("/")
    if url:
        branch = theme.get("repository_branch") or "main"
        remote = f'%pip install "{project["name"]}[{EXTRA}] @ git+{url}@{branch}"'
        note += nodes.paragraph(
            "", "",
            nodes.Text("In Colab, or any Jupyter with internet: "), _code(remote),
            nodes.Text(". Binder needs no step: its environment ("), _code("binder/"),
            nodes.Text(" in the repository) installs "), _code("rnn"), nodes.Text("."),
        )
    return note


def add_note(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    if app.builder.format != "html":
        return
    if not str(app.env.doc2path(docname)).endswith(".ipynb"):
        return
    section = next(iter(doctree.findall(nodes.section)), None)
    if section is None or not isinstance(section[0], nodes.title):
        return
    section.insert(1, run_elsewhere_note(app, docname))


def setup(app: Sphinx) -> dict:
    app.connect("doctree-resolved", add_note)
    app.connect("build-finished", write_wheel)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
