"""The encoder–decoder (编码器-解码器): read a whole source sequence, then write a target
sequence, one token at a time (the notation page's eq-notation-seq2seq).

    encoder:  X_t = E_src[src_t],  H_t = cell_enc(X_t, H_{t-1}),  H_0 = 0, and
              H_t = H_{t-1} at <pad>: the context H_ctx = the final state is the
              state at each row's last real token
    decoder:  X'_j = E_tgt[y_{j-1}] with y_0 = <bos>,  H'_j = cell_dec(X'_j, H'_{j-1}),
              H'_0 = H_ctx,  O_j = H'_j W_hq + b_q
    loss:     mean of −log softmax(O_j)[y_j] over the real target tokens (<eos> too)

cell is an RNN (tanh), GRU or LSTM cell, one layer. Its state is a tuple, (H,) for
"rnn" and "gru" and (H, C) for "lstm", so that one loop serves all three kinds
(``run_cell``). Training feeds the decoder the true previous token y_{j-1} (teacher
forcing); at test time it is fed its own predictions (``rnn.decoding``), and the gap
between the two is exposure bias.

Token ids are batch-major, (B, T_src) and (B, T_tgt), right-padded with <pad> = 0 and
described by boolean masks, True at real tokens (``rnn.tasks.Seq2SeqData``); every
array inside is time-major. Parameters, one dict: "E_src" (V_src, D), the encoder
cell's "enc.W_xh", … (the math names of ``rnn.rnn_layer``, ``rnn.gru``, ``rnn.lstm``
with the prefix "enc."), "E_tgt" (V_tgt, D), the decoder cell's "dec.W_xh", …, then
"W_hq" (H, V_tgt) and "b_q" (V_tgt,).

The encoder runs ``run_cell``, a step loop that carries the state over padding; the
decoder, whose inputs under teacher forcing are all known in advance, runs as one
``rnn.layers`` layer started from the context (its padding comes after the end of each
row and its loss is masked). The backward pass runs the same path in reverse: from dO
through the decoder back to dH'_0, the gradient on the context, and from there through
the encoder, which gets its gradient only through the context.

Attention (``rnn.attention``) builds on ``decoder_step``: it adds a context vector c_j
per step, computed from the encoder's states Hs and the decoder's state, to the
decoder's input X'_j (the marked line in ``_decoder_input``) or to its output; the
encoder's ``run_cell`` already returns every state Hs and ``run_cell_backward`` takes
their gradient dHs.
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
    check_state,
    init_uniform,
)
from rnn.embedding import embedding_backward, embedding_forward, init_embedding
from rnn.functional import log_softmax, softmax_cross_entropy
from rnn.gru import GRU_PARAM_NAMES, gru_step_backward, gru_step_forward
from rnn.layers import (
    KINDS,
    RecurrentCache,
    RecurrentSpec,
    recurrent_backward,
    recurrent_forward,
)
from rnn.lstm import LSTM_PARAM_NAMES, lstm_step_backward, lstm_step_forward
from rnn.optim import check_optimizer
from rnn.rnn_layer import RNN_PARAM_NAMES, rnn_step_backward, rnn_step_forward
from rnn.tasks import BOS_ID, PAD_ID
from rnn.train import History, _check_max_loss, _train_loop

CELL_PARAM_NAMES = {"rnn": RNN_PARAM_NAMES, "gru": GRU_PARAM_NAMES,
                    "lstm": LSTM_PARAM_NAMES}


@dataclass
class Seq2Seq:
    """An encoder–decoder: kind "rnn" (tanh), "gru" or "lstm" for both cells, one
    layer each; params as in the module docstring."""

    kind: str
    src_vocab_size: int   # V_src
    tgt_vocab_size: int   # V_tgt
    embed_size: int       # D, for both embeddings
    hidden_size: int      # H, for both cells
    params: dict[str, np.ndarray]

    @property
    def dtype(self) -> np.dtype:
        return self.params["W_hq"].dtype


def init_seq2seq(
    src_vocab_size: int,
    tgt_vocab_size: int,
    hidden_size: int,
    kind: str = "gru",
    *,
    embed_size: int = 16,
    rng: np.random.Generator | int,
    dtype=np.float32,
) -> Seq2Seq:
    """A ``Seq2Seq`` with fresh parameters, drawn from ``rng`` in this order:
    E_src ~ N(0, 1/D); the encoder cell ~ U(−1/√H, 1/√H); E_tgt; the decoder cell;
    W_hq ~ U(−1/√H, 1/√H); b_q = 0."""
    for name, value in (("src_vocab_size", src_vocab_size),
                        ("tgt_vocab_size", tgt_vocab_size),
                        ("hidden_size", hidden_size), ("embed_size", embed_size)):
        check_int(value, name)
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}; got {kind!r}")
    rng = as_rng(rng)
    D, H, names = embed_size, hidden_size, CELL_PARAM_NAMES[kind]
    params = {}
    for E, side, V in (("E_src", "enc", src_vocab_size),
                       ("E_tgt", "dec", tgt_vocab_size)):
        params[E] = init_embedding(V, D, rng, dtype)
        cell = init_uniform(names, D, H, rng, dtype)
        params |= {f"{side}.{n}": value for n, value in cell.items()}
    bound = 1 / math.sqrt(H)
    params["W_hq"] = rng.uniform(-bound, bound, (H, tgt_vocab_size)).astype(dtype)
    params["b_q"] = np.zeros(tgt_vocab_size, dtype)
    return Seq2Seq(kind, src_vocab_size, tgt_vocab_size, embed_size, hidden_size,
                   params)


def cell_params(model: Seq2Seq, side: str) -> dict[str, np.ndarray]:
    """The encoder's (side="enc") or decoder's ("dec") cell parameters under their
    math names, prefix stripped."""
    return {n: model.params[f"{side}.{n}"] for n in CELL_PARAM_NAMES[model.kind]}


# --------------------------------------------------------------------------------------
# One cell, one step and a whole (masked) sequence
# --------------------------------------------------------------------------------------

def cell_step(kind: str, p: dict, X_t: np.ndarray, state: tuple) -> tuple[tuple, Any]:
    """One step of an rnn/gru/lstm cell on checked arrays: from X_t (B, D) and a state
    (H,) or (H, C) of (B, H) arrays to (new state, step cache)."""
    if kind == "lstm":
        H_t, C_t, cache = lstm_step_forward.unchecked(X_t, *state, p)
        return (H_t, C_t), cache
    step = rnn_step_forward if kind == "rnn" else gru_step_forward
    H_t, cache = step.unchecked(X_t, state[0], p)
    return (H_t,), cache


def cell_step_backward(
    kind: str, p: dict, dstate: tuple, cache
) -> tuple[np.ndarray, tuple, dict[str, np.ndarray]]:
    """Backward of ``cell_step``: from ∂L/∂(new state) to dX_t, ∂L/∂(old state) and
    the step's parameter gradients."""
    if kind == "lstm":
        dX_t, dH, dC, grads = lstm_step_backward(*dstate, cache, p)
        return dX_t, (dH, dC), grads
    step_backward = rnn_step_backward if kind == "rnn" else gru_step_backward
    dX_t, dH, grads = step_backward(dstate[0], cache, p)
    return dX_t, (dH,), grads


