"""One experiment protocol: a named recipe, run over several seeds, and an honest
comparison.

A claim such as "the GRU beats the RNN" is a claim about a recipe (data, model,
optimiser, budget, evaluation), not about one training run: a second seed moves the
result. So::

    gru = Recipe("gru-128", kind="gru", hidden_size=128, updates=600)
    rnn_ = Recipe("rnn-128", kind="rnn", hidden_size=128, updates=600)
    # or: rnn_ = dataclasses.replace(gru, name="rnn-128", kind="rnn")
    a, b = run(gru, seeds=(0, 1, 2)), run(rnn_, seeds=(0, 1, 2))  # 3 models each
    print(a.summary)         # gru-128: 6.12 ± 0.03 (mean ± standard error, 3 seeds)
    verdict = compare(a, b)  # a Comparison
    print(verdict.sentence)  # says the difference is real, or not measurable

Statistics of k values v_1 … v_k (one result per seed):
    mean  v̄ = (1/k) Σ_i v_i
    std   s = sqrt(Σ_i (v_i − v̄)² / (k − 1))      (the sample standard deviation)
    sem   s / sqrt(k)                            (the standard error of the mean)
Comparing A and B: d = v̄_A − v̄_B has the standard error se = sqrt(sem_A² + sem_B²)
(the runs of A and B are independent). The difference is called real only when |d|
exceeds ``multiple`` · se (default 2, roughly a 95 % two-sided test for a normal d);
otherwise the verdict is that there is no measurable difference at this number of
seeds, which is not a proof that there is none.
"""
from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass, field

import numpy as np

from rnn.data import (Vocab, load_names_split, load_shakespeare_split, num_batches,
                      tokenize)
from rnn.model import LanguageModel, init_language_model
from rnn.optim import SGD, Adam
from rnn.train import evaluate_perplexity, train_language_model

__all__ = ["Recipe", "SeedRun", "Summary", "Result", "Comparison", "recipe_data", "run",
           "compare"]


def _positive_int(name: str, value, allow_none: bool = False) -> None:
    if allow_none and value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        none = "None or " if allow_none else ""
        raise ValueError(f"{name} must be {none}an integer >= 1; got {value!r}")


def _one_of(name: str, value, allowed: tuple) -> None:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}; got {value!r}")


@dataclass(frozen=True)
class Recipe:
    """Everything that decides a result except the seed. Defaults: Shakespeare.

    Data: ``corpus`` "shakespeare" (``load_shakespeare_split``; ``max_chars`` keeps the
    first speeches of each part) or "names" (``load_names_split("female")``, no test
    part, max_chars None); characters as tokens, the vocabulary of the training part;
    the metric is the perplexity on ``eval_split`` ("valid" or "test").
    Model: ``init_language_model(V, hidden_size, kind, num_layers=…, embed_size=…)``.
    Optimiser and schedule: "adam" or "sgd" with learning rate ``lr``, multiplied by
    ``lr_decay`` after every ``decay_every`` updates (None: constant); gradients clipped
    to the global norm ``clip`` (None: not clipped).
    Budget: ``updates`` minibatches of (batch_size, num_steps) = (B, T) tokens. The
    training text is read in order from its start: u updates at one learning rate read
    the next B·T·u + T characters, laid out in B rows as ``batches_sequential`` does
    (the state carried from one minibatch to the next, from zeros at the first); at the
    end of the text, reading starts again from its start. So without a schedule a run
    is one pass over the whole text (an epoch) after another, or, with a smaller
    budget, the first B·T·updates characters.
    Evaluation: ``evaluate_perplexity(model, ids, eval_batch_size, num_steps)``; use
    eval_batch_size=1 to compare with an n-gram model (every token scored once, in
    order).
    """

    name: str
    corpus: str = "shakespeare"
    max_chars: int | None = None
    eval_split: str = "valid"
    kind: str = "lstm"
    hidden_size: int = 128
    embed_size: int | None = 32
    num_layers: int = 1
    optimizer: str = "adam"
    lr: float = 0.01
    lr_decay: float = 1.0
    decay_every: int | None = None
    clip: float | None = 1.0
    updates: int = 1000
    batch_size: int = 32
    num_steps: int = 64
    eval_batch_size: int = 32

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name must be a non-empty str; got {self.name!r}")
        _one_of("corpus", self.corpus, ("shakespeare", "names"))
        _one_of("eval_split", self.eval_split, ("valid", "test"))
        if self.corpus == "names" and (self.eval_split != "valid" or self.max_chars):
            raise ValueError("the names corpus has only a validation part and no "
                             "max_chars: use eval_split='valid' and max_chars=None")
        _one_of("kind", self.kind, ("rnn", "gru", "lstm"))
        _one_of("optimizer", self.optimizer, ("adam", "sgd"))
        for name in ("hidden_size", "num_layers", "updates", "batch_size", "num_steps",
                     "eval_batch_size"):
            _positive_int(name, getattr(self, name))
        for name in ("max_chars", "embed_size", "decay_every"):
            _positive_int(name, getattr(self, name), allow_none=True)
        if not (isinstance(self.lr, (int, float)) and self.lr > 0):
            raise ValueError(f"lr must be a number > 0; got {self.lr!r}")
        if not (isinstance(self.lr_decay, (int, float)) and 0 < self.lr_decay <= 1):
            raise ValueError(f"lr_decay must lie in (0, 1]; got {self.lr_decay!r}")
        if self.clip is not None and not (isinstance(self.clip, (int, float))
                                          and self.clip > 0):
            raise ValueError(f"clip must be None or a number > 0; got {self.clip!r}")


