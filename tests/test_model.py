"""Tests for rnn.model: shapes, gradient checks of the language-model loss,
validation."""
import numpy as np
import pytest

from rnn.functional import softmax_cross_entropy
from rnn.gradcheck import numerical_gradient, relative_error
from rnn.model import (
    begin_state,
    init_language_model,
    lm_forward,
    lm_loss_and_grads,
    lm_param_shapes,
)

V, H, B, T = 5, 3, 2, 4


def _batch(rng, V=V, B=B, T=T):
    X = rng.integers(0, V, size=(B, T))
    Y = rng.integers(0, V, size=(B, T))
    return X, Y


def _loss(model, X, Y, state=None, mask=None):
    """The loss alone (forward pass only), for the numerical gradients."""
    O, _, _ = lm_forward(model, X, state)
    return softmax_cross_entropy(O, Y, mask)[0]


def _random_state(model, rng):
    S = begin_state(model, B)
    if isinstance(S, tuple):
        return tuple(rng.uniform(-0.5, 0.5, size=s.shape) for s in S)
    return rng.uniform(-0.5, 0.5, size=S.shape)


CONFIGS = [
    # (kind, embed_size, num_layers, bidirectional, extra)
    ("rnn", None, 1, False, {}),
    ("rnn", 3, 2, False, {}),
    ("rnn", 3, 1, True, {}),
    ("gru", None, 1, False, {}),
    ("gru", 3, 2, True, {}),
    ("gru", 3, 1, False, {"reset_after": True}),
    ("lstm", None, 1, False, {}),
    ("lstm", 3, 2, False, {}),
    ("lstm", None, 2, True, {}),
]


@pytest.mark.parametrize("kind, embed_size, num_layers, bidirectional, extra", CONFIGS)
def test_gradient_check(kind, embed_size, num_layers, bidirectional, extra):
    rng = np.random.default_rng(0)
    model = init_language_model(V, H, kind, num_layers=num_layers,
                                embed_size=embed_size, bidirectional=bidirectional,
                                rng=rng, dtype=np.float64, **extra)
    # b_q starts at 0: make its gradient less special
    model.params["b_q"][:] = rng.normal(size=V)
    X, Y = _batch(rng)
    state = _random_state(model, rng)
    mask = np.ones((B, T))
    mask[1, 2:] = 0                                  # the second sequence is shorter
    loss, grads, _ = lm_loss_and_grads(model, X, Y, state, mask)
    assert set(grads) == set(model.params)
    for k, p in model.params.items():
        assert grads[k].shape == p.shape and grads[k].dtype == p.dtype, k
        # ε = 1e-4: the deep-layer gradients are ~1e-5, so a smaller ε drowns them in
        # round-off
        num = numerical_gradient(lambda: _loss(model, X, Y, state, mask), p, eps=1e-4)
        assert relative_error(grads[k], num) < 1e-6, k


def test_gradient_check_defaults_without_mask_or_state():
    rng = np.random.default_rng(1)
    model = init_language_model(V, H, "gru", embed_size=2, rng=rng, dtype=np.float64)
    X, Y = _batch(rng)
    _, grads, _ = lm_loss_and_grads(model, X, Y)
    for k, p in model.params.items():
        num = numerical_gradient(lambda: _loss(model, X, Y), p, eps=1e-4)
        assert relative_error(grads[k], num) < 1e-6, k


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("embed_size", [None, 4])
def test_shapes_and_dtype(kind, embed_size):
    rng = np.random.default_rng(0)
    model = init_language_model(7, 6, kind, num_layers=2, embed_size=embed_size,
                                bidirectional=True, rng=rng)
    shapes = lm_param_shapes(model.spec, 7, embed_size)
    assert {k: p.shape for k, p in model.params.items()} == shapes
    assert all(p.dtype == np.float32 for p in model.params.values())
    ids = rng.integers(0, 7, size=(3, 5))
    O, state, _ = lm_forward(model, ids)
    assert O.shape == (3, 5, 7) and O.dtype == np.float32
    parts = state if kind == "lstm" else (state,)
    assert all(s.shape == (4, 3, 6) for s in parts)
    assert model.params["W_hq"].shape == (12, 7)
    # the state carries: running two halves with the state equals running the whole
    # sequence
    O1, s1, _ = lm_forward(model, ids[:, :2])
    O2, _, _ = lm_forward(model, ids[:, 2:], s1)
    if not model.spec.bidirectional:
        np.testing.assert_allclose(np.concatenate([O1, O2], axis=1), O, atol=1e-6)


