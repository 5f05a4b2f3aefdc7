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
exceeds ``multiple`` · se (default 2). For a normal d with a known se that would be a
95 % two-sided test; with se estimated from 5 seeds per side, d/se follows roughly a t
distribution with about 8 degrees of freedom, and 2 is nearer a 92 % test, so among
many comparisons a few verdicts of "real" are expected by chance. Otherwise the verdict
is that there is no measurable difference at this number of seeds, which is not a
proof that there is none.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rnn._common import check_int
from rnn.checkpoint import _write_atomically
from rnn.classifier import (SequenceModel, accuracy, init_sequence_model, predict,
                            train_sequence_model)
from rnn.data import (Vocab, load_names_split, load_shakespeare_split, num_batches,
                      tokenize)
from rnn.model import LanguageModel, init_language_model
from rnn.optim import SGD, Adam
from rnn.tasks import make_long_range_data
from rnn.train import evaluate_perplexity, train_language_model

__all__ = ["Recipe", "LongRangeRecipe", "SeedRun", "Summary", "Result", "Comparison",
           "recipe_data", "run", "compare", "save_run", "load_result", "verify",
           "Verification", "StaleResultError", "initial_model", "long_range_data",
           "BOOK_LM", "BOOK_LONG_RANGE", "book_experiments"]


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
    budget, the first B·T·updates characters. Every seed reads the text in this same
    order: a seed draws the initial parameters and the offset in [0, T) at which each
    piece's rows start, so the spread over seeds is that of initialisation, not of
    data order.
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


def _check_number(name: str, value, low: float, high: float = math.inf) -> None:
    if (isinstance(value, bool) or not isinstance(value, (int, float))
            or not low < value <= high):
        raise ValueError(f"{name} must be a number in ({low:g}, {high:g}]; "
                         f"got {value!r}")


@dataclass(frozen=True)
class LongRangeRecipe:
    """The book's long-range question: can a many-to-one model carry one token across
    ``distance`` distractors (``rnn.tasks.make_long_range_data``)?

    Data (all drawn from the seed): ``updates · batch_size`` training sequences of
    T = distance + 1 tokens (one epoch, shuffled) and ``test_size`` test sequences;
    ``num_classes`` = 4 signal tokens among ``vocab_size`` = 16, so chance is 1/4.
    Model: ``init_sequence_model(16, 4, hidden_size, kind, per_step=False,
    embed_size=…)``. ``init`` = "default" keeps its U(−1/√H, 1/√H) draw; "memory"
    then makes each cell start out keeping its state, the trick each kind is known by:
    the RNN's W_hh = I and b_h = 0 (Le et al., 2015), the GRU's update-gate bias
    b_z = +3 (Z ≈ 0.95 keeps 95 % of H_{t-1}), the LSTM's forget-gate bias b_f = +3
    (F ≈ 0.95). Optimiser: SGD (or Adam) with learning rate ``lr``, gradients clipped
    to the global norm ``clip``. The metric is the test accuracy (higher is better).
    """

    name: str
    kind: str = "rnn"
    distance: int = 10
    init: str = "default"
    hidden_size: int = 16
    embed_size: int = 8
    num_classes: int = 4
    vocab_size: int = 16
    optimizer: str = "sgd"
    lr: float = 0.5
    clip: float | None = 1.0
    updates: int = 300
    batch_size: int = 64
    test_size: int = 1000

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name must be a non-empty str; got {self.name!r}")
        _one_of("kind", self.kind, ("rnn", "gru", "lstm"))
        _one_of("init", self.init, ("default", "memory"))
        _one_of("optimizer", self.optimizer, ("adam", "sgd"))
        for name in ("distance", "hidden_size", "embed_size", "updates", "batch_size",
                     "test_size"):
            _positive_int(name, getattr(self, name))
        _positive_int("num_classes", self.num_classes)
        if not self.num_classes < self.vocab_size:
            raise ValueError(f"vocab_size must exceed num_classes = "
                             f"{self.num_classes}; got {self.vocab_size!r}")
        _check_number("lr", self.lr, 0)
        if self.clip is not None:
            _check_number("clip", self.clip, 0)


MEMORY_BIAS = 3.0   # the "memory" init's gate bias: σ(3) ≈ 0.95


