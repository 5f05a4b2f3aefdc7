"""Tests for rnn.lstm: the LSTM's step and sequence functions, forward and backward."""
import numpy as np
import pytest

from rnn.functional import sigmoid
from rnn.lstm import (
    LSTM_PARAM_NAMES,
    LSTMCache,
    init_lstm_params,
    lstm_backward,
    lstm_forward,
    lstm_step_backward,
    lstm_step_forward,
)

from gradient_helpers import SHAPES, assert_gradients, masked_ce


def make_problem(T, B, D, H, Q=4, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    params = init_lstm_params(D, H, rng, dtype)
    X = rng.standard_normal((T, B, D)).astype(dtype)
    H0 = rng.standard_normal((B, H)).astype(dtype)
    C0 = rng.standard_normal((B, H)).astype(dtype)
    W_hq = rng.standard_normal((H, Q)).astype(dtype)
    y = rng.integers(0, Q, size=(T, B))
    mask = rng.random((T, B)) < 0.7
    mask[0, 0] = True
    g_H = rng.standard_normal((B, H)).astype(dtype)
    g_C = rng.standard_normal((B, H)).astype(dtype)
    return params, X, H0, C0, W_hq, y, mask, g_H, g_C


# --------------------------------------------------------------------------------------
# Initialisation
# --------------------------------------------------------------------------------------

def test_init_shapes_dtype_and_range():
    params = init_lstm_params(5, 4, np.random.default_rng(0))
    assert tuple(params) == LSTM_PARAM_NAMES
    for name, p in params.items():
        shape = (
            (5, 4)
            if name.startswith("W_x")
            else (4, 4) if name.startswith("W_h") else (4,)
        )
        assert p.shape == shape and p.dtype == np.float32
        assert np.abs(p).max() <= 0.5
    again = init_lstm_params(5, 4, np.random.default_rng(0))
    assert all(np.array_equal(params[k], again[k]) for k in params)


# --------------------------------------------------------------------------------------
# The formulas, literally
# --------------------------------------------------------------------------------------

def test_step_is_the_formula():
    p, X, H0, C0, *_ = make_problem(1, 3, 3, 4, seed=1)
    X_t = X[0]
    H_t, C_t, cache = lstm_step_forward(X_t, H0, C0, p)
    I = sigmoid(X_t @ p["W_xi"] + H0 @ p["W_hi"] + p["b_i"])
    F = sigmoid(X_t @ p["W_xf"] + H0 @ p["W_hf"] + p["b_f"])
    O_gate = sigmoid(X_t @ p["W_xo"] + H0 @ p["W_ho"] + p["b_o"])
    C_tilde = np.tanh(X_t @ p["W_xc"] + H0 @ p["W_hc"] + p["b_c"])
    np.testing.assert_allclose(C_t, F * C0 + I * C_tilde, rtol=1e-14)
    np.testing.assert_allclose(H_t, O_gate * np.tanh(F * C0 + I * C_tilde), rtol=1e-14)
    for name, value in (("I", I), ("F", F), ("O_gate", O_gate), ("C_tilde", C_tilde)):
        np.testing.assert_allclose(getattr(cache, name), value, rtol=1e-14)


def test_forget_one_input_zero_keeps_the_cell():
    """F_t → 1 and I_t → 0: C_t = C_{t-1} at every step, and H_t = O_t ⊙ tanh(C_0)."""
    p, X, H0, C0, *_ = make_problem(4, 3, 3, 4, seed=2)
    p["b_f"][:] = 50.0
    p["b_i"][:] = -50.0
    Hs, C_T, cache = lstm_forward(X, H0, C0, p)
    np.testing.assert_allclose(
        cache.Cs, np.broadcast_to(C0, cache.Cs.shape), atol=1e-15
    )
    np.testing.assert_allclose(C_T, C0, atol=1e-15)
    np.testing.assert_allclose(Hs, cache.O_gate * np.tanh(C0), atol=1e-15)


def test_forget_zero_input_one_restarts_the_cell_and_output_zero_hides_it():
    p, X, H0, C0, *_ = make_problem(3, 2, 3, 4, seed=3)
    p["b_f"][:] = -50.0
    p["b_i"][:] = 50.0
    p["b_o"][:] = -50.0
    Hs, C_T, cache = lstm_forward(X, H0, C0, p)
    np.testing.assert_allclose(cache.Cs, cache.C_tilde, atol=1e-15)
    np.testing.assert_allclose(Hs, 0.0, atol=1e-15)
    # with H_{t-1} = 0 hidden, C̃_t depends on X_t only
    np.testing.assert_allclose(
        cache.C_tilde[1:], np.tanh(X[1:] @ p["W_xc"] + p["b_c"]), atol=1e-14
    )


# --------------------------------------------------------------------------------------
# Gradient checks (float64)
# --------------------------------------------------------------------------------------

def test_step_gradients():
    p, X, H0, C0, *_ = make_problem(1, 3, 3, 3, seed=4)
    X_t = X[0]
    rng = np.random.default_rng(5)
    G_H, G_C = rng.standard_normal((3, 3)), rng.standard_normal((3, 3))

    def loss():
        H_t, C_t, _ = lstm_step_forward(X_t, H0, C0, p)
        return float((H_t * G_H).sum() + (C_t * G_C).sum())

    *_, cache = lstm_step_forward(X_t, H0, C0, p)
    dX_t, dH_prev, dC_prev, grads = lstm_step_backward(G_H, G_C, cache, p)
    assert set(grads) == set(p)
    assert_gradients(loss, {"X_t": X_t, "H_prev": H0, "C_prev": C0, **p},
                     {"X_t": dX_t, "H_prev": dH_prev, "C_prev": dC_prev, **grads})
    # dC_t = None means no gradient arrives on C_t directly
    _, _, _, grads_none = lstm_step_backward(G_H, None, cache, p)
    _, _, _, grads_zero = lstm_step_backward(G_H, np.zeros_like(G_C), cache, p)
    np.testing.assert_array_equal(grads_none["W_hc"], grads_zero["W_hc"])


@pytest.mark.parametrize("T, B, D, H", SHAPES)
def test_sequence_gradients_with_masked_loss_and_final_state(T, B, D, H):
    p, X, H0, C0, W_hq, y, mask, g_H, g_C = make_problem(T, B, D, H, seed=6)

    def loss():
        Hs, C_T, _ = lstm_forward(X, H0, C0, p)
        return masked_ce(Hs, W_hq, y, mask)[0] + float(
            (Hs[-1] * g_H).sum() + (C_T * g_C).sum()
        )

    Hs, C_T, cache = lstm_forward(X, H0, C0, p)
    _, dHs = masked_ce(Hs, W_hq, y, mask)
    dX, dH0, dC0, grads = lstm_backward(dHs, cache, dH_T=g_H, dC_T=g_C)
    assert set(grads) == set(p)
    assert_gradients(
        loss,
        {"X": X, "H0": H0, "C0": C0, **p},
        {"X": dX, "H0": dH0, "C0": dC0, **grads},
    )


def test_sequence_gradients_without_initial_state_or_final_gradients():
    p, X, _, _, W_hq, y, mask, _, _ = make_problem(3, 2, 2, 3, seed=7)

    def loss():
        return masked_ce(lstm_forward(X, None, None, p)[0], W_hq, y, mask)[0]

    Hs, _, cache = lstm_forward(X, None, None, p)
    dX, _, _, grads = lstm_backward(masked_ce(Hs, W_hq, y, mask)[1], cache)
    assert_gradients(loss, {"X": X, **p}, {"X": dX, **grads})


def test_only_the_final_cell_carries_a_gradient():
    """dHs = None, dH_T = None, dC_T given: the gradient flows through the cells
    alone."""
    p, X, H0, C0, *_, g_C = make_problem(3, 2, 2, 3, seed=8)

    def loss():
        return float((lstm_forward(X, H0, C0, p)[1] * g_C).sum())

    _, _, cache = lstm_forward(X, H0, C0, p)
    dX, dH0, dC0, grads = lstm_backward(None, cache, dC_T=g_C)
    assert_gradients(
        loss,
        {"X": X, "H0": H0, "C0": C0, **p},
        {"X": dX, "H0": dH0, "C0": dC0, **grads},
    )


# --------------------------------------------------------------------------------------
# The sequence functions are the loop of the step functions
# --------------------------------------------------------------------------------------

def test_sequence_equals_loop_of_steps():
    p, X, H0, C0, *_ = make_problem(4, 3, 3, 3, seed=9)
    rng = np.random.default_rng(10)
    dHs, dH_T, dC_T = (
        rng.standard_normal((4, 3, 3)),
        rng.standard_normal((3, 3)),
        rng.standard_normal((3, 3)),
    )

    # Forward: the sequence runs the step's own body, so the numbers are identical.
    # Backward: the sums over t run in another order, so equal to rounding only.
    Hs, C_T, cache = lstm_forward(X, H0, C0, p)
    dX, dH0, dC0, grads = lstm_backward(dHs, cache, dH_T, dC_T)

    H, C, steps = H0, C0, []
    for t in range(4):
        H, C, step_cache = lstm_step_forward(X[t], H, C, p)
        steps.append(step_cache)
        np.testing.assert_array_equal(Hs[t], H)
        np.testing.assert_array_equal(cache.Cs[t], C)
        for gate in ("I", "F", "O_gate", "C_tilde"):
            np.testing.assert_array_equal(
                getattr(cache, gate)[t], getattr(step_cache, gate)
            )
    np.testing.assert_array_equal(C_T, C)
    dH_next, dC_next = dH_T, dC_T
    loop_grads, loop_dX = {k: np.zeros_like(v) for k, v in p.items()}, np.zeros_like(X)
    for t in reversed(range(4)):
        loop_dX[t], dH_next, dC_next, g = lstm_step_backward(
            dHs[t] + dH_next, dC_next, steps[t], p
        )
        for k in g:
            loop_grads[k] += g[k]
    np.testing.assert_allclose(dX, loop_dX, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dH0, dH_next, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dC0, dC_next, rtol=1e-12, atol=1e-14)
    for k in p:
        np.testing.assert_allclose(grads[k], loop_grads[k], rtol=1e-12, atol=1e-14)


# --------------------------------------------------------------------------------------
# dtypes and caches
# --------------------------------------------------------------------------------------

def test_float32_stays_float32_and_cache_exposes_gates_and_cells():
    p, X, H0, C0, *_ = make_problem(3, 2, 3, 4, dtype=np.float32)
    Hs, C_T, cache = lstm_forward(X, H0, C0, p)
    dX, dH0, dC0, grads = lstm_backward(
        np.ones_like(Hs), cache, np.ones_like(H0), np.ones_like(C0)
    )
    H_t, C_t, step_cache = lstm_step_forward(X[0], H0, C0, p)
    dX_t, dH_prev, dC_prev, step_grads = lstm_step_backward(
        np.ones_like(H_t), np.ones_like(C_t), step_cache, p
    )
    gates = (cache.I, cache.F, cache.O_gate, cache.C_tilde)
    for a in (Hs, C_T, dX, dH0, dC0, H_t, C_t, dX_t, dH_prev, dC_prev, cache.Cs, *gates,
              *grads.values(), *step_grads.values()):
        assert a.dtype == np.float32
    assert isinstance(cache, LSTMCache)
    assert all(a.shape == (3, 2, 4) for a in (cache.Cs, *gates))
    assert np.array_equal(cache.Cs[-1], C_T)
    assert all(((g > 0) & (g < 1)).all() for g in gates[:3])


# --------------------------------------------------------------------------------------
# Bad inputs
# --------------------------------------------------------------------------------------

def test_bad_inputs_raise_with_the_expected_shape_or_type():
    p, X, H0, C0, *_ = make_problem(4, 3, 3, 5)
    with pytest.raises(
        ValueError, match=r"X must have shape \(T, B, D\) with D = 3; got \(3, 3\)"
    ):
        lstm_forward(X[0], H0, C0, p)
    with pytest.raises(
        ValueError, match=r"X must have shape \(T, B, D\) with D = 3; got \(4, 3, 2\)"
    ):
        lstm_forward(X[..., :2], H0, C0, p)
    with pytest.raises(ValueError, match=r"T ≥ 1; got \(0, 3, 3\)"):
        lstm_forward(X[:0], H0, C0, p)
    with pytest.raises(
        ValueError, match=r"C0 must have shape \(B, H\) = \(3, 5\); got \(2, 5\)"
    ):
        lstm_forward(X, H0, C0[:2], p)
    with pytest.raises(
        ValueError, match=r"H0 must have shape \(B, H\) = \(3, 5\); got \(3, 4\)"
    ):
        lstm_forward(X, H0[:, :4], C0, p)
    with pytest.raises(
        TypeError,
        match=r"C0 has dtype float32 but the LSTM parameters have dtype float64",
    ):
        lstm_forward(X, H0, C0.astype(np.float32), p)
    X_inf = X.copy()
    X_inf[-1, -1, -1] = -np.inf
    with pytest.raises(ValueError, match=r"X contains NaN or infinity"):
        lstm_forward(X_inf, H0, C0, p)
    with pytest.raises(
        ValueError, match=r"C_prev must have shape \(B, H\) = \(3, 5\); got \(3, 3\)"
    ):
        lstm_step_forward(X[0], H0, C0[:, :3], p)
    Hs, _, cache = lstm_forward(X, H0, C0, p)
    with pytest.raises(
        ValueError, match=r"dC_T must have shape \(B, H\) = \(3, 5\); got \(5,\)"
    ):
        lstm_backward(Hs, cache, dC_T=C0[0])
