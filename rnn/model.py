"""The recurrent language model of the book: tokens → (embedding) → recurrent layer → logits over the vocabulary.

For a minibatch of token ids X ∈ {0, …, V−1}^{B×T} (batch first, as the data iterators produce it) and
targets Y (the next tokens):

    X_t = one_hot(ids_t)  (D = V)     or     X_t = E[ids_t]  (E ∈ R^{V×D}, an embedding)
    Hs  = recurrent layer(X_1..X_T, state)          H_t ∈ R^{B×(dirs·H)}, RNN, GRU or LSTM, stacked, (bi)directional
    O_t = H_t W_hq + b_q                             O_t ∈ R^{B×V}, the logits
    L   = mean over the B·T tokens of −log softmax(O_t)[Y_t]

The parameters live in one flat dict: "E" (V, D) when there is an embedding, the recurrent layer's keys
("l0.fwd.W_xh", …, see ``rnn.layers``), "W_hq" (dirs·H, V) and "b_q" (V,).

Truncated backpropagation through time comes for free: the state returned by a forward pass is a plain array,
so passing it as the initial state of the next minibatch carries the *values* across, while the gradient
of the next loss stops at that state and never flows back into the previous minibatch.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from rnn._common import param_shape
from rnn.embedding import embedding_backward, embedding_forward, init_embedding
from rnn.functional import one_hot, softmax_cross_entropy
from rnn.layers import RecurrentCache, RecurrentSpec, init_recurrent, recurrent_backward, recurrent_forward


@dataclass
class LanguageModel:
    """A recurrent language model: its architecture (spec, vocab_size, embed_size) and its parameters.

    spec: the recurrent layer; its input_size is D = embed_size, or V when embed_size is None (one-hot input).
    params: {"E": (V, D) if embed_size, recurrent keys…, "W_hq": (dirs·H, V), "b_q": (V,)}, one float dtype.
    """

    spec: RecurrentSpec
    vocab_size: int
    embed_size: int | None
    params: dict[str, np.ndarray]

    @property
    def dtype(self) -> np.dtype:
        """The dtype of every parameter (float32 for training, float64 for gradient checks)."""
        return self.params["W_hq"].dtype

    def __repr__(self) -> str:
        s = self.spec
        n = sum(p.size for p in self.params.values())
        emb = "one-hot" if self.embed_size is None else f"embed_size={self.embed_size}"
        bi = ", bidirectional" if s.bidirectional else ""
        return (f"LanguageModel({s.kind}, V={self.vocab_size}, {emb}, H={s.hidden_size}, "
                f"num_layers={s.num_layers}{bi}, {n} parameters, {self.dtype})")


def lm_param_shapes(spec: RecurrentSpec, vocab_size: int, embed_size: int | None) -> dict[str, tuple[int, ...]]:
    """The shape of every parameter of a language model, in the order ``init_language_model`` creates them."""
    shapes = {} if embed_size is None else {"E": (vocab_size, embed_size)}
    for k in range(spec.num_layers):
        for d in spec.directions:
            for name in spec.cell_param_names():
                shapes[f"l{k}.{d}.{name}"] = param_shape(name, spec.layer_input_size(k), spec.hidden_size)
    shapes["W_hq"] = (spec.num_directions * spec.hidden_size, vocab_size)
    shapes["b_q"] = (vocab_size,)
    return shapes


def init_language_model(
    vocab_size: int,
    hidden_size: int,
    kind: str = "rnn",
    *,
    num_layers: int = 1,
    embed_size: int | None = None,
    bidirectional: bool = False,
    nonlinearity: str = "tanh",
    reset_after: bool = False,
    rng: np.random.Generator,
    dtype=np.float32,
) -> LanguageModel:
    """A language model with freshly drawn parameters.

    vocab_size: V; hidden_size: H; kind: "rnn", "gru" or "lstm"; embed_size: D of an embedding E, or None to
    feed one-hot vectors (D = V). bidirectional is allowed, but a bidirectional model reads the token it
    should predict (chapter 9). Draws, in this order: E ~ N(0, 1/D) (``init_embedding``), the recurrent
    layer (``init_recurrent``: U(−1/√H, 1/√H)), W_hq ~ U(−1/√(dirs·H), 1/√(dirs·H)); b_q = 0, so the first
    predictions are close to uniform (perplexity ≈ V).
    """
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, (int, np.integer)) or vocab_size < 1:
        raise ValueError(f"vocab_size must be an integer ≥ 1; got {vocab_size!r}")
    if embed_size is not None and (
        isinstance(embed_size, bool) or not isinstance(embed_size, (int, np.integer)) or embed_size < 1
    ):
        raise ValueError(f"embed_size must be None (one-hot input) or an integer ≥ 1; got {embed_size!r}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy Generator, e.g. np.random.default_rng(0); got {type(rng).__name__}")
    V = int(vocab_size)
    spec = RecurrentSpec(kind, V if embed_size is None else int(embed_size), hidden_size, num_layers,
                         bidirectional, nonlinearity, reset_after)
    params = {}
    if embed_size is not None:
        params["E"] = init_embedding(V, int(embed_size), rng, dtype)
    params |= init_recurrent(spec, rng, dtype)
    fan_in = spec.num_directions * spec.hidden_size
    bound = 1.0 / np.sqrt(fan_in)
    params["W_hq"] = rng.uniform(-bound, bound, size=(fan_in, V)).astype(dtype)
    params["b_q"] = np.zeros(V, dtype)
    return LanguageModel(spec, V, None if embed_size is None else int(embed_size), params)


def begin_state(model: LanguageModel, batch_size: int):
    """The zero initial state for ``batch_size`` sequences: an array (num_layers·dirs, B, H) for rnn/gru,
    a tuple (H_0, C_0) of two such arrays for lstm, in the model's dtype. Same as passing state=None."""
    s = model.spec
    Z = np.zeros((s.num_layers * s.num_directions, batch_size, s.hidden_size), model.dtype)
    return (Z, Z.copy()) if s.kind == "lstm" else Z


