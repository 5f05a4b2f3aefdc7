"""Decoding (解码): from a trained encoder–decoder to output sequences.

Every decoder here drives one function, ``step(state, prev_ids) → (logp, state)``: from
the decoder's state and the previous tokens (B,) to the log-probabilities (B, V) of the
next token and the next state. ``seq2seq_decoder(model, src, src_mask)`` returns that
function and the first state (the context) for an ``rnn.seq2seq`` model; another model
(one with attention, say) brings its own. A state is a tuple of arrays whose first axis
is the row; the decoders only select and repeat rows, ``S[rows]``, so whatever a step
needs per row (an attention model's encoder states) can travel in the state.

The first input is <bos>. A sequence ends with its <eos> or after max_len tokens, and
no output contains <pad> or <bos>: no target does, so their log-probabilities are set
to −∞ before every choice (the others are left as they are).

- ``greedy_decode``: y_j = argmax log p(y | y_1 … y_{j-1}, x), the model fed its own
  predictions (compare ``rnn.seq2seq.teacher_forced_predictions`` for exposure bias);
- ``sample_decode``: y_j drawn from softmax(log p / κ), κ the temperature;
- ``beam_search`` (束搜索): keep the k most probable prefixes at every step;
- ``exhaustive_search``: score every possible output, to find the true best for a
  tiny vocabulary and max_len, and so count beam search's search errors;
- ``sequence_log_prob``: log P(y | x) of given outputs.

Length normalisation: a finished hypothesis y scores log P(y | x) / len(y)^γ, len(y)
counting its <eos>. γ = 0 ranks by probability, which favours short outputs (every
token multiplies in a probability below 1); γ = 1 ranks by the mean log-probability
per token. This is the score of Dive into Deep Learning (Zhang et al.), section 10.8
(Beam Search), which calls the exponent α and suggests 0.75; we keep α for attention
weights.
"""
from __future__ import annotations

import functools
import itertools
from typing import Callable, NamedTuple

import numpy as np

from rnn._common import as_rng, check_int, check_positive_number
from rnn.functional import softmax
from rnn.seq2seq import _check_model, _decoder_step, encode
from rnn.tasks import BOS_ID, EOS_ID, PAD_ID

NEVER = (PAD_ID, BOS_ID)     # tokens no output contains


class Hypothesis(NamedTuple):
    """One output sequence: its token ids (ending in <eos> unless it was cut at
    max_len), log P(tokens | x), and the score it is ranked by,
    log_prob / len(tokens)^γ."""

    tokens: tuple[int, ...]
    log_prob: float
    score: float


def seq2seq_decoder(
    model, src: np.ndarray, src_mask: np.ndarray
) -> tuple[Callable, tuple]:
    """(step, state) for an ``rnn.seq2seq.Seq2Seq``: its decoder step, and the context
    of each source row (``encode``) as the first state."""
    _check_model(model, "seq2seq_decoder")
    return functools.partial(_decoder_step, model), encode(model, src, src_mask)


# --------------------------------------------------------------------------------------
# Checks, and the one call to step
# --------------------------------------------------------------------------------------

def _check_start(step, state, max_len) -> int:
    """step callable, state a non-empty tuple of arrays with one first axis B ≥ 1;
    max_len ≥ 1. Returns B."""
    if not callable(step):
        raise TypeError(f"step must be a function (state, prev_ids) -> (logp, state), "
                        f"e.g. from seq2seq_decoder; got {type(step).__name__}")
    if (not isinstance(state, tuple) or not state
            or not all(isinstance(S, np.ndarray) and S.ndim >= 1 for S in state)):
        raise TypeError("state must be a tuple of numpy arrays whose first axis is the "
                        "row (B), e.g. from seq2seq_decoder")
    rows = {S.shape[0] for S in state}
    if len(rows) != 1 or 0 in rows:
        raise ValueError(f"every state array must have the same number B ≥ 1 of rows; "
                         f"got first axes {sorted(rows)}")
    check_int(max_len, "max_len")
    return rows.pop()


def _next(step: Callable, state: tuple, prev: np.ndarray) -> tuple[np.ndarray, tuple]:
    """log p of the next token (rows, V) with <pad> and <bos> at −∞, and the state."""
    logp, state = step(state, prev)
    if not isinstance(logp, np.ndarray) or logp.ndim != 2 or logp.shape[0] != len(prev):
        raise ValueError(f"step must return log-probabilities of shape (B, V) with "
                         f"B = {len(prev)}; got {np.shape(logp)}")
    if logp.shape[1] <= EOS_ID + 1:
        raise ValueError(f"the vocabulary must hold a token besides <pad>, <bos> and "
                         f"<eos>; step returned V = {logp.shape[1]}")
    logp = logp.astype(np.float64)                 # a copy: the caller's stays intact
    logp[:, NEVER] = -np.inf
    return logp, state


def _rows(state: tuple, rows) -> tuple:
    """The state of the given rows (an index array, with repeats allowed)."""
    return tuple(S[rows] for S in state)