@functools.lru_cache(maxsize=8)
def recipe_data(corpus: str, max_chars: int | None, eval_split: str):
    """(vocab, train_ids, eval_ids) of a recipe's data, built once per process:
    ``recipe_data(r.corpus, r.max_chars, r.eval_split)``. Do not modify the arrays."""
    if corpus == "names":
        train, valid = load_names_split("female")
        parts = {"valid": valid}
    else:
        train, valid, test = load_shakespeare_split(max_chars=max_chars)
        parts = {"valid": valid, "test": test}
    vocab = Vocab(tokenize(train, "char"))
    return vocab, vocab.encode(train), vocab.encode(parts[eval_split])


@dataclass(frozen=True)
class SeedRun:
    """One training run: its seed, its metric, its training loss per update, how long it
    took (seconds, varies from machine to machine) and the trained model."""

    seed: int
    value: float
    loss: tuple[float, ...]
    seconds: float
    model: LanguageModel = field(compare=False, repr=False)


def _train(r: Recipe, seed: int) -> SeedRun:
    """Train one model of recipe ``r`` from ``seed``, evaluate it (see ``Recipe``)."""
    start = time.perf_counter()
    vocab, ids, eval_ids = recipe_data(r.corpus, r.max_chars, r.eval_split)
    init_rng, data_rng = np.random.default_rng(seed).spawn(2)
    model = init_language_model(len(vocab), r.hidden_size, r.kind,
                                num_layers=r.num_layers, embed_size=r.embed_size,
                                rng=init_rng)
    optimizer = (Adam if r.optimizer == "adam" else SGD)(lr=r.lr)
    B, T = r.batch_size, r.num_steps
    per_pass = num_batches(len(ids), B, T, "sequential")  # updates in one pass
    done, position, loss = 0, 0, []
    while done < r.updates:
        if position == per_pass:  # the end of the text: start again
            position = 0
        steps = min(r.updates - done, per_pass - position)
        if r.decay_every is not None:
            steps = min(steps, r.decay_every - done % r.decay_every)
            optimizer.lr = r.lr * r.lr_decay ** (done // r.decay_every)
        # exactly `steps` minibatches: B·T·steps tokens to read, T more for the offset
        piece = ids[position * B * T:(position + steps) * B * T + T]
        history = train_language_model(
            model, piece, batch_size=B, num_steps=T, epochs=1, optimizer=optimizer,
            clip=r.clip, partition="sequential", seed=int(data_rng.integers(2**31)),
            progress=False)
        loss += history.loss
        done, position = done + steps, position + steps
    value = evaluate_perplexity(model, eval_ids, r.eval_batch_size, T)
    return SeedRun(int(seed), value, tuple(loss), time.perf_counter() - start, model)


def _decimals(se: float) -> int:
    """Decimals that show a number to the first significant digit of its standard
    error (3 when it is 0)."""
    if se == 0 or not math.isfinite(se):
        return 3
    return max(0, -math.floor(math.log10(se)))


@dataclass(frozen=True)
class Summary:
    """k results of one recipe (k ≥ 1) with their mean, std and sem (module docstring).

    One value is a deterministic result (an n-gram model): its std and sem are 0.
    """

    name: str
    values: tuple[float, ...]

    def __post_init__(self):
        values = tuple(float(v) for v in self.values)
        if not values or not all(math.isfinite(v) for v in values):
            raise ValueError(
                f"values must be one or more finite numbers; got {self.values!r}")
        object.__setattr__(self, "values", values)

    @property
    def mean(self) -> float:
        return float(np.mean(self.values))

    @property
    def std(self) -> float:
        return float(np.std(self.values, ddof=1)) if len(self.values) > 1 else 0.0

    @property
    def sem(self) -> float:
        return self.std / math.sqrt(len(self.values))

    def format(self) -> str:
        """"mean ± sem", each to the first significant digit of the sem; just the value
        (3 decimals) for a single, deterministic one."""
        d = _decimals(self.sem)
        if len(self.values) == 1:
            return f"{self.mean:.{d}f}"
        return f"{self.mean:.{d}f} ± {self.sem:.{d}f}"

    def __str__(self) -> str:
        k = len(self.values)
        seeds = f"{k} seed{'s' * (k > 1)}"
        return f"{self.name}: {self.format()} (mean ± standard error, {seeds})"


@dataclass(frozen=True)
class Result:
    """What ``run`` returns: the recipe and one SeedRun per seed; ``summary`` holds the
    statistics of their values."""

    recipe: Recipe
    runs: tuple[SeedRun, ...]

    @property
    def values(self) -> tuple[float, ...]:
        return tuple(r.value for r in self.runs)

    @property
    def summary(self) -> Summary:
        return Summary(self.recipe.name, self.values)


def run(recipe: Recipe, seeds=(0, 1, 2), progress: bool = False) -> Result:
    """Train and evaluate one model of ``recipe`` per seed (at least 3 distinct seeds).

    Seed s draws the initial parameters and the minibatch offsets from
    ``np.random.default_rng(s)``, so a run is repeatable; progress=True prints one line
    per seed. Returns a Result (per-seed runs; their mean, std and sem in ``summary``).
    """
    if not isinstance(recipe, Recipe):
        raise TypeError(f"recipe must be a Recipe; got {type(recipe).__name__}")
    seeds = list(seeds)
    if any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0
           for s in seeds) or len(set(seeds)) < 3 or len(set(seeds)) != len(seeds):
        raise ValueError(
            f"seeds must be at least 3 distinct integers >= 0; got {seeds}")
    runs = []
    for s in seeds:
        runs.append(_train(recipe, s))
        if progress:
            print(f"{recipe.name}  seed {s}: {runs[-1].value:.4f}  "
                  f"({runs[-1].seconds:.0f} s)", flush=True)
    return Result(recipe, tuple(runs))


