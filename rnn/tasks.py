"""Synthetic sequence tasks and the small sequence classifiers the book trains on them.

Two generated data sets, small enough to train on in seconds, each built to isolate one property:

- ``make_tagging_data``: part-of-speech tagging of a tiny English-like language in which some words
  ("fly", "watch", "book", …) are nouns or verbs depending on their neighbours. With ``context="left"`` the
  deciding neighbour comes before the word, with ``context="right"`` after it.
- ``make_long_range_data``: remember the first token of a sequence across ``distance`` random distractors
  (the "brown … german shepherd" problem of vanishing gradients, reduced to its core).

And one model family for both, ``SequenceModel``:

    X_t = E[ids_t]                                        embedding, E ∈ R^{V×D}
    H_t = recurrent layer(X_1..X_t)  (RNN, GRU or LSTM; stacked; uni- or bidirectional; see ``rnn.layers``)
       or H_t = tanh(X_t W_xh + b_h)                      the feedforward baseline: no W_hh, no memory
    O_t = H_t W_hq + b_q                                  per_step=True:  one output per token (tagging)
    O   = H_T W_hq + b_q                                  per_step=False: one output per sequence

Token ids and targets are batch-major, ids (B, T), as the data iterators of the book produce them; the
model transposes once to the time-major layout (T, B, D) of ``rnn.layers``. The parameters live in one flat
dict: "E" (V, D), the recurrent layer's keys ("l0.fwd.W_xh", …) or the feedforward "W_xh" (D, H) and "b_h"
(H,), then "W_hq" (dirs·H, Q) and "b_q" (Q,).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from rnn._common import as_rng, check_finite_params, check_ids, check_positive_number
from rnn.embedding import embedding_backward, embedding_forward, init_embedding
from rnn.functional import softmax_cross_entropy
from rnn.layers import RecurrentSpec, init_recurrent, recurrent_backward, recurrent_forward
from rnn.optim import check_optimizer, clip_grad_norm, global_norm

# ---------------------------------------------------------------------------------------------
# The tagging language
# ---------------------------------------------------------------------------------------------

PAD = "<pad>"
TAGSET = [PAD, "DET", "ADJ", "NOUN", "PRON", "MODAL", "VERB", "ADV", "PREP", "CONJ"]

# Unambiguous words, by tag. "it" and "them" are object pronouns (right-context language only).
LEXICON = {
    "DET": ["the", "a", "my", "this"],
    "ADJ": ["big", "small", "old", "red", "lazy"],
    "NOUN": ["dog", "cat", "bird", "car", "table", "river", "child", "garden"],
    "PRON": ["i", "you", "we", "they", "it", "them"],
    "MODAL": ["can", "will", "must", "should"],
    "VERB": ["see", "like", "chase", "find", "want", "take"],
    "ADV": ["often", "never", "always", "today", "again"],
    "PREP": ["in", "near", "with"],
    "CONJ": ["and", "then"],
}
# Words that are a NOUN or a VERB depending on their context.
AMBIGUOUS_WORDS = ["fly", "watch", "book", "duck", "fish", "ring", "cook"]

WORDS = [PAD] + [w for tag in TAGSET[1:] for w in LEXICON[tag]] + AMBIGUOUS_WORDS
_WORD_ID = {w: i for i, w in enumerate(WORDS)}
_TAG_ID = {t: i for i, t in enumerate(TAGSET)}

# The rules, as sets of tags of the deciding neighbour (stated in make_tagging_data's docstring, checked by tests).
LEFT_VERB_AFTER = {"PRON", "MODAL", "ADV"}     # context="left": previous word's tag → the ambiguous word is a VERB
LEFT_NOUN_AFTER = {"DET", "ADJ"}               # context="left": previous word's tag → NOUN
RIGHT_VERB_BEFORE = {"DET", "PRON"}            # context="right": next word's tag → the ambiguous word is a VERB
RIGHT_NOUN_BEFORE = {"MODAL", "ADV", "VERB"}   # context="right": next word's tag → NOUN

_LENGTH_LIMITS = {"left": (4, 14), "right": (2, 14)}   # shortest and longest sentence each grammar can make


class TaggingData(NamedTuple):
    """Tagged sentences, padded at the end to a common length T.

    ids: (N, T) int64 word ids, 0 = "<pad>" after the end of a sentence; tags: (N, T) int64 tag ids (0 = "<pad>"
    at padded positions); mask: (N, T) bool, True at real tokens; ambiguous: (N, T) bool, True at the ambiguous
    words, whose tag depends on the context; words: the vocabulary (words[ids[n, t]] is the word);
    tagset: the tag names (tagset[tags[n, t]] is the tag).
    """

    ids: np.ndarray
    tags: np.ndarray
    mask: np.ndarray
    ambiguous: np.ndarray
    words: list[str]
    tagset: list[str]


def _pick(rng: np.random.Generator, options: list[str]) -> str:
    return options[int(rng.integers(len(options)))]


class _Sentence:
    """A sentence under construction: parallel lists of words, tags and ambiguity flags."""

    def __init__(self) -> None:
        self.words: list[str] = []
        self.tags: list[str] = []
        self.amb: list[bool] = []

    def add(self, rng: np.random.Generator, tag: str) -> None:
        self.words.append(_pick(rng, LEXICON[tag]))
        self.tags.append(tag)
        self.amb.append(False)

    def add_slot(self, rng: np.random.Generator, tag: str, p_ambiguous: float) -> None:
        """A NOUN or VERB slot, filled with an ambiguous word with probability p_ambiguous."""
        if rng.random() < p_ambiguous:
            self.words.append(_pick(rng, AMBIGUOUS_WORDS))
            self.tags.append(tag)
            self.amb.append(True)
        else:
            self.add(rng, tag)

    def noun_phrase(self, rng: np.random.Generator, p_ambiguous: float) -> None:
        """DET [ADJ] NOUN."""
        self.add(rng, "DET")
        if rng.random() < 0.5:
            self.add(rng, "ADJ")
        self.add_slot(rng, "NOUN", p_ambiguous)


def _left_sentence(rng: np.random.Generator) -> _Sentence:
    """SUBJ VP OBJ [PP] [ADV] with SUBJ = PRON [MODAL] | DET [ADJ] N MODAL, VP = [ADV] V, OBJ = DET [ADJ] N."""
    s = _Sentence()
    if rng.random() < 0.5:                      # pronoun subject, optional modal
        s.add(rng, "PRON")
        while s.words[-1] in ("it", "them"):    # subject pronouns only
            s.words[-1] = _pick(rng, LEXICON["PRON"][:4])
        if rng.random() < 0.3:
            s.add(rng, "MODAL")
    else:                                       # noun-phrase subject, always followed by a modal
        s.noun_phrase(rng, 0.4)
        s.add(rng, "MODAL")
    if rng.random() < 0.3:
        s.add(rng, "ADV")
    s.add_slot(rng, "VERB", 0.6)
    s.noun_phrase(rng, 0.4)
    if rng.random() < 0.3:                      # prepositional phrase
        s.add(rng, "PREP")
        s.noun_phrase(rng, 0.4)
    if rng.random() < 0.25:                     # a final adverb ("today"); nothing follows it
        s.add(rng, "ADV")
    return s


def _right_clause(rng: np.random.Generator, s: _Sentence) -> None:
    """An ambiguous word, then 1–3 more words: its object (→ VERB) or a predicate (→ NOUN).

    Both kinds of clause have the same length distribution (1, 2 or 3 words after the ambiguous one with
    probabilities 0.2, 0.4, 0.4), so neither the length of a clause nor its position in the sentence says
    which kind it is: only the words after the ambiguous one do.
    """
    k = 1 + int(rng.choice(3, p=[0.2, 0.4, 0.4]))          # words after the ambiguous one
    if rng.random() < 0.5:                                 # an order: AMB:VERB then its object
        s.add_slot(rng, "VERB", 1.0)
        if k == 1:                                         # "book it"
            s.words.append(_pick(rng, ["it", "them"]))
            s.tags.append("PRON")
            s.amb.append(False)
        else:                                              # "watch the (big) dog"
            s.add(rng, "DET")
            if k == 3:
                s.add(rng, "ADJ")
            s.add(rng, "NOUN")
    else:                                                  # a subject: AMB:NOUN then a predicate
        s.add_slot(rng, "NOUN", 1.0)
        if k >= 2 and rng.random() < 0.5:                  # "fish can see", "duck often finds it"
            s.add(rng, "MODAL" if rng.random() < 0.5 else "ADV")
            k -= 1
        s.add(rng, "VERB")                                 # "fish see"
        if k == 2:                                         # "fish see them"
            s.words.append(_pick(rng, ["it", "them"]))
            s.tags.append("PRON")
            s.amb.append(False)
        elif k == 3:                                       # "fish see the cat"
            s.add(rng, "DET")
            s.add(rng, "NOUN")


def _right_sentence(rng: np.random.Generator) -> _Sentence:
    """CLAUSE (CONJ CLAUSE){0,2}: every ambiguous word starts a clause, so its left context is uninformative."""
    s = _Sentence()
    _right_clause(rng, s)
    for _ in range(2):
        if rng.random() < 0.6:
            s.add(rng, "CONJ")
            _right_clause(rng, s)
    return s


def make_tagging_data(
    n: int, rng: np.random.Generator, *, context: str = "left", length: tuple[int, int] = (5, 9)
) -> TaggingData:
    """N tagged sentences of a small generated language in which context decides some tags.

    The language has determiners, adjectives, nouns, pronouns, modals, verbs, adverbs, prepositions and
    conjunctions (``TAGSET``, ``LEXICON``), plus seven ambiguous words (``AMBIGUOUS_WORDS``: fly, watch, book,
    duck, fish, ring, cook) that are a NOUN in one place and a VERB in another. Each word but those has one tag.

    context="left" — the deciding word comes just before the ambiguous word:
        an ambiguous word is a VERB when the previous word is a pronoun, a modal or an adverb
        ("they often *watch* the bird"), and a NOUN when the previous word is a determiner or an adjective
        ("the lazy *duck* will find a car"). Sentences: SUBJ [ADV] V OBJ [PREP NP] [ADV], where SUBJ is a
        pronoun with an optional modal or DET [ADJ] N followed by a modal.
    context="right" — the deciding word comes just after it; the left context is the same for both readings:
        every ambiguous word starts a clause (the first word of the sentence, or the word after "and"/"then");
        it is a VERB when the next word is a determiner or a pronoun — it starts an order with its object
        ("*book* the old table") — and a NOUN when the next word is a modal, an adverb or a verb — it is the
        subject ("*fish* can see the cat"). Sentences: CLAUSE (CONJ CLAUSE){0,2}, each clause an ambiguous word
        and 1–3 more words. The two readings are equally likely and their clauses have the same length
        distribution, so nothing to the left (not even the position) tells them apart: without the right
        context the best guess is right half of the time. Other noun and verb slots hold unambiguous words.

    n: number of sentences; rng: a numpy Generator or an int seed (the same seed gives
    the same data);
    length: (shortest, longest) number of tokens, inclusive; sentences outside the range are redrawn.
    Every row is padded to T = length[1]. Returns a ``TaggingData`` with ids, tags, mask, ambiguous of shape (N, T).
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer ≥ 1; got {n!r}")
    rng = as_rng(rng)
    if context not in _LENGTH_LIMITS:
        raise ValueError(f"context must be 'left' or 'right'; got {context!r}")
    lo_limit, hi_limit = _LENGTH_LIMITS[context]
    if (not isinstance(length, tuple) or len(length) != 2
            or not all(isinstance(x, (int, np.integer)) for x in length)):
        raise ValueError(f"length must be a tuple (shortest, longest) of two integers; got {length!r}")
    lo, hi = length
    if lo > hi or hi < lo_limit or lo > hi_limit:
        raise ValueError(f"length must be (shortest, longest) with shortest ≤ longest, overlapping the range "
                         f"[{lo_limit}, {hi_limit}] of the {context!r} grammar; got {length}")
    make = _left_sentence if context == "left" else _right_sentence
    T = hi
    ids = np.zeros((n, T), np.int64)
    tags = np.zeros((n, T), np.int64)
    mask = np.zeros((n, T), bool)
    ambiguous = np.zeros((n, T), bool)
    for i in range(n):
        s = make(rng)
        while not lo <= len(s.words) <= hi:
            s = make(rng)
        k = len(s.words)
        ids[i, :k] = [_WORD_ID[w] for w in s.words]
        tags[i, :k] = [_TAG_ID[t] for t in s.tags]
        mask[i, :k] = True
        ambiguous[i, :k] = s.amb
    return TaggingData(ids, tags, mask, ambiguous, list(WORDS), list(TAGSET))