def pad_outputs(outputs, T: int) -> np.ndarray:
    """Token sequences (tuples of ids, or Hypothesis) as ids (len(outputs), T), <pad>
    after each; ValueError if one is longer than T."""
    T = check_int(T, "T")
    ids = np.full((len(outputs), T), PAD_ID, np.int64)
    for i, out in enumerate(outputs):
        tokens = out.tokens if isinstance(out, Hypothesis) else tuple(out)
        if len(tokens) > T:
            raise ValueError(f"output {i} has {len(tokens)} tokens, more than T = {T}")
        ids[i, :len(tokens)] = tokens
    return ids


# --------------------------------------------------------------------------------------
# Greedy decoding and sampling: one token per step for every row
# --------------------------------------------------------------------------------------

def _decode(step: Callable, state: tuple, max_len: int, choose) -> np.ndarray:
    """Feed each row its own previous choice; rows that have emitted <eos> get <pad>
    from then on."""
    B = state[0].shape[0]
    ids = np.full((B, max_len), PAD_ID, np.int64)
    prev, done = np.full(B, BOS_ID, np.int64), np.zeros(B, bool)
    for j in range(max_len):
        logp, state = _next(step, state, prev)
        prev = choose(logp)
        ids[~done, j] = prev[~done]
        done |= prev == EOS_ID
        if done.all():
            break
    return ids


def greedy_decode(step: Callable, state: tuple, max_len: int) -> np.ndarray:
    """The most probable next token at every step, fed back in: the model's output
    when it reads its own predictions. Returns ids (B, max_len), each row ending with
    <eos> (unless cut at max_len) followed by <pad>."""
    _check_start(step, state, max_len)
    return _decode(step, state, max_len, lambda logp: logp.argmax(axis=1))


def sample_decode(
    step: Callable, state: tuple, max_len: int, *, temperature: float = 1.0,
    rng: np.random.Generator | int,
) -> np.ndarray:
    """Like ``greedy_decode``, but each token is drawn from softmax(log p / κ), κ =
    temperature > 0: κ = 1 samples the model as trained, κ → 0 approaches greedy,
    κ > 1 flattens the distribution. rng: a numpy Generator or an int seed."""
    _check_start(step, state, max_len)
    kappa = check_positive_number(temperature, "temperature")
    rng = as_rng(rng)

    def draw(logp: np.ndarray) -> np.ndarray:
        P = softmax(logp / kappa)                     # exp(−∞) = 0: never <pad>, <bos>
        return np.array([rng.choice(P.shape[1], p=row) for row in P])

    return _decode(step, state, max_len, draw)


# --------------------------------------------------------------------------------------
# Beam search and exhaustive search: a list of hypotheses for every row
# --------------------------------------------------------------------------------------

def _score(log_prob: float, length: int, gamma: float) -> float:
    return log_prob / length**gamma


def _check_gamma(gamma) -> float:
    real = (int, float, np.integer, np.floating)
    if isinstance(gamma, bool) or not isinstance(gamma, real) or not gamma >= 0:
        raise ValueError(f"gamma (length normalisation) must be a number ≥ 0; "
                         f"got {gamma!r}")
    return float(gamma)


def beam_search(
    step: Callable, state: tuple, beam_width: int, max_len: int, *, gamma: float = 0.0
) -> list[list[Hypothesis]]:
    """Beam search, row by row: for every source row, the beam_width best hypotheses,
    best first.

    Every step extends each of the (at most k = beam_width) live prefixes by every
    token and keeps the k extensions of highest log P; an extension that ends with
    <eos>, or reaches max_len tokens, is finished and leaves the beam, which goes on
    with the rest until none is left. The finished ones are ranked by
    log P / len(y)^γ (module docstring). k = 1 is greedy decoding; a k at least the
    number of possible outputs prunes nothing and finds what ``exhaustive_search``
    finds.
    """
    B = _check_start(step, state, max_len)
    k = check_int(beam_width, "beam_width")
    gamma = _check_gamma(gamma)
    results = []
    for b in range(B):
        live, log_P, beam = [()], np.zeros(1), _rows(state, [b])
        prev, finished = np.array([BOS_ID]), []
        for j in range(1, max_len + 1):
            logp, beam = _next(step, beam, prev)
            total = log_P[:, None] + logp                            # (live, V)
            best = np.argsort(-total, axis=None, kind="stable")[:k]
            best = best[np.isfinite(total.flat[best])]
            rows, tokens = np.unravel_index(best, total.shape)
            keep = []
            for r, v, lp in zip(rows, tokens, total.flat[best]):
                prefix = live[r] + (int(v),)
                if v == EOS_ID or j == max_len:
                    finished.append(Hypothesis(prefix, float(lp),
                                               _score(float(lp), j, gamma)))
                else:
                    keep.append((r, prefix, lp))
            if not keep:
                break
            live = [prefix for _, prefix, _ in keep]
            log_P = np.array([lp for _, _, lp in keep])
            beam = _rows(beam, np.array([r for r, _, _ in keep]))
            prev = np.array([prefix[-1] for prefix in live])
        finished.sort(key=lambda h: -h.score)           # stable: ties keep their order
        results.append(finished[:k])
    return results


