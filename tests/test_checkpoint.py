"""Tests for rnn.checkpoint: exact round trips and clear errors for every mismatch."""
import io
import json
import os
import zipfile

import numpy as np
import pytest

from rnn.checkpoint import load_checkpoint, load_params_into, save_checkpoint
from rnn.data import Vocab, tokenize
from rnn.model import init_language_model, lm_forward

TEXT = "hello world\n"
VOCAB = Vocab(tokenize(TEXT))
V = len(VOCAB)


def _model(kind="gru", hidden=6, seed=0, **kw):
    return init_language_model(V, hidden, kind, rng=np.random.default_rng(seed), **kw)


@pytest.mark.parametrize("kw", [
    dict(kind="rnn"),
    dict(kind="gru", embed_size=4, num_layers=2, reset_after=True),
    dict(kind="lstm", embed_size=3, bidirectional=True, dtype=np.float64),
])
def test_round_trip_is_exact(tmp_path, kw):
    model = _model(**kw)
    path = save_checkpoint(tmp_path / "m.npz", model, VOCAB)
    loaded, vocab = load_checkpoint(path)
    assert loaded.spec == model.spec
    assert (loaded.vocab_size, loaded.embed_size) == (model.vocab_size,
                                                      model.embed_size)
    assert list(loaded.params) == list(model.params)
    for k, p in model.params.items():
        assert loaded.params[k].dtype == p.dtype
        np.testing.assert_array_equal(loaded.params[k], p)
    assert vocab == VOCAB and vocab.idx_to_token == VOCAB.idx_to_token
    ids = VOCAB.encode(TEXT)[None]
    np.testing.assert_array_equal(lm_forward(loaded, ids)[0], lm_forward(model, ids)[0])


def test_plain_numpy_can_read_it_without_pickle(tmp_path):
    model = _model()
    path = save_checkpoint(tmp_path / "m", model)          # ".npz" is appended
    assert path.name == "m.npz"
    with np.load(path, allow_pickle=False) as npz:
        meta = json.loads(str(npz["__meta__"]))
        np.testing.assert_array_equal(npz["W_hq"], model.params["W_hq"])
    assert meta["spec"]["kind"] == "gru" and meta["vocab"] is None
    loaded, vocab = load_checkpoint(tmp_path / "m")        # found with the suffix too
    assert vocab is None and loaded.spec == model.spec


def test_load_params_into_copies_in_place(tmp_path):
    trained, fresh = _model(seed=0), _model(seed=1)
    path = save_checkpoint(tmp_path / "m.npz", trained)
    W_before = fresh.params["W_hq"]
    assert load_params_into(fresh, path) is fresh
    assert fresh.params["W_hq"] is W_before                # same arrays, new values
    for k in trained.params:
        np.testing.assert_array_equal(fresh.params[k], trained.params[k])


@pytest.mark.parametrize("other, message", [
    (dict(kind="lstm"), r"kind: checkpoint 'gru', model 'lstm'"),
    (dict(hidden=7), r"hidden_size: checkpoint 6, model 7"),
    (dict(num_layers=2), r"num_layers: checkpoint 1, model 2"),
    (dict(embed_size=4), r"embed_size: checkpoint None, model 4"),
    (dict(bidirectional=True), r"bidirectional: checkpoint False, model True"),
])
def test_architecture_mismatch_is_named(tmp_path, other, message):
    path = save_checkpoint(tmp_path / "m.npz", _model())
    with pytest.raises(ValueError, match=message):
        load_params_into(_model(**other), path)


def test_vocabulary_size_mismatch_is_named(tmp_path):
    path = save_checkpoint(tmp_path / "m.npz", _model())
    bigger = init_language_model(V + 1, 6, "gru", rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match=rf"vocab_size: checkpoint {V}, model {V + 1}"):
        load_params_into(bigger, path)
    with pytest.raises(ValueError, match="vocabulary has"):
        save_checkpoint(tmp_path / "x.npz", bigger, VOCAB)


def _tamper(path, drop=None, add=None, replace=None):
    """Rewrite a checkpoint with one entry dropped, added or replaced."""
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    if drop:
        del arrays[drop]
    arrays |= add or {}
    arrays |= replace or {}
    np.savez(path, **arrays)


