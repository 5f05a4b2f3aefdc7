"""The gated recurrent unit (GRU, Cho et al. 2014), forward and backward written by hand.

    R_t = σ(X_t W_xr + H_{t-1} W_hr + b_r)                      reset gate
    Z_t = σ(X_t W_xz + H_{t-1} W_hz + b_z)                      update gate
    H̃_t = tanh(X_t W_xh + (R_t ⊙ H_{t-1}) W_hh + b_h)           candidate state (reset-before, default)
    H̃_t = tanh(X_t W_xh + b_h + R_t ⊙ (H_{t-1} W_hh + b_hh))    candidate state (reset-after: PyTorch, Keras)
    H_t = Z_t ⊙ H_{t-1} + (1 − Z_t) ⊙ H̃_t

Shapes: X_t (B, D), every gate and state (B, H); sequences are time-major, X (T, B, D), Hs (T, B, H).
Parameters: W_x* (D, H), W_h* (H, H), b_* (H,), plus b_hh (H,) for the reset-after variant.
``gru_step_forward``/``gru_step_backward`` are the readable reference; ``gru_forward``/``gru_backward``
compute the same numbers for a whole sequence, arranged for speed.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnn._common import (
    check_grad,
    check_params,
    check_sequence,
    check_state,
    check_step_input,
    concat_columns,
    init_uniform,
    split_columns,
)
from rnn.functional import sigmoid

GRU_PARAM_NAMES = ("W_xr", "W_hr", "b_r", "W_xz", "W_hz", "b_z", "W_xh", "W_hh", "b_h")


def gru_param_names(reset_after: bool = False) -> tuple[str, ...]:
    """The parameter keys of a GRU: GRU_PARAM_NAMES, plus "b_hh" for the reset-after variant."""
    return GRU_PARAM_NAMES + ("b_hh",) if reset_after else GRU_PARAM_NAMES


def _check_gru_params(params: dict, reset_after: bool) -> tuple[int, int, np.dtype]:
    D, H, dtype = check_params(params, gru_param_names(reset_after), "GRU")
    if not reset_after and "b_hh" in params:
        raise ValueError("params has b_hh, which only the reset-after GRU uses; pass reset_after=True")
    return D, H, dtype


def init_gru_params(
    D: int, H: int, rng: np.random.Generator, dtype=np.float32, reset_after: bool = False
) -> dict[str, np.ndarray]:
    """W_xr, W_hr, b_r, W_xz, W_hz, b_z, W_xh, W_hh, b_h (+ b_hh if reset_after) i.i.d. from U(−1/√H, 1/√H).

    Drawn in that order; this is PyTorch's default for ``nn.GRU`` (biases uniform too, not zero).
    Returns a dict of W_x* (D, H), W_h* (H, H), b_* (H,) arrays in ``dtype``.
    """
    return init_uniform(gru_param_names(reset_after), D, H, rng, dtype)


# ---------------------------------------------------------------------------------------------
# One time step: the readable reference
# ---------------------------------------------------------------------------------------------

class GRUStepCache(NamedTuple):
    """What ``gru_step_backward`` needs from one forward step."""

    X_t: np.ndarray            # (B, D) input
    H_prev: np.ndarray         # (B, H) previous state H_{t-1}
    R: np.ndarray              # (B, H) reset gate R_t
    Z: np.ndarray              # (B, H) update gate Z_t
    H_tilde: np.ndarray        # (B, H) candidate state H̃_t
    HW_hh: np.ndarray | None   # (B, H) H_{t-1} W_hh + b_hh, what R_t multiplies (reset-after only, else None)
    reset_after: bool


def gru_step_forward(
    X_t: np.ndarray, H_prev: np.ndarray, params: dict[str, np.ndarray], reset_after: bool = False
) -> tuple[np.ndarray, GRUStepCache]:
    """One GRU step, H_t = Z_t ⊙ H_{t-1} + (1 − Z_t) ⊙ H̃_t, with the gates of the module docstring.

    X_t: (B, D), H_prev: (B, H), params as in ``init_gru_params`` (with b_hh iff reset_after).
    Returns H_t (B, H) and the cache for ``gru_step_backward``.
    """
    D, H, dtype = _check_gru_params(params, reset_after)
    B = check_step_input(X_t, D, dtype, "GRU")
    check_state(H_prev, B, H, dtype, "GRU", "H_prev")
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


def gru_step_backward(
    dH_t: np.ndarray, cache: GRUStepCache, params: dict[str, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Backward of one GRU step: from dH_t = ∂L/∂H_t to dX_t, dH_{t-1} and this step's parameter gradients.

    Through the state update:  dZ = dH_t ⊙ (H_{t-1} − H̃_t),  dH̃ = dH_t ⊙ (1 − Z_t),  dH_{t-1} ∋ dH_t ⊙ Z_t.
    Through the nonlinearities: dA_h = dH̃ ⊙ (1 − H̃²), dA_z = dZ ⊙ Z(1 − Z), dA_r = dR ⊙ R(1 − R), where
      reset-before: dR = (dA_h W_hhᵀ) ⊙ H_{t-1},          dH_{t-1} ∋ (dA_h W_hhᵀ) ⊙ R_t,  dW_hh = (R_t ⊙ H_{t-1})ᵀ dA_h;
      reset-after:  dR = dA_h ⊙ (H_{t-1} W_hh + b_hh),    with dS = dA_h ⊙ R_t:  dH_{t-1} ∋ dS W_hhᵀ,
                    dW_hh = H_{t-1}ᵀ dS, db_hh = Σ_rows dS.
    dH_t: (B, H). Returns dX_t (B, D), dH_prev (B, H) and grads with the keys of ``params``' GRU names.
    """
    X_t, H_prev, R, Z, H_tilde, HW_hh, reset_after = cache
    check_grad(dH_t, H_prev.shape, "(B, H)", H_prev.dtype, "GRU", "dH_t")
    p = params
    dZ = dH_t * (H_prev - H_tilde)
    dH_tilde = dH_t * (1 - Z)
    dH_prev = dH_t * Z
    dA_h = dH_tilde * (1 - H_tilde**2)
    dA_z = dZ * Z * (1 - Z)
    grads = {}
    if reset_after:
        dS = dA_h * R
        dR = dA_h * HW_hh
        dH_prev += dS @ p["W_hh"].T
        grads["W_hh"] = H_prev.T @ dS
        grads["b_hh"] = dS.sum(axis=0)
    else:
        dRH = dA_h @ p["W_hh"].T      # ∂L/∂(R_t ⊙ H_{t-1})
        dR = dRH * H_prev
        dH_prev += dRH * R
        grads["W_hh"] = (R * H_prev).T @ dA_h
    dA_r = dR * R * (1 - R)
    dH_prev += dA_r @ p["W_hr"].T + dA_z @ p["W_hz"].T
    dX_t = dA_r @ p["W_xr"].T + dA_z @ p["W_xz"].T + dA_h @ p["W_xh"].T
    for g, dA in (("r", dA_r), ("z", dA_z), ("h", dA_h)):
        grads[f"W_x{g}"] = X_t.T @ dA
        grads[f"b_{g}"] = dA.sum(axis=0)
    grads["W_hr"] = H_prev.T @ dA_r
    grads["W_hz"] = H_prev.T @ dA_z
    return dX_t, dH_prev, {n: grads[n] for n in gru_param_names(reset_after)}


