"""Truncated backpropagation through time for the vanilla RNN, and the memory a backward
pass keeps.

Full BPTT (``rnn.rnn_layer.rnn_backward``) sends the gradient of every loss term ℓ_t
back to step 1. Truncation limits how far it travels, in one of two ways:

* ``truncated_bptt_gradients`` — split the sequence into chunks of k steps; each chunk
  starts from the state the previous chunk ended in, but no gradient flows through that
  state. This is what training code does (``detach`` in PyTorch): only one chunk's cache
  is alive at a time, so memory grows with k.
* ``windowed_bptt_gradients`` — every loss term ℓ_t is backpropagated through exactly
  its last k steps t, t−1, …, t−k+1 (the δ recursion of ℓ_t is stopped after k steps;
  Williams and Peng's BPTT(k)).

Both take the per-step upstream gradient dHs (∂ℓ_t/∂H_t through step t's own output,
e.g. dO_t W_hqᵀ): truncation changes how far it is sent back, never dHs itself, because
the forward values are unchanged. Shapes follow the book: X (T, B, D), H0 (B, H), Hs and
dHs (T, B, H); params W_xh (D, H), W_hh (H, H), b_h (H,).
"""
from __future__ import annotations

import numpy as np

from rnn._common import check_grad, gate_grads, transposed
from rnn.rnn_layer import (
    RNNStepCache,
    _rnn_step_backward,
    rnn_backward,
    rnn_forward,
)


def _check_k(k) -> int:
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k, the number of steps to backpropagate, must be an "
                         f"integer ≥ 1; got {k!r}")
    return int(k)


def _check_inputs(X, params: dict, dHs, H0=None, nonlinearity: str = "tanh") -> None:
    rnn_forward.check(X, H0, params, nonlinearity)
    T, B, _ = X.shape
    H = params["W_hh"].shape[0]
    check_grad(dHs, (T, B, H), "(T, B, H)", X.dtype, "RNN", "dHs")


def _add(total: dict | None, grads: dict) -> dict:
    if total is None:
        return {name: g.copy() for name, g in grads.items()}
    for name, g in grads.items():
        total[name] += g
    return total


def truncated_bptt_gradients(
    X: np.ndarray,
    H0: np.ndarray | None,
    params: dict[str, np.ndarray],
    dHs: np.ndarray,
    k: int,
    nonlinearity: str = "tanh",
) -> dict[str, np.ndarray]:
    """Gradients of W_xh, W_hh, b_h by BPTT over chunks of k steps, the state carried
    without gradient.

    The steps 1..T are cut into chunks [1..k], [k+1..2k], …; the last may be shorter.
    Each chunk runs ``rnn_forward`` from the final state of the previous chunk (H0 for
    the first) and ``rnn_backward`` with dHs restricted to the chunk and no gradient
    arriving from later chunks, so the recursion for dH_t stops at every chunk boundary.
    The gradients of the chunks are summed.

    k = T (or more) is exactly full BPTT (one chunk, the same arithmetic as
    ``rnn_backward``); k = 1 ignores the recurrence: each ℓ_t reaches only the
    parameters' direct use at step t. Only one chunk's cache exists at a time, so the
    memory for activations grows with k, not T.

    X: (T, B, D); H0: (B, H) or None for zeros; params: {"W_xh", "W_hh", "b_h"};
    dHs: (T, B, H), dHs[t] = ∂ℓ/∂H_{t+1} through the output at that step; k: chunk
    length ≥ 1. Returns {"W_xh": (D, H), "W_hh": (H, H), "b_h": (H,)}.
    """
    k = _check_k(k)
    _check_inputs(X, params, dHs)
    T = X.shape[0]
    total = None
    H_carry = H0
    for start in range(0, T, k):
        stop = min(start + k, T)
        Hs, cache = rnn_forward(X[start:stop], H_carry, params, nonlinearity)
        _, _, grads = rnn_backward(dHs[start:stop], cache)
        total = _add(total, grads)
        H_carry = Hs[-1]          # the value is carried on; its gradient is not
    return total


