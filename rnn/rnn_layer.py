"""The vanilla (Elman) recurrent layer, forward and backward written by hand.

    H_t = φ(A_t),   A_t = X_t W_xh + H_{t-1} W_hh + b_h,   φ = tanh (default) or ReLU.

Shapes (book notation): X_t (B, D), H_t (B, H); sequences are time-major, X (T, B, D) and Hs (T, B, H),
so ``X[t]`` is X_{t+1}. Parameters: W_xh (D, H), W_hh (H, H), b_h (H,). Gradients come back in a
dict with the same keys. ``rnn_step_forward``/``rnn_step_backward`` are the readable reference;
``rnn_forward``/``rnn_backward`` compute the same numbers for a whole sequence (backpropagation
through time), arranged for speed.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnn._common import check_grad, check_params, check_sequence, check_state, check_step_input, init_uniform

RNN_PARAM_NAMES = ("W_xh", "W_hh", "b_h")
NONLINEARITIES = ("tanh", "relu")


def _check_nonlinearity(nonlinearity: str) -> None:
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"nonlinearity must be one of {NONLINEARITIES}; got {nonlinearity!r}")


def init_rnn_params(D: int, H: int, rng: np.random.Generator, dtype=np.float32) -> dict[str, np.ndarray]:
    """W_xh, W_hh, b_h drawn i.i.d. from U(−1/√H, 1/√H), in that order.

    This is PyTorch's default for ``nn.RNN`` (which draws two biases; we have the single b_h, also uniform,
    not zero). D: input size, H: hidden size, rng: ``np.random.default_rng(seed)``.
    Returns {"W_xh": (D, H), "W_hh": (H, H), "b_h": (H,)} in ``dtype``.
    """
    return init_uniform(RNN_PARAM_NAMES, D, H, rng, dtype)


# ---------------------------------------------------------------------------------------------
# One time step: the readable reference
# ---------------------------------------------------------------------------------------------

class RNNStepCache(NamedTuple):
    """What ``rnn_step_backward`` needs from one forward step."""

    X_t: np.ndarray      # (B, D) input, for dW_xh = X_tᵀ dA_t
    H_prev: np.ndarray   # (B, H) previous state, for dW_hh = H_{t-1}ᵀ dA_t
    H_t: np.ndarray      # (B, H) new state: φ'(A_t) is 1 − H_t² for tanh and [H_t > 0] for ReLU
    nonlinearity: str    # "tanh" or "relu"


def rnn_step_forward(
    X_t: np.ndarray, H_prev: np.ndarray, params: dict[str, np.ndarray], nonlinearity: str = "tanh"
) -> tuple[np.ndarray, RNNStepCache]:
    """H_t = φ(X_t W_xh + H_{t-1} W_hh + b_h) for one step.

    X_t: (B, D), H_prev: (B, H), params: W_xh (D, H), W_hh (H, H), b_h (H,); nonlinearity "tanh" or "relu".
    Returns H_t (B, H) and the cache for ``rnn_step_backward``.
    """
    D, H, dtype = check_params(params, RNN_PARAM_NAMES, "RNN")
    _check_nonlinearity(nonlinearity)
    B = check_step_input(X_t, D, dtype, "RNN")
    check_state(H_prev, B, H, dtype, "RNN", "H_prev")
    A_t = X_t @ params["W_xh"] + H_prev @ params["W_hh"] + params["b_h"]
    H_t = np.tanh(A_t) if nonlinearity == "tanh" else np.maximum(A_t, 0)
    return H_t, RNNStepCache(X_t, H_prev, H_t, nonlinearity)


def rnn_step_backward(
    dH_t: np.ndarray, cache: RNNStepCache, params: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Backward of one step: from dH_t = ∂L/∂H_t to ∂L/∂X_t, ∂L/∂H_{t-1} and this step's parameter gradients.

    dA_t = dH_t ⊙ φ'(A_t);  dX_t = dA_t W_xhᵀ;  dH_{t-1} = dA_t W_hhᵀ;
    dW_xh = X_tᵀ dA_t;  dW_hh = H_{t-1}ᵀ dA_t;  db_h = Σ_rows dA_t.
    dH_t: (B, H). Returns dX_t (B, D), dH_prev (B, H), grads {"W_xh", "W_hh", "b_h"}.
    """
    X_t, H_prev, H_t, nonlinearity = cache
    check_grad(dH_t, H_t.shape, "(B, H)", H_t.dtype, "RNN", "dH_t")
    if nonlinearity == "tanh":
        dA_t = dH_t * (1 - H_t**2)     # tanh'(A) = 1 − tanh(A)²
    else:
        dA_t = dH_t * (H_t > 0)        # ReLU'(A) = 1 where A > 0, else 0
    dX_t = dA_t @ params["W_xh"].T
    dH_prev = dA_t @ params["W_hh"].T
    grads = {"W_xh": X_t.T @ dA_t, "W_hh": H_prev.T @ dA_t, "b_h": dA_t.sum(axis=0)}
    return dX_t, dH_prev, grads


# ---------------------------------------------------------------------------------------------
# A whole sequence: forward over t = 1..T, backpropagation through time over t = T..1
# ---------------------------------------------------------------------------------------------

