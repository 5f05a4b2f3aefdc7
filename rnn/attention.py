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

The encoder–decoder with attention, ``AttentionSeq2Seq`` (the notation page's
eq-notation-attention-decoder), is ``rnn.seq2seq``'s model with one change per
decoder step j (Bahdanau's design): the context c_j is computed from the previous
state H'_{j-1} and all the encoder's states, the cell reads [E_tgt[y_{j-1}], c_j],
and the output layer reads the new state and the same context,
O_j = H'_j W_hq + c_j W_cq + b_q. The decoder still starts from the encoder's final
state, H'_0 = H_ctx. Since c_j needs H'_{j-1}, the decoder runs step by step
(``cell_step``) even under teacher forcing, and its backward pass sends gradient
into every encoder state, not only the last one. For ``rnn.decoding`` the decoder's
state carries the encoder's states, their keys and the source mask along with H'
(``attention_encode``), so beam search works unchanged.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np

from rnn._common import (
    as_rng,
    check_finite_params,
    check_grad,
    check_int,
    init_uniform,
)
from rnn.embedding import embedding_backward, embedding_forward, init_embedding
from rnn.functional import log_softmax, softmax_cross_entropy
from rnn.layers import KINDS
from rnn.seq2seq import (
    CELL_PARAM_NAMES,
    RunCache,
    _check_pairs,
    _check_step_args,
    _encode,
    _train_pairs,
    _zero_state,
    cell_params,
    cell_step,
    cell_step_backward,
    check_padded,
    run_cell_backward,
    shift_right,
)
from rnn.train import History

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
    """What ``attention_backward`` needs from ``attention_forward``."""

    kind: str
    H_dec: np.ndarray          # (B, H') the query
    Hs: np.ndarray             # (B, T_src, H) the encoder's states, keys' input too
    K: np.ndarray              # (B, T_src, ·) the keys
    tanh_QK: np.ndarray | None  # (B, T_src, H_a) additive only: tanh(H' W_da + K_t)
    alpha: np.ndarray          # (B, T_src) the weights


def _step(kind: str, p: dict, H_dec, Hs, K, mask):
    """Context and weights of a query against precomputed keys (unchecked)."""
    if kind == "additive":
        tanh_QK = (H_dec @ p["W_da"])[:, None, :] + K
        np.tanh(tanh_QK, out=tanh_QK)
        e = tanh_QK @ p["v_a"]
    else:
        tanh_QK = None
        e = (K @ H_dec[:, :, None])[:, :, 0]
    alpha = masked_softmax(e, mask)
    c = (alpha[:, None, :] @ Hs)[:, 0, :]
    return c, alpha, AttentionCache(kind, H_dec, Hs, K, tanh_QK, alpha)


def _step_backward(p: dict, dc: np.ndarray, cache: AttentionCache):
    """From dc (B, H) to dH' (B, H'), dK and the gradients of W_da and v_a
    (additive), through the weights α. The other path, through c = Σ_t α_t H_t
    directly, gives dHs_t = α_t dc; the callers add it (a decoder adds it up over
    all its steps in one product)."""
    alpha, Hs = cache.alpha, cache.Hs
    dalpha = (Hs @ dc[:, :, None])[:, :, 0]                 # dα_t = dc · H_t
    de = masked_softmax_backward(dalpha, alpha)
    if cache.kind == "additive":
        T = cache.tanh_QK
        grads = {"v_a": de.reshape(-1) @ T.reshape(-1, T.shape[-1])}
        dA = T * T                                          # through tanh, in place:
        np.subtract(1, dA, out=dA)                          # dA = de v_a ⊙ (1 − T²)
        dA *= p["v_a"]
        dA *= de[:, :, None]
        dA_sum = dA.sum(axis=1)                             # H' is added at every t
        grads["W_da"] = cache.H_dec.T @ dA_sum
        return dA_sum @ p["W_da"].T, dA, grads
    dH_dec = (de[:, None, :] @ cache.K)[:, 0, :]            # e_t = K_t · H'
    dK = de[:, :, None] * cache.H_dec[:, None, :]
    return dH_dec, dK, {}


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


def _check_params(kind: str, params, query_size: int, key_size: int, dtype) -> None:
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


def _check_inputs(H_dec, Hs, mask) -> np.dtype:
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
    dtype = _check_inputs(H_dec, Hs, mask)
    _check_params(kind, params, H_dec.shape[1], Hs.shape[2], dtype)
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
    dH_dec, dK, grads = _step_backward(params, dc, cache)
    dHs, g_keys = keys_backward(cache.kind, params, dK, cache.Hs)
    dHs += cache.alpha[:, :, None] * dc[:, None, :]         # c = Σ_t α_t H_t
    grads |= g_keys
    names = ATTENTION_PARAM_NAMES[cache.kind]
    return dH_dec, dHs, {n: grads[n] for n in names}


# --------------------------------------------------------------------------------------
# The encoder–decoder with attention
# --------------------------------------------------------------------------------------

@dataclass
class AttentionSeq2Seq:
    """An encoder–decoder with attention (eq-notation-attention-decoder): kind "rnn",
    "gru" or "lstm" for both cells, attention "additive" or "dot".

    params: those of ``rnn.seq2seq.Seq2Seq`` ("E_src", "enc.*", "E_tgt", "dec.*",
    "W_hq", "b_q"), except that the decoder cell's input weights dec.W_x* are
    (D + H, H), since it reads [E_tgt[y_{j-1}], c_j]; and "W_cq" (H, V_tgt), with
    which the output layer reads the context, O_j = H'_j W_hq + c_j W_cq + b_q; and,
    for additive attention, "att.W_da" (H, H_a), "att.W_ea" (H, H_a), "att.v_a"
    (H_a,)."""

    kind: str
    attention: str              # "additive" | "dot"
    src_vocab_size: int         # V_src
    tgt_vocab_size: int         # V_tgt
    embed_size: int             # D, for both embeddings
    hidden_size: int            # H, for both cells
    attention_size: int | None  # H_a (additive), None (dot)
    params: dict[str, np.ndarray]

    @property
    def dtype(self) -> np.dtype:
        return self.params["W_hq"].dtype


def init_attention_seq2seq(
    src_vocab_size: int,
    tgt_vocab_size: int,
    hidden_size: int,
    kind: str = "gru",
    *,
    attention: str = "additive",
    embed_size: int = 16,
    attention_size: int | None = None,
    rng: np.random.Generator | int,
    dtype=np.float32,
) -> AttentionSeq2Seq:
    """An ``AttentionSeq2Seq`` with fresh parameters, drawn from ``rng`` in this order:
    E_src ~ N(0, 1/D); the encoder cell ~ U(−1/√H, 1/√H); E_tgt; the decoder cell
    (input size D + H); the attention (``init_attention``; attention_size None means
    H_a = H for additive attention); W_hq and W_cq ~ U(−1/√H, 1/√H); b_q = 0."""
    for name, value in (("src_vocab_size", src_vocab_size),
                        ("tgt_vocab_size", tgt_vocab_size),
                        ("hidden_size", hidden_size), ("embed_size", embed_size)):
        check_int(value, name)
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got {kind!r}")
    if attention not in ATTENTION_KINDS:
        raise ValueError(f"attention must be one of {ATTENTION_KINDS}; "
                         f"got {attention!r}")
    if attention == "additive" and attention_size is None:
        attention_size = hidden_size
    rng = as_rng(rng)
    D, H, names = embed_size, hidden_size, CELL_PARAM_NAMES[kind]
    params = {"E_src": init_embedding(src_vocab_size, D, rng, dtype)}
    params |= {f"enc.{n}": v for n, v in init_uniform(names, D, H, rng, dtype).items()}
    params["E_tgt"] = init_embedding(tgt_vocab_size, D, rng, dtype)
    params |= {f"dec.{n}": v
               for n, v in init_uniform(names, D + H, H, rng, dtype).items()}
    att = init_attention(attention, H, H, attention_size, rng=rng, dtype=dtype)
    params |= {f"att.{n}": v for n, v in att.items()}
    bound = 1 / math.sqrt(H)
    for name in ("W_hq", "W_cq"):
        params[name] = rng.uniform(-bound, bound, (H, tgt_vocab_size)).astype(dtype)
    params["b_q"] = np.zeros(tgt_vocab_size, dtype)
    return AttentionSeq2Seq(kind, attention, src_vocab_size, tgt_vocab_size, D, H,
                            attention_size, params)


def _att_params(model: AttentionSeq2Seq) -> dict[str, np.ndarray]:
    return {n: model.params[f"att.{n}"] for n in ATTENTION_PARAM_NAMES[model.attention]}


def _check_att_model(model, where: str) -> AttentionSeq2Seq:
    if not isinstance(model, AttentionSeq2Seq):
        raise TypeError(f"{where} needs an AttentionSeq2Seq (init_attention_seq2seq); "
                        f"got {type(model).__name__}")
    check_finite_params(model.params, where)
    return model


def _encode_all(model: AttentionSeq2Seq, src: np.ndarray, src_mask: np.ndarray):
    """Every encoder state Hs (B, T_src, H), batch-major; the keys K; the context
    (the decoder's first state); the encoder's RunCache."""
    Hs_tm, context, enc = _encode(model, src, src_mask)
    Hs = np.ascontiguousarray(Hs_tm.transpose(1, 0, 2))
    return Hs, keys_forward(model.attention, _att_params(model), Hs), context, enc


def _attend_and_step(model: AttentionSeq2Seq, state: tuple, X_emb, Hs, K, mask):
    """One decoder step with attention on checked arrays: c_j from H'_{j-1}, the cell
    on [E_tgt[y_{j-1}], c_j], O_j = H'_j W_hq + c_j W_cq + b_q. Returns O_j, the new
    cell state, c_j and both caches."""
    p = model.params
    c, _, att = _step(model.attention, _att_params(model), state[0], Hs, K, mask)
    new, cell = cell_step(model.kind, cell_params(model, "dec"),
                          np.concatenate([X_emb, c], axis=1), state)
    O = new[0] @ p["W_hq"] + c @ p["W_cq"] + p["b_q"]
    return O, new, c, att, cell


class AttentionSeq2SeqCache(NamedTuple):
    """What the backward pass needs from ``_forward``."""

    src_tm: np.ndarray     # (T_src, B) source ids, time-major
    enc: RunCache
    Hs: np.ndarray         # (B, T_src, H) encoder states
    K: np.ndarray          # the keys
    dec_in: np.ndarray     # (T_tgt, B) decoder inputs <bos>, y_1, …, y_{n-1}
    steps: list            # per target step: (AttentionCache, the cell's step cache)
    Hs_dec: np.ndarray     # (T_tgt, B, H) decoder states H'_1 … H'_{T_tgt}
    Cs: np.ndarray         # (T_tgt, B, H) contexts c_1 … c_{T_tgt}


def _forward(model: AttentionSeq2Seq, src, src_mask, tgt):
    """Logits O (T_tgt, B, V_tgt) under teacher forcing, step by step (c_j needs
    H'_{j-1})."""
    Hs, K, state, enc = _encode_all(model, src, src_mask)
    dec_in = shift_right(tgt).T
    X_emb = embedding_forward(model.params["E_tgt"], dec_in)     # (T_tgt, B, D)
    Os, steps, Hs_dec, Cs = [], [], [], []
    for j in range(dec_in.shape[0]):
        O, state, c, att, cell = _attend_and_step(model, state, X_emb[j], Hs, K,
                                                  src_mask)
        Os.append(O)
        steps.append((att, cell))
        Hs_dec.append(state[0])
        Cs.append(c)
    return np.stack(Os), AttentionSeq2SeqCache(src.T, enc, Hs, K, dec_in, steps,
                                               np.stack(Hs_dec), np.stack(Cs))


def _alphas(cache: AttentionSeq2SeqCache) -> np.ndarray:
    """The weights of every step, α (B, T_tgt, T_src)."""
    return np.stack([att.alpha for att, _ in cache.steps], axis=1)


def _add_grads(total: dict, grads: dict, prefix: str = "") -> None:
    for n, v in grads.items():
        key = prefix + n
        total[key] = total[key] + v if key in total else v


def _loss_and_grads(model: AttentionSeq2Seq, src, src_mask, tgt, tgt_mask):
    p, H, V, D = model.params, model.hidden_size, model.tgt_vocab_size, model.embed_size
    O, cache = _forward(model, src, src_mask, tgt)
    loss, dO = softmax_cross_entropy(O, tgt.T, tgt_mask.T)
    dO_rows = dO.reshape(-1, V)
    grads = {"W_hq": cache.Hs_dec.reshape(-1, H).T @ dO_rows,
             "W_cq": cache.Cs.reshape(-1, H).T @ dO_rows, "b_q": dO_rows.sum(axis=0)}
    dHs_dec, dCs = dO @ p["W_hq"].T, dO @ p["W_cq"].T
    p_dec, p_att = cell_params(model, "dec"), _att_params(model)
    dstate = tuple(np.zeros_like(S) for S in _zero_state(model, src.shape[0]))
    dK, dX_emb = np.zeros_like(cache.K), []
    dc = np.zeros((src.shape[0], len(cache.steps), H), model.dtype)   # (B, T_tgt, H)
    for j in reversed(range(len(cache.steps))):
        att, cell = cache.steps[j]
        dstate = (dstate[0] + dHs_dec[j],) + dstate[1:]
        dX, dstate, g = cell_step_backward(model.kind, p_dec, dstate, cell)
        _add_grads(grads, g, "dec.")
        dX_emb.append(dX[:, :D])
        # c_j feeds the cell and the output layer; it came from H'_{j-1} and Hs
        dc[:, j] = dCs[j] + dX[:, D:]
        dH_query, dK_j, g = _step_backward(p_att, dc[:, j], att)
        _add_grads(grads, g, "att.")
        dstate = (dstate[0] + dH_query,) + dstate[1:]
        dK += dK_j
    dHs, g = keys_backward(model.attention, p_att, dK, cache.Hs)
    _add_grads(grads, g, "att.")
    # through c_j = Σ_t α_jt H_t directly, all steps at once: dHs_t += Σ_j α_jt dc_j
    dHs += _alphas(cache).transpose(0, 2, 1) @ dc
    grads["E_tgt"] = embedding_backward(np.stack(dX_emb[::-1]), cache.dec_in, V)
    # The encoder gets its gradient from every position (through c_1, c_2, …) and,
    # as without attention, from the decoder's first state H'_0.
    dX_enc, _, g = run_cell_backward(cell_params(model, "enc"),
                                     dHs.transpose(1, 0, 2), dstate, cache.enc)
    _add_grads(grads, g, "enc.")
    grads["E_src"] = embedding_backward(dX_enc, cache.src_tm, model.src_vocab_size)
    return loss, {k: grads[k] for k in p}


def attention_seq2seq_loss_and_grads(
    model: AttentionSeq2Seq, src: np.ndarray, src_mask: np.ndarray, tgt: np.ndarray,
    tgt_mask: np.ndarray,
) -> tuple[float, dict[str, np.ndarray]]:
    """Mean cross-entropy over the real target tokens under teacher forcing, and its
    gradient with respect to every parameter (keys of model.params); arguments as for
    ``rnn.seq2seq.seq2seq_loss_and_grads``."""
    _check_att_model(model, "attention_seq2seq_loss_and_grads")
    return _loss_and_grads(model, *_check_pairs(model, src, src_mask, tgt, tgt_mask))


def attention_weights(
    model: AttentionSeq2Seq, src: np.ndarray, src_mask: np.ndarray, tgt: np.ndarray,
    tgt_mask: np.ndarray,
) -> np.ndarray:
    """α (B, T_tgt, T_src): the weights each output step j gives each source token t
    when the decoder is fed tgt (teacher forcing): the alignment a heatmap shows. Rows
    j beyond a target's end are 0, like the columns of the source's padding.

    For the alignment of the model's own output, pass that output:
    ``pred = greedy_decode(...)``, ``attention_weights(model, src, src_mask, pred,
    pred != 0)``.
    """
    _check_att_model(model, "attention_weights")
    src, src_mask, tgt, tgt_mask = _check_pairs(model, src, src_mask, tgt, tgt_mask)
    cache = _forward(model, src, src_mask, tgt)[1]
    return _alphas(cache) * tgt_mask[:, :, None]


# --------------------------------------------------------------------------------------
# Decoding: the step function of rnn.decoding
# --------------------------------------------------------------------------------------

def attention_encode(model: AttentionSeq2Seq, src: np.ndarray,
                     src_mask: np.ndarray) -> tuple:
    """The decoder's first state: (H'_0, Hs, K, src_mask), or for an LSTM (H'_0, C'_0,
    Hs, K, src_mask), with H'_0 (C'_0) the context (B, H), Hs (B, T_src, H) every
    encoder state, K their keys. Every array's first axis is the row, so
    ``rnn.decoding`` can select and repeat rows of it."""
    _check_att_model(model, "attention_encode")
    src, src_mask = check_padded(src, src_mask, model.src_vocab_size, "src")
    Hs, K, context, _ = _encode_all(model, src, src_mask)
    return context + (Hs, K, src_mask)


def _decoder_step(model: AttentionSeq2Seq, state: tuple, prev_ids: np.ndarray):
    n = len(state) - 3
    Hs, K, mask = state[n:]
    X_emb = embedding_forward(model.params["E_tgt"], prev_ids)
    O, new, _, _, _ = _attend_and_step(model, state[:n], X_emb, Hs, K, mask)
    return log_softmax(O.astype(np.float64)), new + (Hs, K, mask)


def attention_decoder_step(
    model: AttentionSeq2Seq, state: tuple, prev_ids: np.ndarray
) -> tuple[np.ndarray, tuple]:
    """One decoder step, the contract of ``rnn.seq2seq.decoder_step``: from the state
    (``attention_encode``, or this function's previous result) and the previous
    tokens y_{j-1} (B,) to log Ŷ_j (B, V_tgt) in float64 and the next state."""
    _check_att_model(model, "attention_decoder_step")
    prev_ids = _check_step_args(model, state, prev_ids,
                                "as attention_encode returns it", extra=3)
    B, n = prev_ids.shape[0], len(state) - 3
    Hs, K, mask = state[n:]
    _check_inputs(state[0], Hs, mask)
    if Hs.shape[0] != B or Hs.shape[2] != model.hidden_size:
        raise ValueError(f"the state's Hs must have shape (B, T_src, H) with B = {B}, "
                         f"H = {model.hidden_size}; got {Hs.shape}")
    expected = keys_forward(model.attention, _att_params(model), Hs).shape
    _check_float(K, "the state's K", "(B, T_src, ·)", expected, model.dtype)
    return _decoder_step(model, state, prev_ids)


def attention_decoder(
    model: AttentionSeq2Seq, src: np.ndarray, src_mask: np.ndarray
) -> tuple[Callable, tuple]:
    """(step, state) for ``rnn.decoding``'s greedy_decode, sample_decode,
    beam_search, exhaustive_search and sequence_log_prob: the decoder step with
    attention, and the first state of each source row (``attention_encode``)."""
    return functools.partial(_decoder_step, model), attention_encode(model, src,
                                                                     src_mask)


# --------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------

def train_attention_seq2seq(
    model: AttentionSeq2Seq,
    src: np.ndarray,
    src_mask: np.ndarray,
    tgt: np.ndarray,
    tgt_mask: np.ndarray,
    *,
    epochs: int,
    batch_size: int,
    optimizer,
    clip: float | None = None,
    seed: np.random.Generator | int,
    max_loss: float | None = None,
    max_updates: int | None = None,
    on_nonfinite: str = "raise",
) -> History:
    """``rnn.seq2seq.train_seq2seq`` for a model with attention: the same minibatches,
    checks, clipping, History and divergence rules, with
    ``attention_seq2seq_loss_and_grads``. Updates model.params in place."""
    _check_att_model(model, "train_attention_seq2seq")
    return _train_pairs(model, _loss_and_grads, src, src_mask, tgt, tgt_mask,
                        epochs=epochs, batch_size=batch_size, optimizer=optimizer,
                        clip=clip, seed=seed, max_loss=max_loss,
                        max_updates=max_updates, on_nonfinite=on_nonfinite)