def windowed_bptt_gradients(
    X: np.ndarray,
    H0: np.ndarray | None,
    params: dict[str, np.ndarray],
    dHs: np.ndarray,
    k: int,
    nonlinearity: str = "tanh",
) -> dict[str, np.ndarray]:
    """Gradients of W_xh, W_hh, b_h when each loss term ℓ_t is backpropagated through
    its last k steps only.

    ℓ_t's gradient enters at H_t (dHs[t]) and its δ recursion is stopped after k steps:
    it reaches H_t, H_{t−1}, …, H_{t−k+1} and no further. One backward sweep does this
    for all t at once by keeping the gradient at each state split by *age* a = (index of
    the loss term) − (index of the state):

        dH_s[0] = dHs[s],  dH_s[a] = (dH_{s+1}[a−1] ⊙ φ'(A_{s+1})) W_hhᵀ  for 1 ≤ a < k,

    and the state's truncated gradient is Σ_a dH_s[a]. Contributions of age k would
    cross the window and are dropped. Each step is one step of ``rnn_step_backward``
    on the k ages stacked as a batch of k·B rows, whose parameter gradients, summed over
    the rows, are that step's share. Work O(T·k), against O(T) for full BPTT; a
    streaming implementation needs the caches of the last k steps only.

    k ≥ T is full BPTT (up to the order of floating-point sums); k = 1 ignores the
    recurrence.

    X: (T, B, D); H0: (B, H) or None for zeros; params: {"W_xh", "W_hh", "b_h"};
    dHs: (T, B, H), dHs[t] = ∂ℓ/∂H_{t+1} through the output at that step; k ≥ 1.
    Returns {"W_xh": (D, H), "W_hh": (H, H), "b_h": (H,)}.
    """
    k = _check_k(k)
    _check_inputs(X, params, dHs, H0, nonlinearity)
    Hs, cache = rnn_forward.unchecked(X, H0, params, nonlinearity)
    T, B, _ = X.shape
    W_hT = transposed(params, ("W_hh",))
    depth = min(k, T)                               # ages 0..depth−1 can occur
    # dH_age[a]: the gradient that comes from ℓ_{s+a}
    dH_age = np.zeros((depth, B, Hs.shape[2]), Hs.dtype)
    total = None
    for s in reversed(range(T)):
        dH_age[0] = dHs[s]
        H_prev = cache.H0 if s == 0 else Hs[s - 1]
        stacked = RNNStepCache(                     # the step's cache, once per age
            np.tile(X[s], (depth, 1)), np.tile(H_prev, (depth, 1)),
            np.tile(Hs[s], (depth, 1)), nonlinearity,
        )
        dA, dH_prev = _rnn_step_backward(dH_age.reshape(depth * B, -1), stacked, W_hT)
        total = _add(total, gate_grads(stacked.X_t, stacked.H_prev, dA, "h", 1))
        # one step older; the age `depth` drops out
        dH_age[1:] = dH_prev.reshape(dH_age.shape)[:-1]
        dH_age[0] = 0
    return total


def activation_nbytes(cache) -> int:
    """Bytes of the arrays a forward cache keeps alive for the backward pass, the
    parameters excluded.

    Walks a cache (a NamedTuple such as ``RNNCache``, or tuples, lists and dicts of
    them) and sums ``.nbytes`` of every distinct numpy array in it, skipping a field
    called ``params`` (the model's weights exist with or without a backward pass). For
    ``RNNCache`` this is X, H0 and Hs: (T·B·(D + H) + B·H) × itemsize bytes, linear in
    the number of steps T.
    """
    seen: set[int] = set()

    def walk(obj) -> int:
        if isinstance(obj, np.ndarray):
            if id(obj) in seen:
                return 0
            seen.add(id(obj))
            return obj.nbytes
        if hasattr(obj, "_fields"):                       # NamedTuple
            return sum(walk(getattr(obj, f)) for f in obj._fields if f != "params")
        if isinstance(obj, (tuple, list)):
            return sum(walk(o) for o in obj)
        if isinstance(obj, dict):
            return sum(walk(v) for name, v in obj.items() if name != "params")
        return 0

    return walk(cache)
