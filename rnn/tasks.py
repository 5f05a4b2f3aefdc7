"""Synthetic sequence tasks: generated data sets, small enough to train on in seconds,
each built to isolate one property.

- ``make_tagging_data``: part-of-speech tagging of a tiny English-like language in
  which some words ("fly", "watch", "book", …) are nouns or verbs depending on their
  neighbours. With ``context="left"`` the deciding neighbour comes before the word, with
  ``context="right"`` after it.
- ``make_long_range_data``: remember the first token of a sequence across ``distance``
  random distractors (the "brown … german shepherd" problem of vanishing gradients,
  reduced to its core).

The models the book trains on them live in ``rnn.classifier`` (``SequenceModel``,
``init_sequence_model``, ``sequence_loss_and_grads``, ``predict``, ``accuracy``,
``train_sequence_model``), and their training loop and ``History`` in ``rnn.train``,
shared with the language model. Those names are imported here as well, so
``from rnn.tasks import init_sequence_model, train_sequence_model`` keeps working; their
documentation is under ``rnn.classifier``.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from rnn._common import as_rng, check_int
# The classifiers trained on these tasks, importable from here too (defined in
# rnn.classifier).
from rnn.classifier import (  # noqa: F401
    SequenceModel,
    accuracy,
    init_sequence_model,
    predict,
    sequence_loss_and_grads,
    train_sequence_model,
)

# --------------------------------------------------------------------------------------
# The tagging language
# --------------------------------------------------------------------------------------

PAD = "<pad>"
TAGSET = [PAD, "DET", "ADJ", "NOUN", "PRON", "MODAL", "VERB", "ADV", "PREP", "CONJ"]

# Unambiguous words, by tag. "it" and "them" are object pronouns (right-context
# language only).
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

# The rules, as sets of tags of the deciding neighbour (stated in make_tagging_data's
# docstring, checked by tests). The ambiguous word is a VERB or a NOUN when:
LEFT_VERB_AFTER = {"PRON", "MODAL", "ADV"}     # context="left": the previous word's tag
LEFT_NOUN_AFTER = {"DET", "ADJ"}               # is one of these
RIGHT_VERB_BEFORE = {"DET", "PRON"}            # context="right": the next word's tag
RIGHT_NOUN_BEFORE = {"MODAL", "ADV", "VERB"}   # is one of these

# shortest and longest sentence each grammar can make
_LENGTH_LIMITS = {"left": (4, 14), "right": (2, 14)}


class TaggingData(NamedTuple):
    """Tagged sentences, padded at the end to a common length T.

    ids: (N, T) int64 word ids, 0 = "<pad>" after the end of a sentence; tags: (N, T)
    int64 tag ids (0 = "<pad>" at padded positions); mask: (N, T) bool, True at real
    tokens; ambiguous: (N, T) bool, True at the ambiguous words, whose tag depends on
    the context; words: the vocabulary (words[ids[n, t]] is the word); tagset: the tag
    names (tagset[tags[n, t]] is the tag).
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
    """A sentence under construction: parallel lists of words, tags and ambiguity
    flags."""

    def __init__(self) -> None:
        self.words: list[str] = []
        self.tags: list[str] = []
        self.amb: list[bool] = []

    def add(self, rng: np.random.Generator, tag: str) -> None:
        self.words.append(_pick(rng, LEXICON[tag]))
        self.tags.append(tag)
        self.amb.append(False)

    def add_slot(self, rng: np.random.Generator, tag: str, p_ambiguous: float) -> None:
        """A NOUN or VERB slot, filled with an ambiguous word with probability
        p_ambiguous."""
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
    """SUBJ VP OBJ [PP] [ADV] with SUBJ = PRON [MODAL] | DET [ADJ] N MODAL,
    VP = [ADV] V, OBJ = DET [ADJ] N."""
    s = _Sentence()
    if rng.random() < 0.5:                      # pronoun subject, optional modal
        s.add(rng, "PRON")
        while s.words[-1] in ("it", "them"):    # subject pronouns only
            s.words[-1] = _pick(rng, LEXICON["PRON"][:4])
        if rng.random() < 0.3:
            s.add(rng, "MODAL")
    else:                                       # noun-phrase subject, then a modal
        s.noun_phrase(rng, 0.4)
        s.add(rng, "MODAL")
    if rng.random() < 0.3:
        s.add(rng, "ADV")
    s.add_slot(rng, "VERB", 0.6)
    s.noun_phrase(rng, 0.4)
    if rng.random() < 0.3:                      # prepositional phrase
        s.add(rng, "PREP")
        s.noun_phrase(rng, 0.4)
    if rng.random() < 0.25:                     # a final adverb ("today")
        s.add(rng, "ADV")
    return s


def _right_clause(rng: np.random.Generator, s: _Sentence) -> None:
    """An ambiguous word, then 1–3 more words: its object (→ VERB) or a predicate
    (→ NOUN).

    Both kinds of clause have the same length distribution (1, 2 or 3 words after the
    ambiguous one with probabilities 0.2, 0.4, 0.4), so neither the length of a clause
    nor its position in the sentence says which kind it is: only the words after the
    ambiguous one do.
    """
    k = 1 + int(rng.choice(3, p=[0.2, 0.4, 0.4]))   # words after the ambiguous one
    if rng.random() < 0.5:                          # an order: AMB:VERB, its object
        s.add_slot(rng, "VERB", 1.0)
        if k == 1:                                  # "book it"
            s.words.append(_pick(rng, ["it", "them"]))
            s.tags.append("PRON")
            s.amb.append(False)
        else:                                       # "watch the (big) dog"
            s.add(rng, "DET")
            if k == 3:
                s.add(rng, "ADJ")
            s.add(rng, "NOUN")
    else:                                           # a subject: AMB:NOUN, a predicate
        s.add_slot(rng, "NOUN", 1.0)
        if k >= 2 and rng.random() < 0.5:           # "fish can see", "duck often …"
            s.add(rng, "MODAL" if rng.random() < 0.5 else "ADV")
            k -= 1
        s.add(rng, "VERB")                          # "fish see"
        if k == 2:                                  # "fish see them"
            s.words.append(_pick(rng, ["it", "them"]))
            s.tags.append("PRON")
            s.amb.append(False)
        elif k == 3:                                # "fish see the cat"
            s.add(rng, "DET")
            s.add(rng, "NOUN")


