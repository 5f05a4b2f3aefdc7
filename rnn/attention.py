"""Attention (注意力机制): a decoder that looks back at every encoder state.

One attention step reads a query, the decoder's state H' (B, H'), and the encoder's
states Hs (B, T_src, H), and returns a context vector c (B, H):

    scores    e_t = a(H', H_t)                        (B, T_src)
    weights   α = softmax(e) over the real source tokens; α_t = 0 at <pad>
    context   c = Σ_t α_t H_t

with one of two scores a (the notation page's eq-notation-attention):

- "additive" (Bahdanau et al., 2015): a(H', H_t) = tanh(H' W_da + H_t W_ea) v_a, with
  W_da (H', H_a), W_ea (H, H_a), v_a (H_a,); H_a is the attention size;
- "dot" (scaled dot product; Luong et al., 2015, with the 1/√H of Vaswani et al., 2017):
  a(H', H_t) = H' · H_t / √H, no parameters, H' = H.

Both scores are computed in two parts: the keys K, which depend on the encoder's
states only (additive: K_t = H_t W_ea; dot: K_t = H_t / √H), and the score of the
query against them. A decoder computes the keys once per source and reuses them at
every output step; the backward pass adds up their gradient over the steps and
passes it through the keys once (``keys_backward``).

Unlike the rest of the package, the arrays here are batch-major, (B, T_src, H), like
the masks and the weights α (B, T_src) that a heatmap shows row by row.
"""
from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from rnn._common import as_rng, check_grad, check_int

ATTENTION_KINDS = ("additive", "dot")
ATTENTION_PARAM_NAMES = {"additive": ("W_da", "W_ea", "v_a"), "dot": ()}


def init_attention(
    kind: str,
    query_size: int,
    key_size: int,
    attention_size: int | None = None,
    *,
    rng: np.random.Generator | int,
    dtype=np.float32,
) -> dict[str, np.ndarray]:
    """The parameters of one attention: for "additive", W_da (H', H_a) and W_ea
    (H, H_a) ~ U(−1/√H_a, 1/√H_a) and v_a (H_a,) ~ U(−1/√H_a, 1/√H_a), drawn in that
    order, with H' = query_size, H = key_size, H_a = attention_size; for "dot", an
    empty dict (attention_size must be None, and query_size = key_size)."""
    if kind not in ATTENTION_KINDS:
        raise ValueError(f"kind must be one of {ATTENTION_KINDS}; got {kind!r}")
    query_size = check_int(query_size, "query_size")
    key_size = check_int(key_size, "key_size")
    rng = as_rng(rng)
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"dtype must be a floating type such as float32 or float64; "
                        f"got {dtype}")
    if kind == "dot":
        if attention_size is not None:
            raise ValueError("dot-product attention has no attention_size: leave it "
                             "None")
        if query_size != key_size:
            raise ValueError(f"dot-product attention needs query_size = key_size; got "
                             f"{query_size} and {key_size}")
        return {}
    A = check_int(attention_size, "attention_size")
    bound = 1 / math.sqrt(A)
    shapes = {"W_da": (query_size, A), "W_ea": (key_size, A), "v_a": (A,)}
    return {n: rng.uniform(-bound, bound, shapes[n]).astype(dtype) for n in shapes}


# --------------------------------------------------------------------------------------
# The pieces: keys, scores, masked softmax, context
# --------------------------------------------------------------------------------------

def keys_forward(kind: str, p: dict, Hs: np.ndarray) -> np.ndarray:
    """K (B, T_src, ·): H_t W_ea (additive, H_a columns) or H_t / √H (dot)."""
    if kind == "additive":
        return Hs @ p["W_ea"]
    return Hs / math.sqrt(Hs.shape[-1])