class RunCache(NamedTuple):
    """What ``run_cell_backward`` needs from ``run_cell``."""

    kind: str
    steps: list          # the T step caches
    mask: np.ndarray | None   # (T, B) bool, or None: every step is real


def run_cell(
    kind: str, p: dict, X: np.ndarray, state0: tuple, mask: np.ndarray | None = None
) -> tuple[np.ndarray, tuple, RunCache]:
    """The cell over X (T, B, D) from state0; where mask[t, b] is False (padding) the
    state is carried over unchanged, H_t = H_{t-1} (and C_t = C_{t-1}), so padding
    changes nothing.

    Returns Hs (T, B, H), the final state (for a right-padded row: the state at its
    last real token) and the cache.
    """
    state, steps, Hs = state0, [], []
    for t in range(X.shape[0]):
        new, cache = cell_step(kind, p, X[t], state)
        if mask is not None:
            real = mask[t][:, None]
            new = tuple(np.where(real, n, s) for n, s in zip(new, state))
        state = new
        steps.append(cache)
        Hs.append(state[0])
    return np.stack(Hs), state, RunCache(kind, steps, mask)


def run_cell_backward(
    p: dict, dHs: np.ndarray | None, dstate: tuple, cache: RunCache
) -> tuple[np.ndarray, tuple, dict[str, np.ndarray]]:
    """Backpropagation through time for ``run_cell``.

    dHs: (T, B, H) gradients on the outputs, or None; dstate: gradient on the final
    state (a tuple of (B, H) arrays). At a padded step the state was copied, so its
    gradient passes back unchanged and the step's cell receives none.
    Returns dX (T, B, D), ∂L/∂state0 and the parameter gradients, summed over steps.
    """
    grads = {}
    dX = []
    for t in reversed(range(len(cache.steps))):
        if dHs is not None:
            dstate = (dstate[0] + dHs[t],) + tuple(dstate[1:])
        if cache.mask is not None:
            real = cache.mask[t][:, None]
            into_cell = tuple(d * real for d in dstate)
        else:
            into_cell = dstate
        dX_t, dprev, g = cell_step_backward(cache.kind, p, into_cell, cache.steps[t])
        if cache.mask is not None:
            dprev = tuple(np.where(real, dp, d) for dp, d in zip(dprev, dstate))
        dstate = dprev
        dX.append(dX_t)
        for n, v in g.items():
            grads[n] = grads[n] + v if n in grads else v
    return np.stack(dX[::-1]), dstate, grads