def _right_sentence(rng: np.random.Generator) -> _Sentence:
    """CLAUSE (CONJ CLAUSE){0,2}: every ambiguous word starts a clause, so its left
    context is uninformative."""
    s = _Sentence()
    _right_clause(rng, s)
    for _ in range(2):
        if rng.random() < 0.6:
            s.add(rng, "CONJ")
            _right_clause(rng, s)
    return s


def make_tagging_data(
    n: int,
    rng: np.random.Generator,
    *,
    context: str = "left",
    length: tuple[int, int] = (5, 9),
) -> TaggingData:
    """N tagged sentences of a small generated language in which context decides some
    tags.

    The language has determiners, adjectives, nouns, pronouns, modals, verbs, adverbs,
    prepositions and conjunctions (``TAGSET``, ``LEXICON``), plus seven ambiguous words
    (``AMBIGUOUS_WORDS``: fly, watch, book, duck, fish, ring, cook) that are a NOUN in
    one place and a VERB in another. Each word but those has one tag.

    context="left" — the deciding word comes just before the ambiguous word:
        an ambiguous word is a VERB when the previous word is a pronoun, a modal or an
        adverb ("they often *watch* the bird"), and a NOUN when the previous word is a
        determiner or an adjective ("the lazy *duck* will find a car"). Sentences:
        SUBJ [ADV] V OBJ [PREP NP] [ADV], where SUBJ is a pronoun with an optional
        modal or DET [ADJ] N followed by a modal.
    context="right" — the deciding word comes just after it; the left context is the
    same for both readings:
        every ambiguous word starts a clause (the first word of the sentence, or the
        word after "and"/"then"); it is a VERB when the next word is a determiner or a
        pronoun — it starts an order with its object ("*book* the old table") — and a
        NOUN when the next word is a modal, an adverb or a verb — it is the subject
        ("*fish* can see the cat"). Sentences: CLAUSE (CONJ CLAUSE){0,2}, each clause
        an ambiguous word and 1–3 more words. The two readings are equally likely and
        their clauses have the same length distribution, so nothing to the left (not
        even the position) tells them apart: without the right context the best guess
        is right half of the time. Other noun and verb slots hold unambiguous words.

    n: number of sentences; rng: a numpy Generator or an int seed (the same seed gives
    the same data); length: (shortest, longest) number of tokens, inclusive; sentences
    outside the range are redrawn. Every row is padded to T = length[1]. Returns a
    ``TaggingData`` with ids, tags, mask, ambiguous of shape (N, T).
    """
    n = check_int(n, "n")
    rng = as_rng(rng)
    if context not in _LENGTH_LIMITS:
        raise ValueError(f"context must be 'left' or 'right'; got {context!r}")
    lo_limit, hi_limit = _LENGTH_LIMITS[context]
    if (not isinstance(length, tuple) or len(length) != 2
            or not all(isinstance(x, (int, np.integer)) for x in length)):
        raise ValueError(f"length must be a tuple (shortest, longest) of two integers; "
                         f"got {length!r}")
    lo, hi = length
    if lo > hi or hi < lo_limit or lo > hi_limit:
        raise ValueError(f"length must be (shortest, longest) with shortest ≤ longest, "
                         f"overlapping the range [{lo_limit}, {hi_limit}] of the "
                         f"{context!r} grammar; got {length}")
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


# --------------------------------------------------------------------------------------
# The long-range task
# --------------------------------------------------------------------------------------

def make_long_range_data(
    n: int,
    distance: int,
    rng: np.random.Generator,
    *,
    num_classes: int = 4,
    vocab_size: int = 16,
) -> tuple[np.ndarray, np.ndarray]:
    """Remember the first token: ids[:, 0] is the class y, then ``distance`` random
    distractors.

    The tokens 0, …, num_classes − 1 are the signal tokens; the tokens num_classes, …,
    vocab_size − 1 are distractors, drawn independently and uniformly. The target
    y = ids[:, 0] can only be predicted by carrying it across all ``distance``
    distractors: a model that forgets it is right with probability 1/num_classes.
    Sequences have T = distance + 1 tokens; a many-to-one model reads its answer from
    the last step.

    n: number of sequences; distance: number of distractors ≥ 0; rng: a numpy Generator
    or an int seed.
    Returns ids (n, distance + 1) int64 and y (n,) int64.
    """
    n = check_int(n, "n")
    distance = check_int(distance, "distance", 0)
    num_classes = check_int(num_classes, "num_classes", 2)
    if (isinstance(vocab_size, bool) or not isinstance(vocab_size, (int, np.integer))
            or vocab_size <= num_classes):
        raise ValueError(f"vocab_size must be an integer above num_classes = "
                         f"{num_classes} (distractors need their own tokens); "
                         f"got {vocab_size!r}")
    rng = as_rng(rng)
    y = rng.integers(num_classes, size=n).astype(np.int64)
    distractors = rng.integers(num_classes, vocab_size,
                               size=(n, distance)).astype(np.int64)
    return np.concatenate([y[:, None], distractors], axis=1), y