def test_missing_extra_and_misshapen_keys(tmp_path):
    model = _model()
    path = save_checkpoint(tmp_path / "m.npz", model)
    _tamper(path, drop="l0.fwd.W_hz")
    for load in (load_checkpoint, lambda p: load_params_into(_model(), p)):
        with pytest.raises(ValueError, match=r"missing \['l0.fwd.W_hz'\], extra \[\]"):
            load(path)
    path = save_checkpoint(tmp_path / "m.npz", model)
    _tamper(path, add={"W_extra": np.zeros(2, np.float32)})
    with pytest.raises(ValueError, match=r"missing \[\], extra \['W_extra'\]"):
        load_checkpoint(path)
    path = save_checkpoint(tmp_path / "m.npz", model)
    _tamper(path, replace={"b_q": np.zeros(V + 2, np.float32)})
    with pytest.raises(ValueError, match=rf"b_q is \({V + 2},\), expected \({V},\)"):
        load_params_into(_model(), path)


def test_dtype_mismatch_raises_type_error(tmp_path):
    path = save_checkpoint(tmp_path / "m.npz", _model(dtype=np.float64))
    with pytest.raises(TypeError, match="float64, model has float32"):
        load_params_into(_model(), path)


def test_files_that_are_not_checkpoints(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a checkpoint")
    with pytest.raises(ValueError, match="not an rnn checkpoint"):
        load_checkpoint(text)
    plain = tmp_path / "plain.npz"
    np.savez(plain, W=np.zeros(3))
    with pytest.raises(ValueError, match="no '__meta__' entry"):
        load_checkpoint(plain)
    npy = tmp_path / "a.npy"
    np.save(npy, np.zeros(3))
    with pytest.raises(ValueError, match="not an rnn checkpoint"):
        load_checkpoint(npy)
    pickled = tmp_path / "obj.npz"
    np.savez(pickled, __meta__=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="not an rnn checkpoint"):
        load_checkpoint(pickled)
    other = tmp_path / "other.npz"
    np.savez(other, __meta__=np.array(json.dumps({"format": "something-else"})))
    with pytest.raises(ValueError, match="format 'something-else'"):
        load_checkpoint(other)
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "nothing.npz")
    assert zipfile.is_zipfile(save_checkpoint(tmp_path / "ok.npz", _model()))


# --------------------------------------------------------------------------------------
# Atomic writes, model kind, vocabulary, old files and bad arguments
# --------------------------------------------------------------------------------------

def test_a_save_that_fails_midway_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    old = _model(seed=0)
    path = save_checkpoint(tmp_path / "m.npz", old, VOCAB)
    before = path.read_bytes()

    real_savez = np.savez

    def disk_full(file, **arrays):
        """Write the first half of a real archive, then fail as a full disk does."""
        buffer = io.BytesIO()
        real_savez(buffer, **arrays)
        # a writer that opens the path itself
        if isinstance(file, (str, os.PathLike)):
            file = open(file, "wb")
        file.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
        file.flush()
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", disk_full)
    with pytest.raises(OSError, match="No space left"):
        save_checkpoint(path, _model(seed=1), VOCAB)
    monkeypatch.undo()
    # the old file, byte for byte
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]   # no temporary file
    loaded, vocab = load_checkpoint(path)
    for k, p in old.params.items():
        np.testing.assert_array_equal(loaded.params[k], p)


def test_a_save_replaces_the_file_and_leaves_no_temporary_file(tmp_path):
    path = save_checkpoint(tmp_path / "m.npz", _model(seed=0))
    save_checkpoint(path, _model(seed=1))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]
    np.testing.assert_array_equal(load_checkpoint(path)[0].params["W_hq"],
                                  _model(seed=1).params["W_hq"])


def test_the_model_kind_and_the_tokens_are_stored(tmp_path):
    path = save_checkpoint(tmp_path / "m.npz", _model(), VOCAB)
    with np.load(path, allow_pickle=False) as npz:
        meta = json.loads(str(npz["__meta__"]))
    assert meta["model"] == "language_model" and meta["version"] == 2
    assert meta["vocab"]["idx_to_token"] == VOCAB.idx_to_token


