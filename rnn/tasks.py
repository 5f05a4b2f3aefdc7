"""Synthetic sequence tasks: generated data sets, small enough to train on in seconds,
each built to isolate one property.

- ``make_tagging_data``: part-of-speech tagging of a tiny English-like language in
  which some words ("fly", "watch", "book", …) are nouns or verbs depending on their
  neighbours. With ``context="left"`` the deciding neighbour comes before the word, with
  ``context="right"`` after it.
- ``make_long_range_data``: remember the first token of a sequence across ``distance``
  random distractors (the "brown … german shepherd" problem of vanishing gradients,
  reduced to its core).

Two sequence-to-sequence tasks (Part IV), each with one right answer per input, so that
exact-match accuracy means something:

- ``make_date_data``: a date written in words or digits ("3 march 1987", "the third of
  march, 1987", "03/03/1987", …) to its ISO form "1987-03-03";
- ``make_reverse_data``: a string of L random symbols to the same symbols reversed, with
  L drawn from a stated range: the longer the input, the more one context vector must
  carry (chapter 16 measures accuracy against L with and without attention).

Both return a ``Seq2SeqData``: right-padded id arrays with boolean masks and fixed
vocabularies in which id 0 is <pad>, 1 is <bos> and 2 is <eos> (``SPECIALS``).

The models the book trains on them live in ``rnn.classifier`` (``SequenceModel``,
``init_sequence_model``, ``sequence_loss_and_grads``, ``predict``, ``accuracy``,
``train_sequence_model``), and their training loop and ``History`` in ``rnn.train``,
shared with the language model. Those names are imported here as well, so
``from rnn.tasks import init_sequence_model, train_sequence_model`` keeps working; their
documentation is under ``rnn.classifier``.
"""
from __future__ import annotations

import datetime
import re
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


# --------------------------------------------------------------------------------------
# Sequence-to-sequence tasks: dates, and reversal
# --------------------------------------------------------------------------------------

PAD_ID, BOS_ID, EOS_ID = 0, 1, 2
SPECIALS = ["<pad>", "<bos>", "<eos>"]   # ids 0, 1, 2 in every seq2seq vocabulary


class Seq2SeqData(NamedTuple):
    """Pairs (source, target), as right-padded ids with masks, and as text.

    src: (N, T_src) int64 source ids, 0 (<pad>) after the end; src_mask: (N, T_src)
    bool, True at real tokens; tgt: (N, T_tgt) int64 target ids y_1 … y_n followed by
    <eos> (2), then <pad>; tgt_mask: (N, T_tgt) bool, True at y_1 … y_n and at <eos>;
    src_vocab, tgt_vocab: the token strings (src_vocab[src[i, t]] is the token), both
    starting with ``SPECIALS``; src_text, tgt_text: the N pairs as strings.
    """

    src: np.ndarray
    src_mask: np.ndarray
    tgt: np.ndarray
    tgt_mask: np.ndarray
    src_vocab: list[str]
    tgt_vocab: list[str]
    src_text: list[str]
    tgt_text: list[str]


def _pad(rows: list[list[str]], vocab: list[str], T: int, eos: bool
         ) -> tuple[np.ndarray, np.ndarray]:
    """Token lists → ids (N, T) right-padded with 0, and the mask; <eos> appended to
    each row if eos."""
    index = {tok: i for i, tok in enumerate(vocab)}
    ids = np.zeros((len(rows), T), np.int64)
    for i, row in enumerate(rows):
        row_ids = [index[tok] for tok in row] + ([EOS_ID] if eos else [])
        ids[i, :len(row_ids)] = row_ids
    return ids, ids != PAD_ID


