"""Tests for rnn.gru: the GRU's step and sequence functions (reset-before and
reset-after), forward and backward."""

import numpy as np
import pytest

from rnn.functional import sigmoid
from rnn.gru import (
    GRU_PARAM_NAMES,
    GRUCache,
    gru_backward,
    gru_forward,
    gru_step_backward,
    gru_step_forward,
    init_gru_params,
)

from gradient_helpers import SHAPES, assert_gradients, masked_ce

VARIANTS = [False, True]                                # reset_after


def make_problem(T, B, D, H, reset_after=False, Q=4, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    params = init_gru_params(D, H, rng, dtype, reset_after=reset_after)
    X = rng.standard_normal((T, B, D)).astype(dtype)
    H0 = rng.standard_normal((B, H)).astype(dtype)
    W_hq = rng.standard_normal((H, Q)).astype(dtype)
    y = rng.integers(0, Q, size=(T, B))
    mask = rng.random((T, B)) < 0.7
    mask[0, 0] = True
    g_T = rng.standard_normal((B, H)).astype(dtype)
    return params, X, H0, W_hq, y, mask, g_T


# --------------------------------------------------------------------------------------
# Initialisation
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("reset_after", VARIANTS)
def test_init_shapes_dtype_and_range(reset_after):
    params = init_gru_params(5, 4, np.random.default_rng(0), reset_after=reset_after)
    expected_names = GRU_PARAM_NAMES + (("b_hh",) if reset_after else ())
    assert tuple(params) == expected_names
    for name, p in params.items():
        shape = (
            (5, 4)
            if name.startswith("W_x")
            else (4, 4) if name.startswith("W_h") else (4,)
        )
        assert p.shape == shape and p.dtype == np.float32
        assert np.abs(p).max() <= 0.5
    again = init_gru_params(5, 4, np.random.default_rng(0), reset_after=reset_after)
    assert all(np.array_equal(params[k], again[k]) for k in params)


# --------------------------------------------------------------------------------------
# The formulas, literally
# --------------------------------------------------------------------------------------

def test_step_is_the_formula_reset_before():
    p, X, H0, *_ = make_problem(1, 3, 3, 4, seed=1)
    X_t = X[0]
    H_t, cache = gru_step_forward(X_t, H0, p)
    R = 1 / (1 + np.exp(-(X_t @ p["W_xr"] + H0 @ p["W_hr"] + p["b_r"])))
    Z = 1 / (1 + np.exp(-(X_t @ p["W_xz"] + H0 @ p["W_hz"] + p["b_z"])))
    H_tilde = np.tanh(X_t @ p["W_xh"] + (R * H0) @ p["W_hh"] + p["b_h"])
    np.testing.assert_allclose(cache.R, R, rtol=1e-14)
    np.testing.assert_allclose(cache.Z, Z, rtol=1e-14)
    np.testing.assert_allclose(cache.H_tilde, H_tilde, rtol=1e-14)
    np.testing.assert_allclose(H_t, Z * H0 + (1 - Z) * H_tilde, rtol=1e-14)


def test_step_is_the_formula_reset_after():
    p, X, H0, *_ = make_problem(1, 3, 3, 4, reset_after=True, seed=1)
    X_t = X[0]
    H_t, cache = gru_step_forward(X_t, H0, p, reset_after=True)
    R = sigmoid(X_t @ p["W_xr"] + H0 @ p["W_hr"] + p["b_r"])
    Z = sigmoid(X_t @ p["W_xz"] + H0 @ p["W_hz"] + p["b_z"])
    H_tilde = np.tanh(X_t @ p["W_xh"] + p["b_h"] + R * (H0 @ p["W_hh"] + p["b_hh"]))
    np.testing.assert_allclose(H_t, Z * H0 + (1 - Z) * H_tilde, rtol=1e-14)


@pytest.mark.parametrize("reset_after", VARIANTS)
def test_update_gate_one_keeps_the_state(reset_after):
    """A large b_z drives Z_t to 1: H_t = H_{t-1} at every step, whatever the input."""
    p, X, H0, *_ = make_problem(4, 3, 3, 4, reset_after=reset_after, seed=2)
    p["b_z"][:] = 50.0
    Hs, cache = gru_forward(X, H0, p, reset_after)
    np.testing.assert_allclose(cache.Z, 1.0, atol=1e-15)
    np.testing.assert_allclose(Hs, np.broadcast_to(H0, Hs.shape), atol=1e-15)


@pytest.mark.parametrize("reset_after", VARIANTS)
def test_update_gate_zero_takes_the_candidate_and_reset_zero_forgets(reset_after):
    """Z_t → 0 and R_t → 0: H_t = H̃_t = tanh(X_t W_xh + b_h), the state is ignored in
    both variants."""
    p, X, H0, *_ = make_problem(3, 2, 3, 4, reset_after=reset_after, seed=3)
    p["b_z"][:] = -50.0
    p["b_r"][:] = -50.0
    Hs, _ = gru_forward(X, H0, p, reset_after)
    np.testing.assert_allclose(Hs, np.tanh(X @ p["W_xh"] + p["b_h"]), atol=1e-14)


def test_reset_before_and_after_differ_but_agree_when_reset_gate_is_one():
    p, X, H0, *_ = make_problem(3, 2, 3, 4, reset_after=True, seed=4)
    p_before = {k: v for k, v in p.items() if k != "b_hh"}
    p["b_hh"][:] = 0.0
    Hs_before, _ = gru_forward(X, H0, p_before)
    Hs_after, _ = gru_forward(X, H0, p, reset_after=True)
    assert np.abs(Hs_before - Hs_after).max() > 1e-3  # same weights, different numbers
    for q in (p, p_before):
        q["b_r"][:] = 50.0  # R = 1: R ⊙ (H W_hh) = (R ⊙ H) W_hh
    Hs_before, _ = gru_forward(X, H0, p_before)
    Hs_after, _ = gru_forward(X, H0, p, reset_after=True)
    np.testing.assert_allclose(Hs_before, Hs_after, rtol=1e-13, atol=1e-15)


# --------------------------------------------------------------------------------------
# Gradient checks (float64)
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("reset_after", VARIANTS)
def test_step_gradients(reset_after):
    p, X, H0, *_ = make_problem(1, 3, 3, 3, reset_after=reset_after, seed=5)
    X_t = X[0]
    G = np.random.default_rng(5).standard_normal((3, 3))

    def loss():
        return float((gru_step_forward(X_t, H0, p, reset_after)[0] * G).sum())

    _, cache = gru_step_forward(X_t, H0, p, reset_after)
    dX_t, dH_prev, grads = gru_step_backward(G, cache, p)
    assert set(grads) == set(p)
    assert_gradients(
        loss, {"X_t": X_t, "H_prev": H0, **p}, {"X_t": dX_t, "H_prev": dH_prev, **grads}
    )


@pytest.mark.parametrize("reset_after", VARIANTS)
@pytest.mark.parametrize("T, B, D, H", SHAPES)
def test_sequence_gradients_with_masked_loss_and_final_state(reset_after, T, B, D, H):
    p, X, H0, W_hq, y, mask, g_T = make_problem(
        T, B, D, H, reset_after=reset_after, seed=6
    )

    def loss():
        Hs, _ = gru_forward(X, H0, p, reset_after)
        return masked_ce(Hs, W_hq, y, mask)[0] + float((Hs[-1] * g_T).sum())

    Hs, cache = gru_forward(X, H0, p, reset_after)
    _, dHs = masked_ce(Hs, W_hq, y, mask)
    dX, dH0, grads = gru_backward(dHs, cache, dH_T=g_T)
    assert set(grads) == set(p)
    assert_gradients(loss, {"X": X, "H0": H0, **p}, {"X": dX, "H0": dH0, **grads})


@pytest.mark.parametrize("reset_after", VARIANTS)
def test_sequence_gradients_without_initial_state_or_dH_T(reset_after):
    p, X, _, W_hq, y, mask, _ = make_problem(
        3, 2, 2, 3, reset_after=reset_after, seed=7
    )

    def loss():
        return masked_ce(gru_forward(X, None, p, reset_after)[0], W_hq, y, mask)[0]

    Hs, cache = gru_forward(X, None, p, reset_after)
    dX, _, grads = gru_backward(masked_ce(Hs, W_hq, y, mask)[1], cache)
    assert_gradients(loss, {"X": X, **p}, {"X": dX, **grads})


# --------------------------------------------------------------------------------------
# The sequence functions are the loop of the step functions
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("reset_after", VARIANTS)
def test_sequence_equals_loop_of_steps(reset_after):
    p, X, H0, *_ = make_problem(4, 3, 3, 3, reset_after=reset_after, seed=8)
    rng = np.random.default_rng(9)
    dHs, dH_T = rng.standard_normal((4, 3, 3)), rng.standard_normal((3, 3))

    # Forward: the sequence runs the step's own body, so the numbers are identical.
    # Backward: the sums over t run in another order, so equal to rounding only.
    Hs, cache = gru_forward(X, H0, p, reset_after)
    dX, dH0, grads = gru_backward(dHs, cache, dH_T)

    H, steps = H0, []
    for t in range(4):
        H, step_cache = gru_step_forward(X[t], H, p, reset_after)
        steps.append(step_cache)
        np.testing.assert_array_equal(Hs[t], H)
        np.testing.assert_array_equal(cache.R[t], step_cache.R)
        np.testing.assert_array_equal(cache.Z[t], step_cache.Z)
    dH_next, loop_grads, loop_dX = (
        dH_T,
        {k: np.zeros_like(v) for k, v in p.items()},
        np.zeros_like(X),
    )
    for t in reversed(range(4)):
        loop_dX[t], dH_next, g = gru_step_backward(dHs[t] + dH_next, steps[t], p)
        for k in g:
            loop_grads[k] += g[k]
    np.testing.assert_allclose(dX, loop_dX, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dH0, dH_next, rtol=1e-12, atol=1e-14)
    for k in p:
        np.testing.assert_allclose(grads[k], loop_grads[k], rtol=1e-12, atol=1e-14)


# --------------------------------------------------------------------------------------
# dtypes and caches
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("reset_after", VARIANTS)
def test_float32_stays_float32_and_cache_exposes_gates(reset_after):
    p, X, H0, *_ = make_problem(3, 2, 3, 4, reset_after=reset_after, dtype=np.float32)
    Hs, cache = gru_forward(X, H0, p, reset_after)
    dX, dH0, grads = gru_backward(np.ones_like(Hs), cache, np.ones_like(H0))
    H_t, step_cache = gru_step_forward(X[0], H0, p, reset_after)
    dX_t, dH_prev, step_grads = gru_step_backward(np.ones_like(H_t), step_cache, p)
    for a in (Hs, dX, dH0, H_t, dX_t, dH_prev, cache.R, cache.Z, cache.H_tilde,
              *grads.values(), *step_grads.values()):
        assert a.dtype == np.float32
    assert isinstance(cache, GRUCache)
    assert cache.R.shape == cache.Z.shape == cache.H_tilde.shape == (3, 2, 4)
    assert ((cache.R > 0) & (cache.R < 1)).all() and (
        (cache.Z > 0) & (cache.Z < 1)
    ).all()
    assert (cache.HW_hh is not None) == reset_after


# --------------------------------------------------------------------------------------
# Bad inputs
# --------------------------------------------------------------------------------------

def test_bad_inputs_raise_with_the_expected_shape_or_type():
    p, X, H0, *_ = make_problem(4, 3, 3, 5)
    with pytest.raises(
        ValueError,
        match=r"X must have shape \(T, B, D\) with D = 3; got \(4, 3, 3, 1\)",
    ):
        gru_forward(X[..., None], H0, p)
    with pytest.raises(
        ValueError, match=r"X must have shape \(T, B, D\) with D = 3; got \(4, 3, 7\)"
    ):
        gru_forward(np.zeros((4, 3, 7)), H0, p)
    with pytest.raises(ValueError, match=r"T ≥ 1; got \(0, 3, 3\)"):
        gru_forward(X[:0], H0, p)
    with pytest.raises(
        ValueError, match=r"H0 must have shape \(B, H\) = \(3, 5\); got \(1, 5\)"
    ):
        gru_forward(X, H0[:1], p)
    with pytest.raises(
        TypeError,
        match=r"X has dtype float32 but the GRU parameters have dtype float64",
    ):
        gru_forward(X.astype(np.float32), H0, p)
    with pytest.raises(ValueError, match=r"X contains NaN or infinity"):
        gru_forward(np.where(X > 1, np.nan, X), H0, p)
    with pytest.raises(ValueError, match=r"GRU params are missing \['b_hh'\]"):
        gru_forward(X, H0, p, reset_after=True)
    p_after = init_gru_params(
        3, 5, np.random.default_rng(0), np.float64, reset_after=True
    )
    with pytest.raises(
        ValueError, match=r"params has b_hh, which only the reset-after GRU uses"
    ):
        gru_forward(X, H0, p_after)
    with pytest.raises(
        ValueError, match=r"X_t must have shape \(B, D\) with D = 3; got \(3,\)"
    ):
        gru_step_forward(X[0, 0], H0, p)
    with pytest.raises(
        ValueError, match=r"H_prev must have shape \(B, H\) = \(3, 5\); got \(3, 3\)"
    ):
        gru_step_forward(X[0], H0[:, :3], p)
    Hs, cache = gru_forward(X, H0, p)
    with pytest.raises(
        ValueError,
        match=r"dHs must have shape \(T, B, H\) = \(4, 3, 5\); got \(4, 3, 4\)",
    ):
        gru_backward(Hs[..., :4], cache)
