"""Long short-term memory (LSTM, Hochreiter & Schmidhuber 1997), forward and backward
written by hand.

    I_t = σ(X_t W_xi + H_{t-1} W_hi + b_i)      input gate
    F_t = σ(X_t W_xf + H_{t-1} W_hf + b_f)      forget gate
    O_t = σ(X_t W_xo + H_{t-1} W_ho + b_o)      output gate (``O_gate`` in code: ``O``
                                                is the logits)
    C̃_t = tanh(X_t W_xc + H_{t-1} W_hc + b_c)   candidate memory
    C_t = F_t ⊙ C_{t-1} + I_t ⊙ C̃_t             memory cell
    H_t = O_t ⊙ tanh(C_t)                       hidden state

Shapes: X_t (B, D), every gate and state (B, H); sequences are time-major, X (T, B, D),
Hs and Cs (T, B, H). Parameters: W_x* (D, H), W_h* (H, H), b_* (H,) for * in i, f, o, c.

The cell's math is written once, in ``lstm_step_forward`` and ``_lstm_step_backward``
(the local part of ``lstm_step_backward``); ``lstm_forward`` and ``lstm_backward`` loop
over them, and the parameter gradients, sums over the steps, are one matrix product each
after the loop.
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
from rnn.functional import sigmoid

LSTM_PARAM_NAMES = ("W_xi", "W_hi", "b_i", "W_xf", "W_hf", "b_f",
                    "W_xo", "W_ho", "b_o", "W_xc", "W_hc", "b_c")
_GATES = "ifoc"                 # the gates, in the order of their blocks side by side
_RECURRENT = tuple(f"W_h{g}" for g in _GATES)


def init_lstm_params(
    D: int, H: int, rng: np.random.Generator, dtype=np.float32
) -> dict[str, np.ndarray]:
    """W_xi, W_hi, b_i, W_xf, W_hf, b_f, W_xo, W_ho, b_o, W_xc, W_hc, b_c i.i.d. from
    U(−1/√H, 1/√H).

    Drawn in that order; this is PyTorch's default for ``nn.LSTM`` (biases uniform too:
    no forget-gate bias of 1, which some authors recommend; set ``params["b_f"][:] = 1``
    to try it). Returns a dict of W_x* (D, H), W_h* (H, H), b_* (H,) arrays in
    ``dtype``.
    """
    return init_uniform(LSTM_PARAM_NAMES, D, H, rng, dtype)


# --------------------------------------------------------------------------------------
# One time step: the cell's math
# --------------------------------------------------------------------------------------

class LSTMStepCache(NamedTuple):
    """What ``lstm_step_backward`` needs from one forward step."""

    X_t: np.ndarray      # (B, D) input
    H_prev: np.ndarray   # (B, H) previous hidden state H_{t-1}
    C_prev: np.ndarray   # (B, H) previous memory cell C_{t-1}
    I: np.ndarray        # (B, H) input gate I_t
    F: np.ndarray        # (B, H) forget gate F_t
    O_gate: np.ndarray   # (B, H) output gate O_t
    C_tilde: np.ndarray  # (B, H) candidate memory C̃_t
    tanh_C: np.ndarray   # (B, H) tanh(C_t)


def _check_step(X_t, H_prev, C_prev, params) -> None:
    D, H, dtype = check_params(params, LSTM_PARAM_NAMES, "LSTM")
    B = check_step_input(X_t, D, dtype, "LSTM")
    check_state(H_prev, B, H, dtype, "LSTM", "H_prev")
    check_state(C_prev, B, H, dtype, "LSTM", "C_prev")


@checked(_check_step)
def lstm_step_forward(
    X_t: np.ndarray, H_prev: np.ndarray, C_prev: np.ndarray,
    params: dict[str, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, LSTMStepCache]:
    """One LSTM step (the six equations of the module docstring).

    X_t: (B, D), H_prev and C_prev: (B, H), params as in ``init_lstm_params``.
    Returns H_t (B, H), C_t (B, H) and the cache for ``lstm_step_backward``.
    """
    p = params
    I = sigmoid(X_t @ p["W_xi"] + H_prev @ p["W_hi"] + p["b_i"])
    F = sigmoid(X_t @ p["W_xf"] + H_prev @ p["W_hf"] + p["b_f"])
    O_gate = sigmoid(X_t @ p["W_xo"] + H_prev @ p["W_ho"] + p["b_o"])
    C_tilde = np.tanh(X_t @ p["W_xc"] + H_prev @ p["W_hc"] + p["b_c"])
    C_t = F * C_prev + I * C_tilde
    tanh_C = np.tanh(C_t)
    H_t = O_gate * tanh_C
    return H_t, C_t, LSTMStepCache(X_t, H_prev, C_prev, I, F, O_gate, C_tilde, tanh_C)


def _lstm_step_backward(
    dH_t: np.ndarray, dC_t: np.ndarray | None, cache: LSTMStepCache, W_hT: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The local part of one step's backward pass, unchecked (formulas in
    ``lstm_step_backward``). W_hT = [W_hi W_hf W_ho W_hc]ᵀ, (4H, H).

    Returns the pre-activation gradients side by side, dA = [dA_i dA_f dA_o dA_c]
    (B, 4H), then dH_prev and dC_prev.
    """
    _, _, C_prev, I, F, O_gate, C_tilde, tanh_C = cache
    dC = dH_t * O_gate * (1 - tanh_C**2)
    if dC_t is not None:
        dC += dC_t
    dO_gate = dH_t * tanh_C
    dF = dC * C_prev
    dI = dC * C_tilde
    dC_tilde = dC * I
    dA = np.concatenate([
        dI * (I * (1 - I)),
        dF * (F * (1 - F)),
        dO_gate * (O_gate * (1 - O_gate)),
        dC_tilde * (1 - C_tilde**2),
    ], axis=1)
    return dA, dA @ W_hT, dC * F           # dH_prev = Σ_g dA_g W_hgᵀ, one product


