"""Sequence classifiers: the small models the book trains on the tasks of ``rnn.tasks``.

One model family, ``SequenceModel``:

    X_t = E[ids_t]                   embedding, E ∈ R^{V×D}
    H_t = recurrent layer(X_1..X_t)  RNN, GRU or LSTM; stacked; uni- or bidirectional
                                     (``rnn.layers``)
     or H_t = tanh(X_t W_xh + b_h)   the feedforward baseline: no W_hh, no memory
    O_t = H_t W_hq + b_q             per_step=True: one output per token (tagging)
    O   = H_T W_hq + b_q             per_step=False: one output per sequence

Token ids and targets are batch-major, ids (B, T), as the data iterators of the book
produce them; the model transposes once to the time-major layout (T, B, D) of
``rnn.layers``. The parameters live in one flat dict: "E" (V, D), the recurrent layer's
keys ("l0.fwd.W_xh", …) or the feedforward "W_xh" (D, H) and "b_h" (H,), then "W_hq"
(dirs·H, Q) and "b_q" (Q,).

The only place the two kinds of hidden layer differ is ``_hidden_forward`` and
``_hidden_backward``; everything else treats them alike.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from rnn._common import (
    as_rng,
    check_finite_params,
    check_ids,
    check_int,
    check_positive_number,
)
from rnn.embedding import embedding_backward, embedding_forward, init_embedding
from rnn.functional import softmax_cross_entropy
from rnn.layers import (
    RecurrentSpec,
    init_recurrent,
    recurrent_backward,
    recurrent_forward,
)
from rnn.optim import check_optimizer
from rnn.train import History, _check_max_loss, _train_loop


@dataclass
class SequenceModel:
    """Embedding → recurrent layer (or the feedforward baseline) → dense output, per
    step or at the last step.

    spec: the recurrent layer (input_size = embed_size), or None for the feedforward
    baseline H_t = tanh(X_t W_xh + b_h), which has no memory; per_step: True for one
    output per token (tagging), False for one output per sequence read at the last step
    (classification).
    params: {"E": (V, D), recurrent keys or "W_xh" (D, H) and "b_h" (H,),
    "W_hq" (dirs·H, Q), "b_q" (Q,)}.
    """

    spec: RecurrentSpec | None
    vocab_size: int
    embed_size: int
    num_classes: int
    per_step: bool
    params: dict[str, np.ndarray]

    @property
    def recurrent(self) -> bool:
        """False for the feedforward baseline."""
        return self.spec is not None

    @property
    def hidden_size(self) -> int:
        """H, the number of hidden units (per direction)."""
        return self.spec.hidden_size if self.recurrent else self.params["W_xh"].shape[1]

    @property
    def dtype(self) -> np.dtype:
        return self.params["E"].dtype


def init_sequence_model(
    vocab_size: int,
    num_classes: int,
    hidden_size: int,
    kind: str = "rnn",
    *,
    per_step: bool = True,
    bidirectional: bool = False,
    num_layers: int = 1,
    embed_size: int = 16,
    recurrent: bool = True,
    nonlinearity: str = "tanh",
    rng: np.random.Generator,
    dtype=np.float32,
) -> SequenceModel:
    """A ``SequenceModel`` with freshly drawn parameters.

    E ~ N(0, 1/D) (``init_embedding``); the recurrent layer from ``init_recurrent``
    (U(−1/√H, 1/√H)); the feedforward baseline (recurrent=False) draws W_xh and b_h from
    the same U(−1/√H, 1/√H); W_hq ~ U(−1/√(dirs·H), 1/√(dirs·H)), b_q = 0. The draws
    happen in that order from ``rng`` (a numpy Generator or an int seed).
    kind: "rnn", "gru" or "lstm" (ignored when recurrent=False, which also requires
    bidirectional=False and num_layers=1); nonlinearity: "tanh" or "relu" for
    kind="rnn".
    """
    for name, value in (("vocab_size", vocab_size), ("num_classes", num_classes),
                        ("hidden_size", hidden_size), ("embed_size", embed_size)):
        check_int(value, name)
    rng = as_rng(rng)
    if not recurrent and (bidirectional or num_layers != 1):
        raise ValueError(f"the feedforward baseline (recurrent=False) has one layer "
                         f"and one direction; got bidirectional={bidirectional}, "
                         f"num_layers={num_layers}")
    params = {"E": init_embedding(vocab_size, embed_size, rng, dtype)}
    if recurrent:
        spec = RecurrentSpec(kind, embed_size, hidden_size, num_layers=num_layers,
                             bidirectional=bidirectional, nonlinearity=nonlinearity)
        params |= init_recurrent(spec, rng, dtype)
        out_size = hidden_size * spec.num_directions
    else:
        spec = None
        bound = 1 / math.sqrt(hidden_size)
        params["W_xh"] = rng.uniform(-bound, bound,
                                     (embed_size, hidden_size)).astype(dtype)
        params["b_h"] = rng.uniform(-bound, bound, hidden_size).astype(dtype)
        out_size = hidden_size
    bound = 1 / math.sqrt(out_size)
    params["W_hq"] = rng.uniform(-bound, bound, (out_size, num_classes)).astype(dtype)
    params["b_q"] = np.zeros(num_classes, dtype)
    return SequenceModel(spec, vocab_size, embed_size, num_classes, per_step, params)


# --------------------------------------------------------------------------------------
# Checks at the public boundary
# --------------------------------------------------------------------------------------

def _check_model(model, where: str) -> SequenceModel:
    """TypeError unless a SequenceModel; ValueError naming a non-finite parameter."""
    if not isinstance(model, SequenceModel):
        raise TypeError(f"{where} needs a SequenceModel (init_sequence_model); "
                        f"got {type(model).__name__}")
    check_finite_params(model.params, where)
    return model


def _check_targets(model: SequenceModel, targets, ids_shape: tuple[int, int],
                   rows: str) -> np.ndarray:
    """Integer class ids in [0, Q): (rows, T) for a per-step model, (rows,) for a
    many-to-one one, one row per row of ids (rows is "B" or "N", for the message)."""
    targets = np.asarray(targets)
    if model.per_step:
        expected, what, kind = ids_shape, f"({rows}, T)", "per-step"
    else:
        expected, what, kind = ids_shape[:1], f"({rows},)", "many-to-one"
    if targets.shape != expected:
        raise ValueError(f"targets must have shape {what} = {expected} for a {kind} "
                         f"model, one row per row of ids; got {targets.shape}")
    if not np.issubdtype(targets.dtype, np.integer):
        raise TypeError(f"targets must be integer class ids; got dtype {targets.dtype}")
    if targets.min() < 0 or targets.max() >= model.num_classes:
        raise ValueError(f"targets must lie in [0, {model.num_classes}); "
                         f"got values from {targets.min()} to {targets.max()}")
    return targets


def _check_mask(mask, shape: tuple[int, int], per_step: bool) -> np.ndarray | None:
    """None, or a bool mask of the ids' shape; for a many-to-one model a non-empty
    prefix of every row (the output is read at its last True)."""
    if mask is None:
        return None
    mask = np.asarray(mask)
    if mask.shape != shape:
        raise ValueError(f"mask must have the shape of ids, (B, T) = {shape}; "
                         f"got {mask.shape}")
    if mask.dtype != bool:
        if not np.isin(mask, (0, 1)).all():
            raise ValueError("mask must hold 0/1 or booleans")
        mask = mask.astype(bool)
    if not per_step:
        lengths = mask.sum(axis=1)
        prefix = np.arange(shape[1]) < lengths[:, None]
        if (lengths == 0).any() or not (mask == prefix).all():
            raise ValueError("for a many-to-one model the mask must mark a non-empty "
                             "prefix of every row (padding at the end only)")
    return mask


# --------------------------------------------------------------------------------------
# Forward and backward
# --------------------------------------------------------------------------------------

class SequenceCache(NamedTuple):
    """What the backward pass needs from ``_forward``."""

    ids_tm: np.ndarray     # (T, B) token ids, time-major
    X: np.ndarray          # (T, B, D) embedded inputs
    Hs: np.ndarray         # (T, B, dirs·H) hidden states (the layer's output per step)
    layer_cache: Any       # RecurrentCache, or None for the feedforward baseline
    last: np.ndarray       # (B,) the step whose state feeds the output (per_step=False)


def _hidden_forward(model: SequenceModel, X: np.ndarray) -> tuple[np.ndarray, Any]:
    """Hs (T, B, dirs·H) from X (T, B, D): the recurrent layer, or the feedforward
    baseline tanh(X_t W_xh + b_h) at every step; and the layer's cache (None for the
    baseline)."""
    p = model.params
    if model.recurrent:
        Hs, _, layer_cache = recurrent_forward(model.spec, p, X)
        return Hs, layer_cache
    return np.tanh(X @ p["W_xh"] + p["b_h"]), None


def _hidden_backward(
    model: SequenceModel, dHs: np.ndarray, cache: SequenceCache
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """dX (T, B, D) and the hidden layer's parameter gradients, from dHs."""
    p = model.params
    if model.recurrent:
        dX, _, grads = recurrent_backward(model.spec, p, dHs, None, cache.layer_cache)
        return dX, grads
    dA = dHs * (1 - cache.Hs**2)                           # tanh'(A) = 1 − H²
    D, H = model.embed_size, model.hidden_size
    grads = {"W_xh": cache.X.reshape(-1, D).T @ dA.reshape(-1, H),
             "b_h": dA.reshape(-1, H).sum(axis=0)}
    return dA @ p["W_xh"].T, grads