def make_long_range_data(
    n: int, distance: int, rng: np.random.Generator, *, num_classes: int = 4, vocab_size: int = 16
) -> tuple[np.ndarray, np.ndarray]:
    """Remember the first token: ids[:, 0] is the class y, then ``distance`` random distractors.

    The tokens 0, …, num_classes − 1 are the signal tokens; the tokens num_classes, …, vocab_size − 1 are
    distractors, drawn independently and uniformly. The target y = ids[:, 0] can only be predicted by carrying
    it across all ``distance`` distractors: a model that forgets it is right with probability 1/num_classes.
    Sequences have T = distance + 1 tokens; a many-to-one model reads its answer from the last step.

    n: number of sequences; distance: number of distractors ≥ 0; rng: a numpy Generator
    or an int seed.
    Returns ids (n, distance + 1) int64 and y (n,) int64.
    """
    for name, value, low in (("n", n, 1), ("distance", distance, 0), ("num_classes", num_classes, 2)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise ValueError(f"{name} must be an integer ≥ {low}; got {value!r}")
    if not isinstance(vocab_size, (int, np.integer)) or vocab_size <= num_classes:
        raise ValueError(f"vocab_size must exceed num_classes = {num_classes} (distractors need their own "
                         f"tokens); got {vocab_size!r}")
    rng = as_rng(rng)
    y = rng.integers(num_classes, size=n).astype(np.int64)
    distractors = rng.integers(num_classes, vocab_size, size=(n, distance)).astype(np.int64)
    return np.concatenate([y[:, None], distractors], axis=1), y


# ---------------------------------------------------------------------------------------------
# The sequence model
# ---------------------------------------------------------------------------------------------

@dataclass
class SequenceModel:
    """Embedding → recurrent layer (or the feedforward baseline) → dense output, per step or at the last step.

    spec: the recurrent layer (input_size = embed_size), or None for the feedforward baseline
    H_t = tanh(X_t W_xh + b_h), which has no memory; per_step: True for one output per token (tagging),
    False for one output per sequence read at the last step (classification).
    params: {"E": (V, D), recurrent keys or "W_xh" (D, H) and "b_h" (H,), "W_hq" (dirs·H, Q), "b_q" (Q,)}.
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

    E ~ N(0, 1/D) (``init_embedding``); the recurrent layer from ``init_recurrent`` (U(−1/√H, 1/√H));
    the feedforward baseline (recurrent=False) draws W_xh and b_h from the same U(−1/√H, 1/√H);
    W_hq ~ U(−1/√(dirs·H), 1/√(dirs·H)), b_q = 0. The draws happen in that order from ``rng``.
    kind: "rnn", "gru" or "lstm" (ignored when recurrent=False, which also requires bidirectional=False and
    num_layers=1); nonlinearity: "tanh" or "relu" for kind="rnn".
    """
    for name, value in (("vocab_size", vocab_size), ("num_classes", num_classes), ("hidden_size", hidden_size),
                        ("embed_size", embed_size)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be an integer ≥ 1; got {value!r}")
    rng = as_rng(rng)
    if not recurrent and (bidirectional or num_layers != 1):
        raise ValueError(f"the feedforward baseline (recurrent=False) has one layer and one direction; "
                         f"got bidirectional={bidirectional}, num_layers={num_layers}")
    params = {"E": init_embedding(vocab_size, embed_size, rng, dtype)}
    if recurrent:
        spec = RecurrentSpec(kind, embed_size, hidden_size, num_layers=num_layers, bidirectional=bidirectional,
                             nonlinearity=nonlinearity)
        params |= init_recurrent(spec, rng, dtype)
        out_size = hidden_size * spec.num_directions
    else:
        spec = None
        bound = 1 / math.sqrt(hidden_size)
        params["W_xh"] = rng.uniform(-bound, bound, (embed_size, hidden_size)).astype(dtype)
        params["b_h"] = rng.uniform(-bound, bound, hidden_size).astype(dtype)
        out_size = hidden_size
    bound = 1 / math.sqrt(out_size)
    params["W_hq"] = rng.uniform(-bound, bound, (out_size, num_classes)).astype(dtype)
    params["b_q"] = np.zeros(num_classes, dtype)
    return SequenceModel(spec, vocab_size, embed_size, num_classes, per_step, params)


class SequenceCache(NamedTuple):
    """What the backward pass needs from ``_forward``."""

    ids_tm: np.ndarray     # (T, B) token ids, time-major
    X: np.ndarray          # (T, B, D) embedded inputs
    Hs: np.ndarray         # (T, B, dirs·H) hidden states (the layer's output at every step)
    layer_cache: Any       # RecurrentCache, or None for the feedforward baseline
    last: np.ndarray       # (B,) the step whose state feeds the output when per_step=False


def _check_model(model, where: str) -> SequenceModel:
    """TypeError unless a SequenceModel; ValueError naming a non-finite parameter."""
    if not isinstance(model, SequenceModel):
        raise TypeError(f"{where} needs a SequenceModel (init_sequence_model); "
                        f"got {type(model).__name__}")
    check_finite_params(model.params, where)
    return model


def _check_mask(mask, shape: tuple[int, int], per_step: bool) -> np.ndarray | None:
    if mask is None:
        return None
    mask = np.asarray(mask)
    if mask.shape != shape:
        raise ValueError(f"mask must have the shape of ids, (B, T) = {shape}; got {mask.shape}")
    if mask.dtype != bool:
        if not np.isin(mask, (0, 1)).all():
            raise ValueError("mask must hold 0/1 or booleans")
        mask = mask.astype(bool)
    if not per_step:
        lengths = mask.sum(axis=1)
        if (lengths == 0).any() or not (mask == (np.arange(shape[1]) < lengths[:, None])).all():
            raise ValueError("for a many-to-one model the mask must mark a non-empty prefix of every row "
                             "(padding at the end only)")
    return mask


def _forward(model: SequenceModel, ids: np.ndarray, mask: np.ndarray | None) -> tuple[np.ndarray, SequenceCache]:
    """Logits O: (T, B, Q) per step, or (B, Q) from the last (real) step."""
    p = model.params
    ids_tm = ids.T                                          # (T, B)
    X = embedding_forward(p["E"], ids_tm)                   # (T, B, D)
    if model.recurrent:
        Hs, _, layer_cache = recurrent_forward(model.spec, p, X)
    else:
        Hs, layer_cache = np.tanh(X @ p["W_xh"] + p["b_h"]), None
    T, B = ids_tm.shape
    last = np.full(B, T - 1) if mask is None else mask.sum(axis=1) - 1
    H_out = Hs if model.per_step else Hs[last, np.arange(B)]
    O = H_out @ p["W_hq"] + p["b_q"]
    return O, SequenceCache(ids_tm, X, Hs, layer_cache, last)


def sequence_loss_and_grads(
    model: SequenceModel, ids: np.ndarray, targets: np.ndarray, mask: np.ndarray | None = None
) -> tuple[float, dict[str, np.ndarray]]:
    """Mean cross-entropy of the model on a minibatch, and its gradient with respect to every parameter.

    per_step=True: ids, targets, mask (B, T); L = mean over the tokens with mask = 1 of −log softmax(O_t)[y_t].
    per_step=False: ids (B, T), targets (B,); L = mean over sequences of −log softmax(O)[y] with
    O = H_T W_hq + b_q, H_T the state at the last step (or at the last position where mask = 1, the mask then
    marking a prefix of each row; a bidirectional layer's backward half has still read the padding).
    Returns (loss, grads) with grads keyed like model.params.
    """
    _check_model(model, "sequence_loss_and_grads")
    return _sequence_loss_and_grads(model, ids, targets, mask)


def _sequence_loss_and_grads(model: SequenceModel, ids, targets, mask=None):
    """``sequence_loss_and_grads`` without the model check (for the training loop)."""
    p = model.params
    ids = check_ids(ids, model.vocab_size, "ids")
    targets = np.asarray(targets)
    expected = ids.shape if model.per_step else ids.shape[:1]
    if targets.shape != expected:
        what = "(B, T)" if model.per_step else "(B,)"
        raise ValueError(f"targets must have shape {what} = {expected} for a "
                         f"{'per-step' if model.per_step else 'many-to-one'} model; got {targets.shape}")
    mask = _check_mask(mask, ids.shape, model.per_step)
    O, cache = _forward(model, ids, mask)
    if model.per_step:
        loss, dO = softmax_cross_entropy(O, targets.T, None if mask is None else mask.T)
        H_out = cache.Hs
    else:
        loss, dO = softmax_cross_entropy(O, targets)
        H_out = cache.Hs[cache.last, np.arange(ids.shape[0])]
    Hdim = H_out.shape[-1]
    grads = {"W_hq": H_out.reshape(-1, Hdim).T @ dO.reshape(-1, model.num_classes),
             "b_q": dO.reshape(-1, model.num_classes).sum(axis=0)}
    dH_out = dO @ p["W_hq"].T
    if model.per_step:
        dHs = dH_out
    else:
        dHs = np.zeros_like(cache.Hs)
        dHs[cache.last, np.arange(ids.shape[0])] = dH_out
    if model.recurrent:
        dX, _, layer_grads = recurrent_backward(model.spec, p, dHs, None, cache.layer_cache)
        grads |= layer_grads
    else:
        dA = dHs * (1 - cache.Hs**2)                          # tanh'(A) = 1 − H²
        D = model.embed_size
        grads["W_xh"] = cache.X.reshape(-1, D).T @ dA.reshape(-1, model.hidden_size)
        grads["b_h"] = dA.reshape(-1, model.hidden_size).sum(axis=0)
        dX = dA @ p["W_xh"].T
    grads["E"] = embedding_backward(dX, cache.ids_tm, model.vocab_size)
    return loss, {k: grads[k] for k in p}


def predict(model: SequenceModel, ids: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """The most probable class: (B, T) per step, or (B,) per sequence (read at the last real step if mask)."""
    _check_model(model, "predict")
    ids = check_ids(ids, model.vocab_size, "ids")
    mask = _check_mask(mask, ids.shape, model.per_step)
    O, _ = _forward(model, ids, mask)
    pred = O.argmax(axis=-1)
    return pred.T if model.per_step else pred


def accuracy(pred: np.ndarray, targets: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Fraction of positions where pred == targets, counting only positions with mask = True (all if None)."""
    pred, targets = np.asarray(pred), np.asarray(targets)
    if pred.shape != targets.shape:
        raise ValueError(f"pred and targets must have the same shape; got {pred.shape} and {targets.shape}")
    correct = pred == targets
    if mask is None:
        return float(correct.mean())
    mask = np.asarray(mask, bool)
    if mask.shape != targets.shape:
        raise ValueError(f"mask must have the targets' shape {targets.shape}; got {mask.shape}")
    if not mask.any():
        raise ValueError("the mask selects no position: accuracy would be 0/0")
    return float(correct[mask].mean())


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
) -> dict[str, Any]:
    """Minibatch training: shuffle the N rows every epoch, and for each minibatch compute the loss and gradients,
    clip them to norm θ = clip if given (g ← min(1, θ/‖g‖) g), and take an optimizer step. Updates model.params in place.

    ids (N, T); targets (N, T) per step or (N,) per sequence; mask (N, T) or None; optimizer: an object with
    ``step(params, grads)`` (``rnn.optim.SGD``, ``Adam``); seed: an int seed or a numpy
    Generator, for the shuffling. Every argument, including that targets have one row
    per row of ids and that the parameters are finite, is checked before the first step.
    on_nonfinite: what to do when the loss or the gradient norm is NaN or infinite — "raise" a FloatingPointError,
    or "stop" training and record it (used to show divergence).
    Returns a history dict: "loss" (one float per step), "grad_norm" (‖g‖ before clipping, per step; empty if
    record_grad_norm=False and clip is None), "steps" (number of updates taken), "stopped" (None, or a message
    saying at which step the loss or gradient became non-finite; the failing step's values are the last entries).
    """
    _check_model(model, "train_sequence_model")
    ids = check_ids(ids, model.vocab_size, "ids")
    N = ids.shape[0]
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be an integer ≥ 1; got {value!r}")
    if on_nonfinite not in ("raise", "stop"):
        raise ValueError(f"on_nonfinite must be 'raise' or 'stop'; got {on_nonfinite!r}")
    if clip is not None:
        check_positive_number(clip, "clip (None for no clipping)")
    check_optimizer(optimizer)
    targets = np.asarray(targets)
    expected = ids.shape if model.per_step else ids.shape[:1]
    if targets.shape != expected:   # one target row per id row, checked before any step
        what = "(N, T)" if model.per_step else "(N,)"
        raise ValueError(f"targets must have shape {what} = {expected}, one row per "
                         f"row of ids; got {targets.shape}")
    if not np.issubdtype(targets.dtype, np.integer):
        raise TypeError(f"targets must be integer class ids; got dtype {targets.dtype}")
    if targets.min() < 0 or targets.max() >= model.num_classes:
        raise ValueError(f"targets must lie in [0, {model.num_classes}); "
                         f"got values from {targets.min()} to {targets.max()}")
    mask = _check_mask(mask, ids.shape, model.per_step)
    rng = as_rng(seed, "seed")
    history: dict[str, Any] = {"loss": [], "grad_norm": [], "steps": 0, "stopped": None}
    for epoch in range(epochs):
        order = rng.permutation(N)
        for start in range(0, N, batch_size):
            rows = order[start:start + batch_size]
            with np.errstate(over="ignore", invalid="ignore"):   # non-finite values are detected below
                rows_mask = None if mask is None else mask[rows]
                loss, grads = _sequence_loss_and_grads(model, ids[rows], targets[rows],
                                                       rows_mask)
                norm = global_norm(grads) if (record_grad_norm or clip is not None) else None
            history["loss"].append(loss)
            if norm is not None:
                history["grad_norm"].append(norm)
            if not (math.isfinite(loss) and (norm is None or math.isfinite(norm))):
                message = (f"training diverged at step {history['steps'] + 1} (epoch {epoch + 1}): loss = {loss}, "
                           f"gradient norm = {norm}; lower the learning rate or clip the gradients (clip=θ)")
                if on_nonfinite == "raise":
                    raise FloatingPointError(message)
                history["stopped"] = message
                return history
            with np.errstate(over="ignore", invalid="ignore"):   # an overflow shows up as a non-finite loss next
                if clip is not None:
                    clip_grad_norm(grads, clip)
                optimizer.step(model.params, grads)
            history["steps"] += 1
    return history