class RNNCache(NamedTuple):
    """What ``rnn_backward`` needs from ``rnn_forward`` (everything is time-major)."""

    X: np.ndarray        # (T, B, D) inputs
    H0: np.ndarray       # (B, H) initial state (zeros when none was given)
    Hs: np.ndarray       # (T, B, H) states H_1..H_T; φ' is read off them as in the step cache
    params: dict         # the parameters used (not copied)
    nonlinearity: str


def rnn_forward(
    X: np.ndarray, H0: np.ndarray | None, params: dict[str, np.ndarray], nonlinearity: str = "tanh"
) -> tuple[np.ndarray, RNNCache]:
    """H_t = φ(X_t W_xh + H_{t-1} W_hh + b_h) for t = 1..T: the loop of ``rnn_step_forward``.

    X: (T, B, D) time-major inputs; H0: (B, H) or None for zeros; params as in ``init_rnn_params``.
    Returns Hs (T, B, H) with Hs[t] = H_{t+1} (the final state is Hs[-1]) and the cache for ``rnn_backward``.
    For speed the input projections X_t W_xh of all T steps are one matmul before the loop.
    The cache holds Hs itself (no copy): do not modify Hs in place before ``rnn_backward``.
    """
    D, H, dtype = check_params(params, RNN_PARAM_NAMES, "RNN")
    _check_nonlinearity(nonlinearity)
    T, B = check_sequence(X, D, dtype, "RNN")
    H0 = np.zeros((B, H), dtype) if H0 is None else check_state(H0, B, H, dtype, "RNN", "H0")
    W_xh, W_hh, b_h = params["W_xh"], params["W_hh"], params["b_h"]

    XW = (X.reshape(T * B, D) @ W_xh).reshape(T, B, H)   # X_t W_xh for every t at once
    Hs = np.empty((T, B, H), dtype)
    H_prev = H0
    for t in range(T):
        A_t = XW[t] + H_prev @ W_hh
        A_t += b_h
        if nonlinearity == "tanh":
            np.tanh(A_t, out=Hs[t])
        else:
            np.maximum(A_t, 0, out=Hs[t])
        H_prev = Hs[t]
    return Hs, RNNCache(X, H0, Hs, params, nonlinearity)


def rnn_backward(
    dHs: np.ndarray | None, cache: RNNCache, dH_T: np.ndarray | None = None, *, need_dX: bool = True
) -> tuple[np.ndarray | None, np.ndarray, dict[str, np.ndarray]]:
    """Backpropagation through time for ``rnn_forward``.

    dHs: (T, B, H), dHs[t] = ∂L/∂H_{t+1} through the outputs at that step (None for zeros);
    dH_T: (B, H) or None, an extra gradient on the final state (truncated BPTT, a state carried on,
    a layer stacked on top). The recursion runs from t = T down to 1:
        dH_t = dHs_t + dA_{t+1} W_hhᵀ  (the second term is dH_T at t = T),   dA_t = dH_t ⊙ φ'(A_t),
    and the parameter gradients sum over steps:
        dW_xh = Σ_t X_tᵀ dA_t,   dW_hh = Σ_t H_{t-1}ᵀ dA_t,   db_h = Σ_t Σ_rows dA_t.
    Returns dX (T, B, D), dH0 (B, H), grads {"W_xh", "W_hh", "b_h"}. For speed the sums over t (and dX) are
    single matmuls after the loop; only dA_t W_hhᵀ has to be sequential.
    need_dX=False skips dX (returns None): a one-hot input layer has no use for it.
    """
    X, H0, Hs, params, nonlinearity = cache
    T, B, D = X.shape
    H = Hs.shape[2]
    dtype = Hs.dtype
    if dHs is not None:
        check_grad(dHs, Hs.shape, "(T, B, H)", dtype, "RNN", "dHs")
    dH_next = np.zeros((B, H), dtype) if dH_T is None else check_grad(dH_T, (B, H), "(B, H)", dtype, "RNN", "dH_T")
    W_xh = params["W_xh"]
    # Speed: W_hhᵀ copied once into C order; ``dA[t] @ W_hh.T`` would pass BLAS a transposed (Fortran-order)
    # view at every step, which is markedly slower for these small products (B × H times H × H).
    W_hhT = np.ascontiguousarray(params["W_hh"].T)

    dA = np.empty((T, B, H), dtype)            # dA[t] = ∂L/∂A_{t+1}, the pre-activation
    for t in reversed(range(T)):
        dH_t = dH_next if dHs is None else dHs[t] + dH_next
        if nonlinearity == "tanh":
            np.multiply(dH_t, 1 - Hs[t] ** 2, out=dA[t])
        else:
            np.multiply(dH_t, Hs[t] > 0, out=dA[t])
        dH_next = dA[t] @ W_hhT                # ∂L/∂H_{t-1} through the recurrence
    dH0 = dH_next

    H_prevs = np.concatenate([H0[None], Hs[:-1]])   # (T, B, H): H_0..H_{T-1}
    dA_rows = dA.reshape(T * B, H)
    grads = {
        "W_xh": X.reshape(T * B, D).T @ dA_rows,
        "W_hh": H_prevs.reshape(T * B, H).T @ dA_rows,
        "b_h": dA_rows.sum(axis=0),
    }
    dX = (dA_rows @ W_xh.T).reshape(T, B, D) if need_dX else None
    return dX, dH0, grads
