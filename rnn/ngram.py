"""Counting language models: n-gram estimates, smoothing and perplexity.

An n-gram model makes the Markov assumption of order n−1: the next token x_t depends only on the
n−1 tokens before it, p(x_t | x_1 … x_{t−1}) ≈ p(x_t | x_{t−n+1} … x_{t−1}), and estimates that
probability from counts n(·) in a training corpus of token ids in [0, V).

Smoothing (how unseen events get probability > 0):
  add-k:        p(w | c) = (n(c w) + k) / (n(c) + k V)                       (k = 1: Laplace)
  interpolated: p(w | c) = Σ_j λ_j p_j(w | last j−1 tokens of c)             (orders j = 1 … n)
                with p_1 the add-k unigram and p_j, j ≥ 2, the count ratio n(c w)/n(c).
Here n(c) = Σ_w n(c w) counts the occurrences of c that are followed by a token.
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

__all__ = ["NGramLM", "perplexity", "count_estimate"]


def perplexity(log_probs) -> float:
    """PPL = exp(−(1/N) Σ_t log p_t): the exponential of the mean negative log-likelihood per token.

    log_probs: (N,) natural-log probabilities of the N scored tokens (any shape is flattened).
    A model that gives every token probability 1/V has PPL = V; one zero probability makes PPL = inf.
    """
    lp = np.asarray(log_probs, dtype=np.float64).ravel()
    if lp.size == 0:
        raise ValueError("perplexity of an empty sequence is undefined: got 0 log-probabilities")
    if np.isnan(lp).any():
        raise ValueError("log_probs contains NaN")
    if (lp > 1e-9).any():
        raise ValueError(f"log-probabilities must be <= 0; got a maximum of {lp.max()}")
    return float(np.exp(-lp.mean()))


def count_estimate(tokens: Sequence, context, word) -> float:
    """p̂(word | context) = n(context word) / n(context), counted in ``tokens``.

    tokens: the corpus, e.g. ``tokenize(text, "word")``. context: one token or a sequence of tokens
    (e.g. ``"statistics"`` or ``("statistics", "is")``). n(context) counts the occurrences of the
    context that are followed by another token, so the estimates sum to 1 over all words.
    """
    tokens = list(tokens)
    if not tokens:
        raise ValueError("cannot count in an empty corpus")
    context = (context,) if isinstance(context, str) or not isinstance(context, Sequence) else tuple(context)
    m = len(context)
    if m == 0:
        raise ValueError("context must contain at least one token; use the counts directly for p(word)")
    n_context = n_joint = 0
    for i in range(len(tokens) - m):
        if tuple(tokens[i:i + m]) == context:
            n_context += 1
            n_joint += tokens[i + m] == word
    if n_context == 0:
        raise ValueError(f"the context {context} is never followed by a token in the corpus: the estimate is 0/0")
    return n_joint / n_context


class NGramLM:
    """n-gram language model over token ids 0 … V−1 (V = ``vocab_size``).

    ``NGramLM(n, V, smoothing="add-k", k=1.0)`` or ``NGramLM(n, V, smoothing="interpolated",
    lambdas=(λ_1, …, λ_n), k=1.0)`` where λ_j weighs the order-j estimate (λ_1: unigram), λ_j ≥ 0,
    λ_1 > 0, Σ λ_j = 1 (default: all 1/n); in that mode k smooths only the unigram.
    An order-j term whose context never occurred in training is left out and the remaining λ are
    renormalised, so ``distribution`` always sums to 1 over the vocabulary.

    Scoring: ``log_probs(ids)`` scores every token except the first, ids[1:], the token at position t
    given the up to n−1 tokens before it, ids[max(0, t−n+1) : t]. Near the start, where fewer than n−1
    tokens exist, the model uses its lower orders. So models of every order score the same N−1 tokens
    and their perplexities are comparable.
    """

    def __init__(self, n: int, vocab_size: int, k: float = 1.0, *, smoothing: str = "add-k", lambdas=None):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"the order n must be an integer >= 1; got {n!r}")
        if isinstance(vocab_size, bool) or not isinstance(vocab_size, (int, np.integer)) or vocab_size < 1:
            raise ValueError(f"vocab_size must be an integer >= 1; got {vocab_size!r}")
        if not (isinstance(k, (int, float, np.floating, np.integer)) and math.isfinite(k) and k > 0):
            raise ValueError(f"k must be a finite number > 0 (k = 1 is Laplace smoothing); got {k!r}")
        self.n, self.V, self.k = int(n), int(vocab_size), float(k)
        if smoothing == "add-k":
            if lambdas is not None:
                raise ValueError("lambdas are only used with smoothing='interpolated'")
            self.lambdas = None
        elif smoothing == "interpolated":
            lam = np.full(self.n, 1.0 / self.n) if lambdas is None else np.asarray(lambdas, dtype=np.float64)
            if lam.shape != (self.n,):
                raise ValueError(f"lambdas must hold one weight per order 1 … n = {self.n}; got shape {lam.shape}")
            if (lam < 0).any() or lam[0] <= 0 or abs(lam.sum() - 1.0) > 1e-9:
                raise ValueError(
                    f"lambdas must be >= 0 with λ_1 > 0 and sum to 1; got {lam.tolist()} (sum {lam.sum():.6g})"
                )
            self.lambdas = lam
        else:
            raise ValueError(f"smoothing must be 'add-k' or 'interpolated'; got {smoothing!r}")
        self.smoothing = smoothing
        self.counts: list[dict] | None = None  # counts[j][context] = Counter of next ids, context of length j

    def __repr__(self) -> str:
        extra = f"k={self.k}" if self.lambdas is None else f"lambdas={np.round(self.lambdas, 4).tolist()}, k={self.k}"
        return f"NGramLM(n={self.n}, V={self.V}, smoothing={self.smoothing!r}, {extra})"

    def _check_ids(self, ids, what: str) -> list[int]:
        arr = np.asarray(ids)
        if arr.ndim != 1:
            raise ValueError(f"{what} must be a 1-D sequence of token ids; got shape {arr.shape}")
        if arr.size == 0:
            return []
        if not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"{what} must be integer token ids; got dtype {arr.dtype}")
        if arr.min() < 0 or arr.max() >= self.V:
            raise ValueError(
                f"{what} must lie in [0, V) = [0, {self.V}); got values from {arr.min()} to {arr.max()}"
            )
        return arr.tolist()

    def fit(self, ids) -> "NGramLM":
        """Count every j-gram of ``ids`` (N,), j = 1 … n. Replaces earlier counts. Returns self."""
        ids = self._check_ids(ids, "ids")
        if not ids:
            raise ValueError("cannot fit a language model on an empty corpus")
        self.counts = []
        for j in range(self.n):  # j = length of the context
            table: dict[tuple, Counter] = {}
            grams = Counter(zip(*(ids[i:] for i in range(j + 1))))
            for gram, c in grams.items():
                table.setdefault(gram[:-1], Counter())[gram[-1]] = c
            self.counts.append(table)
        self.totals = [{ctx: sum(nxt.values()) for ctx, nxt in table.items()} for table in self.counts]
        return self

    def _context(self, context_ids) -> tuple:
        if self.counts is None:
            raise RuntimeError("call fit(ids) before asking for probabilities")
        ctx = self._check_ids(context_ids, "context_ids")
        return tuple(ctx[len(ctx) - (self.n - 1):]) if self.n > 1 else ()

    def _prob(self, ctx: tuple, w: int) -> float:
        """p(w | ctx) for a context of at most n−1 ids (already validated)."""
        if self.lambdas is None:
            j = len(ctx)
            return (self.counts[j].get(ctx, {}).get(w, 0) + self.k) / (self.totals[j].get(ctx, 0) + self.k * self.V)
        p = self.lambdas[0] * (self.counts[0][()].get(w, 0) + self.k) / (self.totals[0][()] + self.k * self.V)
        weight = self.lambdas[0]
        for j in range(1, len(ctx) + 1):
            sub = ctx[len(ctx) - j:]
            total = self.totals[j].get(sub, 0)
            if total:
                p += self.lambdas[j] * self.counts[j][sub].get(w, 0) / total
                weight += self.lambdas[j]
        return p / weight

    def prob(self, context_ids, next_id: int) -> float:
        """p(next_id | context) using the last min(n−1, len(context)) ids of ``context_ids``."""
        ctx = self._context(context_ids)
        (w,) = self._check_ids([next_id], "next_id")
        return self._prob(ctx, w)

    def distribution(self, context_ids) -> np.ndarray:
        """The next-token distribution p(· | context): (V,) float64, non-negative, sums to 1."""
        ctx = self._context(context_ids)
        return np.array([self._prob(ctx, w) for w in range(self.V)])

    def log_probs(self, ids) -> np.ndarray:
        """log p(ids[t] | ids[max(0, t−n+1) : t]) for t = 1 … N−1: (N−1,) float64, natural log."""
        ids = self._check_sequence(ids)
        m = self.n - 1
        return np.log([self._prob(tuple(ids[max(0, t - m):t]), ids[t]) for t in range(1, len(ids))])

    def _check_sequence(self, ids) -> list[int]:
        if self.counts is None:
            raise RuntimeError("call fit(ids) before scoring a sequence")
        ids = self._check_ids(ids, "ids")
        if len(ids) < 2:
            raise ValueError(f"need at least 2 tokens to score (the first is only context); got {len(ids)}")
        return ids

    def log_prob_sequence(self, ids) -> float:
        """Σ_{t=1}^{N−1} log p(ids[t] | up to n−1 previous ids): log-likelihood of ids[1:] given ids[0]."""
        return float(self.log_probs(ids).sum())

    def perplexity(self, ids) -> float:
        """``perplexity(self.log_probs(ids))``: exp of the mean negative log-likelihood of ids[1:]."""
        return perplexity(self.log_probs(ids))