# ---------------------------------------------------------------------------------------------
# A whole sequence
# ---------------------------------------------------------------------------------------------

class GRUCache(NamedTuple):
    """What ``gru_backward`` needs from ``gru_forward``; the gates are kept for every step (e.g. for heatmaps)."""

    X: np.ndarray              # (T, B, D) inputs
    H0: np.ndarray             # (B, H) initial state (zeros when none was given)
    Hs: np.ndarray             # (T, B, H) states H_1..H_T
    R: np.ndarray              # (T, B, H) reset gate at every step, R[t] = R_{t+1}
    Z: np.ndarray              # (T, B, H) update gate at every step
    H_tilde: np.ndarray        # (T, B, H) candidate state at every step
    HW_hh: np.ndarray | None   # (T, B, H) H_{t-1} W_hh + b_hh at every step (reset-after only, else None)
    params: dict               # the parameters used (not copied)
    reset_after: bool


def gru_forward(
    X: np.ndarray, H0: np.ndarray | None, params: dict[str, np.ndarray], reset_after: bool = False
) -> tuple[np.ndarray, GRUCache]:
    """The GRU over t = 1..T: the loop of ``gru_step_forward``.

    X: (T, B, D) time-major; H0: (B, H) or None for zeros; params as in ``init_gru_params``.
    Returns Hs (T, B, H) (final state Hs[-1]) and the cache for ``gru_backward`` (gates in cache.R, cache.Z).
    For speed: the input projections of all steps and gates are one matmul X (T·B, D) @ [W_xr W_xz W_xh]
    before the loop, and inside it the two gates share one matmul H_{t-1} @ [W_hr W_hz].
    The cache holds Hs itself (no copy): do not modify Hs in place before ``gru_backward``.
    """
    D, H, dtype = _check_gru_params(params, reset_after)
    T, B = check_sequence(X, D, dtype, "GRU")
    H0 = np.zeros((B, H), dtype) if H0 is None else check_state(H0, B, H, dtype, "GRU", "H0")
    p = params
    W_x = concat_columns(p, ("W_xr", "W_xz", "W_xh"))                        # (D, 3H)
    b_rz = concat_columns(p, ("b_r", "b_z"))                                 # (2H,)
    XW = (X.reshape(T * B, D) @ W_x).reshape(T, B, 3 * H)                    # [X_t W_xr, X_t W_xz, X_t W_xh]
    W_h = concat_columns(p, ("W_hr", "W_hz", "W_hh") if reset_after else ("W_hr", "W_hz"))

    Hs, R, Z, H_tilde = (np.empty((T, B, H), dtype) for _ in range(4))
    HW_hh = np.empty((T, B, H), dtype) if reset_after else None
    H_prev = H0
    for t in range(T):
        HW = H_prev @ W_h                                # [H W_hr, H W_hz (, H W_hh)]
        A_rz = XW[t, :, :2 * H] + HW[:, :2 * H]
        A_rz += b_rz
        RZ = sigmoid(A_rz)
        R[t], Z[t] = RZ[:, :H], RZ[:, H:]
        if reset_after:
            np.add(HW[:, 2 * H:], p["b_hh"], out=HW_hh[t])
            A_h = XW[t, :, 2 * H:] + p["b_h"] + R[t] * HW_hh[t]
        else:
            A_h = XW[t, :, 2 * H:] + (R[t] * H_prev) @ p["W_hh"]
            A_h += p["b_h"]
        np.tanh(A_h, out=H_tilde[t])
        np.add(Z[t] * H_prev, (1 - Z[t]) * H_tilde[t], out=Hs[t])
        H_prev = Hs[t]
    return Hs, GRUCache(X, H0, Hs, R, Z, H_tilde, HW_hh, params, reset_after)