def test_state_carries_like_one_long_sequence():
    rng = np.random.default_rng(0)
    model = init_language_model(V, H, "lstm", num_layers=2, rng=rng)
    ids = rng.integers(0, V, size=(B, 6))
    O, _, _ = lm_forward(model, ids)
    O1, s1, _ = lm_forward(model, ids[:, :4])
    O2, _, _ = lm_forward(model, ids[:, 4:], s1)
    np.testing.assert_allclose(np.concatenate([O1, O2], axis=1), O, atol=1e-6)


def test_initial_loss_is_about_log_V():
    rng = np.random.default_rng(0)
    model = init_language_model(50, 8, "rnn", rng=rng)
    X, Y = _batch(rng, V=50, B=8, T=10)
    loss, _, _ = lm_loss_and_grads(model, X, Y)
    assert abs(loss - np.log(50)) < 0.2


def _gru():
    return init_language_model(V, H, "gru", rng=np.random.default_rng(0))


def _lstm():
    return init_language_model(V, H, "lstm", rng=np.random.default_rng(0))


def _with_nan(name="l0.fwd.W_hz", value=np.nan):
    model = _gru()
    model.params[name][0] = value
    return model


X_OK = np.array([[0, 1, 2, 3], [4, 3, 2, 1]])
Y_OK = np.array([[1, 2, 3, 4], [3, 2, 1, 0]])

FORWARD_CASES = [
    # (id, call, error, message)
    ("id out of range", lambda: lm_forward(_gru(), np.array([[0, 5]])), ValueError,
     r"ids must lie in \[0, V\) = \[0, 5\); got values from 0 to 5"),
    ("negative target", lambda: lm_loss_and_grads(_gru(), X_OK, np.full_like(Y_OK, -1)),
     ValueError, r"targets must lie in \[0, V\)"),
    ("float ids", lambda: lm_forward(_gru(), X_OK.astype(np.float32)), TypeError,
     r"ids must be an integer numpy array of token ids, shape \(B, T\); got float32"),
    ("ids as a list", lambda: lm_forward(_gru(), [[0, 1]]), TypeError,
     r"ids must be an integer numpy array.*got list"),
    ("1-D ids", lambda: lm_forward(_gru(), X_OK[0]), ValueError,
     r"ids must have shape \(B, T\) with B, T ≥ 1"),
    ("3-D ids", lambda: lm_forward(_gru(), X_OK[None]), ValueError,
     r"ids must have shape \(B, T\)"),
    ("Y shorter than X", lambda: lm_loss_and_grads(_gru(), X_OK, Y_OK[:, :2]),
     ValueError,
     r"targets must have the shape of ids, \(B, T\) = \(2, 4\); got \(2, 2\)"),
    ("float Y", lambda: lm_loss_and_grads(_gru(), X_OK, Y_OK.astype(float)), TypeError,
     r"targets must be an integer numpy array"),
    ("mask of another shape", lambda: lm_loss_and_grads(_gru(), X_OK, Y_OK,
                                                        mask=np.ones(T)),
     ValueError, r"mask must have the shape of ids, \(B, T\) = \(2, 4\); got \(4,\)"),
    ("mask with a 2", lambda: lm_loss_and_grads(_gru(), X_OK, Y_OK,
                                                mask=np.full((B, T), 2)),
     ValueError, r"mask must hold 0/1 or booleans"),
    ("state of another batch size",
     lambda: lm_forward(_gru(), X_OK, np.zeros((1, B + 1, H), np.float32)), ValueError,
     r"\(num_layers\*num_directions, B, H\)"),
    ("state of another dtype", lambda: lm_forward(_gru(), X_OK, np.zeros((1, B, H))),
     TypeError, r"dtype"),
    ("lstm state not a tuple",
     lambda: lm_forward(_lstm(), X_OK, np.zeros((1, B, H), np.float32)), TypeError,
     r"tuple \(H, C\)"),
    ("NaN state",
     lambda: lm_forward(_gru(), X_OK, np.full((1, B, H), np.nan, np.float32)),
     ValueError, r"NaN or infinity"),
    ("params dict instead of model", lambda: lm_forward(_gru().params, X_OK), TypeError,
     r"lm_forward needs a LanguageModel.*got dict"),
    ("NaN parameter in lm_forward", lambda: lm_forward(_with_nan(), X_OK), ValueError,
     r"lm_forward: parameter 'l0.fwd.W_hz' contains NaN or infinity"),
    ("inf parameter in lm_loss_and_grads",
     lambda: lm_loss_and_grads(_with_nan("b_q", np.inf), X_OK, Y_OK), ValueError,
     r"lm_loss_and_grads: parameter 'b_q' contains NaN or infinity"),
    ("begin_state with B = 0", lambda: begin_state(_gru(), 0), ValueError,
     r"batch_size must be an integer ≥ 1; got 0"),
    ("begin_state of a dict", lambda: begin_state(_gru().params, 2), TypeError,
     r"begin_state needs a LanguageModel"),
]


