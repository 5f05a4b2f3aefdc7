"""Tests for rnn.bptt: truncated BPTT (chunks and windows) against full BPTT, the
no-recurrence gradient and finite differences of the truncated objective; the cache byte
count."""

import numpy as np
import pytest

from rnn.bptt import (
    activation_nbytes,
    truncated_bptt_gradients,
    windowed_bptt_gradients,
)
from rnn.gradcheck import numerical_gradient, relative_error
from rnn.rnn_layer import (
    init_rnn_params,
    rnn_backward,
    rnn_forward,
    rnn_step_backward,
    rnn_step_forward,
)

NAMES = ("W_xh", "W_hh", "b_h")


def _problem(T=7, B=2, D=3, H=4, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    params = init_rnn_params(D, H, rng, dtype=dtype)
    params[
        "W_hh"
    ] *= 3.0  # strong recurrence, so truncation visibly changes the gradient
    X = rng.standard_normal((T, B, D)).astype(dtype)
    H0 = rng.standard_normal((B, H)).astype(dtype) * 0.5
    dHs = rng.standard_normal((T, B, H)).astype(dtype)
    return X, H0, params, dHs


def _full(X, H0, params, dHs):
    _, cache = rnn_forward(X, H0, params)
    return rnn_backward(dHs, cache)[2]


def _no_recurrence(X, H0, params, dHs):
    """Σ_t of one step's backward, the previous state taken as a constant."""
    Hs, _ = rnn_forward(X, H0, params)
    total = {n: np.zeros_like(params[n]) for n in NAMES}
    for t in range(X.shape[0]):
        H_prev = H0 if t == 0 else Hs[t - 1]
        _, step_cache = rnn_step_forward(X[t], H_prev, params)
        _, _, g = rnn_step_backward(dHs[t], step_cache, params)
        for n in NAMES:
            total[n] += g[n]
    return total


@pytest.mark.parametrize("k", [7, 8, 100])
def test_chunks_of_length_T_or_more_are_exactly_full_bptt(k):
    X, H0, params, dHs = _problem()
    got = truncated_bptt_gradients(X, H0, params, dHs, k)
    want = _full(X, H0, params, dHs)
    for n in NAMES:
        np.testing.assert_array_equal(got[n], want[n])


@pytest.mark.parametrize("k", [7, 50])
def test_windows_of_length_T_or_more_are_full_bptt(k):
    X, H0, params, dHs = _problem()
    got = windowed_bptt_gradients(X, H0, params, dHs, k)
    want = _full(X, H0, params, dHs)
    for n in NAMES:
        np.testing.assert_allclose(got[n], want[n], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("fn", [truncated_bptt_gradients, windowed_bptt_gradients])
def test_k_equal_1_is_the_no_recurrence_gradient(fn):
    X, H0, params, dHs = _problem()
    got = fn(X, H0, params, dHs, 1)
    want = _no_recurrence(X, H0, params, dHs)
    for n in NAMES:
        np.testing.assert_allclose(got[n], want[n], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("fn", [truncated_bptt_gradients, windowed_bptt_gradients])
def test_truncation_with_1_lt_k_lt_T_differs_from_both_ends(fn):
    X, H0, params, dHs = _problem()
    full = _full(X, H0, params, dHs)
    none = _no_recurrence(X, H0, params, dHs)
    mid = fn(X, H0, params, dHs, 3)
    assert relative_error(mid["W_hh"], full["W_hh"]) > 1e-6
    assert relative_error(mid["W_hh"], none["W_hh"]) > 1e-6


def test_chunked_gradient_matches_finite_differences_of_the_chunked_objective():
    """The chunked gradient is the exact gradient of Σ_t <dHs_t, H_t> when each chunk's
    start state is a constant."""
    X, H0, params, dHs = _problem(T=7)
    k = 3
    Hs, _ = rnn_forward(X, H0, params)
    starts = {0: H0, 3: Hs[2].copy(), 6: Hs[5].copy()}   # frozen carried states

    def objective():
        total = 0.0
        for s, H_start in starts.items():
            Hc, _ = rnn_forward(X[s:s + k], H_start, params)
            total += float(np.sum(dHs[s:s + k] * Hc))
        return total

    got = truncated_bptt_gradients(X, H0, params, dHs, k)
    for n in NAMES:
        assert relative_error(got[n], numerical_gradient(objective, params[n])) < 1e-8


def test_windowed_gradient_matches_finite_differences_of_the_windowed_objective():
    """The windowed gradient is the exact gradient of Σ_t <dHs_t, H_t(H_{t-k}
    frozen)>."""
    X, H0, params, dHs = _problem(T=6)
    k = 2
    Hs, _ = rnn_forward(X, H0, params)
    frozen = [H0] + [Hs[t].copy() for t in range(X.shape[0])]   # frozen[t] = H_t

    def objective():
        total = 0.0
        for t in range(X.shape[0]):
            s = max(0, t - k + 1)
            Hw, _ = rnn_forward(X[s:t + 1], frozen[s], params)
            total += float(np.sum(dHs[t] * Hw[-1]))
        return total

    got = windowed_bptt_gradients(X, H0, params, dHs, k)
    for n in NAMES:
        assert relative_error(got[n], numerical_gradient(objective, params[n])) < 1e-8


def test_windowed_error_shrinks_with_k_for_a_contracting_rnn():
    X, H0, params, dHs = _problem(T=20, H=5, seed=3)
    params["W_hh"] *= 0.5 / max(
        abs(np.linalg.eigvals(params["W_hh"]))
    )  # spectral radius 0.5
    full = _full(X, H0, params, dHs)
    errors = [
        relative_error(
            windowed_bptt_gradients(X, H0, params, dHs, k)["W_hh"], full["W_hh"]
        )
        for k in (1, 2, 4, 8, 16)
    ]
    assert all(a > b for a, b in zip(errors, errors[1:]))


def test_none_H0_means_zeros_and_dtype_is_kept():
    X, H0, params, dHs = _problem(dtype=np.float32)
    zeros = np.zeros_like(H0)
    for fn in (truncated_bptt_gradients, windowed_bptt_gradients):
        a = fn(X, None, params, dHs, 2)
        b = fn(X, zeros, params, dHs, 2)
        for n in NAMES:
            assert a[n].dtype == np.float32
            np.testing.assert_array_equal(a[n], b[n])


@pytest.mark.parametrize("fn", [truncated_bptt_gradients, windowed_bptt_gradients])
def test_bad_inputs_raise_naming_what_was_expected(fn):
    X, H0, params, dHs = _problem()
    for bad_k in (0, -1, 2.0, True):
        with pytest.raises(ValueError, match="integer ≥ 1"):
            fn(X, H0, params, dHs, bad_k)
    with pytest.raises(ValueError, match=r"\(T, B, H\)"):
        fn(X, H0, params, dHs[:-1], 2)
    with pytest.raises(TypeError, match="dtype"):
        fn(X, H0, params, dHs.astype(np.float32), 2)


def test_activation_nbytes_counts_X_H0_Hs_not_params():
    T, B, D, H = 5, 3, 4, 6
    X, H0, params, _ = _problem(T=T, B=B, D=D, H=H)
    _, cache = rnn_forward(X, H0, params)
    assert activation_nbytes(cache) == (T * B * (D + H) + B * H) * 8
    _, cache32 = rnn_forward(X[:2].astype(np.float32), H0.astype(np.float32),
                             {n: p.astype(np.float32) for n, p in params.items()})
    assert activation_nbytes(cache32) == (2 * B * (D + H) + B * H) * 4


def test_activation_nbytes_walks_containers_and_counts_an_array_once():
    a = np.zeros(10)
    assert activation_nbytes([a, (a, {"x": a, "params": np.zeros(100)})]) == 80


@pytest.mark.parametrize("fn", [truncated_bptt_gradients, windowed_bptt_gradients])
def test_relu_full_window_is_full_bptt(fn):
    X, H0, params, dHs = _problem()
    _, cache = rnn_forward(X, H0, params, nonlinearity="relu")
    want = rnn_backward(dHs, cache)[2]
    got = fn(X, H0, params, dHs, X.shape[0], nonlinearity="relu")
    for n in NAMES:
        np.testing.assert_allclose(got[n], want[n], rtol=1e-12, atol=1e-12)
