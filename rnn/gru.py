"""The gated recurrent unit (GRU, Cho et al. 2014), forward and backward by hand.

    R_t = σ(X_t W_xr + H_{t-1} W_hr + b_r)                     reset gate
    Z_t = σ(X_t W_xz + H_{t-1} W_hz + b_z)                     update gate
    H̃_t = tanh(X_t W_xh + (R_t ⊙ H_{t-1}) W_hh + b_h)          candidate, reset-before
    H̃_t = tanh(X_t W_xh + b_h + R_t ⊙ (H_{t-1} W_hh + b_hh))   candidate, reset-after
    H_t = Z_t ⊙ H_{t-1} + (1 − Z_t) ⊙ H̃_t

Reset-before is the default; reset-after is the variant PyTorch and Keras compute.
Shapes: X_t (B, D), every gate and state (B, H); sequences are time-major, X (T, B, D),
Hs (T, B, H). Parameters: W_x* (D, H), W_h* (H, H), b_* (H,), plus b_hh (H,) for the
reset-after variant.

The cell's math is written once, in ``gru_step_forward`` and ``_gru_step_backward``
(the local part of ``gru_step_backward``); ``gru_forward`` and ``gru_backward`` loop
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

GRU_PARAM_NAMES = ("W_xr", "W_hr", "b_r", "W_xz", "W_hz", "b_z", "W_xh", "W_hh", "b_h")


def gru_param_names(reset_after: bool = False) -> tuple[str, ...]:
    """The parameter keys of a GRU: GRU_PARAM_NAMES, plus "b_hh" for the reset-after
    variant."""
    return GRU_PARAM_NAMES + ("b_hh",) if reset_after else GRU_PARAM_NAMES


def _check_gru_params(params: dict, reset_after: bool) -> tuple[int, int, np.dtype]:
    D, H, dtype = check_params(params, gru_param_names(reset_after), "GRU")
    if not reset_after and "b_hh" in params:
        raise ValueError("params has b_hh, which only the reset-after GRU uses; "
                         "pass reset_after=True")
    return D, H, dtype


def init_gru_params(
    D: int, H: int, rng: np.random.Generator, dtype=np.float32,
    reset_after: bool = False,
) -> dict[str, np.ndarray]:
    """W_xr, W_hr, b_r, W_xz, W_hz, b_z, W_xh, W_hh, b_h (+ b_hh if reset_after) i.i.d.
    from U(−1/√H, 1/√H).

    Drawn in that order; this is PyTorch's default for ``nn.GRU`` (biases uniform too,
    not zero). Returns a dict of W_x* (D, H), W_h* (H, H), b_* (H,) arrays in ``dtype``.
    """
    return init_uniform(gru_param_names(reset_after), D, H, rng, dtype)


# --------------------------------------------------------------------------------------
# One time step: the cell's math
# --------------------------------------------------------------------------------------

class GRUStepCache(NamedTuple):
    """What ``gru_step_backward`` needs from one forward step."""

    X_t: np.ndarray            # (B, D) input
    H_prev: np.ndarray         # (B, H) previous state H_{t-1}
    R: np.ndarray              # (B, H) reset gate R_t
    Z: np.ndarray              # (B, H) update gate Z_t
    H_tilde: np.ndarray        # (B, H) candidate state H̃_t
    HW_hh: np.ndarray | None   # (B, H) H_{t-1} W_hh + b_hh, what R_t multiplies
                               # (reset-after only, else None)
    reset_after: bool


def _check_step(X_t, H_prev, params, reset_after=False) -> None:
    D, H, dtype = _check_gru_params(params, reset_after)
    B = check_step_input(X_t, D, dtype, "GRU")
    check_state(H_prev, B, H, dtype, "GRU", "H_prev")


@checked(_check_step)
def gru_step_forward(
    X_t: np.ndarray, H_prev: np.ndarray, params: dict[str, np.ndarray],
    reset_after: bool = False,
) -> tuple[np.ndarray, GRUStepCache]:
    """One GRU step, H_t = Z_t ⊙ H_{t-1} + (1 − Z_t) ⊙ H̃_t, with the gates of the
    module docstring.

    X_t: (B, D), H_prev: (B, H), params as in ``init_gru_params`` (with b_hh iff
    reset_after). Returns H_t (B, H) and the cache for ``gru_step_backward``.
    """
    p = params
    R = sigmoid(X_t @ p["W_xr"] + H_prev @ p["W_hr"] + p["b_r"])
    Z = sigmoid(X_t @ p["W_xz"] + H_prev @ p["W_hz"] + p["b_z"])
    if reset_after:
        HW_hh = H_prev @ p["W_hh"] + p["b_hh"]
        H_tilde = np.tanh(X_t @ p["W_xh"] + p["b_h"] + R * HW_hh)
    else:
        HW_hh = None
        H_tilde = np.tanh(X_t @ p["W_xh"] + (R * H_prev) @ p["W_hh"] + p["b_h"])
    H_t = Z * H_prev + (1 - Z) * H_tilde
    return H_t, GRUStepCache(X_t, H_prev, R, Z, H_tilde, HW_hh, reset_after)


def _gru_step_backward(
    dH_t: np.ndarray, cache: GRUStepCache, W_hT: np.ndarray, W_hhT: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """The local part of one step's backward pass, unchecked (formulas in
    ``gru_step_backward``). W_hT = [W_hr W_hz]ᵀ, or [W_hr W_hz W_hh]ᵀ for reset-after
    (``_recurrent``); W_hhT = W_hhᵀ.

    Returns the pre-activation gradients side by side, dA = [dA_r dA_z dA_h] (B, 3H);
    dS, the gradient of H_{t-1} W_hh + b_hh (reset-after; None for reset-before); and
    dH_prev.
    """
    _, H_prev, R, Z, H_tilde, HW_hh, reset_after = cache
    dZ = dH_t * (H_prev - H_tilde)
    dH_tilde = dH_t * (1 - Z)
    dH_prev = dH_t * Z
    dA_h = dH_tilde * (1 - H_tilde**2)
    dA_z = dZ * (Z * (1 - Z))
    if reset_after:
        dS = dA_h * R
        dA_r = dA_h * HW_hh * (R * (1 - R))          # dR = dA_h ⊙ (H_{t-1} W_hh + b_hh)
        dH_prev += np.concatenate([dA_r, dA_z, dS], axis=1) @ W_hT
    else:
        dS = None
        dRH = dA_h @ W_hhT                          # ∂L/∂(R_t ⊙ H_{t-1})
        dA_r = dRH * H_prev * (R * (1 - R))         # dR = dRH ⊙ H_{t-1}
        dH_prev += dRH * R
        dH_prev += np.concatenate([dA_r, dA_z], axis=1) @ W_hT
    return np.concatenate([dA_r, dA_z, dA_h], axis=1), dS, dH_prev


def _recurrent(reset_after: bool) -> tuple[str, ...]:
    """The recurrent weights that multiply H_{t-1} itself, side by side in W_hT."""
    return ("W_hr", "W_hz", "W_hh") if reset_after else ("W_hr", "W_hz")


def _gru_grads(
    X: np.ndarray, H_prev: np.ndarray, R: np.ndarray, dA: np.ndarray,
    dS: np.ndarray | None, reset_after: bool,
) -> dict[str, np.ndarray]:
    """The parameter gradients from the pre-activation gradients, for the rows of one
    step or of all steps: ``gate_grads`` for everything but W_hh, which multiplies
    R ⊙ H_{t-1} (reset-before) or feeds dS (reset-after, with b_hh)."""
    grads = gate_grads(X, H_prev, dA, "rzh", recurrent=2)
    if reset_after:
        grads["W_hh"] = H_prev.T @ dS
        grads["b_hh"] = dS.sum(axis=0)
    else:
        H = H_prev.shape[1]
        grads["W_hh"] = (R * H_prev).T @ dA[:, 2 * H:]
    return {n: grads[n] for n in gru_param_names(reset_after)}


def gru_step_backward(
    dH_t: np.ndarray, cache: GRUStepCache, params: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Backward of one GRU step: from dH_t = ∂L/∂H_t to dX_t, dH_{t-1} and this step's
    parameter gradients.

    Through the state update:
      dZ = dH_t ⊙ (H_{t-1} − H̃_t),  dH̃ = dH_t ⊙ (1 − Z_t),  dH_{t-1} ∋ dH_t ⊙ Z_t.
    Through the nonlinearities:
      dA_h = dH̃ ⊙ (1 − H̃²), dA_z = dZ ⊙ Z(1 − Z), dA_r = dR ⊙ R(1 − R), where
      reset-before: dR = (dA_h W_hhᵀ) ⊙ H_{t-1},  dH_{t-1} ∋ (dA_h W_hhᵀ) ⊙ R_t,
                    dW_hh = (R_t ⊙ H_{t-1})ᵀ dA_h;
      reset-after:  dR = dA_h ⊙ (H_{t-1} W_hh + b_hh),  with dS = dA_h ⊙ R_t:
                    dH_{t-1} ∋ dS W_hhᵀ,  dW_hh = H_{t-1}ᵀ dS,  db_hh = Σ_rows dS.
    The other gradients are those of every linear map: dW_xg = X_tᵀ dA_g,
    db_g = Σ_rows dA_g, dW_hg = H_{t-1}ᵀ dA_g (g = r, z), dH_{t-1} ∋ Σ dA_g W_hgᵀ.
    dH_t: (B, H). Returns dX_t (B, D), dH_prev (B, H) and grads with the keys of
    ``params``' GRU names.
    """
    check_cache(cache, GRUStepCache, "gru_step_forward")
    H_prev = cache.H_prev
    check_grad(dH_t, H_prev.shape, "(B, H)", H_prev.dtype, "GRU", "dH_t")
    reset_after = cache.reset_after
    dA, dS, dH_prev = _gru_step_backward(
        dH_t, cache, transposed(params, _recurrent(reset_after)),
        transposed(params, ("W_hh",)))
    grads = _gru_grads(cache.X_t, H_prev, cache.R, dA, dS, reset_after)
    return input_grad(dA, params, "rzh"), dH_prev, grads