@pytest.mark.parametrize("call, error, message", [c[1:] for c in FORWARD_CASES],
                         ids=[c[0] for c in FORWARD_CASES])
def test_bad_forward_inputs_raise(call, error, message):
    with pytest.raises(error, match=message):
        call()


INIT_CASES = [
    # (id, keyword arguments over (vocab_size=5, hidden_size=3, rng=0), error, message)
    ("vocab_size 0", dict(vocab_size=0), ValueError,
     r"vocab_size must be an integer ≥ 1"),
    ("vocab_size float", dict(vocab_size=5.0), ValueError,
     r"vocab_size must be an integer ≥ 1; got 5.0"),
    ("hidden_size 0", dict(hidden_size=0), ValueError,
     r"hidden_size must be an integer ≥ 1"),
    ("hidden_size float", dict(hidden_size=2.5), ValueError,
     r"hidden_size must be an integer"),
    ("embed_size 0", dict(embed_size=0), ValueError,
     r"embed_size must be None \(one-hot input\) or an integer ≥ 1"),
    ("unknown kind", dict(kind="transformer"), ValueError, r"kind must be one of"),
    ("num_layers 0", dict(num_layers=0), ValueError,
     r"num_layers must be an integer ≥ 1"),
    ("bidirectional a str", dict(bidirectional="yes"), ValueError,
     r"bidirectional must be True or False"),
    ("integer dtype", dict(dtype=np.int32), TypeError,
     r"dtype must be a floating type"),
    ("unknown dtype", dict(dtype="foo"), TypeError, r"dtype must be a floating type"),
    ("rng a float", dict(rng=1.5), TypeError,
     r"rng must be an int seed or a numpy Generator.*got float"),
    ("rng None", dict(rng=None), TypeError,
     r"rng must be an int seed or a numpy Generator"),
    ("rng a legacy RandomState", dict(rng=np.random.RandomState(0)), TypeError,
     r"rng must be an int seed or a numpy Generator.*got RandomState"),
    ("negative seed", dict(rng=-1), ValueError, r"rng must be an int seed ≥ 0"),
]


@pytest.mark.parametrize("kwargs, error, message", [c[1:] for c in INIT_CASES],
                         ids=[c[0] for c in INIT_CASES])
def test_bad_init_arguments_raise(kwargs, error, message):
    args = dict(vocab_size=5, hidden_size=3, rng=0) | kwargs
    with pytest.raises(error, match=message):
        init_language_model(args.pop("vocab_size"), args.pop("hidden_size"), **args)


def test_an_int_seed_and_a_generator_give_the_same_model():
    a = init_language_model(V, H, "lstm", embed_size=2, rng=3)
    b = init_language_model(V, H, "lstm", embed_size=2, rng=np.random.default_rng(3))
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])
