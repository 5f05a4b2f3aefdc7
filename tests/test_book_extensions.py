"""The book's own extensions (book/_ext) and the launch environment (binder/).

Fast checks without building the book: how a docstring becomes a doctree, which inline
code links to the API reference, the wheel of rnn that the build ships for notebooks run
outside the repository, and the Binder pins.
"""

from __future__ import annotations

import base64
import hashlib
import io
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))

docutils = pytest.importorskip("docutils", reason="the book tools are not installed")
pytest.importorskip("sphinx", reason="the book tools are not installed")
from docutils import nodes  # noqa: E402

import api_docstrings  # noqa: E402
import run_anywhere  # noqa: E402


def kinds(body):
    return [type(node).__name__ for node in body]


def test_docstring_paragraphs_formulas_lists_and_code():
    lines = [
        "One GRU step, H_t = Z_t ⊙ H_{t-1} + (1 − Z_t) ⊙ H̃_t, for W_x* (D, H).",
        "",
        "    R_t = σ(X_t W_xr + b_r)      reset gate",
        "    Z_t = σ(X_t W_xz + b_z)      update gate",
        "",
        "X_t: (B, D), params as in ``init_gru_params``; a line that wraps",
        "onto the next one.",
        "Returns H_t (B, H) and the cache, see :func:`gru_step_backward`.",
        "",
        "- ``first``: an item that",
        "  continues here",
        "- second | item with *stars",
    ]
    body = api_docstrings.render_docstring(lines)
    assert kinds(body) == ["paragraph", "literal_block", "paragraph", "paragraph",
                           "bullet_list"]
    # Markup characters are text: nothing is emphasis, substitution or a reference.
    assert body[0].astext() == lines[0]
    assert body[1].astext() == "\n".join(line[4:] for line in lines[2:4])
    assert body[1]["language"] == "text"
    # Wrapped lines are joined; a labelled line after a finished sentence starts anew.
    assert body[2].astext() == (
        "X_t: (B, D), params as in init_gru_params; a line that wraps onto the next one"
        "."
    )
    literals = [node.astext() for node in body[2].findall(nodes.literal)]
    assert literals == ["init_gru_params"]
    assert [n.astext() for n in body[3].findall(nodes.literal)] == ["gru_step_backward"]
    items = [item.astext() for item in body[4].children]
    assert items == ["first: an item that continues here", "second | item with *stars"]


def test_spaced_out_equations_stay_preformatted():
    lines = [
        "Backward of one step:",
        "dA_t = dH_t ⊙ φ'(A_t);  dX_t = dA_t W_xhᵀ;",
        "dW_xh = X_tᵀ dA_t;  db_h = Σ_rows dA_t.",
        "A sentence = prose with single spaces only.",
    ]
    body = api_docstrings.render_docstring(lines)
    assert kinds(body) == ["paragraph", "literal_block", "paragraph"]
    assert body[1].astext() == "\n".join(lines[1:3])


def test_label_after_an_unfinished_line_does_not_break_it():
    lines = ["The parameters live in one flat", "dict: E."]
    body = api_docstrings.render_docstring(lines)
    assert kinds(body) == ["paragraph"]


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("gru_forward", "gru_forward"),
        ("gru_forward(", "gru_forward"),
        ("rnn.gru.gru_forward(X, H0, f(p))", "rnn.gru.gru_forward"),
        ("Adam(lr).step(params, grads)", None),
        ("X[t]", None),
        ("(T, B, D)", None),
    ],
)
def test_which_inline_code_names_an_object(code, name):
    match = api_docstrings.CODE_NAME.fullmatch(code)
    assert (match.group(1) if match else None) == name


