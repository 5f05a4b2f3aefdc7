"""Saving a trained language model (and its vocabulary) to one .npz file, and loading it back.

The file is a plain numpy archive readable with ``np.load(path, allow_pickle=False)``: every parameter is stored
under its own key ("E", "l0.fwd.W_xh", …, "W_hq", "b_q"), and the key "__meta__" holds a JSON string
(a 0-d str array) with the format name and version, the RecurrentSpec, vocab_size, embed_size and
the vocabulary (``Vocab.to_dict()``) or null. No pickled Python objects anywhere.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from rnn.data import Vocab
from rnn.layers import spec_from_dict, spec_to_dict
from rnn.model import LanguageModel, lm_param_shapes

FORMAT = "rnn-language-model"
VERSION = 1
META_KEY = "__meta__"


def save_checkpoint(path: str | Path, model: LanguageModel, vocab: Vocab | None = None) -> Path:
    """Write ``model`` (and ``vocab``, if given) to ``path``; ".npz" is appended if the name lacks it.

    Returns the path written. Arrays are stored exactly (dtype and bits unchanged).
    """
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    if vocab is not None and len(vocab) != model.vocab_size:
        raise ValueError(f"the vocabulary has {len(vocab)} tokens but the model has vocab_size = {model.vocab_size}")
    bad = [k for k in model.params if k == META_KEY]
    if bad:
        raise ValueError(f"a parameter may not be called {META_KEY!r}")
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "spec": spec_to_dict(model.spec),
        "vocab_size": model.vocab_size,
        "embed_size": model.embed_size,
        "vocab": None if vocab is None else vocab.to_dict(),
    }
    arrays = {k: np.asarray(p) for k, p in model.params.items()}
    np.savez(path, **arrays, **{META_KEY: np.array(json.dumps(meta))})
    return path


def _read(path: str | Path) -> tuple[dict, dict[str, np.ndarray]]:
    """(meta, arrays) of a checkpoint file; ValueError if the file is not one."""
    path = Path(path)
    if not path.exists() and Path(str(path) + ".npz").exists():
        path = Path(str(path) + ".npz")
    if not path.exists():
        raise FileNotFoundError(f"no such checkpoint: {path}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except Exception as e:   # not a zip, not .npy inside, pickled objects, …
        raise ValueError(f"{path} is not an rnn checkpoint (.npz written by save_checkpoint): {e}") from None
    if META_KEY not in arrays:
        raise ValueError(f"{path} is not an rnn checkpoint: it has no {META_KEY!r} entry")
    try:
        meta = json.loads(str(arrays.pop(META_KEY)))
    except (json.JSONDecodeError, TypeError) as e:
        raise ValueError(f"{path} is not an rnn checkpoint: unreadable {META_KEY!r} ({e})") from None
    if not isinstance(meta, dict):
        raise ValueError(f"{path} is not an rnn checkpoint: {META_KEY!r} is not a JSON object")
    if meta.get("format") != FORMAT:
        raise ValueError(f"{path} is not an rnn checkpoint: format {meta.get('format')!r}, expected {FORMAT!r}")
    if meta.get("version") != VERSION:
        raise ValueError(f"{path} has checkpoint format version {meta.get('version')!r}; "
                         f"this rnn reads version {VERSION}")
    missing = [k for k in ("spec", "vocab_size", "embed_size", "vocab") if k not in meta]
    if missing:
        raise ValueError(f"{path} is not a valid rnn checkpoint: its metadata lacks {missing}")
    return meta, arrays


def _check_arrays(arrays: dict[str, np.ndarray], expected: dict[str, tuple[int, ...]], where: str) -> None:
    """Same keys and shapes as ``expected``, else ValueError naming the difference."""
    missing = [k for k in expected if k not in arrays]
    extra = [k for k in arrays if k not in expected]
    if missing or extra:
        raise ValueError(f"{where}: parameter keys differ: missing {missing}, extra {extra}")
    wrong = [f"{k} is {arrays[k].shape}, expected {shape}" for k, shape in expected.items() if arrays[k].shape != shape]
    if wrong:
        raise ValueError(f"{where}: shape mismatch: " + "; ".join(wrong))


def load_checkpoint(path: str | Path) -> tuple[LanguageModel, Vocab | None]:
    """Read a file written by ``save_checkpoint``: returns (model, vocab), vocab None if none was saved.

    Raises FileNotFoundError if there is no file, ValueError if it is not a checkpoint or is inconsistent.
    """
    meta, arrays = _read(path)
    spec = spec_from_dict(meta["spec"])
    V, embed_size = meta["vocab_size"], meta["embed_size"]
    shapes = lm_param_shapes(spec, V, embed_size)
    _check_arrays(arrays, shapes, str(path))
    params = {k: arrays[k] for k in shapes}
    vocab = None if meta["vocab"] is None else Vocab.from_dict(meta["vocab"])
    if vocab is not None and len(vocab) != V:
        raise ValueError(f"{path}: the stored vocabulary has {len(vocab)} tokens but vocab_size = {V}")
    return LanguageModel(spec, V, embed_size, params), vocab


def load_params_into(model: LanguageModel, path: str | Path) -> LanguageModel:
    """Copy the parameters stored at ``path`` into ``model.params`` (in place) and return ``model``.

    The checkpoint must describe the same architecture: otherwise ValueError naming every difference
    (kind, hidden size, vocabulary size, number of layers, …), missing or extra keys, or shapes.
    A dtype difference raises TypeError (no silent casts: build the model with the checkpoint's dtype).
    """
    meta, arrays = _read(path)
    theirs = dict(vocab_size=meta["vocab_size"], embed_size=meta["embed_size"], **meta["spec"])
    ours = dict(vocab_size=model.vocab_size, embed_size=model.embed_size, **spec_to_dict(model.spec))
    diffs = [f"{k}: checkpoint {theirs.get(k)!r}, model {ours[k]!r}" for k in ours if theirs.get(k) != ours[k]]
    if diffs:
        raise ValueError(f"{path} holds a different model: " + "; ".join(diffs))
    _check_arrays(arrays, {k: p.shape for k, p in model.params.items()}, str(path))
    wrong = [f"{k} is {arrays[k].dtype}, model has {p.dtype}" for k, p in model.params.items()
             if arrays[k].dtype != p.dtype]
    if wrong:
        raise TypeError(f"{path}: dtype mismatch: " + "; ".join(wrong))
    for k, p in model.params.items():
        p[...] = arrays[k]
    return model
