"""Saving a trained language model (and its vocabulary) to one .npz file, and loading it
back.

The file is a plain numpy archive readable with ``np.load(path, allow_pickle=False)``:
every parameter is stored under its own key ("E", "l0.fwd.W_xh", …, "W_hq", "b_q"), and
the key "__meta__" holds a JSON string (a 0-d str array) with the format name and
version, the model kind ("language_model"), the RecurrentSpec, vocab_size, embed_size
and the vocabulary (``Vocab.to_dict()``: its tokens in id order) or null. No pickled
Python objects anywhere.

Writing is atomic: the archive goes to a temporary file in the same folder, is flushed
to disk (fsync) and then renamed over ``path`` (``os.replace``). A save that fails
midway, a full disk or an interrupt, leaves the previous checkpoint as it was and no
temporary file behind.

Loading checks everything it can before building a model: the format and its version,
the model kind, the architecture, the keys, shapes and dtypes of the arrays, that every
parameter is finite, and, when a vocabulary is passed, that the checkpoint was saved
with the same tokens in the same order. Version-1 files (rnn 0.1, without the model
kind) are refused with an error that says so.
"""
from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import numpy as np

from rnn._common import check_finite_params
from rnn.data import Vocab
from rnn.layers import spec_from_dict, spec_to_dict
from rnn.model import LanguageModel, lm_param_shapes

FORMAT = "rnn-language-model"
VERSION = 2
META_KEY = "__meta__"
MODEL_KIND = "language_model"    # what "model" in the metadata names


def _check_path(path, what: str) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{what} must be a file path (str or pathlib.Path); "
                        f"got {type(path).__name__}")
    return Path(path)


def _check_vocab(vocab, V: int, where: str) -> None:
    if vocab is None:
        return
    if not isinstance(vocab, Vocab):
        raise TypeError(f"vocab must be a rnn.data.Vocab or None; "
                        f"got {type(vocab).__name__}")
    if len(vocab) != V:
        raise ValueError(f"{where}the vocabulary has {len(vocab)} tokens but the model "
                         f"has vocab_size = {V}")


