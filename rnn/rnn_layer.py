"""The vanilla (Elman) recurrent layer, forward and backward written by hand.

    H_t = φ(A_t),   A_t = X_t W_xh + H_{t-1} W_hh + b_h,   φ = tanh (default) or ReLU.

Shapes (book notation): X_t (B, D), H_t (B, H); sequences are time-major, X (T, B, D)
and Hs (T, B, H), so ``X[t]`` is X_{t+1}. Parameters: W_xh (D, H), W_hh (H, H),
b_h (H,). Gradients come back in a dict with the same keys.

The cell's math is written once, in ``_rnn_step_forward`` and ``_rnn_step_backward``,
which the step functions ``rnn_step_forward`` and ``rnn_step_backward`` wrap and the
sequence functions ``rnn_forward`` and ``rnn_backward`` (backpropagation through time)
loop over. Left out of the loop, for speed: the input projections X_t W_xh of all steps
(one product before it) and the parameter gradients, sums over the steps (one product
each after it).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnn._common import (
    check_backward,
    check_cache,
    check_grad,
    check_params,
    check_sequence,
    check_state,
    check_step_input,
    checked,
    gate_grads,
    init_uniform,
    input_grad,
    rows,
    transposed,
)

RNN_PARAM_NAMES = ("W_xh", "W_hh", "b_h")
NONLINEARITIES = ("tanh", "relu")


def _check_nonlinearity(nonlinearity: str) -> None:
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"nonlinearity must be one of {NONLINEARITIES}; "
                         f"got {nonlinearity!r}")


def init_rnn_params(
    D: int, H: int, rng: np.random.Generator, dtype=np.float32
) -> dict[str, np.ndarray]:
    """W_xh, W_hh, b_h drawn i.i.d. from U(−1/√H, 1/√H), in that order.

    This is PyTorch's default for ``nn.RNN`` (which draws two biases; we have the single
    b_h, also uniform, not zero). D: input size, H: hidden size, rng:
    ``np.random.default_rng(seed)``.
    Returns {"W_xh": (D, H), "W_hh": (H, H), "b_h": (H,)} in ``dtype``.
    """
    return init_uniform(RNN_PARAM_NAMES, D, H, rng, dtype)


# --------------------------------------------------------------------------------------
# One time step: the cell's math
# --------------------------------------------------------------------------------------

class RNNStepCache(NamedTuple):
    """What ``rnn_step_backward`` needs from one forward step."""

    X_t: np.ndarray      # (B, D) input, for dW_xh = X_tᵀ dA_t
    H_prev: np.ndarray   # (B, H) previous state, for dW_hh = H_{t-1}ᵀ dA_t
    H_t: np.ndarray      # (B, H) new state: φ'(A_t) is 1 − H_t² or [H_t > 0] (ReLU)
    nonlinearity: str    # "tanh" or "relu"


def _check_step(X_t, H_prev, params, nonlinearity="tanh") -> None:
    D, H, dtype = check_params(params, RNN_PARAM_NAMES, "RNN")
    _check_nonlinearity(nonlinearity)
    B = check_step_input(X_t, D, dtype, "RNN")
    check_state(H_prev, B, H, dtype, "RNN", "H_prev")


def _rnn_step_forward(
    XW_t: np.ndarray, H_prev: np.ndarray, params: dict[str, np.ndarray],
    nonlinearity: str,
) -> np.ndarray:
    """H_t = φ(A_t), A_t = X_t W_xh + H_{t-1} W_hh + b_h, unchecked, given the input
    projection XW_t = X_t W_xh."""
    A_t = XW_t + H_prev @ params["W_hh"] + params["b_h"]
    return np.tanh(A_t) if nonlinearity == "tanh" else np.maximum(A_t, 0)


@checked(_check_step)
def rnn_step_forward(
    X_t: np.ndarray, H_prev: np.ndarray, params: dict[str, np.ndarray],
    nonlinearity: str = "tanh",
) -> tuple[np.ndarray, RNNStepCache]:
    """H_t = φ(X_t W_xh + H_{t-1} W_hh + b_h) for one step.

    X_t: (B, D), H_prev: (B, H), params: W_xh (D, H), W_hh (H, H), b_h (H,);
    nonlinearity "tanh" or "relu". Returns H_t (B, H) and the cache for
    ``rnn_step_backward``.
    """
    H_t = _rnn_step_forward(X_t @ params["W_xh"], H_prev, params, nonlinearity)
    return H_t, RNNStepCache(X_t, H_prev, H_t, nonlinearity)


def _rnn_step_backward(
    dH_t: np.ndarray, cache: RNNStepCache, W_hT: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The local part of one step's backward pass, unchecked:
    dA_t = dH_t ⊙ φ'(A_t) and dH_{t-1} = dA_t W_hhᵀ.

    W_hT: W_hhᵀ. Returns dA_t and dH_prev; the parameter gradients follow from dA_t
    (``gate_grads``).
    """
    H_t, nonlinearity = cache.H_t, cache.nonlinearity
    if nonlinearity == "tanh":
        dA_t = dH_t * (1 - H_t**2)     # tanh'(A) = 1 − tanh(A)²
    else:
        dA_t = dH_t * (H_t > 0)        # ReLU'(A) = 1 where A > 0, else 0
    return dA_t, dA_t @ W_hT