def lstm_step_backward(
    dH_t: np.ndarray, dC_t: np.ndarray | None, cache: LSTMStepCache,
    params: dict[str, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Backward of one LSTM step: from ∂L/∂H_t and ∂L/∂C_t to dX_t, dH_{t-1}, dC_{t-1}
    and the parameter gradients.

    dO_gate = dH_t ⊙ tanh(C_t);  dC = dC_t + dH_t ⊙ O_t ⊙ (1 − tanh²(C_t))  (both paths
    into C_t); dF = dC ⊙ C_{t-1},  dI = dC ⊙ C̃_t,  dC̃ = dC ⊙ I_t,
    dC_{t-1} = dC ⊙ F_t;
    pre-activations: dA_g = dG ⊙ G(1 − G) for the gates G = I, F, O, and
    dA_c = dC̃ ⊙ (1 − C̃²); then for every g: dW_xg = X_tᵀ dA_g, dW_hg = H_{t-1}ᵀ dA_g,
    db_g = Σ_rows dA_g, dX_t = Σ_g dA_g W_xgᵀ, dH_{t-1} = Σ_g dA_g W_hgᵀ.
    dH_t: (B, H); dC_t: (B, H) or None for zero. Returns dX_t (B, D), dH_prev (B, H),
    dC_prev (B, H), grads.
    """
    check_cache(cache, LSTMStepCache, "lstm_step_forward")
    H_prev = cache.H_prev
    check_grad(dH_t, H_prev.shape, "(B, H)", H_prev.dtype, "LSTM", "dH_t")
    if dC_t is not None:
        check_grad(dC_t, H_prev.shape, "(B, H)", H_prev.dtype, "LSTM", "dC_t")
    dA, dH_prev, dC_prev = _lstm_step_backward(dH_t, dC_t, cache,
                                               transposed(params, _RECURRENT))
    grads = gate_grads(cache.X_t, H_prev, dA, _GATES, recurrent=4)
    return (input_grad(dA, params, _GATES), dH_prev, dC_prev,
            {n: grads[n] for n in LSTM_PARAM_NAMES})


# --------------------------------------------------------------------------------------
# A whole sequence
# --------------------------------------------------------------------------------------

class LSTMCache(NamedTuple):
    """What ``lstm_backward`` needs from ``lstm_forward``; gates and cells are kept for
    every step."""

    X: np.ndarray        # (T, B, D) inputs
    H0: np.ndarray       # (B, H) initial hidden state (zeros when none was given)
    C0: np.ndarray       # (B, H) initial memory cell (zeros when none was given)
    Hs: np.ndarray       # (T, B, H) hidden states H_1..H_T
    Cs: np.ndarray       # (T, B, H) memory cells C_1..C_T
    I: np.ndarray        # (T, B, H) input gate at every step, I[t] = I_{t+1}
    F: np.ndarray        # (T, B, H) forget gate at every step
    O_gate: np.ndarray   # (T, B, H) output gate at every step
    C_tilde: np.ndarray  # (T, B, H) candidate memory at every step
    tanh_Cs: np.ndarray  # (T, B, H) tanh(C_t) at every step
    params: dict         # the parameters used (not copied)


def _check_forward(X, H0, C0, params) -> None:
    D, H, dtype = check_params(params, LSTM_PARAM_NAMES, "LSTM")
    T, B = check_sequence(X, D, dtype, "LSTM")
    if H0 is not None:
        check_state(H0, B, H, dtype, "LSTM", "H0")
    if C0 is not None:
        check_state(C0, B, H, dtype, "LSTM", "C0")


@checked(_check_forward)
def lstm_forward(
    X: np.ndarray, H0: np.ndarray | None, C0: np.ndarray | None,
    params: dict[str, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, LSTMCache]:
    """The LSTM over t = 1..T: the loop of ``lstm_step_forward``.

    X: (T, B, D) time-major; H0, C0: (B, H) or None for zeros; params as in
    ``init_lstm_params``. Returns Hs (T, B, H) (final hidden state Hs[-1]), the final
    cell C_T (B, H) and the cache for ``lstm_backward`` (cells in cache.Cs, gates in
    cache.I, cache.F, cache.O_gate, all (T, B, H)). The cache holds Hs and Cs themselves
    (C_T is Cs[-1], no copy): do not modify them in place before ``lstm_backward``.
    """
    T, B, _ = X.shape
    H = params["W_hi"].shape[0]
    H0 = np.zeros((B, H), X.dtype) if H0 is None else H0
    C0 = np.zeros((B, H), X.dtype) if C0 is None else C0
    step = lstm_step_forward.unchecked
    Hs, Cs, I, F, O_gate, C_tilde, tanh_Cs = (np.empty((T, B, H), X.dtype)
                                              for _ in range(7))
    H_prev, C_prev = H0, C0
    for t in range(T):
        Hs[t], Cs[t], c = step(X[t], H_prev, C_prev, params)
        I[t], F[t], O_gate[t], C_tilde[t], tanh_Cs[t] = (c.I, c.F, c.O_gate,
                                                          c.C_tilde, c.tanh_C)
        H_prev, C_prev = Hs[t], Cs[t]
    cache = LSTMCache(X, H0, C0, Hs, Cs, I, F, O_gate, C_tilde, tanh_Cs, params)
    return Hs, Cs[-1], cache


def _check_backward(dHs, cache, dH_T=None, dC_T=None, *, need_dX=True) -> None:
    check_backward(dHs, cache, LSTMCache, "lstm_forward", "LSTM", dH_T=dH_T, dC_T=dC_T)


@checked(_check_backward)
def lstm_backward(
    dHs: np.ndarray | None, cache: LSTMCache, dH_T: np.ndarray | None = None,
    dC_T: np.ndarray | None = None, *, need_dX: bool = True,
) -> tuple[np.ndarray | None, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Backpropagation through time for ``lstm_forward``: the loop of
    ``lstm_step_backward`` from t = T to 1.

    dHs: (T, B, H), dHs[t] = ∂L/∂H_{t+1} through the outputs (None for zeros); dH_T,
    dC_T: (B, H) or None, extra gradients on the final hidden state and cell. Returns
    dX (T, B, D), dH0 (B, H), dC0 (B, H), grads. The pre-activation gradients of every
    step are stored, and the parameter gradients (sums over t) and dX are one matrix
    product each after the loop.
    need_dX=False skips dX (returns None): a one-hot input layer has no use for it.
    """
    X, H0, C0, Hs, Cs, I, F, O_gate, C_tilde, tanh_Cs, params = cache
    T, B, D = X.shape
    H = Hs.shape[2]
    W_hT = transposed(params, _RECURRENT)
    dA = np.empty((T, B, 4 * H), Hs.dtype)     # [dA_i dA_f dA_o dA_c] at every step
    dH_next = np.zeros_like(H0) if dH_T is None else dH_T
    dC_next = np.zeros_like(C0) if dC_T is None else dC_T
    for t in reversed(range(T)):
        dH_t = dH_next if dHs is None else dHs[t] + dH_next
        H_prev, C_prev = (H0, C0) if t == 0 else (Hs[t - 1], Cs[t - 1])
        step = LSTMStepCache(X[t], H_prev, C_prev, I[t], F[t], O_gate[t], C_tilde[t],
                             tanh_Cs[t])
        dA[t], dH_next, dC_next = _lstm_step_backward(dH_t, dC_next, step, W_hT)
    # The sums over t: all T·B rows in one product each.
    H_prevs = np.concatenate([H0[None], Hs[:-1]])      # (T, B, H): H_0..H_{T-1}
    grads = gate_grads(rows(X), rows(H_prevs), rows(dA), _GATES, recurrent=4)
    dX = input_grad(rows(dA), params, _GATES).reshape(T, B, D) if need_dX else None
    return dX, dH_next, dC_next, {n: grads[n] for n in LSTM_PARAM_NAMES}