@dataclass(frozen=True)
class Comparison:
    """The verdict of ``compare``: d = mean_a − mean_b, its standard error se, whether
    |d| > multiple · se (``real``), and that verdict as an English sentence."""

    a: Summary
    b: Summary
    difference: float
    se: float
    multiple: float
    real: bool
    sentence: str

    @property
    def ratio(self) -> float:
        """|d| / se, the difference in standard errors (inf when se = 0 and d ≠ 0)."""
        if self.se == 0:
            return 0.0 if self.difference == 0 else math.inf
        return abs(self.difference) / self.se


def compare(a, b, multiple: float = 2.0, metric: str = "validation perplexity",
            higher_is_better: bool = False) -> Comparison:
    """Is the difference between a and b (Results or Summaries) more than ``multiple``
    standard errors?

    Real only when |mean_a − mean_b| > multiple · sqrt(sem_a² + sem_b²); ``metric``
    names the values in the sentence; lower is better unless ``higher_is_better``.
    """
    a, b = (x.summary if isinstance(x, Result) else x for x in (a, b))
    if not (isinstance(a, Summary) and isinstance(b, Summary)):
        raise TypeError("compare needs two Results (from run) or Summaries")
    if not (isinstance(multiple, (int, float)) and multiple > 0):
        raise ValueError(f"multiple must be a number > 0; got {multiple!r}")
    d = a.mean - b.mean
    se = math.sqrt(a.sem**2 + b.sem**2)
    real = abs(d) > multiple * se
    if se == 0:
        size = "the standard error is 0"
    else:
        size = f"{abs(d) / se:.1f} standard errors"
    places = _decimals(se)
    shown = f"{a.name} ({a.format()}) and {b.name} ({b.format()})"
    if real:
        better, worse = (a, b) if (d < 0) != higher_is_better else (b, a)
        word = "higher" if higher_is_better else "lower"
        sentence = (f"{better.name} has a {word} {metric} than {worse.name}: "
                    f"{better.format()} against {worse.format()} "
                    "(mean ± standard error); "
                    f"the difference {abs(d):.{places}f} is {size}, more than the "
                    f"{multiple:g} required.")
    else:
        sentence = (f"There is no measurable difference in {metric} between {shown}: "
                    f"the difference {abs(d):.{places}f} is {size}, not more than "
                    f"{multiple:g}.")
    return Comparison(a, b, d, se, float(multiple), real, sentence)