# --------------------------------------------------------------------------------------
# A whole sequence
# --------------------------------------------------------------------------------------

class GRUCache(NamedTuple):
    """What ``gru_backward`` needs from ``gru_forward``; the gates are kept for every
    step (e.g. for heatmaps)."""

    X: np.ndarray              # (T, B, D) inputs
    H0: np.ndarray             # (B, H) initial state (zeros when none was given)
    Hs: np.ndarray             # (T, B, H) states H_1..H_T
    R: np.ndarray              # (T, B, H) reset gate at every step, R[t] = R_{t+1}
    Z: np.ndarray              # (T, B, H) update gate at every step
    H_tilde: np.ndarray        # (T, B, H) candidate state at every step
    HW_hh: np.ndarray | None   # (T, B, H) H_{t-1} W_hh + b_hh at every step
                               # (reset-after only, else None)
    params: dict               # the parameters used (not copied)
    reset_after: bool


def _check_forward(X, H0, params, reset_after=False) -> None:
    D, H, dtype = _check_gru_params(params, reset_after)
    T, B = check_sequence(X, D, dtype, "GRU")
    if H0 is not None:
        check_state(H0, B, H, dtype, "GRU", "H0")


@checked(_check_forward)
def gru_forward(
    X: np.ndarray, H0: np.ndarray | None, params: dict[str, np.ndarray],
    reset_after: bool = False,
) -> tuple[np.ndarray, GRUCache]:
    """The GRU over t = 1..T: the loop of ``gru_step_forward``.

    X: (T, B, D) time-major; H0: (B, H) or None for zeros; params as in
    ``init_gru_params``. Returns Hs (T, B, H) (final state Hs[-1]) and the cache for
    ``gru_backward`` (gates in cache.R, cache.Z). The cache holds Hs itself (no copy):
    do not modify Hs in place before ``gru_backward``.
    """
    T, B, _ = X.shape
    H = params["W_hh"].shape[0]
    H0 = np.zeros((B, H), X.dtype) if H0 is None else H0
    step = gru_step_forward.unchecked
    Hs, R, Z, H_tilde = (np.empty((T, B, H), X.dtype) for _ in range(4))
    HW_hh = np.empty((T, B, H), X.dtype) if reset_after else None
    H_prev = H0
    for t in range(T):
        Hs[t], cache_t = step(X[t], H_prev, params, reset_after)
        R[t], Z[t], H_tilde[t] = cache_t.R, cache_t.Z, cache_t.H_tilde
        if reset_after:
            HW_hh[t] = cache_t.HW_hh
        H_prev = Hs[t]
    return Hs, GRUCache(X, H0, Hs, R, Z, H_tilde, HW_hh, params, reset_after)


