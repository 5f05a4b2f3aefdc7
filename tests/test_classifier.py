"""Tests for rnn.classifier: the sequence models trained on the tasks of rnn.tasks —
gradients, masks, training and bad inputs."""
import numpy as np
import pytest

from rnn.classifier import (
    SequenceModel,
    accuracy,
    init_sequence_model,
    predict,
    sequence_loss_and_grads,
    train_sequence_model,
)
from rnn.gradcheck import numerical_gradient, relative_error
from rnn.optim import SGD, Adam
from rnn.tasks import make_long_range_data, make_tagging_data
from rnn.train import History


# --------------------------------------------------------------------------------------
# The sequence model: gradients
# --------------------------------------------------------------------------------------

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
MODEL_IDS = ["rnn", "rnn-relu", "gru", "lstm", "birnn", "bigru-2layers", "lstm-2layers",
             "feedforward"]


def small_model(per_step, rng, **kwargs):
    return init_sequence_model(7, 3, 4, per_step=per_step, embed_size=3, rng=rng,
                               dtype=np.float64, **kwargs)


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
    loss_full = sequence_loss_and_grads(model, ids, y, full)[0]
    assert sequence_loss_and_grads(model, ids, y)[0] == pytest.approx(loss_full)
    # With a mask of length 3 the output must equal the output on the truncated
    # sequence.
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
    # Each position's prediction depends on that token only: reversing the sequence
    # reverses the predictions.
    assert np.array_equal(predict(model, shuffled), predict(model, ids)[:, ::-1])
    with pytest.raises(ValueError):
        init_sequence_model(7, 3, 4, recurrent=False, bidirectional=True, rng=rng)


# --------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------

def test_training_learns_left_context_tagging():
    d = make_tagging_data(400, np.random.default_rng(0), context="left")
    model = init_sequence_model(len(d.words), len(d.tagset), 16, embed_size=8,
                                rng=np.random.default_rng(1))
    history = train_sequence_model(model, d.ids, d.tags, mask=d.mask, epochs=6,
                                   batch_size=32, optimizer=Adam(0.02), seed=0)
    assert history["steps"] == len(history["loss"]) == len(history["grad_norm"])
    assert history["steps"] == 6 * 13
    assert history["stopped"] is None
    assert np.mean(history["loss"][-5:]) < 0.3 * np.mean(history["loss"][:5])
    assert model.params["E"].dtype == np.float32
    pred = predict(model, d.ids)
    assert accuracy(pred, d.tags, d.ambiguous) > 0.9


def test_training_is_deterministic_and_many_to_one_learns_short_memory():
    ids, y = make_long_range_data(256, 2, np.random.default_rng(0))
    runs = []
    for _ in range(2):
        model = init_sequence_model(16, 4, 16, per_step=False, embed_size=8,
                                    rng=np.random.default_rng(0))
        history = train_sequence_model(model, ids, y, epochs=30, batch_size=32,
                                       optimizer=Adam(0.02), seed=0,
                                       clip=1.0, record_grad_norm=False)
        runs.append((history["loss"], model))
    assert runs[0][0] == runs[1][0]
    assert accuracy(predict(runs[0][1], ids), y) > 0.9


def test_nonfinite_loss_raises_or_stops():
    ids, y = make_long_range_data(64, 10, np.random.default_rng(0))

    def diverging_model():
        model = init_sequence_model(16, 4, 8, per_step=False, nonlinearity="relu",
                                    rng=np.random.default_rng(0))
        # activations grow ×30 per step
        model.params["l0.fwd.W_hh"][:] = 30 * np.eye(8, dtype=np.float32)
        model.params["E"][:] = np.abs(model.params["E"]) + 1
        model.params["l0.fwd.W_xh"][:] = np.abs(model.params["l0.fwd.W_xh"]) + 1
        return model

    with pytest.raises(FloatingPointError, match="learning rate"):
        train_sequence_model(diverging_model(), ids, y, epochs=50, batch_size=16,
                             optimizer=SGD(1.0), seed=0)
    history = train_sequence_model(diverging_model(), ids, y, epochs=50, batch_size=16,
                                   optimizer=SGD(1.0), seed=0, on_nonfinite="stop")
    assert history["stopped"] is not None and "diverged" in history["stopped"]
    last_loss, last_norm = history["loss"][-1], history["grad_norm"][-1]
    assert not (np.isfinite(last_loss) and np.isfinite(last_norm))
    assert history["steps"] == len(history["loss"]) - 1


