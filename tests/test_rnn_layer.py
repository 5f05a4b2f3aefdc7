"""Tests for rnn.rnn_layer: the vanilla RNN's step and sequence functions, forward and
backward."""

import numpy as np
import pytest

from rnn.rnn_layer import (
    RNNCache,
    init_rnn_params,
    rnn_backward,
    rnn_forward,
    rnn_step_backward,
    rnn_step_forward,
)

from gradient_helpers import SHAPES, assert_gradients, masked_ce

NONLINEARITIES = ["tanh", "relu"]


def make_problem(T, B, D, H, Q=4, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    params = init_rnn_params(D, H, rng, dtype)
    X = rng.standard_normal((T, B, D)).astype(dtype)
    H0 = rng.standard_normal((B, H)).astype(dtype)
    W_hq = rng.standard_normal((H, Q)).astype(dtype)
    y = rng.integers(0, Q, size=(T, B))
    mask = rng.random((T, B)) < 0.7
    mask[0, 0] = True                     # at least one counted token
    g_T = rng.standard_normal((B, H)).astype(dtype)
    return params, X, H0, W_hq, y, mask, g_T


# --------------------------------------------------------------------------------------
# Initialisation
# --------------------------------------------------------------------------------------

def test_init_shapes_dtype_range_and_seed():
    params = init_rnn_params(5, 4, np.random.default_rng(0))
    assert {k: v.shape for k, v in params.items()} == {
        "W_xh": (5, 4),
        "W_hh": (4, 4),
        "b_h": (4,),
    }
    assert all(v.dtype == np.float32 for v in params.values())
    assert all(np.abs(v).max() <= 1 / np.sqrt(4) for v in params.values())
    again = init_rnn_params(5, 4, np.random.default_rng(0))
    assert all(np.array_equal(params[k], again[k]) for k in params)
    other = init_rnn_params(5, 4, np.random.default_rng(1))
    assert not np.array_equal(params["W_xh"], other["W_xh"])
    assert (
        init_rnn_params(5, 4, np.random.default_rng(0), np.float64)["W_hh"].dtype
        == np.float64
    )


def test_init_rejects_bad_arguments():
    with pytest.raises(ValueError, match=r"H must be an integer ≥ 1; got 0"):
        init_rnn_params(3, 0, np.random.default_rng(0))
    with pytest.raises(TypeError, match=r"rng must be an int seed or a numpy Generator"):
        init_rnn_params(3, 2, 0.5)
    # an int seed is accepted everywhere alike, and equals the Generator it names
    a, b = init_rnn_params(3, 2, 7), init_rnn_params(3, 2, np.random.default_rng(7))
    assert all(np.array_equal(a[k], b[k]) for k in a)
    with pytest.raises(TypeError, match=r"dtype must be a floating type"):
        init_rnn_params(3, 2, np.random.default_rng(0), np.int64)


# --------------------------------------------------------------------------------------
# The formulas, literally
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("nonlinearity", NONLINEARITIES)
def test_step_is_the_formula(nonlinearity):
    params, X, H0, *_ = make_problem(2, 3, 3, 4)
    X_t = X[0]
    H_t, cache = rnn_step_forward(X_t, H0, params, nonlinearity)
    A = X_t @ params["W_xh"] + H0 @ params["W_hh"] + params["b_h"]
    expected = np.tanh(A) if nonlinearity == "tanh" else np.maximum(A, 0)
    np.testing.assert_allclose(H_t, expected, rtol=1e-15, atol=0)
    assert cache.H_t is H_t and cache.X_t is X_t and cache.H_prev is H0


def test_zero_weights_give_phi_of_bias():
    params = {
        "W_xh": np.zeros((2, 3)),
        "W_hh": np.zeros((3, 3)),
        "b_h": np.array([-1.0, 0.5, 2.0]),
    }
    X = np.ones((3, 2, 2))
    Hs, _ = rnn_forward(X, None, params, "relu")
    np.testing.assert_array_equal(Hs, np.broadcast_to([0.0, 0.5, 2.0], (3, 2, 3)))


def test_none_initial_state_means_zeros():
    params, X, _, *_ = make_problem(3, 2, 3, 3)
    Hs_none, _ = rnn_forward(X, None, params)
    Hs_zero, _ = rnn_forward(X, np.zeros((2, 3)), params)
    np.testing.assert_array_equal(Hs_none, Hs_zero)


# --------------------------------------------------------------------------------------
# Gradient checks (float64)
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("nonlinearity", NONLINEARITIES)
def test_step_gradients(nonlinearity):
    params, X, H0, *_ = make_problem(1, 3, 3, 3, seed=1)
    X_t = X[0]
    G = np.random.default_rng(5).standard_normal((3, 3))

    def loss():
        return float((rnn_step_forward(X_t, H0, params, nonlinearity)[0] * G).sum())

    _, cache = rnn_step_forward(X_t, H0, params, nonlinearity)
    dX_t, dH_prev, grads = rnn_step_backward(G, cache, params)
    assert_gradients(
        loss,
        {"X_t": X_t, "H_prev": H0, **params},
        {"X_t": dX_t, "H_prev": dH_prev, **grads},
    )


@pytest.mark.parametrize("nonlinearity", NONLINEARITIES)
@pytest.mark.parametrize("T, B, D, H", SHAPES)
def test_sequence_gradients_with_masked_loss_and_final_state(nonlinearity, T, B, D, H):
    """L = masked CE(Hs W_hq) + Σ H_T ⊙ g_T: covers dHs (with masked steps), dH_T, dX,
    dH0 and every parameter."""
    params, X, H0, W_hq, y, mask, g_T = make_problem(T, B, D, H, seed=2)

    def loss():
        Hs, _ = rnn_forward(X, H0, params, nonlinearity)
        return masked_ce(Hs, W_hq, y, mask)[0] + float((Hs[-1] * g_T).sum())

    Hs, cache = rnn_forward(X, H0, params, nonlinearity)
    _, dHs = masked_ce(Hs, W_hq, y, mask)
    dX, dH0, grads = rnn_backward(dHs, cache, dH_T=g_T)
    assert_gradients(loss, {"X": X, "H0": H0, **params}, {"X": dX, "H0": dH0, **grads})


def test_sequence_gradients_without_initial_state_or_dHs():
    """H0 = None (zeros) and dHs = None: only the final state carries a gradient (a
    many-to-one model)."""
    params, X, _, _, _, _, g_T = make_problem(4, 2, 3, 3, seed=3)

    def loss():
        return float((rnn_forward(X, None, params)[0][-1] * g_T).sum())

    _, cache = rnn_forward(X, None, params)
    dX, dH0, grads = rnn_backward(None, cache, dH_T=g_T)
    assert_gradients(loss, {"X": X, **params}, {"X": dX, **grads})
    H0 = np.zeros((2, 3))
    assert_gradients(
        lambda: float((rnn_forward(X, H0, params)[0][-1] * g_T).sum()),
        {"H0": H0},
        {"H0": dH0},
    )


# --------------------------------------------------------------------------------------
# The sequence functions are the loop of the step functions
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("nonlinearity", NONLINEARITIES)
def test_sequence_equals_loop_of_steps(nonlinearity):
    params, X, H0, *_ = make_problem(4, 3, 3, 3, seed=4)
    rng = np.random.default_rng(6)
    dHs, dH_T = rng.standard_normal((4, 3, 3)), rng.standard_normal((3, 3))

    # Forward: the sequence runs the step's own body, so the numbers are identical.
    # Backward: the sums over t run in another order, so equal to rounding only.
    Hs, cache = rnn_forward(X, H0, params, nonlinearity)
    dX, dH0, grads = rnn_backward(dHs, cache, dH_T)

    H, steps = H0, []
    for t in range(4):
        H, step_cache = rnn_step_forward(X[t], H, params, nonlinearity)
        steps.append(step_cache)
        np.testing.assert_array_equal(Hs[t], H)
    dH_next, loop_grads, loop_dX = (
        dH_T,
        {k: np.zeros_like(v) for k, v in params.items()},
        np.zeros_like(X),
    )
    for t in reversed(range(4)):
        loop_dX[t], dH_next, g = rnn_step_backward(dHs[t] + dH_next, steps[t], params)
        for k in g:
            loop_grads[k] += g[k]
    np.testing.assert_allclose(dX, loop_dX, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dH0, dH_next, rtol=1e-12, atol=1e-14)
    for k in params:
        np.testing.assert_allclose(grads[k], loop_grads[k], rtol=1e-12, atol=1e-14)


# --------------------------------------------------------------------------------------
# dtypes and caches
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("nonlinearity", NONLINEARITIES)
def test_float32_stays_float32(nonlinearity):
    params, X, H0, *_ = make_problem(3, 2, 3, 4, dtype=np.float32)
    Hs, cache = rnn_forward(X, H0, params, nonlinearity)
    dX, dH0, grads = rnn_backward(np.ones_like(Hs), cache, np.ones_like(H0))
    H_t, step_cache = rnn_step_forward(X[0], H0, params, nonlinearity)
    dX_t, dH_prev, step_grads = rnn_step_backward(np.ones_like(H_t), step_cache, params)
    for a in (Hs, dX, dH0, H_t, dX_t, dH_prev, *grads.values(), *step_grads.values()):
        assert a.dtype == np.float32
    assert isinstance(cache, RNNCache) and cache.Hs is Hs
    assert {k: v.shape for k, v in grads.items()} == {
        k: v.shape for k, v in params.items()
    }


# --------------------------------------------------------------------------------------
# Bad inputs
# --------------------------------------------------------------------------------------

def test_bad_inputs_raise_with_the_expected_shape_or_type():
    params, X, H0, *_ = make_problem(4, 3, 3, 5)
    with pytest.raises(
        ValueError, match=r"X must have shape \(T, B, D\) with D = 3; got \(4, 3\)"
    ):
        rnn_forward(X[:, :, 0], H0, params)
    with pytest.raises(
        ValueError, match=r"X must have shape \(T, B, D\) with D = 3; got \(4, 3, 2\)"
    ):
        rnn_forward(X[:, :, :2], H0, params)
    with pytest.raises(
        ValueError, match=r"at least one time step.*T ≥ 1; got \(0, 3, 3\)"
    ):
        rnn_forward(X[:0], H0, params)
    with pytest.raises(
        ValueError, match=r"H0 must have shape \(B, H\) = \(3, 5\); got \(2, 5\)"
    ):
        rnn_forward(X, H0[:2], params)
    with pytest.raises(
        TypeError,
        match=r"X has dtype float32 but the RNN parameters have dtype float64",
    ):
        rnn_forward(X.astype(np.float32), H0, params)
    with pytest.raises(
        TypeError,
        match=r"H0 has dtype float32 but the RNN parameters have dtype float64",
    ):
        rnn_forward(X, H0.astype(np.float32), params)
    X_nan = X.copy()
    X_nan[2, 1, 0] = np.nan
    with pytest.raises(ValueError, match=r"X contains NaN or infinity"):
        rnn_forward(X_nan, H0, params)
    with pytest.raises(
        TypeError, match=r"X must be a numpy array of shape \(T, B, D\); got list"
    ):
        rnn_forward(X.tolist(), H0, params)
    with pytest.raises(
        ValueError,
        match=r"nonlinearity must be one of \('tanh', 'relu'\); got 'sigmoid'",
    ):
        rnn_forward(X, H0, params, "sigmoid")
    with pytest.raises(ValueError, match=r"RNN params are missing \['b_h'\]"):
        rnn_forward(X, H0, {k: v for k, v in params.items() if k != "b_h"})
    with pytest.raises(
        ValueError,
        match=r"RNN parameter W_hh must have shape \(H, H\) = \(5, 5\); got \(5, 4\)",
    ):
        rnn_forward(X, H0, {**params, "W_hh": params["W_hh"][:, :4]})
    with pytest.raises(
        TypeError,
        match=r"all RNN parameters must share one dtype; "
        r"W_xh is float64 but b_h is float32",
    ):
        rnn_forward(X, H0, {**params, "b_h": params["b_h"].astype(np.float32)})


def test_step_and_backward_validate_too():
    params, X, H0, *_ = make_problem(2, 3, 3, 5)
    with pytest.raises(
        ValueError, match=r"X_t must have shape \(B, D\) with D = 3; got \(3, 4\)"
    ):
        rnn_step_forward(np.zeros((3, 4)), H0, params)
    with pytest.raises(
        ValueError, match=r"H_prev must have shape \(B, H\) = \(3, 5\); got \(3, 4\)"
    ):
        rnn_step_forward(X[0], H0[:, :4], params)
    with pytest.raises(ValueError, match=r"X_t contains NaN"):
        rnn_step_forward(np.full((3, 3), np.inf), H0, params)
    H_t, step_cache = rnn_step_forward(X[0], H0, params)
    with pytest.raises(
        ValueError, match=r"dH_t must have shape \(B, H\) = \(3, 5\); got \(5,\)"
    ):
        rnn_step_backward(H_t[0], step_cache, params)
    Hs, cache = rnn_forward(X, H0, params)
    with pytest.raises(
        ValueError, match=r"dHs must have shape \(T, B, H\) = \(2, 3, 5\); got \(3, 5\)"
    ):
        rnn_backward(Hs[0], cache)
    with pytest.raises(
        ValueError, match=r"dH_T must have shape \(B, H\) = \(3, 5\); got \(2, 3, 5\)"
    ):
        rnn_backward(Hs, cache, Hs)
    with pytest.raises(
        TypeError,
        match=r"dHs has dtype float32 but the RNN parameters have dtype float64",
    ):
        rnn_backward(Hs.astype(np.float32), cache)