def keys_backward(
    kind: str, p: dict, dK: np.ndarray, Hs: np.ndarray
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """From dK to dHs (B, T_src, H) and, for additive attention, dW_ea = Σ H_tᵀ dK_t."""
    if kind == "additive":
        dW_ea = Hs.reshape(-1, Hs.shape[-1]).T @ dK.reshape(-1, dK.shape[-1])
        return dK @ p["W_ea"].T, {"W_ea": dW_ea}
    return dK / math.sqrt(Hs.shape[-1]), {}


def masked_softmax(e: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """α = softmax(e) over the last axis, taken over the entries where mask is True
    only; α is exactly 0 where mask is False. Every row needs one True entry."""
    e = np.where(mask, e, -np.inf)
    Z = np.exp(e - e.max(axis=-1, keepdims=True))         # exp(−∞) = 0 at padding
    return Z / Z.sum(axis=-1, keepdims=True)


def masked_softmax_backward(dalpha: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """de_t = α_t (dα_t − Σ_s α_s dα_s): the softmax's Jacobian; 0 where α = 0, so
    padding gets no gradient."""
    return alpha * (dalpha - (alpha * dalpha).sum(axis=-1, keepdims=True))


class AttentionCache(NamedTuple):
    """What ``attention_backward`` needs from ``attention_forward`` (its step part,
    ``_step_backward``, needs all but Hs's role as the keys' input)."""

    kind: str
    H_dec: np.ndarray          # (B, H') the query
    Hs: np.ndarray             # (B, T_src, H) the encoder's states, keys' input too
    K: np.ndarray              # (B, T_src, ·) the keys
    tanh_QK: np.ndarray | None  # (B, T_src, H_a) additive only: tanh(H' W_da + K_t)
    alpha: np.ndarray          # (B, T_src) the weights


def _step(kind: str, p: dict, H_dec, Hs, K, mask):
    """Context and weights of a query against precomputed keys (unchecked)."""
    if kind == "additive":
        tanh_QK = np.tanh((H_dec @ p["W_da"])[:, None, :] + K)
        e = tanh_QK @ p["v_a"]
    else:
        tanh_QK = None
        e = (K @ H_dec[:, :, None])[:, :, 0]
    alpha = masked_softmax(e, mask)
    c = (alpha[:, None, :] @ Hs)[:, 0, :]
    return c, alpha, AttentionCache(kind, H_dec, Hs, K, tanh_QK, alpha)


def _step_backward(p: dict, dc: np.ndarray, cache: AttentionCache):
    """From dc (B, H) to dH' (B, H'), dK, dHs through the values only, and the
    gradients of W_da and v_a (additive)."""
    alpha, Hs = cache.alpha, cache.Hs
    dHs = alpha[:, :, None] * dc[:, None, :]                # c = Σ_t α_t H_t
    dalpha = (Hs @ dc[:, :, None])[:, :, 0]
    de = masked_softmax_backward(dalpha, alpha)
    if cache.kind == "additive":
        T = cache.tanh_QK
        grads = {"v_a": np.einsum("bt,bta->a", de, T)}
        dA = de[:, :, None] * p["v_a"] * (1 - T**2)        # through tanh
        dA_sum = dA.sum(axis=1)                             # H' is added at every t
        grads["W_da"] = cache.H_dec.T @ dA_sum
        return dA_sum @ p["W_da"].T, dA, dHs, grads
    dH_dec = (de[:, None, :] @ cache.K)[:, 0, :]            # e_t = K_t · H'
    dK = de[:, :, None] * cache.H_dec[:, None, :]
    return dH_dec, dK, dHs, {}


# --------------------------------------------------------------------------------------
# One attention, forward and backward, checked
# --------------------------------------------------------------------------------------

def _check_float(A, name: str, symbolic: str, shape: tuple, dtype) -> None:
    if not isinstance(A, np.ndarray):
        raise TypeError(f"{name} must be a numpy array of shape {symbolic}; got "
                        f"{type(A).__name__}")
    if A.shape != shape:
        raise ValueError(f"{name} must have shape {symbolic} = {shape}; got "
                         f"{A.shape}")
    if A.dtype != dtype:
        raise TypeError(f"{name} has dtype {A.dtype} but Hs has dtype {dtype}; "
                        f"convert one of them explicitly (no silent casts)")
    if not np.isfinite(A).all():
        raise ValueError(f"{name} contains NaN or infinity; expected finite values")


def check_attention_params(kind: str, params, query_size: int, key_size: int,
                           dtype) -> None:
    """The attention's parameters: the names of ``ATTENTION_PARAM_NAMES[kind]``, the
    shapes of ``init_attention`` and one float dtype (extra keys are ignored)."""
    if kind not in ATTENTION_KINDS:
        raise ValueError(f"kind must be one of {ATTENTION_KINDS}; got {kind!r}")
    if not isinstance(params, dict):
        raise TypeError(f"attention params must be a dict name -> array; got "
                        f"{type(params).__name__}")
    names = ATTENTION_PARAM_NAMES[kind]
    missing = [n for n in names if n not in params]
    if missing:
        raise ValueError(f"{kind} attention params are missing {missing}; expected "
                         f"the keys {list(names)}")
    if kind == "dot":
        if query_size != key_size:
            raise ValueError(f"dot-product attention needs the query's size H' to be "
                             f"the keys' H; got {query_size} and {key_size}")
        return
    v_a = params["v_a"]
    if not isinstance(v_a, np.ndarray) or v_a.ndim != 1:
        raise ValueError(f"v_a must be a 1-D array (H_a,); got shape {np.shape(v_a)}")
    A = v_a.shape[0]
    for n, symbolic, shape in (("W_da", "(H', H_a)", (query_size, A)),
                               ("W_ea", "(H, H_a)", (key_size, A)),
                               ("v_a", "(H_a,)", (A,))):
        _check_float(params[n], n, symbolic, shape, dtype)


def check_attention_inputs(H_dec, Hs, mask) -> np.dtype:
    """Hs (B, T_src, H) float, H_dec (B, H') of its dtype, mask (B, T_src) bool with
    a True in every row; all finite. Returns the dtype."""
    if not isinstance(Hs, np.ndarray) or Hs.ndim != 3 or Hs.dtype.kind != "f":
        raise TypeError(f"Hs must be a float numpy array of shape (B, T_src, H); got "
                        f"{getattr(Hs, 'dtype', type(Hs).__name__)} of shape "
                        f"{np.shape(Hs)}")
    B, T_src, _ = Hs.shape
    if B < 1 or T_src < 1:
        raise ValueError(f"Hs must have B, T_src ≥ 1; got shape {Hs.shape}")
    if not np.isfinite(Hs).all():
        raise ValueError("Hs contains NaN or infinity; expected finite values")
    if not isinstance(H_dec, np.ndarray) or H_dec.ndim != 2:
        raise ValueError(f"H_dec must be a numpy array of shape (B, H') with B = "
                         f"{B}; got {np.shape(H_dec)}")
    _check_float(H_dec, "H_dec", "(B, H')", (B, H_dec.shape[1]), Hs.dtype)
    if not isinstance(mask, np.ndarray) or mask.dtype != bool:
        got = mask.dtype if isinstance(mask, np.ndarray) else type(mask).__name__
        raise TypeError(f"mask must be a bool numpy array of shape (B, T_src), True at "
                        f"real tokens; got {got}")
    if mask.shape != (B, T_src):
        raise ValueError(f"mask must have shape (B, T_src) = {(B, T_src)}; got "
                         f"{mask.shape}")
    if not mask.any(axis=1).all():
        raise ValueError("mask must hold a True (a real source token) in every row: "
                         "softmax over no token is undefined")
    return Hs.dtype


def attention_forward(
    kind: str, params: dict[str, np.ndarray], H_dec: np.ndarray, Hs: np.ndarray,
    mask: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, AttentionCache]:
    """One attention step: the context c (B, H) and the weights α (B, T_src).

    kind: "additive" or "dot" (module docstring); params: from ``init_attention``
    (W_da, W_ea, v_a; {} for dot); H_dec (B, H'): the query, e.g. the decoder's state
    H'_{j-1}; Hs (B, T_src, H): the encoder's states (batch-major); mask (B, T_src)
    bool, True at real source tokens, at least one per row. α is exactly 0 where the
    mask is False, and sums to 1 over each row.
    """
    dtype = check_attention_inputs(H_dec, Hs, mask)
    check_attention_params(kind, params, H_dec.shape[1], Hs.shape[2], dtype)
    return _step(kind, params, H_dec, Hs, keys_forward(kind, params, Hs), mask)


def attention_backward(
    params: dict[str, np.ndarray], dc: np.ndarray, cache: AttentionCache
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Backward of ``attention_forward``: from dc = ∂L/∂c (B, H) to dH_dec (B, H'),
    dHs (B, T_src, H) and the parameter gradients (W_da, W_ea, v_a; {} for dot).

    Through c = Σ_t α_t H_t: dα_t = dc · H_t and dHs_t ∋ α_t dc; through the softmax:
    de_t = α_t (dα_t − Σ_s α_s dα_s); through the score, additive, with
    T_t = tanh(H' W_da + K_t): dA_t = de_t v_a ⊙ (1 − T_t²), dv_a = Σ_t de_t T_t,
    dH' = (Σ_t dA_t) W_daᵀ, dW_da = H'ᵀ Σ_t dA_t, dK_t = dA_t; dot: dH' = Σ_t de_t K_t,
    dK_t = de_t H'; and through the keys (``keys_backward``) into dHs and dW_ea.
    """
    if not isinstance(cache, AttentionCache):
        raise TypeError(f"cache must be the AttentionCache returned by "
                        f"attention_forward; got {type(cache).__name__}")
    check_grad(dc, cache.Hs.shape[::2], "(B, H)", cache.Hs.dtype, "attention", "dc")
    dH_dec, dK, dHs, grads = _step_backward(params, dc, cache)
    dHs_keys, g_keys = keys_backward(cache.kind, params, dK, cache.Hs)
    grads |= g_keys
    names = ATTENTION_PARAM_NAMES[cache.kind]
    return dH_dec, dHs + dHs_keys, {n: grads[n] for n in names}