def gru_backward(
    dHs: np.ndarray | None, cache: GRUCache, dH_T: np.ndarray | None = None, *, need_dX: bool = True
) -> tuple[np.ndarray | None, np.ndarray, dict[str, np.ndarray]]:
    """Backpropagation through time for ``gru_forward``: the loop of ``gru_step_backward`` from t = T to 1.

    dHs: (T, B, H), dHs[t] = ∂L/∂H_{t+1} through the outputs (None for zeros); dH_T: (B, H) or None, an extra
    gradient on the final state. Returns dX (T, B, D), dH0 (B, H), grads (keys of the GRU's params).
    For speed the pre-activation gradients of every step are stored, and the parameter gradients (sums over t)
    and dX are single matmuls after the loop.
    need_dX=False skips dX (returns None): a one-hot input layer has no use for it.
    """
    X, H0, Hs, R, Z, H_tilde, HW_hh, params, reset_after = cache
    T, B, D = X.shape
    H = Hs.shape[2]
    dtype = Hs.dtype
    if dHs is not None:
        check_grad(dHs, Hs.shape, "(T, B, H)", dtype, "GRU", "dHs")
    dH_next = np.zeros((B, H), dtype) if dH_T is None else check_grad(dH_T, (B, H), "(B, H)", dtype, "GRU", "dH_T")
    p = params
    # Speed: the transposed recurrent weights copied once into C order; multiplying by a ``.T`` view would pass
    # BLAS a Fortran-order matrix at every step, which is markedly slower for these small products.
    W_hT = np.ascontiguousarray(
        concat_columns(p, ("W_hr", "W_hz", "W_hh") if reset_after else ("W_hr", "W_hz")).T)   # (3H or 2H, H)
    W_hhT = None if reset_after else np.ascontiguousarray(p["W_hh"].T)
    H_prevs = np.concatenate([H0[None], Hs[:-1]])        # (T, B, H): H_0..H_{T-1}

    dA = np.empty((T, B, 3 * H), dtype)                   # [dA_r, dA_z, dA_h]: gradients of the pre-activations
    dS = np.empty((T, B, H), dtype) if reset_after else None   # ∂L/∂(H_{t-1} W_hh + b_hh)
    for t in reversed(range(T)):
        dH_t = dH_next if dHs is None else dHs[t] + dH_next
        H_prev = H_prevs[t]
        dA_r, dA_z, dA_h = dA[t, :, :H], dA[t, :, H:2 * H], dA[t, :, 2 * H:]
        np.multiply(dH_t * (1 - Z[t]), 1 - H_tilde[t] ** 2, out=dA_h)
        np.multiply(dH_t * (H_prev - H_tilde[t]), Z[t] * (1 - Z[t]), out=dA_z)
        dH_prev = dH_t * Z[t]
        if reset_after:
            np.multiply(dA_h, R[t], out=dS[t])
            np.multiply(dA_h * HW_hh[t], R[t] * (1 - R[t]), out=dA_r)
            dH_prev += np.concatenate([dA_r, dA_z, dS[t]], axis=1) @ W_hT
        else:
            dRH = dA_h @ W_hhT                            # ∂L/∂(R_t ⊙ H_{t-1})
            np.multiply(dRH * H_prev, R[t] * (1 - R[t]), out=dA_r)
            dH_prev += dRH * R[t]
            dH_prev += dA[t, :, :2 * H] @ W_hT
        dH_next = dH_prev
    dH0 = dH_next

    TB = T * B
    dA_rows = dA.reshape(TB, 3 * H)
    W_x = concat_columns(p, ("W_xr", "W_xz", "W_xh"))
    dX = (dA_rows @ W_x.T).reshape(T, B, D) if need_dX else None
    grads = split_columns(X.reshape(TB, D).T @ dA_rows, ("W_xr", "W_xz", "W_xh"))
    grads |= split_columns(dA_rows.sum(axis=0), ("b_r", "b_z", "b_h"))
    H_prev_rows = H_prevs.reshape(TB, H)
    if reset_after:
        dS_rows = dS.reshape(TB, H)
        grads |= split_columns(H_prev_rows.T @ dA_rows[:, :2 * H], ("W_hr", "W_hz"))
        grads["W_hh"] = H_prev_rows.T @ dS_rows
        grads["b_hh"] = dS_rows.sum(axis=0)
    else:
        grads |= split_columns(H_prev_rows.T @ dA_rows[:, :2 * H], ("W_hr", "W_hz"))
        grads["W_hh"] = (R * H_prevs).reshape(TB, H).T @ dA_rows[:, 2 * H:]
    return dX, dH0, {n: grads[n] for n in gru_param_names(reset_after)}
