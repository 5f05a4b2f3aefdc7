"""The recurrent language model of the book: tokens → (embedding) → recurrent layer →
logits over the vocabulary.

For a minibatch of token ids ∈ {0, …, V−1}^{B×T} (batch first, as the data iterators
produce it) and targets (the next tokens):

    X_t = one_hot(ids_t)  (D = V)     or     X_t = E[ids_t]  (E ∈ R^{V×D}, an embedding)
    Hs  = recurrent layer(X_1..X_T, state)   H_t ∈ R^{B×(dirs·H)}, RNN, GRU or LSTM,
                                             stacked, (bi)directional
    O_t = H_t W_hq + b_q                     O_t ∈ R^{B×V}, the logits
    L   = mean over the B·T tokens of −log softmax(O_t)[Y_t]

The parameters live in one flat dict: "E" (V, D) when there is an embedding, the
recurrent layer's keys ("l0.fwd.W_xh", …, see ``rnn.layers``), "W_hq" (dirs·H, V) and
"b_q" (V,).

Truncated backpropagation through time comes for free: the state returned by a forward
pass is a plain array, so passing it as the initial state of the next minibatch carries
the *values* across, while the gradient of the next loss stops at that state and never
flows back into the previous minibatch.

The public functions check their arguments once, on entry, including that every
parameter is finite (a NaN parameter raises a ValueError naming it instead of producing
NaN logits). The loops of ``rnn.train`` and ``rnn.generate`` call the unchecked
``_lm_forward`` and ``_lm_loss_and_grads`` after checking once themselves.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from rnn._common import as_rng, check_finite_params, check_ids, check_int, param_shape
from rnn.embedding import embedding_backward, embedding_forward, init_embedding
from rnn.functional import one_hot, softmax_cross_entropy
from rnn.layers import (
    RecurrentCache,
    RecurrentSpec,
    init_recurrent,
    recurrent_backward,
    recurrent_forward,
)


@dataclass
class LanguageModel:
    """A recurrent language model: its architecture (spec, vocab_size, embed_size) and
    its parameters.

    spec: the recurrent layer; its input_size is D = embed_size, or V when embed_size is
    None (one-hot input).
    params: {"E": (V, D) if embed_size, recurrent keys…, "W_hq": (dirs·H, V), "b_q":
    (V,)}, one float dtype.
    """

    spec: RecurrentSpec
    vocab_size: int
    embed_size: int | None
    params: dict[str, np.ndarray]

    @property
    def dtype(self) -> np.dtype:
        """The dtype of every parameter (float32 for training, float64 for gradient
        checks)."""
        return self.params["W_hq"].dtype

    def __repr__(self) -> str:
        s = self.spec
        n = sum(p.size for p in self.params.values())
        emb = "one-hot" if self.embed_size is None else f"embed_size={self.embed_size}"
        bi = ", bidirectional" if s.bidirectional else ""
        return (f"LanguageModel({s.kind}, V={self.vocab_size}, {emb}, "
                f"H={s.hidden_size}, num_layers={s.num_layers}{bi}, {n} parameters, "
                f"{self.dtype})")


def lm_param_shapes(
    spec: RecurrentSpec, vocab_size: int, embed_size: int | None
) -> dict[str, tuple[int, ...]]:
    """The shape of every parameter of a language model, in the order
    ``init_language_model`` creates them."""
    shapes = {} if embed_size is None else {"E": (vocab_size, embed_size)}
    for k in range(spec.num_layers):
        for d in spec.directions:
            for name in spec.cell_param_names():
                shapes[f"l{k}.{d}.{name}"] = param_shape(
                    name, spec.layer_input_size(k), spec.hidden_size)
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
    rng: np.random.Generator | int,
    dtype=np.float32,
) -> LanguageModel:
    """A language model with freshly drawn parameters.

    vocab_size: V; hidden_size: H; kind: "rnn", "gru" or "lstm"; embed_size: D of an
    embedding E, or None to feed one-hot vectors (D = V). bidirectional is allowed, but
    a bidirectional model reads the token it should predict (chapter 9). rng: a numpy
    Generator or an int seed. Draws, in this order: E ~ N(0, 1/D) (``init_embedding``),
    the recurrent layer (``init_recurrent``: U(−1/√H, 1/√H)), W_hq ~ U(−1/√(dirs·H),
    1/√(dirs·H)); b_q = 0, so the first predictions are close to uniform (perplexity ≈
    V).
    """
    V = check_int(vocab_size, "vocab_size")
    if embed_size is not None and (
        isinstance(embed_size, bool) or not isinstance(embed_size, (int, np.integer))
        or embed_size < 1
    ):
        raise ValueError(f"embed_size must be None (one-hot input) or an integer ≥ 1; "
                         f"got {embed_size!r}")
    rng = as_rng(rng)
    try:
        float_dtype = np.dtype(dtype)
    except TypeError:
        float_dtype = None
    if float_dtype is None or float_dtype.kind != "f":
        raise TypeError(f"dtype must be a floating type such as np.float32 or "
                        f"np.float64; got {dtype!r}")
    D = V if embed_size is None else int(embed_size)
    spec = RecurrentSpec(kind, D, hidden_size, num_layers, bidirectional, nonlinearity,
                         reset_after)
    params = {}
    if embed_size is not None:
        params["E"] = init_embedding(V, int(embed_size), rng, dtype)
    params |= init_recurrent(spec, rng, dtype)
    fan_in = spec.num_directions * spec.hidden_size
    bound = 1.0 / np.sqrt(fan_in)
    params["W_hq"] = rng.uniform(-bound, bound, size=(fan_in, V)).astype(dtype)
    params["b_q"] = np.zeros(V, dtype)
    return LanguageModel(spec, V, None if embed_size is None else D, params)


def check_language_model(model, where: str) -> LanguageModel:
    """TypeError unless ``model`` is a LanguageModel; ValueError naming a non-finite
    parameter.

    Used once on entry by every public function that runs a model (``where`` names
    it)."""
    if not isinstance(model, LanguageModel):
        raise TypeError(f"{where} needs a LanguageModel "
                        f"(rnn.model.init_language_model); "
                        f"got {type(model).__name__}")
    check_finite_params(model.params, where)
    return model


def begin_state(model: LanguageModel, batch_size: int):
    """The zero initial state for ``batch_size`` sequences: an array (num_layers·dirs,
    B, H) for rnn/gru, a tuple (H_0, C_0) of two such arrays for lstm, in the model's
    dtype. Same as passing state=None."""
    if not isinstance(model, LanguageModel):
        raise TypeError(f"begin_state needs a LanguageModel; "
                        f"got {type(model).__name__}")
    B = check_int(batch_size, "batch_size")
    s = model.spec
    Z = np.zeros((s.num_layers * s.num_directions, B, s.hidden_size), model.dtype)
    return (Z, Z.copy()) if s.kind == "lstm" else Z


class LMCache(NamedTuple):
    """What ``lm_loss_and_grads`` needs from the forward pass (time-major)."""

    ids: np.ndarray               # (T, B) input token ids, for dE
    Hs: np.ndarray                # (T, B, dirs·H) the recurrent layer's outputs (dW_hq)
    recurrent: RecurrentCache     # for recurrent_backward


def _forward(
    model: LanguageModel, ids: np.ndarray, state, name: str = "ids"
) -> tuple[np.ndarray, Any, LMCache]:
    """The forward pass, time-major: ids (B, T) → O (T, B, V), final state, cache."""
    p = model.params
    ids_tm = check_ids(ids, model.vocab_size, name).T  # (T, B): the one transpose
    if model.embed_size is None:
        X = one_hot(ids_tm, model.vocab_size, dtype=model.dtype)    # (T, B, V)
    else:
        X = embedding_forward(p["E"], ids_tm)                       # (T, B, D)
    Hs, state, rcache = recurrent_forward(model.spec, p, X, state)  # (T, B, dirs·H)
    O = Hs @ p["W_hq"] + p["b_q"]                                   # (T, B, V)
    return O, state, LMCache(ids_tm, Hs, rcache)


def lm_forward(
    model: LanguageModel, ids: np.ndarray, state=None
) -> tuple[np.ndarray, Any, LMCache]:
    """Logits O_t = H_t W_hq + b_q for every position of a batch of token sequences.

    ids: (B, T) integer token ids in [0, V), batch first (transposed once to time-major
    inside); state: None (zeros) or the state a previous call returned / ``begin_state``
    made. Returns logits (B, T, V) (a transposed view of the time-major result), the
    final state (same layout as ``begin_state``) and the cache (time-major) that
    ``lm_loss_and_grads`` uses.
    """
    check_language_model(model, "lm_forward")
    return _lm_forward(model, ids, state)


def _lm_forward(model: LanguageModel, ids: np.ndarray, state=None):
    """``lm_forward`` without the model check (for loops that checked it once)."""
    O, state, cache = _forward(model, ids, state)
    return O.transpose(1, 0, 2), state, cache


def lm_loss_and_grads(
    model: LanguageModel, ids: np.ndarray, targets: np.ndarray, state=None,
    mask: np.ndarray | None = None,
) -> tuple[float, dict[str, np.ndarray], Any]:
    """The mean cross-entropy L of predicting targets from ids, and ∂L/∂w for every
    parameter w.

    ids: (B, T) input token ids; targets: (B, T) target ids (for a language model, ids
    shifted by one token); state: initial state or None (zeros); mask: (B, T) of 0/1,
    1 where a token counts (None: all count). (The names follow the notation page: X is
    the embedded (T, B, D) input, computed inside.)
    Backward pass, time-major (dO from ``softmax_cross_entropy``, already divided by the
    number of tokens N):
        dW_hq = Σ_t H_tᵀ dO_t,   db_q = Σ_t Σ_rows dO_t,   dHs_t = dO_t W_hqᵀ,
        (dX, _, recurrent grads) = recurrent_backward(dHs),
        dE = one_hot(ids)ᵀ dX  (with an embedding).
    The gradient with respect to the initial state is dropped: truncated BPTT stops at
    the minibatch boundary.
    Returns (loss, grads with exactly the keys of model.params, final state).
    """
    check_language_model(model, "lm_loss_and_grads")
    return _lm_loss_and_grads(model, ids, targets, state, mask)


def _lm_loss_and_grads(model: LanguageModel, ids, targets, state=None, mask=None):
    """``lm_loss_and_grads`` without the model check (for the training loop)."""
    p = model.params
    O, state_T, cache = _forward(model, ids, state, "ids")          # O: (T, B, V)
    targets = check_ids(targets, model.vocab_size, "targets")
    if targets.shape != ids.shape:
        raise ValueError(f"targets must have the shape of ids, (B, T) = {ids.shape}; "
                         f"got {targets.shape}")
    if mask is not None:
        mask = np.asarray(mask)
        if mask.shape != ids.shape:
            raise ValueError(f"mask must have the shape of ids, (B, T) = {ids.shape}; "
                             f"got {mask.shape}")
        if not np.isin(mask, (0, 1)).all():
            raise ValueError("mask must hold 0/1 or booleans (1: the token counts)")
        mask = mask.T
    loss, dO = softmax_cross_entropy(O, targets.T, mask)            # dO: (T, B, V)

    T, B, V = dO.shape
    Hs = cache.Hs
    dO_rows = dO.reshape(T * B, V)
    grads = {
        "W_hq": Hs.reshape(T * B, -1).T @ dO_rows,                  # (dirs·H, V)
        "b_q": dO_rows.sum(axis=0),                                 # (V,)
    }
    dHs = dO @ p["W_hq"].T                                          # (T, B, dirs·H)
    # A one-hot input is data, not a parameter: its gradient dX would be thrown away, so
    # it is not computed.
    dX, _dstate0, rgrads = recurrent_backward(model.spec, p, dHs, None, cache.recurrent,
                                              need_dX=model.embed_size is not None)
    grads |= rgrads
    if model.embed_size is not None:
        grads["E"] = embedding_backward(dX, cache.ids, model.vocab_size)
    return loss, {k: grads[k] for k in p}, state_T
