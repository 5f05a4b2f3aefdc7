"""Tests for rnn.tasks: the generated tagging and long-range data, and the sequence classifiers."""
import numpy as np
import pytest

from rnn.gradcheck import numerical_gradient, relative_error
from rnn.optim import SGD, Adam
from rnn.tasks import (
    AMBIGUOUS_WORDS,
    LEFT_NOUN_AFTER,
    LEFT_VERB_AFTER,
    RIGHT_NOUN_BEFORE,
    RIGHT_VERB_BEFORE,
    SequenceModel,
    TaggingData,
    accuracy,
    init_sequence_model,
    make_long_range_data,
    make_tagging_data,
    predict,
    sequence_loss_and_grads,
    train_sequence_model,
)


def sentences(d: TaggingData):
    """Each sentence as a list of (word, tag, ambiguous) triples."""
    for ids, tags, mask, amb in zip(d.ids, d.tags, d.mask, d.ambiguous):
        k = int(mask.sum())
        yield [(d.words[i], d.tagset[t], bool(a)) for i, t, a in zip(ids[:k], tags[:k], amb[:k])]


# ---------------------------------------------------------------------------------------------
# Tagging data
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("context", ["left", "right"])
def test_tagging_data_shapes_padding_and_determinism(context):
    d = make_tagging_data(300, np.random.default_rng(0), context=context, length=(5, 9))
    assert d.ids.shape == d.tags.shape == d.mask.shape == d.ambiguous.shape == (300, 9)
    assert d.ids.dtype == d.tags.dtype == np.int64 and d.mask.dtype == d.ambiguous.dtype == bool
    lengths = d.mask.sum(axis=1)
    assert lengths.min() >= 5 and lengths.max() <= 9
    assert (d.mask == (np.arange(9) < lengths[:, None])).all()          # padding at the end only
    assert (d.ids[~d.mask] == 0).all() and (d.tags[~d.mask] == 0).all() and d.words[0] == d.tagset[0] == "<pad>"
    assert (d.ids[d.mask] != 0).all() and (d.tags[d.mask] != 0).all()
    assert not (d.ambiguous & ~d.mask).any() and d.ambiguous.any()
    again = make_tagging_data(300, np.random.default_rng(0), context=context, length=(5, 9))
    for a, b in zip(d[:4], again[:4]):
        assert np.array_equal(a, b)
    other = make_tagging_data(300, np.random.default_rng(1), context=context, length=(5, 9))
    assert not np.array_equal(d.ids, other.ids)


@pytest.mark.parametrize("context", ["left", "right"])
def test_every_word_but_the_ambiguous_ones_has_one_tag(context):
    d = make_tagging_data(500, np.random.default_rng(2), context=context)
    seen = {}
    for sentence in sentences(d):
        for word, tag, amb in sentence:
            assert amb == (word in AMBIGUOUS_WORDS)
            if not amb:
                assert seen.setdefault(word, tag) == tag
            else:
                assert tag in ("NOUN", "VERB")


def test_left_rule_holds_on_every_sentence():
    d = make_tagging_data(1000, np.random.default_rng(3), context="left", length=(4, 14))
    readings = set()
    for sentence in sentences(d):
        for t, (word, tag, amb) in enumerate(sentence):
            if amb:
                assert t > 0
                previous = sentence[t - 1][1]
                assert previous in LEFT_VERB_AFTER | LEFT_NOUN_AFTER
                assert tag == ("VERB" if previous in LEFT_VERB_AFTER else "NOUN")
                readings.add((word, tag))
    assert readings == {(w, t) for w in AMBIGUOUS_WORDS for t in ("NOUN", "VERB")}   # both readings of every word


