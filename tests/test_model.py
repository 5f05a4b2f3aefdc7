"""Tests for rnn.model: shapes, gradient checks of the language-model loss, validation."""
import numpy as np
import pytest

from rnn.functional import softmax_cross_entropy
from rnn.gradcheck import numerical_gradient, relative_error
from rnn.model import begin_state, init_language_model, lm_forward, lm_loss_and_grads, lm_param_shapes

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
    model = init_language_model(V, H, kind, num_layers=num_layers, embed_size=embed_size,
                                bidirectional=bidirectional, rng=rng, dtype=np.float64, **extra)
    model.params["b_q"][:] = rng.normal(size=V)   # b_q starts at 0: make its gradient less special
    X, Y = _batch(rng)
    state = _random_state(model, rng)
    mask = np.ones((B, T))
    mask[1, 2:] = 0                                  # the second sequence is shorter
    loss, grads, _ = lm_loss_and_grads(model, X, Y, state, mask)
    assert set(grads) == set(model.params)
    for k, p in model.params.items():
        assert grads[k].shape == p.shape and grads[k].dtype == p.dtype, k
        # ε = 1e-4: the deep-layer gradients are ~1e-5, so a smaller ε drowns them in round-off
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
    model = init_language_model(7, 6, kind, num_layers=2, embed_size=embed_size, bidirectional=True, rng=rng)
    assert {k: p.shape for k, p in model.params.items()} == lm_param_shapes(model.spec, 7, embed_size)
    assert all(p.dtype == np.float32 for p in model.params.values())
    ids = rng.integers(0, 7, size=(3, 5))
    O, state, _ = lm_forward(model, ids)
    assert O.shape == (3, 5, 7) and O.dtype == np.float32
    parts = state if kind == "lstm" else (state,)
    assert all(s.shape == (4, 3, 6) for s in parts)
    assert model.params["W_hq"].shape == (12, 7)
    # the state carries: running two halves with the state equals running the whole sequence
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


def test_bad_ids_and_state_raise():
    rng = np.random.default_rng(0)
    model = init_language_model(V, H, "gru", rng=rng)
    X, Y = _batch(rng)
    with pytest.raises(ValueError, match=r"\[0, 5\).*got values from 0 to 5"):
        lm_forward(model, np.array([[0, 5]]))
    with pytest.raises(ValueError, match="Y must lie in"):
        lm_loss_and_grads(model, X, np.full_like(Y, -1))
    with pytest.raises(TypeError, match="integer"):
        lm_forward(model, X.astype(np.float32))
    with pytest.raises(ValueError, match=r"shape \(B, T\)"):
        lm_forward(model, X[0])
    with pytest.raises(ValueError, match="Y must have the shape of X"):
        lm_loss_and_grads(model, X, Y[:, :2])
    with pytest.raises(ValueError, match="mask must have the shape"):
        lm_loss_and_grads(model, X, Y, mask=np.ones(T))
    with pytest.raises(ValueError, match=r"\(num_layers\*num_directions, B, H\)"):
        lm_forward(model, X, np.zeros((1, B + 1, H), np.float32))
    with pytest.raises(TypeError, match="dtype"):
        lm_forward(model, X, np.zeros((1, B, H), np.float64))
    lstm = init_language_model(V, H, "lstm", rng=rng)
    with pytest.raises(TypeError, match=r"tuple \(H, C\)"):
        lm_forward(lstm, X, np.zeros((1, B, H), np.float32))


def test_init_validation():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="vocab_size"):
        init_language_model(0, 3, rng=rng)
    with pytest.raises(ValueError, match="embed_size"):
        init_language_model(5, 3, embed_size=0, rng=rng)
    with pytest.raises(ValueError, match="kind"):
        init_language_model(5, 3, "transformer", rng=rng)
    with pytest.raises(TypeError, match="rng"):
        init_language_model(5, 3, rng=0)