# --------------------------------------------------------------------------------------
# Checks at the public boundary
# --------------------------------------------------------------------------------------

def _check_model(model, where: str) -> Seq2Seq:
    if not isinstance(model, Seq2Seq):
        raise TypeError(f"{where} needs a Seq2Seq (init_seq2seq); "
                        f"got {type(model).__name__}")
    check_finite_params(model.params, where)
    return model


def check_padded(ids, mask, V: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    """ids (B, T) in [0, V) and a bool mask (B, T) that marks a non-empty prefix of
    every row, with <pad> (0) exactly where the mask is False."""
    ids = check_ids(ids, V, name)
    mask_name = f"{name}_mask"
    if not isinstance(mask, np.ndarray) or mask.dtype != bool:
        got = mask.dtype if isinstance(mask, np.ndarray) else type(mask).__name__
        raise TypeError(f"{mask_name} must be a bool numpy array of shape (B, T), True "
                        f"at real tokens; got {got}")
    if mask.shape != ids.shape:
        raise ValueError(f"{mask_name} must have the shape of {name}, (B, T) = "
                         f"{ids.shape}; got {mask.shape}")
    lengths = mask.sum(axis=1)
    if (lengths == 0).any() or not (mask == (np.arange(ids.shape[1])
                                             < lengths[:, None])).all():
        raise ValueError(f"{mask_name} must mark a non-empty prefix of every row "
                         f"(right padding only)")
    if ((ids == PAD_ID) != ~mask).any():
        raise ValueError(f"{name} must hold <pad> (id {PAD_ID}) exactly where "
                         f"{mask_name} is False")
    return ids, mask


def _check_pairs(model: Seq2Seq, src, src_mask, tgt, tgt_mask):
    src, src_mask = check_padded(src, src_mask, model.src_vocab_size, "src")
    tgt, tgt_mask = check_padded(tgt, tgt_mask, model.tgt_vocab_size, "tgt")
    if src.shape[0] != tgt.shape[0]:
        raise ValueError(f"src and tgt must hold the same number of rows (pairs); got "
                         f"{src.shape[0]} and {tgt.shape[0]}")
    return src, src_mask, tgt, tgt_mask


# --------------------------------------------------------------------------------------
# Encoder, decoder step, teacher-forced forward and backward
# --------------------------------------------------------------------------------------

class Seq2SeqCache(NamedTuple):
    """What the backward pass needs from ``_forward``."""

    src_tm: np.ndarray     # (T_src, B) source ids, time-major
    enc: RunCache
    dec_in: np.ndarray     # (T_tgt, B) decoder inputs <bos>, y_1, …, y_{n-1}
    dec: RecurrentCache
    Hs_dec: np.ndarray     # (T_tgt, B, H) decoder states H'_1 … H'_{T_tgt}


def _zero_state(model: Seq2Seq, B: int) -> tuple:
    zeros = np.zeros((B, model.hidden_size), model.dtype)
    return (zeros, zeros.copy()) if model.kind == "lstm" else (zeros,)


def _encode(model: Seq2Seq, src: np.ndarray, src_mask: np.ndarray):
    """Hs_enc (T_src, B, H), the context H_ctx (a state tuple), and the encoder's
    RunCache."""
    X = embedding_forward(model.params["E_src"], src.T)         # (T_src, B, D)
    return run_cell(model.kind, cell_params(model, "enc"), X,
                    _zero_state(model, src.shape[0]), src_mask.T)


def encode(model: Seq2Seq, src: np.ndarray, src_mask: np.ndarray) -> tuple:
    """The context: the encoder's state at each row's last real token, (H,) or (H, C)
    with arrays (B, H)."""
    _check_model(model, "encode")
    src, src_mask = check_padded(src, src_mask, model.src_vocab_size, "src")
    return _encode(model, src, src_mask)[1]


def _decoder_input(model: Seq2Seq, prev_ids: np.ndarray) -> np.ndarray:
    """X'_j = E_tgt[y_{j-1}] for ids of any shape. With attention, the context vector
    c_j is concatenated here: X'_j = [E_tgt[y_{j-1}], c_j]."""
    return embedding_forward(model.params["E_tgt"], prev_ids)


def _decoder_step(model: Seq2Seq, state: tuple, prev_ids: np.ndarray):
    new, _ = cell_step(model.kind, cell_params(model, "dec"),
                       _decoder_input(model, prev_ids), state)
    O = new[0] @ model.params["W_hq"] + model.params["b_q"]
    return log_softmax(O.astype(np.float64)), new


def decoder_step(
    model: Seq2Seq, state: tuple, prev_ids: np.ndarray
) -> tuple[np.ndarray, tuple]:
    """One decoder step: from the state H'_{j-1} (with C'_{j-1}) and the previous
    tokens y_{j-1} (B,) to the log-probabilities log Ŷ_j (B, V_tgt), in float64, and
    the state H'_j.

    state: a tuple (H,) or, for an LSTM, (H, C) of (B, H) arrays, e.g. from
    ``encode``. Decoding (``rnn.decoding``) calls this once per output token.
    """
    _check_model(model, "decoder_step")
    prev_ids = _check_step_args(model, state, prev_ids, "as encode returns it")
    return _decoder_step(model, state, prev_ids)


def _check_step_args(model, state, prev_ids, source: str, extra: int = 0
                     ) -> np.ndarray:
    """prev_ids a 1-D integer array (B,) of target ids; state a tuple whose first
    arrays are the cell's state, (H,) or (H, C), each (B, H) in the model's dtype,
    followed by ``extra`` more (``rnn.attention``'s decoder state). Returns prev_ids
    as an array."""
    prev_ids = np.asarray(prev_ids)
    if prev_ids.ndim != 1 or not np.issubdtype(prev_ids.dtype, np.integer):
        raise ValueError(f"prev_ids must be a 1-D integer array (B,) of token ids; "
                         f"got shape {prev_ids.shape} and dtype {prev_ids.dtype}")
    check_ids(prev_ids[:, None], model.tgt_vocab_size, "prev_ids")
    n = 2 if model.kind == "lstm" else 1
    if not isinstance(state, tuple) or len(state) != n + extra:
        raise TypeError(f"state of a {model.kind} decoder must be a tuple of "
                        f"{n + extra} array(s), {source}")
    for S in state[:n]:
        check_state(S, prev_ids.shape[0], model.hidden_size, model.dtype,
                    "decoder", "state array")
    return prev_ids


def shift_right(tgt: np.ndarray) -> np.ndarray:
    """The decoder's inputs under teacher forcing: <bos>, y_1, …, y_{T-1} (B, T)."""
    return np.concatenate([np.full((tgt.shape[0], 1), BOS_ID, tgt.dtype), tgt[:, :-1]],
                          axis=1)


_LAYER = "l0.fwd."   # rnn.layers' key prefix of a one-layer, one-direction layer


def _decoder_layer(model: Seq2Seq) -> tuple[RecurrentSpec, dict[str, np.ndarray]]:
    """The decoder cell as an ``rnn.layers`` layer: its spec, and its parameters
    under the layer's keys ("dec.W_xh" → "l0.fwd.W_xh"; the same arrays)."""
    spec = RecurrentSpec(model.kind, model.embed_size, model.hidden_size)
    return spec, {_LAYER + n: p for n, p in cell_params(model, "dec").items()}


def _to_layer_state(state: tuple):
    """(H,) or (H, C), each (B, H) → rnn.layers' state: (1, B, H), or a tuple of two."""
    stacked = tuple(S[None] for S in state)
    return stacked if len(stacked) == 2 else stacked[0]


def _from_layer_state(state) -> tuple:
    """Inverse of ``_to_layer_state``."""
    return tuple(S[0] for S in state) if isinstance(state, tuple) else (state[0],)


def _forward(model: Seq2Seq, src, src_mask, tgt) -> tuple[np.ndarray, Seq2SeqCache]:
    """Logits O (T_tgt, B, V_tgt) under teacher forcing."""
    p = model.params
    _, context, enc = _encode(model, src, src_mask)
    dec_in = shift_right(tgt).T                                # (T_tgt, B)
    X_dec = _decoder_input(model, dec_in)
    # No mask in the decoder: its padded steps come after the real ones and their
    # loss is masked, so they change nothing. Teacher forcing knows every input in
    # advance, so the whole sequence goes through rnn.layers in one call.
    spec, layer_params = _decoder_layer(model)
    Hs_dec, _, dec = recurrent_forward(spec, layer_params, X_dec,
                                       _to_layer_state(context))
    O = Hs_dec @ p["W_hq"] + p["b_q"]
    return O, Seq2SeqCache(src.T, enc, dec_in, dec, Hs_dec)


def _loss_and_grads(model: Seq2Seq, src, src_mask, tgt, tgt_mask):
    p, H, V = model.params, model.hidden_size, model.tgt_vocab_size
    O, cache = _forward(model, src, src_mask, tgt)
    loss, dO = softmax_cross_entropy(O, tgt.T, tgt_mask.T)
    grads = {"W_hq": cache.Hs_dec.reshape(-1, H).T @ dO.reshape(-1, V),
             "b_q": dO.reshape(-1, V).sum(axis=0)}
    dHs_dec = dO @ p["W_hq"].T
    spec, layer_params = _decoder_layer(model)
    dX_dec, dstate0, g_dec = recurrent_backward(spec, layer_params, dHs_dec, None,
                                                cache.dec)
    dcontext = _from_layer_state(dstate0)                      # dH'_0
    grads["E_tgt"] = embedding_backward(dX_dec, cache.dec_in, V)
    grads |= {f"dec.{n.removeprefix(_LAYER)}": v for n, v in g_dec.items()}
    # The encoder's only gradient: the one on the context, dH'_0.
    dX_enc, _, g_enc = run_cell_backward(cell_params(model, "enc"), None, dcontext,
                                         cache.enc)
    grads["E_src"] = embedding_backward(dX_enc, cache.src_tm, model.src_vocab_size)
    grads |= {f"enc.{n}": v for n, v in g_enc.items()}
    return loss, {k: grads[k] for k in p}


def seq2seq_loss_and_grads(
    model: Seq2Seq, src: np.ndarray, src_mask: np.ndarray, tgt: np.ndarray,
    tgt_mask: np.ndarray,
) -> tuple[float, dict[str, np.ndarray]]:
    """Mean cross-entropy over the real target tokens under teacher forcing, and its
    gradient with respect to every parameter (keys of model.params).

    src, src_mask: (B, T_src); tgt, tgt_mask: (B, T_tgt), the target ending in <eos>
    (``rnn.tasks.Seq2SeqData``). Masks are bool, True at real tokens, a non-empty
    prefix of every row, and ids are <pad> exactly where the mask is False.
    """
    _check_model(model, "seq2seq_loss_and_grads")
    return _loss_and_grads(model, *_check_pairs(model, src, src_mask, tgt, tgt_mask))


def teacher_forced_predictions(
    model: Seq2Seq, src: np.ndarray, src_mask: np.ndarray, tgt: np.ndarray,
    tgt_mask: np.ndarray,
) -> np.ndarray:
    """argmax_k O_j[k] (B, T_tgt) when the decoder is fed the true previous tokens: the
    accuracy the training loss sees (compare ``rnn.decoding.greedy_decode``, fed its
    own predictions)."""
    _check_model(model, "teacher_forced_predictions")
    src, src_mask, tgt, _ = _check_pairs(model, src, src_mask, tgt, tgt_mask)
    return _forward(model, src, src_mask, tgt)[0].argmax(axis=-1).T


# --------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------

def train_seq2seq(
    model: Seq2Seq,
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
    """Minibatch training with teacher forcing: shuffle the N pairs every epoch; for
    each minibatch (its columns cut to its longest row: padding changes nothing)
    compute ``seq2seq_loss_and_grads``, clip to norm θ = clip if given, step the
    optimizer. Updates model.params in place.

    The loop, its History and its divergence checks are ``rnn.train._train_loop``'s;
    max_loss None means 10 · ln V_tgt; max_updates stops early, on_nonfinite "raise" or
    "stop" as in ``rnn.classifier.train_sequence_model``. Everything is checked first.
    """
    _check_model(model, "train_seq2seq")
    return _train_pairs(model, _loss_and_grads, src, src_mask, tgt, tgt_mask,
                        epochs=epochs, batch_size=batch_size, optimizer=optimizer,
                        clip=clip, seed=seed, max_loss=max_loss,
                        max_updates=max_updates, on_nonfinite=on_nonfinite)


def _train_pairs(model, loss_fn, src, src_mask, tgt, tgt_mask, *, epochs, batch_size,
                 optimizer, clip, seed, max_loss, max_updates, on_nonfinite
                 ) -> History:
    """``train_seq2seq``'s loop for any model with src_vocab_size, tgt_vocab_size and
    params, and its loss_fn(model, src, src_mask, tgt, tgt_mask) → (loss, grads):
    ``rnn.attention.train_attention_seq2seq`` uses it too."""
    src, src_mask, tgt, tgt_mask = _check_pairs(model, src, src_mask, tgt, tgt_mask)
    epochs = check_int(epochs, "epochs")
    batch_size = check_int(batch_size, "batch_size")
    if clip is not None:
        clip = check_positive_number(clip, "clip (None for no clipping)")
    if max_updates is not None:
        max_updates = check_int(max_updates, "max_updates (None for no limit)")
    if on_nonfinite not in ("raise", "stop"):
        raise ValueError(f"on_nonfinite must be 'raise' or 'stop'; "
                         f"got {on_nonfinite!r}")
    V = model.tgt_vocab_size
    max_loss = _check_max_loss(max_loss, V, "V_tgt")
    check_optimizer(optimizer)
    rng = as_rng(seed, "seed")
    N = src.shape[0]

    def minibatches(rng: np.random.Generator):
        order = rng.permutation(N)
        for start in range(0, N, batch_size):
            rows = order[start:start + batch_size]
            T_src = src_mask[rows].sum(axis=1).max()
            T_tgt = tgt_mask[rows].sum(axis=1).max()
            yield (src[rows, :T_src], src_mask[rows, :T_src],
                   tgt[rows, :T_tgt], tgt_mask[rows, :T_tgt])

    def loss_and_grads(batch, state):
        loss, grads = loss_fn(model, *batch)
        return loss, grads, None

    return _train_loop(model.params, optimizer, minibatches, loss_and_grads, rng,
                       epochs=epochs, steps_per_epoch=math.ceil(N / batch_size),
                       clip=clip, max_loss=max_loss,
                       limit_note=f"a uniform guess scores ln V_tgt = "
                                  f"{math.log(V):.4g}",
                       on_divergence=on_nonfinite, max_updates=max_updates)