def _rewrite_meta(path, **changes):
    with np.load(path, allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(str(arrays["__meta__"]))
    for key, value in changes.items():
        if value is None:
            del meta[key]
        else:
            meta[key] = value
    arrays["__meta__"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)


# A vocabulary of the same size as VOCAB (V tokens) but other tokens.
OTHER_VOCAB = Vocab(list("abcdefghi"))
SHUFFLED = Vocab.from_dict(VOCAB.to_dict() | {
    "idx_to_token": VOCAB.idx_to_token[:1] + VOCAB.idx_to_token[1:][::-1]})


LOAD_CASES = [
    ("sequence classifier kind", ValueError, r"holds a 'sequence_model' model"),
    ("version 1 file", ValueError,
     r"version-1 checkpoint.*lacks the model kind \('model'\)"),
    ("no model kind", ValueError, r"metadata lacks \['model'\]"),
    ("other vocabulary", ValueError,
     r"saved with another vocabulary: id 1: checkpoint"),
    ("same tokens reordered", ValueError, r"saved with another vocabulary"),
    ("no vocabulary saved", ValueError, r"saved without a vocabulary"),
    ("vocab not a Vocab", TypeError, r"vocab must be a rnn.data.Vocab"),
    ("non-finite parameter", ValueError, r"parameter 'b_q' contains NaN"),
]


@pytest.mark.parametrize("case, error, message", LOAD_CASES,
                         ids=[c[0] for c in LOAD_CASES])
def test_load_refuses_with_a_clear_error(tmp_path, case, error, message):
    assert len(OTHER_VOCAB) == V == len(SHUFFLED)
    path = save_checkpoint(tmp_path / "m.npz", _model(), None if "no vocabulary" in case
                           else VOCAB)
    vocab = None
    if case == "sequence classifier kind":
        _rewrite_meta(path, model="sequence_model")
    elif case == "version 1 file":
        _rewrite_meta(path, version=1, model=None)
    elif case == "no model kind":
        _rewrite_meta(path, model=None)
    elif case in ("other vocabulary", "no vocabulary saved"):
        vocab = OTHER_VOCAB
    elif case == "same tokens reordered":
        vocab = SHUFFLED
    elif case == "vocab not a Vocab":
        vocab = list(VOCAB.idx_to_token)
    elif case == "non-finite parameter":
        _tamper(path, replace={"b_q": np.full(V, np.nan, np.float32)})
    fresh = _model(seed=5)
    W_before = fresh.params["W_hq"].copy()
    with pytest.raises(error, match=message):
        load_checkpoint(path, vocab=vocab)
    with pytest.raises(error, match=message):
        load_params_into(fresh, path, vocab=vocab)
    np.testing.assert_array_equal(fresh.params["W_hq"], W_before)    # nothing copied


def test_the_same_vocabulary_is_accepted(tmp_path):
    path = save_checkpoint(tmp_path / "m.npz", _model(), VOCAB)
    _, vocab = load_checkpoint(path, vocab=Vocab(tokenize(TEXT)))
    assert vocab == VOCAB
    load_params_into(_model(seed=3), path, vocab=VOCAB)


def _sequence_classifier():
    from rnn.tasks import init_sequence_model
    return init_sequence_model(V, 3, 4, rng=0)


def _nan_model():
    model = _model()
    model.params["l0.fwd.W_hr"][0, 0] = np.inf
    return model


SAVE_CASES = [
    ("params dict instead of model", lambda: _model().params, None, TypeError,
     r"saves a LanguageModel.*got dict: pass the model, not model.params"),
    ("sequence classifier", _sequence_classifier, None, TypeError,
     r"saves a LanguageModel.*got SequenceModel"),
    ("vocab is a list", _model, list(VOCAB.idx_to_token), TypeError,
     r"vocab must be a rnn.data.Vocab or None"),
    ("vocab of another size", _model, Vocab(list("ab")), ValueError,
     rf"the vocabulary has 3 tokens but the model has vocab_size = {V}"),
    ("non-finite parameter", _nan_model, None, ValueError,
     r"save_checkpoint: parameter 'l0.fwd.W_hr' contains NaN or infinity"),
]


@pytest.mark.parametrize("make, vocab, error, message", [c[1:] for c in SAVE_CASES],
                         ids=[c[0] for c in SAVE_CASES])
def test_save_refuses_bad_arguments(tmp_path, make, vocab, error, message):
    path = tmp_path / "m.npz"
    with pytest.raises(error, match=message):
        save_checkpoint(path, make(), vocab)
    assert not path.exists()


PATH_CASES = [
    ("save to an int path", lambda tmp: save_checkpoint(3, _model()), TypeError,
     r"path must be a file path \(str or pathlib.Path\); got int"),
    ("save into a missing folder",
     lambda tmp: save_checkpoint(tmp / "no" / "m", _model()), FileNotFoundError,
     r"folder .* does not exist"),
    ("load from None", lambda tmp: load_checkpoint(None), TypeError,
     r"path must be a file path"),
    ("load a folder", lambda tmp: load_checkpoint(tmp), ValueError,
     r"is not an rnn checkpoint"),
    ("load into a params dict",
     lambda tmp: load_params_into(_model().params,
                                  save_checkpoint(tmp / "m", _model())),
     TypeError, r"load_params_into fills a LanguageModel \(rnn.model\); got dict"),
]


@pytest.mark.parametrize("call, error, message", [c[1:] for c in PATH_CASES],
                         ids=[c[0] for c in PATH_CASES])
def test_bad_paths_and_targets(tmp_path, call, error, message):
    with pytest.raises(error, match=message):
        call(tmp_path)