class LMCache(NamedTuple):
    """What ``lm_loss_and_grads`` needs from the forward pass (time-major)."""

    ids: np.ndarray               # (T, B) input token ids, for dE
    Hs: np.ndarray                # (T, B, dirs·H) the recurrent layer's outputs, for dW_hq
    recurrent: RecurrentCache     # for recurrent_backward


def _check_ids(ids, V: int, name: str) -> np.ndarray:
    if not isinstance(ids, np.ndarray) or not np.issubdtype(ids.dtype, np.integer):
        got = ids.dtype if isinstance(ids, np.ndarray) else type(ids).__name__
        raise TypeError(f"{name} must be an integer numpy array of token ids, shape (B, T); got {got}")
    if ids.ndim != 2 or ids.shape[0] < 1 or ids.shape[1] < 1:
        raise ValueError(f"{name} must have shape (B, T) with B, T ≥ 1 (batch first); got {ids.shape}")
    lo, hi = ids.min(), ids.max()
    if lo < 0 or hi >= V:
        raise ValueError(f"{name} must lie in [0, V) = [0, {V}); got values from {lo} to {hi}")
    return ids


def _forward(model: LanguageModel, ids: np.ndarray, state, name: str = "ids") -> tuple[np.ndarray, Any, LMCache]:
    """The forward pass, time-major: ids (B, T) → O (T, B, V), final state, cache."""
    p = model.params
    ids_tm = _check_ids(ids, model.vocab_size, name).T             # (T, B): the one transpose
    if model.embed_size is None:
        X = one_hot(ids_tm, model.vocab_size, dtype=model.dtype)    # (T, B, V)
    else:
        X = embedding_forward(p["E"], ids_tm)                       # (T, B, D)
    Hs, state, rcache = recurrent_forward(model.spec, p, X, state)  # (T, B, dirs·H)
    O = Hs @ p["W_hq"] + p["b_q"]                                   # (T, B, V)
    return O, state, LMCache(ids_tm, Hs, rcache)


def lm_forward(model: LanguageModel, ids: np.ndarray, state=None) -> tuple[np.ndarray, Any, LMCache]:
    """Logits O_t = H_t W_hq + b_q for every position of a batch of token sequences.

    ids: (B, T) integer token ids in [0, V), batch first (transposed once to time-major inside);
    state: None (zeros) or the state a previous call returned / ``begin_state`` made.
    Returns logits (B, T, V) (a transposed view of the time-major result), the final state (same layout
    as ``begin_state``) and the cache (time-major) that ``lm_loss_and_grads`` uses.
    """
    O, state, cache = _forward(model, ids, state)
    return O.transpose(1, 0, 2), state, cache


def lm_loss_and_grads(
    model: LanguageModel, X: np.ndarray, Y: np.ndarray, state=None, mask: np.ndarray | None = None
) -> tuple[float, dict[str, np.ndarray], Any]:
    """The mean cross-entropy L of predicting Y from X, and ∂L/∂θ for every parameter θ.

    X: (B, T) input ids; Y: (B, T) target ids (for a language model, X shifted by one token);
    state: initial state or None (zeros); mask: (B, T) of 0/1, 1 where a token counts (None: all count).
    Backward pass, time-major (dO from ``softmax_cross_entropy``, already divided by the number of tokens N):
        dW_hq = Σ_t H_tᵀ dO_t,   db_q = Σ_t Σ_rows dO_t,   dHs_t = dO_t W_hqᵀ,
        (dX, _, recurrent grads) = recurrent_backward(dHs),   dE = one_hot(ids)ᵀ dX  (with an embedding).
    The gradient with respect to the initial state is dropped: truncated BPTT stops at the minibatch boundary.
    Returns (loss, grads with exactly the keys of model.params, final state).
    """
    p = model.params
    O, state_T, cache = _forward(model, X, state, "X")              # O: (T, B, V)
    Y = _check_ids(Y, model.vocab_size, "Y")
    if Y.shape != X.shape:
        raise ValueError(f"Y must have the shape of X, (B, T) = {X.shape}; got {Y.shape}")
    if mask is not None:
        mask = np.asarray(mask)
        if mask.shape != X.shape:
            raise ValueError(f"mask must have the shape of X, (B, T) = {X.shape}; got {mask.shape}")
        mask = mask.T
    loss, dO = softmax_cross_entropy(O, Y.T, mask)                  # dO: (T, B, V)

    T, B, V = dO.shape
    Hs = cache.Hs
    dO_rows = dO.reshape(T * B, V)
    grads = {
        "W_hq": Hs.reshape(T * B, -1).T @ dO_rows,                  # (dirs·H, V)
        "b_q": dO_rows.sum(axis=0),                                 # (V,)
    }
    dHs = dO @ p["W_hq"].T                                          # (T, B, dirs·H)
    # A one-hot input is data, not a parameter: its gradient dX would be thrown away, so it is not computed.
    dX, _dstate0, rgrads = recurrent_backward(model.spec, p, dHs, None, cache.recurrent,
                                              need_dX=model.embed_size is not None)
    grads |= rgrads
    if model.embed_size is not None:
        grads["E"] = embedding_backward(dX, cache.ids, model.vocab_size)
    return loss, {k: grads[k] for k in p}, state_T
