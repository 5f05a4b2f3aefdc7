"""BLEU (Papineni et al., 2002): how many of a system's n-grams, n = 1 … 4, a reference
translation contains, with a penalty for outputs shorter than the references.

For a corpus of candidates y⁽ⁱ⁾, each with one or more references:

    p_n = Σ_i Σ_g min(count_{y⁽ⁱ⁾}(g), max_ref count_ref(g)) / Σ_i Σ_g count_{y⁽ⁱ⁾}(g)

the modified n-gram precision, g running over the n-grams of the candidate; a
candidate n-gram counts at most as often as it occurs in one reference, so "the the
the" earns no more than the reference's "the"s.

    BP = 1 if c > r, else exp(1 − r/c);      BLEU = BP · exp( (1/N) Σ_{n=1..N} log p_n )

with c the total candidate length and r the total reference length, taking for each
candidate the reference whose length is closest to it (the shorter one on a tie).
BLEU is 0 when some p_n is 0 (a geometric mean), which is common for short outputs;
the optional smoothing replaces a zero p_n, as sacrebleu does:

- "floor": p_n = 0.1 / (number of candidate n-grams);
- "add-k": for n ≥ 2, add 1 to the matches and to the n-gram count;
- "exp": the k-th zero p_n becomes 1 / (2^k · number of candidate n-grams).

BLEU is computed on a corpus, not averaged over sentences: the counts are summed first.
Scores here are in [0, 1]; sacrebleu reports 100 times as much. The tests check this
module against sacrebleu 2.6.0 with its tokenizer switched off (tokenize="none").
"""
from __future__ import annotations

import math
from collections import Counter
from typing import NamedTuple, Sequence

from rnn._common import check_int

SMOOTHING = ("none", "floor", "add-k", "exp")


class BLEU(NamedTuple):
    """A corpus BLEU score and its parts."""

    score: float                    # BP · exp(mean log p_n), in [0, 1]
    precisions: tuple[float, ...]   # p_1 … p_N, after smoothing
    brevity_penalty: float          # BP
    matches: tuple[int, ...]        # clipped n-gram matches, per n (before smoothing)
    totals: tuple[int, ...]         # candidate n-grams, per n
    candidate_length: int           # c
    reference_length: int           # r


def ngrams(tokens: Sequence, n: int) -> dict[tuple, int]:
    """The n-grams of a token sequence (as tuples) with their counts, a Counter."""
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def _check_corpus(candidates, references) -> list[list]:
    """A list of token sequences, and for each a non-empty list of references
    (token sequences). A string is not a token sequence here: split it first."""
    def is_tokens(x) -> bool:
        return isinstance(x, (list, tuple))

    if not isinstance(candidates, (list, tuple)) or not candidates:
        raise TypeError("candidates must be a non-empty list of token lists")
    if not all(is_tokens(c) for c in candidates):
        raise TypeError("each candidate must be a list of tokens (split a string "
                        "first, e.g. text.split())")
    if not isinstance(references, (list, tuple)) or len(references) != len(candidates):
        raise ValueError(f"references must be a list with one entry per candidate "
                         f"({len(candidates)}): a list of reference token lists")
    for i, refs in enumerate(references):
        if (not isinstance(refs, (list, tuple)) or not refs
                or not all(is_tokens(r) for r in refs)):
            raise TypeError(f"references[{i}] must be a non-empty list of reference "
                            f"token lists, e.g. [['the', 'cat']] for one reference")
    return [list(r) for r in references]


def corpus_bleu(
    candidates: Sequence[Sequence],
    references: Sequence[Sequence[Sequence]],
    *,
    max_n: int = 4,
    smoothing: str = "none",
) -> BLEU:
    """Corpus BLEU of the candidates (token lists) against their references.

    references[i] is a list of one or more reference token lists for candidates[i];
    tokens are any hashable values (words, characters, ids). max_n: N, the longest
    n-gram; smoothing: one of "none", "floor", "add-k", "exp" (module docstring).
    """
    references = _check_corpus(candidates, references)
    max_n = check_int(max_n, "max_n")
    if smoothing not in SMOOTHING:
        raise ValueError(f"smoothing must be one of {SMOOTHING}; got {smoothing!r}")
    matches, totals = [0] * max_n, [0] * max_n
    c = r = 0
    for cand, refs in zip(candidates, references):
        c += len(cand)
        r += min((abs(len(ref) - len(cand)), len(ref)) for ref in refs)[1]
        for n in range(1, max_n + 1):
            counts = ngrams(cand, n)
            most = Counter()
            for ref in refs:
                most |= ngrams(ref, n)               # | keeps the larger count
            matches[n - 1] += sum(min(k, most[g]) for g, k in counts.items())
            totals[n - 1] += sum(counts.values())
    bp = 1.0 if c > r else (math.exp(1 - r / c) if c > 0 else 0.0)
    precisions = _precisions(matches, totals, smoothing)
    if not any(matches) or 0.0 in precisions:
        score = 0.0
    else:
        score = bp * math.exp(sum(math.log(p) for p in precisions) / max_n)
    return BLEU(score, tuple(precisions), bp, tuple(matches), tuple(totals), c, r)


def _precisions(matches: list[int], totals: list[int], smoothing: str) -> list[float]:
    """p_1 … p_N, smoothed as asked; 0 where there is no candidate n-gram."""
    precisions, zeros = [], 0
    for n, (m, t) in enumerate(zip(matches, totals), start=1):
        if smoothing == "add-k" and n > 1:
            m, t = m + 1, t + 1
        if t == 0:
            precisions.append(0.0)
        elif m > 0:
            precisions.append(m / t)
        elif smoothing == "floor":
            precisions.append(0.1 / t)
        elif smoothing == "exp":
            zeros += 1
            precisions.append(1 / (2**zeros * t))
        else:
            precisions.append(0.0)
    return precisions
