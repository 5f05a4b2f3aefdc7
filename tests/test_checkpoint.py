"""Tests for rnn.checkpoint: exact round trips and clear errors for every mismatch."""
import json
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
    assert (loaded.vocab_size, loaded.embed_size) == (model.vocab_size, model.embed_size)
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