def test_right_rule_holds_and_needs_the_right_context():
    d = make_tagging_data(1000, np.random.default_rng(4), context="right")
    by_left_context = {}   # (words up to and including the ambiguous word) -> tags seen
    for sentence in sentences(d):
        for t, (word, tag, amb) in enumerate(sentence):
            if amb:
                assert t == 0 or sentence[t - 1][1] == "CONJ"          # left context carries no information
                assert t + 1 < len(sentence)
                following = sentence[t + 1][1]
                assert following in RIGHT_VERB_BEFORE | RIGHT_NOUN_BEFORE
                assert tag == ("VERB" if following in RIGHT_VERB_BEFORE else "NOUN")
                if t == 0:
                    by_left_context.setdefault(word, set()).add(tag)
    # The same left context (the sentence's first word) occurs with both tags: only the right context decides.
    assert all(tags == {"NOUN", "VERB"} for tags in by_left_context.values())
    assert set(by_left_context) == set(AMBIGUOUS_WORDS)
    noun_share = (d.tags[d.ambiguous] == d.tagset.index("NOUN")).mean()
    assert 0.4 < noun_share < 0.6


@pytest.mark.parametrize("kwargs, error", [
    ({"n": 0}, ValueError),
    ({"context": "middle"}, ValueError),
    ({"length": (9, 5)}, ValueError),
    ({"length": (20, 30)}, ValueError),
    ({"length": 7}, ValueError),
    ({"rng": 0}, TypeError),
])
def test_tagging_data_bad_inputs(kwargs, error):
    args = {"n": 10, "rng": np.random.default_rng(0)} | kwargs
    with pytest.raises(error):
        make_tagging_data(args.pop("n"), args.pop("rng"), **args)


# ---------------------------------------------------------------------------------------------
# Long-range data
# ---------------------------------------------------------------------------------------------

def test_long_range_data():
    ids, y = make_long_range_data(500, 7, np.random.default_rng(0), num_classes=3, vocab_size=10)
    assert ids.shape == (500, 8) and y.shape == (500,) and ids.dtype == y.dtype == np.int64
    assert np.array_equal(ids[:, 0], y) and set(np.unique(y)) == {0, 1, 2}
    assert ids[:, 1:].min() >= 3 and ids[:, 1:].max() <= 9            # distractors never look like a signal
    ids2, y2 = make_long_range_data(500, 7, np.random.default_rng(0), num_classes=3, vocab_size=10)
    assert np.array_equal(ids, ids2) and np.array_equal(y, y2)
    ids0, _ = make_long_range_data(4, 0, np.random.default_rng(0))
    assert ids0.shape == (4, 1)


@pytest.mark.parametrize("kwargs", [{"distance": -1}, {"num_classes": 1}, {"vocab_size": 4}, {"n": 0}])
def test_long_range_data_bad_inputs(kwargs):
    args = {"n": 5, "distance": 3} | kwargs
    with pytest.raises(ValueError):
        make_long_range_data(args.pop("n"), args.pop("distance"), np.random.default_rng(0), **args)


# ---------------------------------------------------------------------------------------------
# The sequence model: gradients
# ---------------------------------------------------------------------------------------------

MODELS = [
    dict(kind="rnn"),
    dict(kind="rnn", nonlinearity="relu"),
    dict(kind="gru"),
    dict(kind="lstm"),
    dict(kind="rnn", bidirectional=True),
    dict(kind="gru", bidirectional=True, num_layers=2),
    dict(kind="lstm", num_layers=2),
    dict(recurrent=False),
]
MODEL_IDS = ["rnn", "rnn-relu", "gru", "lstm", "birnn", "bigru-2layers", "lstm-2layers", "feedforward"]


def small_model(per_step, rng, **kwargs):
    return init_sequence_model(7, 3, 4, per_step=per_step, embed_size=3, rng=rng, dtype=np.float64, **kwargs)