def _forward(
    model: SequenceModel, ids: np.ndarray, mask: np.ndarray | None
) -> tuple[np.ndarray, SequenceCache]:
    """Logits O: (T, B, Q) per step, or (B, Q) from the last (real) step."""
    p = model.params
    ids_tm = ids.T                                          # (T, B)
    X = embedding_forward(p["E"], ids_tm)                   # (T, B, D)
    Hs, layer_cache = _hidden_forward(model, X)
    T, B = ids_tm.shape
    last = np.full(B, T - 1) if mask is None else mask.sum(axis=1) - 1
    H_out = Hs if model.per_step else Hs[last, np.arange(B)]
    O = H_out @ p["W_hq"] + p["b_q"]
    return O, SequenceCache(ids_tm, X, Hs, layer_cache, last)


def sequence_loss_and_grads(
    model: SequenceModel,
    ids: np.ndarray,
    targets: np.ndarray,
    mask: np.ndarray | None = None,
) -> tuple[float, dict[str, np.ndarray]]:
    """Mean cross-entropy of the model on a minibatch, and its gradient with respect to
    every parameter.

    per_step=True: ids, targets, mask (B, T); L = mean over the tokens with mask = 1 of
    −log softmax(O_t)[y_t].
    per_step=False: ids (B, T), targets (B,); L = mean over sequences of
    −log softmax(O)[y] with O = H_T W_hq + b_q, H_T the state at the last step (or at
    the last position where mask = 1, the mask then marking a prefix of each row; a
    bidirectional layer's backward half has still read the padding).
    Returns (loss, grads) with grads keyed like model.params.
    """
    _check_model(model, "sequence_loss_and_grads")
    ids = check_ids(ids, model.vocab_size, "ids")
    targets = _check_targets(model, targets, ids.shape, "B")
    mask = _check_mask(mask, ids.shape, model.per_step)
    return _sequence_loss_and_grads(model, ids, targets, mask)