@dataclass(frozen=True)
class SeedRun:
    """One training run: its seed, its metric, its training loss per update, how long it
    took (seconds, varies from machine to machine) and the trained model."""

    seed: int
    value: float
    loss: tuple[float, ...]
    seconds: float
    model: LanguageModel | SequenceModel = field(compare=False, repr=False)


def initial_model(r, seed: int):
    """The model that recipe ``r``'s run from ``seed`` starts from, drawn from the first
    of two child generators of ``default_rng(seed)`` (the second draws the data)."""
    init_rng = np.random.default_rng(seed).spawn(2)[0]
    if isinstance(r, Recipe):
        V = len(recipe_data(r.corpus, r.max_chars, r.eval_split)[0])
        return init_language_model(V, r.hidden_size, r.kind, num_layers=r.num_layers,
                                   embed_size=r.embed_size, rng=init_rng)
    model = init_sequence_model(r.vocab_size, r.num_classes, r.hidden_size, r.kind,
                                per_step=False, embed_size=r.embed_size, rng=init_rng)
    if r.init == "memory":
        p = model.params
        if r.kind == "rnn":
            p["l0.fwd.W_hh"][:] = np.eye(r.hidden_size)
            p["l0.fwd.b_h"][:] = 0
        else:
            p["l0.fwd.b_z" if r.kind == "gru" else "l0.fwd.b_f"][:] = MEMORY_BIAS
    return model


def _optimizer(r):
    return (Adam if r.optimizer == "adam" else SGD)(lr=r.lr)


def _train(r, seed: int, updates: int | None = None, evaluate: bool = True) -> SeedRun:
    """Train one model of recipe ``r`` from ``seed`` and evaluate it (see the recipe's
    docstring). ``updates`` < r.updates stops after the first ``updates`` updates of
    the same run (to replay its start); evaluate=False skips the evaluation (value
    NaN)."""
    start = time.perf_counter()
    model, optimizer = initial_model(r, seed), _optimizer(r)
    budget = r.updates if updates is None else min(updates, r.updates)
    if isinstance(r, LongRangeRecipe):
        (ids, y), _, shuffle_seed = long_range_data(r, seed)
        history = train_sequence_model(
            model, ids, y, epochs=1, batch_size=r.batch_size, optimizer=optimizer,
            clip=r.clip, seed=shuffle_seed, record_grad_norm=False, max_updates=budget)
        value = _evaluate(r, model, seed) if evaluate else math.nan
        return SeedRun(int(seed), value, tuple(history.loss),
                       time.perf_counter() - start, model)
    vocab, ids, eval_ids = recipe_data(r.corpus, r.max_chars, r.eval_split)
    data_rng = np.random.default_rng(seed).spawn(2)[1]
    B, T = r.batch_size, r.num_steps
    per_pass = num_batches(len(ids), B, T, "sequential")  # updates in one pass
    done, position, loss = 0, 0, []
    while done < budget:
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
            progress=False, max_updates=budget - done)
        loss += history.loss
        done, position = done + steps, position + steps
    value = _evaluate(r, model, seed) if evaluate else math.nan
    return SeedRun(int(seed), value, tuple(loss), time.perf_counter() - start, model)


def long_range_data(r: LongRangeRecipe, seed: int):
    """The data of recipe ``r``'s run from ``seed``: ((ids, y) for training, (ids, y)
    for testing, the shuffling seed), drawn in that order from the second child
    generator of ``default_rng(seed)``."""
    rng = np.random.default_rng(seed).spawn(2)[1]
    sizes = dict(num_classes=r.num_classes, vocab_size=r.vocab_size)
    train = make_long_range_data(r.updates * r.batch_size, r.distance, rng, **sizes)
    test = make_long_range_data(r.test_size, r.distance, rng, **sizes)
    return train, test, int(rng.integers(2**31))


def _evaluate(r, model, seed: int) -> float:
    """The recipe's metric of a trained ``model``: the perplexity of a language model
    on the recipe's evaluation part; the accuracy of a long-range model on the test
    sequences that ``seed`` drew."""
    if isinstance(r, LongRangeRecipe):
        _, (test_ids, test_y), _ = long_range_data(r, seed)
        return accuracy(predict(model, test_ids), test_y)
    vocab, ids, eval_ids = recipe_data(r.corpus, r.max_chars, r.eval_split)
    return evaluate_perplexity(model, eval_ids, r.eval_batch_size, r.num_steps)


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