@pytest.mark.parametrize("per_step", [True, False], ids=["per-step", "many-to-one"])
@pytest.mark.parametrize("kwargs", MODELS, ids=MODEL_IDS)
def test_gradients_match_finite_differences(per_step, kwargs):
    rng = np.random.default_rng(0)
    model = small_model(per_step, rng, **kwargs)
    B, T = 3, 5
    ids = rng.integers(7, size=(B, T))
    mask = np.arange(T) < np.array([5, 3, 4])[:, None]
    targets = rng.integers(3, size=(B, T) if per_step else (B,))
    loss, grads = sequence_loss_and_grads(model, ids, targets, mask)
    assert set(grads) == set(model.params)

    def f():
        return sequence_loss_and_grads(model, ids, targets, mask)[0]

    for name, x in model.params.items():
        assert grads[name].shape == x.shape and grads[name].dtype == np.float64
        err = relative_error(grads[name], numerical_gradient(f, x, eps=1e-5))
        assert err < 1e-6, f"d{name}: relative error {err:.1e}"


def test_mask_none_equals_full_mask_and_many_to_one_reads_the_last_real_step():
    rng = np.random.default_rng(1)
    model = small_model(False, rng, kind="gru")
    ids = rng.integers(1, 7, size=(4, 6))
    y = rng.integers(3, size=4)
    full = np.ones((4, 6), bool)
    assert sequence_loss_and_grads(model, ids, y)[0] == pytest.approx(sequence_loss_and_grads(model, ids, y, full)[0])
    # With a mask of length 3 the output must equal the output on the truncated sequence.
    short = np.arange(6) < 3
    mask = np.broadcast_to(short, (4, 6))
    padded = ids.copy()
    padded[:, 3:] = 0
    assert sequence_loss_and_grads(model, padded, y, mask)[0] == pytest.approx(
        sequence_loss_and_grads(model, ids[:, :3], y)[0])
    assert np.array_equal(predict(model, padded, mask), predict(model, ids[:, :3]))


def test_feedforward_baseline_has_no_memory():
    rng = np.random.default_rng(2)
    model = small_model(True, rng, recurrent=False)
    assert not model.recurrent and model.spec is None and model.hidden_size == 4
    assert not any("W_hh" in k for k in model.params)
    ids = rng.integers(7, size=(2, 6))
    shuffled = ids[:, ::-1]
    # Each position's prediction depends on that token only: reversing the sequence reverses the predictions.
    assert np.array_equal(predict(model, shuffled), predict(model, ids)[:, ::-1])
    with pytest.raises(ValueError):
        init_sequence_model(7, 3, 4, recurrent=False, bidirectional=True, rng=rng)


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------

def test_training_learns_left_context_tagging():
    d = make_tagging_data(400, np.random.default_rng(0), context="left")
    model = init_sequence_model(len(d.words), len(d.tagset), 16, embed_size=8, rng=np.random.default_rng(1))
    history = train_sequence_model(model, d.ids, d.tags, mask=d.mask, epochs=6, batch_size=32,
                                   optimizer=Adam(0.02), seed=0)
    assert history["steps"] == len(history["loss"]) == len(history["grad_norm"]) == 6 * 13
    assert history["stopped"] is None
    assert np.mean(history["loss"][-5:]) < 0.3 * np.mean(history["loss"][:5])
    assert model.params["E"].dtype == np.float32
    pred = predict(model, d.ids)
    assert accuracy(pred, d.tags, d.ambiguous) > 0.9


def test_training_is_deterministic_and_many_to_one_learns_short_memory():
    ids, y = make_long_range_data(256, 2, np.random.default_rng(0))
    runs = []
    for _ in range(2):
        model = init_sequence_model(16, 4, 16, per_step=False, embed_size=8, rng=np.random.default_rng(0))
        history = train_sequence_model(model, ids, y, epochs=30, batch_size=32, optimizer=Adam(0.02), seed=0,
                                       clip=1.0, record_grad_norm=False)
        runs.append((history["loss"], model))
    assert runs[0][0] == runs[1][0]
    assert accuracy(predict(runs[0][1], ids), y) > 0.9