def _write_atomically(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """np.savez into a temporary file next to ``path``, fsync, then rename it to
    ``path``."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)   # mode: as np.savez
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if hasattr(os, "O_DIRECTORY"):    # make the rename itself durable (POSIX)
        dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def save_checkpoint(
    path: str | Path, model: LanguageModel, vocab: Vocab | None = None
) -> Path:
    """Write ``model`` (and ``vocab``, if given) to ``path``; ".npz" is appended if the
    name lacks it.

    Returns the path written. Arrays are stored exactly (dtype and bits unchanged). The
    write is atomic (see the module docstring): if it fails, an existing file at
    ``path`` is left untouched. Only a LanguageModel can be saved (TypeError otherwise).
    """
    path = _check_path(path, "path")
    if not isinstance(model, LanguageModel):
        raise TypeError(f"save_checkpoint saves a LanguageModel (rnn.model); got "
                        f"{type(model).__name__}: pass the model, not model.params")
    _check_vocab(vocab, model.vocab_size, "")
    check_finite_params(model.params, "save_checkpoint")
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    if META_KEY in model.params:
        raise ValueError(f"a parameter may not be called {META_KEY!r}")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot save {path}: the folder {path.parent} "
                                f"does not exist")
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "model": MODEL_KIND,
        "spec": spec_to_dict(model.spec),
        "vocab_size": model.vocab_size,
        "embed_size": model.embed_size,
        "vocab": None if vocab is None else vocab.to_dict(),
    }
    arrays = {k: np.asarray(p) for k, p in model.params.items()}
    _write_atomically(path, {**arrays, META_KEY: np.array(json.dumps(meta))})
    return path


def _read(path) -> tuple[Path, dict, dict[str, np.ndarray]]:
    """(path, meta, arrays) of a checkpoint file; ValueError if the file is not one."""
    path = _check_path(path, "path")
    if not path.exists() and Path(str(path) + ".npz").exists():
        path = Path(str(path) + ".npz")
    if not path.exists():
        raise FileNotFoundError(f"no such checkpoint: {path}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except Exception as e:   # not a zip, not .npy inside, pickled objects, …
        raise ValueError(f"{path} is not an rnn checkpoint (.npz written by "
                         f"save_checkpoint): {e}") from None
    if META_KEY not in arrays:
        raise ValueError(f"{path} is not an rnn checkpoint: it has no {META_KEY!r} "
                         f"entry")
    try:
        meta = json.loads(str(arrays.pop(META_KEY)))
    except (json.JSONDecodeError, TypeError) as e:
        raise ValueError(f"{path} is not an rnn checkpoint: unreadable {META_KEY!r} "
                         f"({e})") from None
    if not isinstance(meta, dict):
        raise ValueError(f"{path} is not an rnn checkpoint: {META_KEY!r} is not a JSON "
                         f"object")
    if meta.get("format") != FORMAT:
        raise ValueError(f"{path} is not an rnn checkpoint: format "
                         f"{meta.get('format')!r}, expected {FORMAT!r}")
    if meta.get("version") == 1:
        raise ValueError(f"{path} is a version-1 checkpoint (rnn 0.1): it lacks the "
                         f"model kind ('model') that version {VERSION} records, so it "
                         f"cannot be told apart from a sequence classifier saved by "
                         f"mistake; load it with rnn 0.1 and save it again with this "
                         f"version")
    if meta.get("version") != VERSION:
        raise ValueError(f"{path} has checkpoint format version "
                         f"{meta.get('version')!r}; this rnn reads version {VERSION}")
    keys = ("model", "spec", "vocab_size", "embed_size", "vocab")
    missing = [k for k in keys if k not in meta]
    if missing:
        raise ValueError(f"{path} is not a valid rnn checkpoint: its metadata lacks "
                         f"{missing}")
    if meta["model"] != MODEL_KIND:
        raise ValueError(f"{path} holds a {meta['model']!r} model; this function loads "
                         f"a {MODEL_KIND!r} (rnn.model.LanguageModel)")
    return path, meta, arrays


def _check_arrays(
    arrays: dict[str, np.ndarray], expected: dict[str, tuple[int, ...]], where: str
) -> None:
    """Same keys and shapes as ``expected``, else ValueError naming the difference."""
    missing = [k for k in expected if k not in arrays]
    extra = [k for k in arrays if k not in expected]
    if missing or extra:
        raise ValueError(f"{where}: parameter keys differ: missing {missing}, "
                         f"extra {extra}")
    wrong = [f"{k} is {arrays[k].shape}, expected {shape}"
             for k, shape in expected.items() if arrays[k].shape != shape]
    if wrong:
        raise ValueError(f"{where}: shape mismatch: " + "; ".join(wrong))


def _compare_vocab(stored: Vocab | None, vocab: Vocab | None, where: Path) -> None:
    """ValueError unless the checkpoint's vocabulary has the tokens of ``vocab``, in
    order."""
    if vocab is None:
        return
    if not isinstance(vocab, Vocab):
        raise TypeError(f"vocab must be a rnn.data.Vocab or None; "
                        f"got {type(vocab).__name__}")
    if stored is None:
        raise ValueError(f"{where} was saved without a vocabulary, so it cannot be "
                         f"checked against the one given; load it without vocab=")
    ours, theirs = vocab.idx_to_token, stored.idx_to_token
    if ours != theirs:
        diffs = [f"id {i}: checkpoint {a!r}, given {b!r}"
                 for i, (a, b) in enumerate(zip(theirs, ours)) if a != b][:3]
        if len(ours) != len(theirs):
            diffs.append(f"checkpoint {len(theirs)} tokens, given {len(ours)}")
        raise ValueError(f"{where} was saved with another vocabulary: "
                         + "; ".join(diffs))


def load_checkpoint(
    path: str | Path, *, vocab: Vocab | None = None
) -> tuple[LanguageModel, Vocab | None]:
    """Read a file written by ``save_checkpoint``: returns (model, vocab), vocab None if
    none was saved.

    vocab: if given, the checkpoint must have been saved with exactly these tokens in
    this order (else ValueError naming the first differences).
    Raises FileNotFoundError if there is no file, ValueError if it is not a checkpoint
    of a language model, is inconsistent, or holds a non-finite parameter.
    """
    path, meta, arrays = _read(path)
    spec = spec_from_dict(meta["spec"])
    V, embed_size = meta["vocab_size"], meta["embed_size"]
    shapes = lm_param_shapes(spec, V, embed_size)
    _check_arrays(arrays, shapes, str(path))
    params = {k: arrays[k] for k in shapes}
    check_finite_params(params, str(path))
    stored = None if meta["vocab"] is None else Vocab.from_dict(meta["vocab"])
    if stored is not None and len(stored) != V:
        raise ValueError(f"{path}: the stored vocabulary has {len(stored)} tokens but "
                         f"vocab_size = {V}")
    _compare_vocab(stored, vocab, path)
    return LanguageModel(spec, V, embed_size, params), stored


def load_params_into(
    model: LanguageModel, path: str | Path, *, vocab: Vocab | None = None
) -> LanguageModel:
    """Copy the parameters stored at ``path`` into ``model.params`` (in place) and
    return ``model``.

    The checkpoint must describe the same architecture: otherwise ValueError naming
    every difference (kind, hidden size, vocabulary size, number of layers, …), missing
    or extra keys, or shapes. A dtype difference raises TypeError (no silent casts:
    build the model with the checkpoint's dtype). vocab: if given, the checkpoint must
    have been saved with exactly these tokens in this order (a vocabulary of the same
    size but other tokens would otherwise load silently). Nothing is copied unless every
    check passes.
    """
    if not isinstance(model, LanguageModel):
        raise TypeError(f"load_params_into fills a LanguageModel (rnn.model); "
                        f"got {type(model).__name__}")
    path, meta, arrays = _read(path)
    theirs = dict(vocab_size=meta["vocab_size"], embed_size=meta["embed_size"],
                  **meta["spec"])
    ours = dict(vocab_size=model.vocab_size, embed_size=model.embed_size,
                **spec_to_dict(model.spec))
    diffs = [f"{k}: checkpoint {theirs.get(k)!r}, model {ours[k]!r}"
             for k in ours if theirs.get(k) != ours[k]]
    if diffs:
        raise ValueError(f"{path} holds a different model: " + "; ".join(diffs))
    _check_arrays(arrays, {k: p.shape for k, p in model.params.items()}, str(path))
    wrong = [f"{k} is {arrays[k].dtype}, model has {p.dtype}"
             for k, p in model.params.items() if arrays[k].dtype != p.dtype]
    if wrong:
        raise TypeError(f"{path}: dtype mismatch: " + "; ".join(wrong))
    check_finite_params(arrays, str(path))
    stored = None if meta["vocab"] is None else Vocab.from_dict(meta["vocab"])
    _compare_vocab(stored, vocab, path)
    for k, p in model.params.items():
        p[...] = arrays[k]
    return model