def _check_recipe(recipe) -> None:
    if not isinstance(recipe, (Recipe, LongRangeRecipe)):
        raise TypeError(f"recipe must be a Recipe or a LongRangeRecipe; "
                        f"got {type(recipe).__name__}")


def _check_seeds(seeds, at_least: int = 3) -> list[int]:
    seeds = list(seeds)
    integers = all(not isinstance(s, bool) and isinstance(s, (int, np.integer))
                   and s >= 0 for s in seeds)
    if not integers or len(set(seeds)) < at_least or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds must be at least {at_least} distinct integers >= 0; "
                         f"got {seeds}")
    return [int(s) for s in seeds]


def run(recipe, seeds=(0, 1, 2), progress: bool = False) -> Result:
    """Train and evaluate one model of ``recipe`` (a Recipe or a LongRangeRecipe) per
    seed (at least 3 distinct seeds).

    Seed s draws the initial parameters (and the data of a long-range recipe, and the
    minibatch offsets or order) from ``np.random.default_rng(s)``, so a run is
    repeatable; progress=True prints one line per seed. Returns a Result (per-seed runs;
    their mean, std and sem in ``summary``).
    """
    _check_recipe(recipe)
    seeds = _check_seeds(seeds)
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
    if se == 0:   # every value of both is the same: the difference is exact
        size = "exact (a standard error of 0)"
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
                    f"the difference {abs(d):.{places}f} is {size}"
                    + ("." if se == 0 else f", more than the {multiple:g} required."))
    elif se == 0:
        sentence = (f"There is no difference in {metric} between {shown}: both are "
                    "exact.")
    else:
        sentence = (f"There is no measurable difference in {metric} between {shown}: "
                    f"the difference {abs(d):.{places}f} is {size}, not more than "
                    f"{multiple:g}.")
    return Comparison(a, b, d, se, float(multiple), real, sentence)


# --------------------------------------------------------------------------------------
# Stored results: long runs made once by ``make experiments``, re-verified by the book
# --------------------------------------------------------------------------------------
#
# One folder per recipe, two files per seed: ``<folder>/<name>/seed-<s>.json`` (the
# recipe, the metric, the loss of every update to 6 significant digits, the seconds it
# took and the rnn version) and ``seed-<s>.npz`` (the trained parameters, float32,
# exactly as trained). A result is stale when its stored recipe differs from the recipe
# asked for, when a file is missing, or when ``verify`` cannot reproduce it: the stored
# model no longer scores the stored metric, or the first updates replayed from scratch
# no longer give the stored losses.

RESULT_FORMAT = "rnn-experiment-run"
RESULT_VERSION = 1


class StaleResultError(ValueError):
    """A stored result is missing, belongs to another recipe, or no longer reproduces:
    run ``make experiments`` to bring it up to date."""


def _recipe_dict(recipe) -> dict:
    return {"type": type(recipe).__name__, **dataclasses.asdict(recipe)}


def _paths(directory, name: str, seed: int) -> tuple[Path, Path]:
    folder = Path(directory) / name
    return folder / f"seed-{seed}.json", folder / f"seed-{seed}.npz"


def save_run(recipe, run_: SeedRun, directory) -> Path:
    """Store one SeedRun of ``recipe`` under ``directory/<recipe.name>/`` (the folders
    are created); each file is written atomically, the parameters first. Returns the
    path of the .json file."""
    _check_recipe(recipe)
    if not isinstance(run_, SeedRun):
        raise TypeError(f"run_ must be a SeedRun; got {type(run_).__name__}")
    json_path, npz_path = _paths(directory, recipe.name, run_.seed)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomically(npz_path, dict(run_.model.params))
    from rnn import __version__
    record = {"format": RESULT_FORMAT, "version": RESULT_VERSION,
              "recipe": _recipe_dict(recipe), "seed": run_.seed,
              "value": run_.value, "loss": [float(f"{v:.6g}") for v in run_.loss],
              "seconds": round(run_.seconds, 1), "rnn": __version__}
    tmp = json_path.with_name(f".{json_path.name}.tmp")
    tmp.write_text(json.dumps(record, ensure_ascii=False) + "\n")
    tmp.replace(json_path)
    return json_path


def stored_seeds(recipe, directory) -> list[int]:
    """The seeds of ``recipe`` stored under ``directory`` for exactly this recipe."""
    _check_recipe(recipe)
    found = []
    for path in sorted((Path(directory) / recipe.name).glob("seed-*.json")):
        try:
            record = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if (record.get("format") == RESULT_FORMAT and record.get("recipe")
                == _recipe_dict(recipe) and path.with_suffix(".npz").exists()):
            found.append(int(record["seed"]))
    return sorted(found)