def test_nonfinite_loss_raises_or_stops():
    ids, y = make_long_range_data(64, 10, np.random.default_rng(0))

    def diverging_model():
        model = init_sequence_model(16, 4, 8, per_step=False, nonlinearity="relu", rng=np.random.default_rng(0))
        model.params["l0.fwd.W_hh"][:] = 30 * np.eye(8, dtype=np.float32)   # activations grow ×30 per step
        model.params["E"][:] = np.abs(model.params["E"]) + 1
        model.params["l0.fwd.W_xh"][:] = np.abs(model.params["l0.fwd.W_xh"]) + 1
        return model

    with pytest.raises(FloatingPointError, match="learning rate"):
        train_sequence_model(diverging_model(), ids, y, epochs=50, batch_size=16, optimizer=SGD(1.0), seed=0)
    history = train_sequence_model(diverging_model(), ids, y, epochs=50, batch_size=16, optimizer=SGD(1.0), seed=0,
                                   on_nonfinite="stop")
    assert history["stopped"] is not None and "diverged" in history["stopped"]
    assert not (np.isfinite(history["loss"][-1]) and np.isfinite(history["grad_norm"][-1]))
    assert history["steps"] == len(history["loss"]) - 1


def test_clipping_caps_every_update():
    ids, y = make_long_range_data(64, 4, np.random.default_rng(0))
    model = init_sequence_model(16, 4, 8, per_step=False, rng=np.random.default_rng(0))
    before = {k: v.copy() for k, v in model.params.items()}
    train_sequence_model(model, ids, y, epochs=1, batch_size=64, optimizer=SGD(1.0), seed=0, clip=1e-3)
    change = np.sqrt(sum(((model.params[k] - before[k]) ** 2).sum() for k in before))
    assert change <= 1e-3 * 1.0001


# ---------------------------------------------------------------------------------------------
# Bad inputs
# ---------------------------------------------------------------------------------------------

def test_bad_inputs_are_rejected():
    rng = np.random.default_rng(0)
    model = small_model(True, rng)
    ids = rng.integers(7, size=(2, 4))
    tags = rng.integers(3, size=(2, 4))
    with pytest.raises(TypeError):
        sequence_loss_and_grads(model, ids.astype(float), tags)
    with pytest.raises(ValueError, match=r"\(B, T\)"):
        sequence_loss_and_grads(model, ids[0], tags[0])
    with pytest.raises(ValueError, match=r"\[0, 7\)"):
        sequence_loss_and_grads(model, ids + 7, tags)
    with pytest.raises(ValueError, match="targets"):
        sequence_loss_and_grads(model, ids, tags[:, :3])
    with pytest.raises(ValueError, match="mask"):
        sequence_loss_and_grads(model, ids, tags, np.ones((2, 3), bool))
    many_to_one = small_model(False, rng)
    with pytest.raises(ValueError, match="targets"):
        sequence_loss_and_grads(many_to_one, ids, tags)
    with pytest.raises(ValueError, match="prefix"):
        sequence_loss_and_grads(many_to_one, ids, tags[:, 0], np.array([[0, 1, 1, 1], [1, 1, 0, 0]]))
    with pytest.raises(ValueError):
        train_sequence_model(model, ids, tags, epochs=0, batch_size=2, optimizer=SGD(0.1), seed=0)
    with pytest.raises(ValueError, match="on_nonfinite"):
        train_sequence_model(model, ids, tags, epochs=1, batch_size=2, optimizer=SGD(0.1), seed=0,
                             on_nonfinite="ignore")
    with pytest.raises(ValueError, match="clip"):
        train_sequence_model(model, ids, tags, epochs=1, batch_size=2, optimizer=SGD(0.1), seed=0, clip=0.0)
    with pytest.raises(ValueError):
        init_sequence_model(7, 3, 0, rng=rng)
    with pytest.raises(ValueError):
        init_sequence_model(7, 3, 4, kind="transformer", rng=rng)
    with pytest.raises(ValueError):
        accuracy(np.zeros(3), np.zeros(4))
    with pytest.raises(ValueError):
        accuracy(np.zeros(3), np.zeros(3), np.zeros(3, bool))
    assert isinstance(model, SequenceModel)
    assert accuracy(np.array([1, 2, 3]), np.array([1, 0, 3]), np.array([True, True, False])) == 0.5