def _sequence_loss_and_grads(
    model: SequenceModel,
    ids: np.ndarray,
    targets: np.ndarray,
    mask: np.ndarray | None,
) -> tuple[float, dict[str, np.ndarray]]:
    """``sequence_loss_and_grads`` on checked arguments (the training loop's step)."""
    p = model.params
    O, cache = _forward(model, ids, mask)
    B, Q = ids.shape[0], model.num_classes
    if model.per_step:
        loss, dO = softmax_cross_entropy(O, targets.T, None if mask is None else mask.T)
        H_out = cache.Hs
    else:
        loss, dO = softmax_cross_entropy(O, targets)
        H_out = cache.Hs[cache.last, np.arange(B)]
    grads = {"W_hq": H_out.reshape(-1, H_out.shape[-1]).T @ dO.reshape(-1, Q),
             "b_q": dO.reshape(-1, Q).sum(axis=0)}
    dH_out = dO @ p["W_hq"].T
    if model.per_step:
        dHs = dH_out
    else:
        dHs = np.zeros_like(cache.Hs)
        dHs[cache.last, np.arange(B)] = dH_out
    dX, hidden_grads = _hidden_backward(model, dHs, cache)
    grads |= hidden_grads
    grads["E"] = embedding_backward(dX, cache.ids_tm, model.vocab_size)
    return loss, {k: grads[k] for k in p}


# --------------------------------------------------------------------------------------
# Prediction and accuracy
# --------------------------------------------------------------------------------------

def predict(
    model: SequenceModel, ids: np.ndarray, mask: np.ndarray | None = None
) -> np.ndarray:
    """The most probable class: (B, T) per step, or (B,) per sequence (read at the
    last real step if mask)."""
    _check_model(model, "predict")
    ids = check_ids(ids, model.vocab_size, "ids")
    mask = _check_mask(mask, ids.shape, model.per_step)
    O, _ = _forward(model, ids, mask)
    pred = O.argmax(axis=-1)
    return pred.T if model.per_step else pred