def _check_range(pair, name: str, what: str, low: int, high: int | None
                 ) -> tuple[int, int]:
    """A tuple (a, b) of two integers with low ≤ a ≤ b (≤ high unless None)."""
    ok = (isinstance(pair, tuple) and len(pair) == 2
          and all(isinstance(x, (int, np.integer)) and not isinstance(x, bool)
                  for x in pair)
          and low <= pair[0] <= pair[1] and (high is None or pair[1] <= high))
    if not ok:
        bound = "" if high is None else f" ≤ {high}"
        a, b = what.strip("()").split(", ")
        raise ValueError(f"{name} must be a tuple {what} of integers with "
                         f"{low} ≤ {a} ≤ {b}{bound}; got {pair!r}")
    return int(pair[0]), int(pair[1])


def ids_to_text(ids, vocab: list[str], sep: str = "") -> str:
    """The tokens of one row of ids up to (without) the first <eos>, joined by sep;
    <pad> and <bos> are skipped. ids: a 1-D integer sequence with values in
    [0, len(vocab))."""
    ids = np.asarray(ids)
    if ids.ndim != 1 or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"ids must be one row of integer token ids (1-D); "
                         f"got shape {ids.shape} and dtype {ids.dtype}")
    if ids.size and (ids.min() < 0 or ids.max() >= len(vocab)):
        raise ValueError(f"ids must lie in [0, len(vocab)) = [0, {len(vocab)}); "
                         f"got values from {ids.min()} to {ids.max()}")
    out = []
    for i in ids.tolist():
        if i == EOS_ID:
            break
        if i not in (PAD_ID, BOS_ID):
            out.append(vocab[i])
    return sep.join(out)


MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december"]
_UNITS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
          "ninth"]
ORDINALS = (_UNITS + ["tenth", "eleventh", "twelfth", "thirteenth", "fourteenth",
                      "fifteenth", "sixteenth", "seventeenth", "eighteenth",
                      "nineteenth", "twentieth"]
            + [f"twenty-{u}" for u in _UNITS] + ["thirtieth", "thirty-first"])
DIGITS = list("0123456789")
# The four surface forms, shown for 3 March 1987; "numeric" is day/month/year.
DATE_FORMATS = {
    "day month year": "3 march 1987",
    "month day, year": "march 3, 1987",
    "ordinal": "the third of march, 1987",
    "numeric": "03/03/1987",
}
DATE_SRC_VOCAB = SPECIALS + DIGITS + [",", "/", "the", "of"] + MONTHS + ORDINALS
DATE_TGT_VOCAB = SPECIALS + DIGITS + ["-"]


def date_tokens(text: str) -> list[str]:
    """The source tokens of a date: words (with their hyphens), single digits, and
    the punctuation marks "," and "/": "march 3, 1987" → march 3 , 1 9 8 7."""
    return re.findall(r"[a-z-]+|\d|[,/]", text)


def write_date(date, fmt: str) -> str:
    """``date`` (a datetime.date) in one of the surface forms of ``DATE_FORMATS``
    (its keys)."""
    d, m, y = date.day, MONTHS[date.month - 1], date.year
    if fmt == "day month year":
        return f"{d} {m} {y}"
    if fmt == "month day, year":
        return f"{m} {d}, {y}"
    if fmt == "ordinal":
        return f"the {ORDINALS[d - 1]} of {m}, {y}"
    if fmt == "numeric":
        return f"{d:02d}/{date.month:02d}/{y}"
    raise ValueError(f"fmt must be one of {list(DATE_FORMATS)}; got {fmt!r}")