def rnn_step_backward(
    dH_t: np.ndarray, cache: RNNStepCache, params: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Backward of one step: from dH_t = ∂L/∂H_t to ∂L/∂X_t, ∂L/∂H_{t-1} and this
    step's parameter gradients.

    dA_t = dH_t ⊙ φ'(A_t);  dX_t = dA_t W_xhᵀ;  dH_{t-1} = dA_t W_hhᵀ;
    dW_xh = X_tᵀ dA_t;  dW_hh = H_{t-1}ᵀ dA_t;  db_h = Σ_rows dA_t.
    dH_t: (B, H). Returns dX_t (B, D), dH_prev (B, H), grads {"W_xh", "W_hh", "b_h"}.
    """
    check_cache(cache, RNNStepCache, "rnn_step_forward")
    check_grad(dH_t, cache.H_t.shape, "(B, H)", cache.H_t.dtype, "RNN", "dH_t")
    dA, dH_prev = _rnn_step_backward(dH_t, cache, transposed(params, ("W_hh",)))
    grads = gate_grads(cache.X_t, cache.H_prev, dA, "h", recurrent=1)
    return input_grad(dA, params, "h"), dH_prev, grads


# --------------------------------------------------------------------------------------
# A whole sequence: the step over t = 1..T, backpropagation through time over t = T..1
# --------------------------------------------------------------------------------------

class RNNCache(NamedTuple):
    """What ``rnn_backward`` needs from ``rnn_forward`` (everything is time-major)."""

    X: np.ndarray        # (T, B, D) inputs
    H0: np.ndarray       # (B, H) initial state (zeros when none was given)
    Hs: np.ndarray       # (T, B, H) states H_1..H_T; φ' is read off them
    params: dict         # the parameters used (not copied)
    nonlinearity: str


def _check_forward(X, H0, params, nonlinearity="tanh") -> None:
    D, H, dtype = check_params(params, RNN_PARAM_NAMES, "RNN")
    _check_nonlinearity(nonlinearity)
    T, B = check_sequence(X, D, dtype, "RNN")
    if H0 is not None:
        check_state(H0, B, H, dtype, "RNN", "H0")


@checked(_check_forward)
def rnn_forward(
    X: np.ndarray, H0: np.ndarray | None, params: dict[str, np.ndarray],
    nonlinearity: str = "tanh",
) -> tuple[np.ndarray, RNNCache]:
    """H_t = φ(X_t W_xh + H_{t-1} W_hh + b_h) for t = 1..T: the loop of the step.

    X: (T, B, D) time-major inputs; H0: (B, H) or None for zeros; params as in
    ``init_rnn_params``. Returns Hs (T, B, H) with Hs[t] = H_{t+1} (the final state is
    Hs[-1]) and the cache for ``rnn_backward``. The cache holds Hs itself (no copy): do
    not modify Hs in place before ``rnn_backward``.
    """
    T, B, _ = X.shape
    H = params["W_hh"].shape[0]
    H0 = np.zeros((B, H), X.dtype) if H0 is None else H0
    # Speed: X_t W_xh for every t at once, one product instead of T small ones.
    XW = (rows(X) @ params["W_xh"]).reshape(T, B, H)
    Hs = np.empty((T, B, H), X.dtype)
    H_prev = H0
    for t in range(T):
        Hs[t] = _rnn_step_forward(XW[t], H_prev, params, nonlinearity)
        H_prev = Hs[t]
    return Hs, RNNCache(X, H0, Hs, params, nonlinearity)


def _check_backward(dHs, cache, dH_T=None, *, need_dX=True) -> None:
    check_backward(dHs, cache, RNNCache, "rnn_forward", "RNN", dH_T=dH_T)


@checked(_check_backward)
def rnn_backward(
    dHs: np.ndarray | None, cache: RNNCache, dH_T: np.ndarray | None = None, *,
    need_dX: bool = True,
) -> tuple[np.ndarray | None, np.ndarray, dict[str, np.ndarray]]:
    """Backpropagation through time for ``rnn_forward``.

    dHs: (T, B, H), dHs[t] = ∂L/∂H_{t+1} through the outputs at that step (None for
    zeros); dH_T: (B, H) or None, an extra gradient on the final state (truncated BPTT,
    a state carried on, a layer stacked on top). The recursion runs from t = T to 1:
        dH_t = dHs_t + dA_{t+1} W_hhᵀ  (the second term is dH_T at t = T),
        dA_t = dH_t ⊙ φ'(A_t),
    and the parameter gradients sum over steps:
        dW_xh = Σ_t X_tᵀ dA_t,   dW_hh = Σ_t H_{t-1}ᵀ dA_t,   db_h = Σ_t Σ_rows dA_t.
    Returns dX (T, B, D), dH0 (B, H), grads {"W_xh", "W_hh", "b_h"}.
    need_dX=False skips dX (returns None): a one-hot input layer has no use for it.
    """
    X, H0, Hs, params, nonlinearity = cache
    T, B, D = X.shape
    W_hT = transposed(params, ("W_hh",))
    H_prevs = np.concatenate([H0[None], Hs[:-1]])      # (T, B, H): H_0..H_{T-1}
    dA = np.empty_like(Hs)                              # dA[t] = ∂L/∂A_{t+1}
    dH_next = np.zeros_like(H0) if dH_T is None else dH_T
    for t in reversed(range(T)):
        dH_t = dH_next if dHs is None else dHs[t] + dH_next
        step = RNNStepCache(X[t], H_prevs[t], Hs[t], nonlinearity)
        dA[t], dH_next = _rnn_step_backward(dH_t, step, W_hT)
    # The sums over t: all T·B rows in one product each.
    grads = gate_grads(rows(X), rows(H_prevs), rows(dA), "h", recurrent=1)
    dX = input_grad(rows(dA), params, "h").reshape(T, B, D) if need_dX else None
    return dX, dH_next, grads