def load_result(recipe, directory, seeds) -> Result:
    """The stored runs of ``recipe`` for ``seeds``, as a Result (models loaded).

    Raises StaleResultError, naming the file and what to run, when a seed is missing or
    was stored for a different recipe, and when the parameters do not fit the model.
    """
    _check_recipe(recipe)
    seeds = _check_seeds(seeds, at_least=1)
    runs = []
    for seed in seeds:
        json_path, npz_path = _paths(directory, recipe.name, seed)
        if not json_path.exists() or not npz_path.exists():
            raise StaleResultError(
                f"no stored run of {recipe.name!r} for seed {seed} ({json_path} or "
                f"its .npz is missing): run `make experiments`")
        record = json.loads(json_path.read_text())
        if record.get("format") != RESULT_FORMAT or record.get("version") != \
                RESULT_VERSION:
            raise StaleResultError(f"{json_path} is not a version-{RESULT_VERSION} "
                                   f"{RESULT_FORMAT} file: run `make experiments`")
        if record["recipe"] != _recipe_dict(recipe):
            changed = [k for k, v in _recipe_dict(recipe).items()
                       if record["recipe"].get(k) != v]
            raise StaleResultError(
                f"{json_path} was made by another recipe (differs in {changed}): run "
                f"`make experiments`")
        model = initial_model(recipe, seed)
        with np.load(npz_path, allow_pickle=False) as stored:
            if sorted(stored.files) != sorted(model.params):
                raise StaleResultError(f"{npz_path} holds {sorted(stored.files)}, the "
                                       f"model needs {sorted(model.params)}")
            for k, p in model.params.items():
                if stored[k].shape != p.shape or stored[k].dtype != p.dtype:
                    raise StaleResultError(
                        f"{npz_path}: {k} is {stored[k].dtype} {stored[k].shape}, the "
                        f"model needs {p.dtype} {p.shape}")
                p[...] = stored[k]
        runs.append(SeedRun(seed, float(record["value"]), tuple(record["loss"]),
                            float(record["seconds"]), model))
    return Result(recipe, tuple(runs))


@dataclass(frozen=True)
class Verification:
    """What ``verify`` measured: the largest relative difference between each stored
    metric and the metric of its stored model evaluated now, and between the stored
    and the replayed losses of the first ``replayed`` updates of seed ``replay_seed``.
    Both are below the tolerances ``verify`` asserts (it raises otherwise)."""

    metric_difference: float
    loss_difference: float
    replayed: int
    replay_seed: int


def verify(result: Result, replay: int | None = None, metric_tol: float = 1e-4,
           loss_tol: float = 1e-3) -> Verification:
    """Re-verify a stored Result live: evaluate every stored model and compare with its
    stored metric (relative difference at most ``metric_tol``; for a long-range
    accuracy, at most 2 of the test sequences may flip), and train the first ``replay``
    updates of the first seed from scratch and compare their losses with the stored
    ones (relative difference at most ``loss_tol``).

    The tolerances cover the last-bit differences between CPUs and BLAS kernels, which
    a few float32 updates amplify a little; a change to the data, the model, the
    optimiser or the training code moves these numbers far more. How many updates stay
    within loss_tol depends on the run: replay=None replays 20 updates of a language
    model, 10 of a long-range model (an RNN started from W_hh = I amplifies last-bit
    differences beyond 1e-3 after 13 to 16 updates: measured between the two numeric
    paths of ``make nbval``). Raises StaleResultError naming the seed and the
    difference.
    """
    if not isinstance(result, Result):
        raise TypeError(f"result must be a Result; got {type(result).__name__}")
    r = result.recipe
    long_range = isinstance(r, LongRangeRecipe)
    if replay is None:
        replay = 10 if long_range else 20
    replay = check_int(replay, "replay")
    tol = max(metric_tol, 2 / r.test_size) if long_range else metric_tol
    worst_metric = 0.0
    for seed_run in result.runs:
        now = _evaluate(r, seed_run.model, seed_run.seed)
        diff = abs(now - seed_run.value)   # accuracy: absolute; perplexity: relative
        if not long_range:
            diff /= seed_run.value
        if not diff <= tol:
            raise StaleResultError(
                f"{r.name}, seed {seed_run.seed}: the stored model scores {now:.6g} "
                f"now, the stored metric is {seed_run.value:.6g}: run "
                f"`make experiments`")
        worst_metric = max(worst_metric, diff)
    first = result.runs[0]
    n = min(replay, len(first.loss))
    replayed = _train(r, first.seed, updates=n, evaluate=False).loss
    stored = np.asarray(first.loss[:n])
    diff = float(np.max(np.abs(np.asarray(replayed) - stored) / np.abs(stored)))
    if len(replayed) != n or not diff <= loss_tol:
        raise StaleResultError(
            f"{r.name}, seed {first.seed}: replaying the first {n} updates gives "
            f"losses that differ from the stored ones by up to {diff:.2g} (relative): "
            f"run `make experiments`")
    return Verification(worst_metric, diff, n, first.seed)