def make_date_data(
    n: int,
    rng: np.random.Generator | int,
    *,
    years: tuple[int, int] = (1900, 2099),
    formats: tuple[str, ...] = tuple(DATE_FORMATS),
) -> Seq2SeqData:
    """N dates written in words or digits (source) and in ISO form YYYY-MM-DD (target).

    Each date is drawn uniformly among the valid dates (leap years included) from
    1 January of years[0] to 31 December of years[1], and written in one of
    ``formats`` chosen uniformly, keys of ``DATE_FORMATS``: "day month year"
    ("3 march 1987"), "month day, year" ("march 3, 1987"), "ordinal" ("the third of
    march, 1987") and "numeric" ("03/03/1987", day first). Source tokens are words,
    single digits and the marks "," and "/" (``date_tokens``), at most 10 of them;
    target tokens are the 10 characters of the ISO date, then <eos>.

    n: number of pairs; rng: a numpy Generator or an int seed (the same seed gives the
    same data); years: (first, last), inclusive, within 1000–9999. Returns a
    ``Seq2SeqData`` with T_src = 10 and T_tgt = 11, src_vocab = ``DATE_SRC_VOCAB``
    and tgt_vocab = ``DATE_TGT_VOCAB``.
    """
    n = check_int(n, "n")
    rng = as_rng(rng)
    first_year, last_year = _check_range(years, "years", "(first, last)", 1000, 9999)
    if (not isinstance(formats, (tuple, list)) or not formats
            or any(f not in DATE_FORMATS for f in formats)):
        raise ValueError(f"formats must be a non-empty tuple of keys of DATE_FORMATS "
                         f"{list(DATE_FORMATS)}; got {formats!r}")
    first = datetime.date(first_year, 1, 1).toordinal()
    last = datetime.date(last_year, 12, 31).toordinal()
    days = rng.integers(first, last + 1, size=n)
    choice = rng.integers(len(formats), size=n)
    dates = [datetime.date.fromordinal(int(k)) for k in days]
    src_text = [write_date(d, formats[c]) for d, c in zip(dates, choice)]
    tgt_text = [d.isoformat() for d in dates]
    src, src_mask = _pad([date_tokens(s) for s in src_text], DATE_SRC_VOCAB, 10, False)
    tgt, tgt_mask = _pad([list(t) for t in tgt_text], DATE_TGT_VOCAB, 11, True)
    return Seq2SeqData(src, src_mask, tgt, tgt_mask, list(DATE_SRC_VOCAB),
                       list(DATE_TGT_VOCAB), src_text, tgt_text)


def make_reverse_data(
    n: int,
    rng: np.random.Generator | int,
    *,
    length: tuple[int, int] = (4, 12),
    num_symbols: int = 10,
) -> Seq2SeqData:
    """N strings of L random symbols (source) and the same symbols reversed (target).

    L is drawn uniformly from length = (shortest, longest), inclusive; the symbols are
    the first ``num_symbols`` lower-case letters, drawn independently and uniformly.
    The first output symbol is the last input one: every output depends on the whole
    input, and a model that squeezes the input into one context vector must hold L
    symbols in it.

    n: number of pairs; rng: a numpy Generator or an int seed; num_symbols: 2 to 26.
    Returns a ``Seq2SeqData`` with T_src = longest, T_tgt = longest + 1 (<eos>), and
    one vocabulary, ``SPECIALS`` + the symbols, for source and target.
    """
    n = check_int(n, "n")
    rng = as_rng(rng)
    lo, hi = _check_range(length, "length", "(shortest, longest)", 1, None)
    if (isinstance(num_symbols, bool) or not isinstance(num_symbols, (int, np.integer))
            or not 2 <= num_symbols <= 26):
        raise ValueError(f"num_symbols must be an integer from 2 to 26; "
                         f"got {num_symbols!r}")
    vocab = SPECIALS + [chr(ord("a") + k) for k in range(num_symbols)]
    lengths = rng.integers(lo, hi + 1, size=n)
    rows = [[vocab[3 + k] for k in rng.integers(num_symbols, size=L)] for L in lengths]
    src, src_mask = _pad(rows, vocab, hi, False)
    tgt, tgt_mask = _pad([row[::-1] for row in rows], vocab, hi + 1, True)
    return Seq2SeqData(src, src_mask, tgt, tgt_mask, list(vocab), list(vocab),
                       ["".join(r) for r in rows], ["".join(r[::-1]) for r in rows])