def test_the_history_is_the_language_models_and_reads_like_a_dict():
    ids, y = make_long_range_data(64, 3, np.random.default_rng(0))
    model = init_sequence_model(16, 4, 8, per_step=False, rng=0)
    history = train_sequence_model(model, ids, y, epochs=2, batch_size=16,
                                   optimizer=SGD(0.1), seed=0)
    assert isinstance(history, History)
    assert history["loss"] is history.loss and history["grad_norm"] is history.grad_norm
    assert history["steps"] == history.steps == len(history.loss) == 2 * 4
    assert history["stopped"] is history.stopped is None
    # one train_ppl per epoch: exp of that epoch's mean loss
    assert history.train_ppl == pytest.approx(
        [np.exp(np.mean(history.loss[:4])), np.exp(np.mean(history.loss[4:]))])
    assert len(history.elapsed) == 2 and history.valid_ppl == []
    with pytest.raises(KeyError, match=r"History has no entry 'accuracy'"):
        history["accuracy"]


def test_a_loss_above_max_loss_raises_or_stops():
    # b_q = 60 on a wrong class: the first loss is about 60 nats, above 10 ln 4 ≈ 13.9
    ids, y = make_long_range_data(64, 3, np.random.default_rng(0))
    y = np.where(y == 0, 1, y)

    def confident_model():
        model = init_sequence_model(16, 4, 8, per_step=False, rng=0)
        model.params["b_q"][0] = 60.0
        return model

    kw = dict(epochs=1, batch_size=16, optimizer=SGD(1e-9), seed=0)
    assert train_sequence_model(confident_model(), ids, y, **kw).loss[0] > 50
    with pytest.raises(FloatingPointError,
                       match=r"the loss became [0-9.e+]+, above max_loss = 13.86 "
                             r"\(a uniform guess scores ln Q = 1.386\) at epoch 1, "
                             r"step 1: training diverged"):
        train_sequence_model(confident_model(), ids, y, **kw, max_loss=None)
    history = train_sequence_model(confident_model(), ids, y, **kw, max_loss=20.0,
                                   on_nonfinite="stop")
    assert "above max_loss = 20" in history.stopped
    assert history.steps == 0 and len(history.loss) == len(history.grad_norm) == 1


def test_a_parameter_that_becomes_non_finite_stops_training():
    class Overflowing(SGD):
        """SGD whose third update writes inf into W_hq."""

        def step(self, params, grads):
            super().step(params, grads)
            self.calls = getattr(self, "calls", 0) + 1
            if self.calls == 3:
                params["W_hq"][0, 0] = np.inf

    ids, y = make_long_range_data(64, 3, np.random.default_rng(0))
    model = init_sequence_model(16, 4, 8, per_step=False, rng=0)
    with pytest.raises(FloatingPointError,
                       match=r"a parameter became non-finite at epoch 1, step 3"):
        train_sequence_model(model, ids, y, epochs=2, batch_size=16,
                             optimizer=Overflowing(0.1), seed=0)
    model = init_sequence_model(16, 4, 8, per_step=False, rng=0)
    history = train_sequence_model(model, ids, y, epochs=2, batch_size=16,
                                   optimizer=Overflowing(0.1), seed=0,
                                   on_nonfinite="stop")
    # the third update was applied (and made W_hq non-finite): it counts as a step
    assert "a parameter became non-finite" in history.stopped
    assert history.steps == len(history.loss) == 3


def test_clipping_caps_every_update():
    ids, y = make_long_range_data(64, 4, np.random.default_rng(0))
    model = init_sequence_model(16, 4, 8, per_step=False, rng=np.random.default_rng(0))
    before = {k: v.copy() for k, v in model.params.items()}
    train_sequence_model(model, ids, y, epochs=1, batch_size=64, optimizer=SGD(1.0),
                         seed=0, clip=1e-3)
    change = np.sqrt(sum(((model.params[k] - before[k]) ** 2).sum() for k in before))
    assert change <= 1e-3 * 1.0001


# --------------------------------------------------------------------------------------
# Bad inputs
# --------------------------------------------------------------------------------------