# --------------------------------------------------------------------------------------
# The book's recipes: one per question (``make experiments`` runs them all)
# --------------------------------------------------------------------------------------

BOOK_LM = Recipe("lm-lstm", corpus="shakespeare", kind="lstm", hidden_size=128,
                 embed_size=32, num_layers=1, optimizer="adam", lr=0.01, lr_decay=0.5,
                 decay_every=1000, clip=1.0, updates=3000, batch_size=32, num_steps=64,
                 eval_batch_size=32)
"""The book's language-model recipe (chapters 8 and 10–13): characters of the whole
Shakespeare training text, a 128-unit one-layer model with 32-dimensional embeddings,
3000 Adam updates on (32, 64) minibatches, about 1.4 passes over the text, the learning
rate 0.01 halved after every 1000 updates, gradients clipped to norm 1; the
validation perplexity. Other kinds, depths and widths: ``book_lm(kind, …)``."""

BOOK_LONG_RANGE = LongRangeRecipe("long-range-rnn-d10")
"""The book's long-range recipe (chapters 7, 11 and 13): 300 SGD updates (learning rate
0.5, clipped to norm 1) on minibatches of 64 sequences; 16 hidden units, embeddings of
8; default initialisation. Other kinds, distances and inits: ``book_long_range``."""

BOOK_SEEDS = (0, 1, 2, 3, 4)
LONG_RANGE_DISTANCES = (5, 10, 15, 20, 30)


def book_lm(kind: str = "lstm", num_layers: int = 1, hidden_size: int = 128) -> Recipe:
    """BOOK_LM with another kind, depth or width, named "lm-<kind>" (1 layer, 128
    units) or "lm-<kind>-<layers>x<units>"."""
    name = f"lm-{kind}" + ("" if (num_layers, hidden_size) == (1, 128)
                           else f"-{num_layers}x{hidden_size}")
    return dataclasses.replace(BOOK_LM, name=name, kind=kind, num_layers=num_layers,
                               hidden_size=hidden_size)


def book_long_range(kind: str = "rnn", distance: int = 10,
                    init: str = "default") -> LongRangeRecipe:
    """BOOK_LONG_RANGE for another kind, distance or init, named
    "long-range-<kind>-d<distance>" (+ "-memory" for the memory init)."""
    name = f"long-range-{kind}-d{distance}" + ("-memory" if init == "memory" else "")
    return dataclasses.replace(BOOK_LONG_RANGE, name=name, kind=kind,
                               distance=distance, init=init)


# 205 units: the width at which one RNN layer has as many parameters as two of 128
DEEP_RNN_WIDE = 205


def book_experiments() -> list[tuple[Recipe | LongRangeRecipe, tuple[int, ...]]]:
    """Every (recipe, seeds) whose results the book loads from ``book/data/experiments``
    (written by ``make experiments``): the three kinds on Shakespeare (chapters 8,
    10, 11, 13); two RNN layers against one layer of the same width and one of the
    same parameter count (chapter 12); the three kinds, each with its default and its
    memory init, at every distance of LONG_RANGE_DISTANCES (chapters 11 and 13)."""
    lm = [book_lm(kind) for kind in ("rnn", "gru", "lstm")]
    lm += [book_lm("rnn", num_layers=2), book_lm("rnn", hidden_size=DEEP_RNN_WIDE)]
    long_range = [book_long_range(kind, d, init) for kind in ("rnn", "gru", "lstm")
                  for init in ("default", "memory") for d in LONG_RANGE_DISTANCES]
    return [(r, BOOK_SEEDS) for r in lm + long_range]