def accuracy(
    pred: np.ndarray, targets: np.ndarray, mask: np.ndarray | None = None
) -> float:
    """Fraction of positions where pred == targets, counting only positions with
    mask = True (all if None)."""
    pred, targets = np.asarray(pred), np.asarray(targets)
    if pred.shape != targets.shape:
        raise ValueError(f"pred and targets must have the same shape; "
                         f"got {pred.shape} and {targets.shape}")
    correct = pred == targets
    if mask is None:
        return float(correct.mean())
    mask = np.asarray(mask, bool)
    if mask.shape != targets.shape:
        raise ValueError(f"mask must have the targets' shape {targets.shape}; "
                         f"got {mask.shape}")
    if not mask.any():
        raise ValueError("the mask selects no position: accuracy would be 0/0")
    return float(correct[mask].mean())


# --------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------

def train_sequence_model(
    model: SequenceModel,
    ids: np.ndarray,
    targets: np.ndarray,
    *,
    mask: np.ndarray | None = None,
    epochs: int,
    batch_size: int,
    optimizer,
    clip: float | None = None,
    seed: int,
    record_grad_norm: bool = True,
    on_nonfinite: str = "raise",
    max_loss: float | None = math.inf,
    max_updates: int | None = None,
) -> History:
    """Minibatch training: shuffle the N rows every epoch, and for each minibatch
    compute the loss and gradients, clip them to norm θ = clip if given
    (g ← min(1, θ/‖g‖) g), and take an optimizer step. Updates model.params in place.

    ids (N, T); targets (N, T) per step or (N,) per sequence; mask (N, T) or None;
    optimizer: an object with ``step(params, grads)`` (``rnn.optim.SGD``, ``Adam``);
    seed: an int seed or a numpy Generator, for the shuffling. Every argument, including
    that targets have one row per row of ids and that the parameters are finite, is
    checked before the first step.

    The loop, its History and its divergence checks are those of
    ``rnn.train.train_language_model`` (``rnn.train._train_loop``): training diverges
    when the loss or the gradient norm is NaN or infinite, when a parameter becomes so
    after a step, or when a minibatch's loss exceeds ``max_loss`` nats. max_loss: by
    default math.inf, no limit, so that chapter 7 can show a loss climbing to 10¹² on
    its way to NaN; None sets the language model's limit, 10 · ln Q, ten times the
    loss of a uniform guess among the Q classes.
    max_updates: stop after this many updates (None: after ``epochs`` epochs), exactly
    where the full run would be then.
    on_nonfinite: what to do when training diverges — "raise" a FloatingPointError
    naming the epoch and the step, or "stop" training and return the History with the
    message in ``stopped`` (used to show divergence).

    Returns a ``rnn.train.History``, which also reads like the dict this function
    returned before: history["loss"] (one float per step), history["grad_norm"] (‖g‖
    before clipping, per step; empty if record_grad_norm=False and clip is None),
    history["steps"] (number of updates applied), history["stopped"] (None, or the
    divergence message; the failing step's loss and gradient norm are the last
    entries). It also has train_ppl, exp of the mean loss per epoch, and elapsed.
    """
    _check_model(model, "train_sequence_model")
    ids = check_ids(ids, model.vocab_size, "ids")
    N = ids.shape[0]
    epochs = check_int(epochs, "epochs")
    batch_size = check_int(batch_size, "batch_size")
    if on_nonfinite not in ("raise", "stop"):
        raise ValueError(f"on_nonfinite must be 'raise' or 'stop'; "
                         f"got {on_nonfinite!r}")
    if clip is not None:
        clip = check_positive_number(clip, "clip (None for no clipping)")
    Q = model.num_classes
    max_loss = _check_max_loss(max_loss, Q, "Q")
    check_optimizer(optimizer)
    targets = _check_targets(model, targets, ids.shape, "N")
    mask = _check_mask(mask, ids.shape, model.per_step)
    rng = as_rng(seed, "seed")
    if max_updates is not None:
        max_updates = check_int(max_updates, "max_updates (None for no limit)")

    def minibatches(rng: np.random.Generator):
        """The rows in a new random order, batch_size at a time."""
        order = rng.permutation(N)
        for start in range(0, N, batch_size):
            rows = order[start:start + batch_size]
            yield ids[rows], targets[rows], None if mask is None else mask[rows]

    def loss_and_grads(batch, state):
        """One minibatch; no state passes from one minibatch to the next."""
        loss, grads = _sequence_loss_and_grads(model, *batch)
        return loss, grads, None

    return _train_loop(model.params, optimizer, minibatches, loss_and_grads, rng,
                       epochs=epochs, steps_per_epoch=math.ceil(N / batch_size),
                       clip=clip, max_loss=max_loss,
                       limit_note=f"a uniform guess scores ln Q = {math.log(Q):.4g}",
                       record_grad_norm=record_grad_norm, on_divergence=on_nonfinite,
                       max_updates=max_updates)