def test_an_int_seed_and_a_generator_give_the_same_models_and_training():
    m_a = init_sequence_model(7, 3, 4, rng=1)
    m_b = init_sequence_model(7, 3, 4, rng=np.random.default_rng(1))
    assert all(np.array_equal(m_a.params[k], m_b.params[k]) for k in m_a.params)
    tags = make_tagging_data(8, 0)
    runs = []
    for seed in (2, np.random.default_rng(2)):
        model = init_sequence_model(len(tags.words), len(tags.tagset), 4, rng=1)
        history = train_sequence_model(model, tags.ids, tags.tags, mask=tags.mask,
                                       epochs=2, batch_size=3, optimizer=SGD(0.1),
                                       seed=seed)
        runs.append(history["loss"])
    assert runs[0] == runs[1]


RNG = np.random.default_rng(0)
IDS = RNG.integers(7, size=(2, 4))
TAGS = RNG.integers(3, size=(2, 4))


def _per_step():
    return small_model(True, np.random.default_rng(0))


def _many_to_one():
    return small_model(False, np.random.default_rng(0))


def _with_nan():
    model = _per_step()
    model.params["W_hq"][0, 0] = np.nan
    return model


def _train(model, ids=IDS, targets=TAGS, **kwargs):
    args = dict(epochs=1, batch_size=2, optimizer=SGD(0.1), seed=0) | kwargs
    return train_sequence_model(model, ids, targets, **args)