def test_name_index_keeps_only_unambiguous_short_names():
    entry = SimpleNamespace

    def obj(docname, objtype):
        return entry(docname=docname, node_id="id", objtype=objtype, aliased=False)

    objects = {
        "rnn.gru": obj("book/api", "module"),
        "rnn.gru.gru_forward": obj("book/api", "function"),
        "rnn.model.Model": obj("book/api", "class"),
        "rnn.model.Model.forward": obj("book/api", "method"),
        "rnn.model.forward": obj("book/api", "function"),
        "rnn.other.forward": obj("book/api", "function"),
        "rnn.gru.GRUCache.X": obj("book/api", "attribute"),
        "numpy.tanh": obj("book/api", "function"),
    }
    env = SimpleNamespace(get_domain=lambda name: SimpleNamespace(objects=objects))
    index = api_docstrings.name_index(env)
    assert index["gru_forward"][2] == "rnn.gru.gru_forward"
    assert index["gru.gru_forward"][2] == "rnn.gru.gru_forward"
    assert index["Model.forward"][2] == "rnn.model.Model.forward"
    assert index["GRUCache.X"][2] == "rnn.gru.GRUCache.X"
    assert index["rnn.gru"][2] == "rnn.gru"
    for missing in ("forward", "X", "gru", "tanh", "numpy.tanh"):
        assert missing not in index


@pytest.fixture(scope="module")
def wheel():
    return run_anywhere.build_wheel(ROOT)


def test_wheel_holds_the_package_and_its_metadata(wheel):
    name, data = wheel
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert name == f"rnn-{project['version']}-py3-none-any.whl"
    assert run_anywhere.build_wheel(ROOT)[1] == data  # same sources, same bytes
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = set(zf.namelist())
        sources = {p.relative_to(ROOT).as_posix() for p in (ROOT / "rnn").rglob("*.py")}
        assert sources <= names
        info = f"rnn-{project['version']}.dist-info"
        metadata = zf.read(f"{info}/METADATA").decode()
        for req in project["dependencies"]:
            assert f"Requires-Dist: {req}\n" in metadata
        for req in project["optional-dependencies"]["data"]:
            assert f'Requires-Dist: {req}; extra == "data"\n' in metadata
        record = zf.read(f"{info}/RECORD").decode().splitlines()
        assert {line.split(",")[0] for line in record} == names
        for line in record:
            path, digest, size = line.split(",")
            if path.endswith("RECORD"):
                continue
            content = zf.read(path)
            expected = base64.urlsafe_b64encode(hashlib.sha256(content).digest())
            assert digest == "sha256=" + expected.rstrip(b"=").decode()
            assert int(size) == len(content)


def test_wheel_imports_on_its_own(wheel, tmp_path):
    name, data = wheel
    path = tmp_path / name
    path.write_bytes(data)
    code = "import rnn, rnn.gru; print(rnn.gru.__file__)"
    # The wheel first on sys.path: rnn must come from inside it, not from the checkout.
    out = subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, "
                          f"{str(path)!r}); {code}"], capture_output=True, text=True,
                         cwd=tmp_path, check=True).stdout
    assert out.strip() == str(path / "rnn" / "gru.py")


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            pkg, version = line.split("==")
            found[pkg.strip().lower()] = version.strip()
    return found


def test_binder_pins_match_constraints():
    binder = pins(ROOT / "binder" / "requirements.txt")
    constraints = pins(ROOT / "constraints.txt")
    assert binder, "binder/requirements.txt pins nothing"
    for pkg, version in binder.items():
        pinned = constraints.get(pkg)
        assert pinned == version, f"{pkg}: binder {version}, constraints {pinned}"
    requirement_lines = (ROOT / "binder" / "requirements.txt").read_text().splitlines()
    assert "-e .[data]" in requirement_lines


def test_namedtuple_fields_are_documented_by_their_comments(tmp_path, monkeypatch):
    (tmp_path / "fields_probe.py").write_text(
        "from typing import NamedTuple\n\n\n"
        "class Cache(NamedTuple):\n"
        "    X: object        # (T, B, D) inputs\n"
        "    flag: bool\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    wrap = api_docstrings.wrap_docstring
    lines = ["Alias for field number 0"]
    wrap(None, "attribute", "fields_probe.Cache.X", None, {}, lines)
    assert lines == [".. rnn-docstring::", "", "   (T, B, D) inputs", ""]
    lines = ["Alias for field number 1"]
    wrap(None, "attribute", "fields_probe.Cache.flag", None, {}, lines)
    assert lines == []