def _check_backward(dHs, cache, dH_T=None, *, need_dX=True) -> None:
    check_backward(dHs, cache, GRUCache, "gru_forward", "GRU", dH_T=dH_T)


@checked(_check_backward)
def gru_backward(
    dHs: np.ndarray | None, cache: GRUCache, dH_T: np.ndarray | None = None, *,
    need_dX: bool = True,
) -> tuple[np.ndarray | None, np.ndarray, dict[str, np.ndarray]]:
    """Backpropagation through time for ``gru_forward``: the loop of
    ``gru_step_backward`` from t = T to 1.

    dHs: (T, B, H), dHs[t] = ∂L/∂H_{t+1} through the outputs (None for zeros); dH_T:
    (B, H) or None, an extra gradient on the final state. Returns dX (T, B, D),
    dH0 (B, H), grads (keys of the GRU's params). The pre-activation gradients of every
    step are stored, and the parameter gradients (sums over t) and dX are one matrix
    product each after the loop.
    need_dX=False skips dX (returns None): a one-hot input layer has no use for it.
    """
    X, H0, Hs, R, Z, H_tilde, HW_hh, params, reset_after = cache
    T, B, D = X.shape
    H = Hs.shape[2]
    W_hT = transposed(params, _recurrent(reset_after))
    W_hhT = transposed(params, ("W_hh",))
    H_prevs = np.concatenate([H0[None], Hs[:-1]])      # (T, B, H): H_0..H_{T-1}
    dA = np.empty((T, B, 3 * H), Hs.dtype)             # [dA_r dA_z dA_h] at every step
    dS = np.empty_like(Hs) if reset_after else None
    dH_next = np.zeros_like(H0) if dH_T is None else dH_T
    for t in reversed(range(T)):
        dH_t = dH_next if dHs is None else dHs[t] + dH_next
        step = GRUStepCache(X[t], H_prevs[t], R[t], Z[t], H_tilde[t],
                            None if HW_hh is None else HW_hh[t], reset_after)
        dA[t], dS_t, dH_next = _gru_step_backward(dH_t, step, W_hT, W_hhT)
        if reset_after:
            dS[t] = dS_t
    # The sums over t: all T·B rows in one product each.
    grads = _gru_grads(rows(X), rows(H_prevs), rows(R), rows(dA),
                       None if dS is None else rows(dS), reset_after)
    dX = input_grad(rows(dA), params, "rzh").reshape(T, B, D) if need_dX else None
    return dX, dH_next, grads