BAD_INPUTS = [
    # (id, call, error, message)
    ("float ids", lambda: sequence_loss_and_grads(_per_step(), IDS.astype(float), TAGS),
     TypeError, r"ids must be an integer numpy array"),
    ("1-D ids", lambda: sequence_loss_and_grads(_per_step(), IDS[0], TAGS[0]),
     ValueError,
     r"ids must have shape \(B, T\)"),
    ("ids beyond V", lambda: sequence_loss_and_grads(_per_step(), IDS + 7, TAGS),
     ValueError,
     r"ids must lie in \[0, V\) = \[0, 7\)"),
    ("targets shorter than ids",
     lambda: sequence_loss_and_grads(_per_step(), IDS, TAGS[:, :3]),
     ValueError, r"targets must have shape \(B, T\) = \(2, 4\)"),
    ("mask of another shape",
     lambda: sequence_loss_and_grads(_per_step(), IDS, TAGS, np.ones((2, 3), bool)),
     ValueError, r"mask must have the shape of ids"),
    ("float targets", lambda: sequence_loss_and_grads(_per_step(), IDS,
                                                      TAGS.astype(float)),
     TypeError, r"targets must be integer class ids; got dtype float64"),
    ("targets beyond Q", lambda: sequence_loss_and_grads(_per_step(), IDS, TAGS + 3),
     ValueError, r"targets must lie in \[0, 3\)"),
    ("per-step targets for a many-to-one model",
     lambda: sequence_loss_and_grads(_many_to_one(), IDS, TAGS), ValueError,
     r"targets must have shape \(B,\) = \(2,\) for a many-to-one model"),
    ("many-to-one mask not a prefix",
     lambda: sequence_loss_and_grads(_many_to_one(), IDS, TAGS[:, 0],
                                     np.array([[0, 1, 1, 1], [1, 1, 0, 0]])),
     ValueError, r"non-empty prefix"),
    ("a language model", lambda: sequence_loss_and_grads(_lm(), IDS, TAGS), TypeError,
     r"sequence_loss_and_grads needs a SequenceModel.*got LanguageModel"),
    ("NaN parameter in the loss",
     lambda: sequence_loss_and_grads(_with_nan(), IDS, TAGS),
     ValueError, r"sequence_loss_and_grads: parameter 'W_hq' contains NaN or infinity"),
    ("NaN parameter in predict", lambda: predict(_with_nan(), IDS), ValueError,
     r"predict: parameter 'W_hq' contains NaN"),
    ("predict on a list", lambda: predict(_per_step(), IDS.tolist()), TypeError,
     r"ids must be an integer numpy array"),
    ("train with more target rows than id rows",
     lambda: _train(_per_step(), targets=np.concatenate([TAGS, TAGS])), ValueError,
     r"targets must have shape \(N, T\) = \(2, 4\) for a per-step model, one row "
     r"per row of ids; got \(4, 4\)"),
    ("train with fewer target rows than id rows",
     lambda: _train(_per_step(), ids=np.concatenate([IDS, IDS])), ValueError,
     r"targets must have shape \(N, T\) = \(4, 4\) for a per-step model, one row "
     r"per row of ids; got \(2, 4\)"),
    ("train many-to-one with fewer targets", lambda: _train(_many_to_one(),
                                                            targets=TAGS[:1, 0]),
     ValueError, r"targets must have shape \(N,\) = \(2,\)"),
    ("train with float targets", lambda: _train(_per_step(),
                                                targets=TAGS.astype(float)),
     TypeError, r"targets must be integer class ids"),
    ("train with targets beyond Q", lambda: _train(_per_step(), targets=TAGS + 3),
     ValueError,
     r"targets must lie in \[0, 3\)"),
    ("train with epochs 0", lambda: _train(_per_step(), epochs=0), ValueError,
     r"epochs must be an integer ≥ 1"),
    ("train with batch_size 0", lambda: _train(_per_step(), batch_size=0), ValueError,
     r"batch_size must be an integer ≥ 1"),
    ("train with an unknown on_nonfinite", lambda: _train(_per_step(),
                                                          on_nonfinite="ignore"),
     ValueError, r"on_nonfinite must be 'raise' or 'stop'"),
    ("train with clip 0", lambda: _train(_per_step(), clip=0.0), ValueError,
     r"clip \(None for no clipping\) must be a positive finite number"),
    ("train with clip a str", lambda: _train(_per_step(), clip="1"), TypeError,
     r"clip .* must be a positive number; got str"),
    ("train with max_loss 0", lambda: _train(_per_step(), max_loss=0), ValueError,
     r"max_loss must be a number > 0 \(math.inf: no limit\) or None \(10 · ln Q\)"),
    ("train with max_loss a str", lambda: _train(_per_step(), max_loss="10"),
     ValueError, r"max_loss must be a number > 0"),
    ("train with seed a str", lambda: _train(_per_step(), seed="0"), TypeError,
     r"seed must be an int seed or a numpy Generator"),
    ("train without an optimizer", lambda: _train(_per_step(), optimizer=None),
     TypeError,
     r"optimizer must have a .step\(params, grads\) method"),
    ("train a language model", lambda: _train(_lm()), TypeError,
     r"train_sequence_model needs a SequenceModel"),
    ("train with a NaN parameter", lambda: _train(_with_nan()), ValueError,
     r"train_sequence_model: parameter 'W_hq' contains NaN"),
    ("init with hidden_size 0", lambda: init_sequence_model(7, 3, 0, rng=0), ValueError,
     r"hidden_size must be an integer ≥ 1"),
    ("init with an unknown kind",
     lambda: init_sequence_model(7, 3, 4, kind="transformer", rng=0), ValueError,
     r"kind must be one of"),
    ("init with rng a float", lambda: init_sequence_model(7, 3, 4, rng=0.5), TypeError,
     r"rng must be an int seed or a numpy Generator"),
    ("accuracy of two shapes", lambda: accuracy(np.zeros(3), np.zeros(4)), ValueError,
     r"pred and targets must have the same shape"),
    ("accuracy with an empty mask", lambda: accuracy(np.zeros(3), np.zeros(3),
                                                     np.zeros(3, bool)),
     ValueError, r"the mask selects no position"),
]


def _lm():
    from rnn.model import init_language_model
    return init_language_model(7, 4, rng=0)


@pytest.mark.parametrize("call, error, message", [c[1:] for c in BAD_INPUTS],
                         ids=[c[0] for c in BAD_INPUTS])
def test_bad_inputs_are_rejected(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_train_checks_every_row_before_the_first_step():
    model = _per_step()
    before = {k: p.copy() for k, p in model.params.items()}
    targets = np.concatenate([TAGS, TAGS])
    # a bad target in a row that does not exist in ids
    targets[-1, -1] = 5
    with pytest.raises(ValueError, match="one row per row of ids"):
        _train(model, targets=targets)
    assert all(np.array_equal(model.params[k], before[k]) for k in before)


def test_accuracy_counts_only_masked_positions():
    assert isinstance(_per_step(), SequenceModel)
    assert accuracy(np.array([1, 2, 3]), np.array([1, 0, 3]),
                    np.array([True, True, False])) == 0.5