def sequence_log_prob(step: Callable, state: tuple, outputs: np.ndarray) -> np.ndarray:
    """log P(y | x) = Σ_j log p(y_j | y_1 … y_{j-1}, x) of each row's output, fed to
    the decoder after <bos> (teacher forcing).

    outputs: ids (B, T), each row its tokens followed by <pad> (as ``greedy_decode``
    and ``pad_outputs`` return them), at least one token, no <bos>. Returns (B,)
    float64; −∞ for an output that contains <pad> or <bos> before its end.
    """
    B = _check_start(step, state, 1)
    outputs = np.asarray(outputs)
    if (outputs.ndim != 2 or outputs.shape[0] != B
            or not np.issubdtype(outputs.dtype, np.integer)):
        raise ValueError(f"outputs must be integer ids of shape (B, T) with B = {B}; "
                         f"got shape {outputs.shape} and dtype {outputs.dtype}")
    real = outputs != PAD_ID
    lengths = real.sum(axis=1)
    if (lengths == 0).any() or not (real == (np.arange(outputs.shape[1])
                                             < lengths[:, None])).all():
        raise ValueError("each row of outputs must hold at least one token, then "
                         "<pad> only")
    total, prev = np.zeros(B), np.full(B, BOS_ID, np.int64)
    for j in range(outputs.shape[1]):
        logp, state = _next(step, state, prev)
        y = outputs[:, j]
        total += np.where(real[:, j], logp[np.arange(B), y], 0.0)
        prev = np.where(real[:, j], y, EOS_ID)
    return total


def exhaustive_search(
    step: Callable, state: tuple, max_len: int, *, gamma: float = 0.0,
    max_outputs: int = 100_000,
) -> list[Hypothesis]:
    """The best output of every row among all possible ones: every sequence of
    n < max_len ordinary tokens followed by <eos>, and every sequence of max_len
    ordinary tokens (cut off), each scored log P / len(y)^γ by ``sequence_log_prob``.
    Ordinary tokens are all but <pad>, <bos> and <eos>; for m of them there are
    Σ_{n<max_len} m^n + m^max_len outputs, which must not exceed max_outputs.
    Returns one Hypothesis per row (of equal scores, the first in the order shortest
    first, then by token ids).
    """
    B = _check_start(step, state, max_len)
    gamma = _check_gamma(gamma)
    max_outputs = check_int(max_outputs, "max_outputs")
    logp, _ = _next(step, _rows(state, [0]), np.array([BOS_ID]))
    ordinary = [v for v in range(logp.shape[1]) if v not in NEVER + (EOS_ID,)]
    m = len(ordinary)
    count = sum(m**n for n in range(max_len)) + m**max_len
    if count > max_outputs:
        raise ValueError(f"{count} possible outputs (m = {m} ordinary tokens, "
                         f"max_len = {max_len}) exceed max_outputs = {max_outputs}")
    outputs = [prefix + (EOS_ID,) for n in range(max_len)
               for prefix in itertools.product(ordinary, repeat=n)]
    outputs += list(itertools.product(ordinary, repeat=max_len))
    ids = pad_outputs(outputs, max_len)
    best = []
    for b in range(B):
        rows = np.full(len(outputs), b)
        log_P = sequence_log_prob(step, _rows(state, rows), ids)
        scores = log_P / np.array([len(y) for y in outputs])**gamma
        i = int(np.argmax(scores))
        best.append(Hypothesis(outputs[i], float(log_P[i]), float(scores[i])))
    return best


# --------------------------------------------------------------------------------------
# Scoring outputs against targets
# --------------------------------------------------------------------------------------

def exact_match(pred: np.ndarray, tgt: np.ndarray, tgt_mask: np.ndarray) -> np.ndarray:
    """Per row, True if the predicted output, up to and including its first <eos>,
    is the target's real tokens exactly. pred: ids (B, T_pred), e.g. from
    ``greedy_decode``; tgt, tgt_mask: (B, T_tgt). Returns a bool array (B,); its mean
    is the exact-match accuracy."""
    pred, tgt, tgt_mask = np.asarray(pred), np.asarray(tgt), np.asarray(tgt_mask)
    if pred.ndim != 2 or tgt.ndim != 2 or pred.shape[0] != tgt.shape[0]:
        raise ValueError(f"pred and tgt must be 2-D with the same number of rows; got "
                         f"{pred.shape} and {tgt.shape}")
    if tgt_mask.shape != tgt.shape or tgt_mask.dtype != bool:
        raise ValueError(f"tgt_mask must be a bool array of tgt's shape {tgt.shape}")
    match = np.zeros(len(pred), bool)
    for b, (p, t) in enumerate(zip(pred, tgt)):
        p = p.tolist()
        out = p[:p.index(EOS_ID) + 1] if EOS_ID in p else p
        match[b] = out == t[tgt_mask[b]].tolist()
    return match
