"""make experiments: train every run the book loads; store it in book/data/experiments.

    python scripts/run_experiments.py            train what is missing or stale
    python scripts/run_experiments.py --check    list what is missing or stale; exit 1
                                                 if anything is (trains nothing)
    python scripts/run_experiments.py --jobs 2   two runs at a time (one per core)

The runs are ``rnn.experiment.book_experiments()``: each (recipe, seed) is one
training run, stored as two small files (``save_run``) as soon as it ends. A second
call skips every run already stored for the same recipe, so an interrupted call
resumes where it stopped, and a recipe changed in ``rnn.experiment`` is trained again.
Runs go seed by seed (seed 0 of every recipe first), so the first results to arrive
cover every recipe.

Duration: 175 runs, about 40 minutes on one idle core of the machine the book was made
on (2 cores, 2026), about 20 minutes with --jobs 2; the stored results took 52 minutes
with --jobs 2 on that machine while other work shared it. The progress bar shows the
real figure and an estimate of what is left. Every figure stays on one thread
(OPENBLAS_NUM_THREADS=1, set by the Makefile), as in the notebooks.
"""
from __future__ import annotations

import argparse
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from rnn.experiment import _train, book_experiments, save_run, stored_seeds

RESULTS = Path(__file__).resolve().parent.parent / "book" / "data" / "experiments"


def pending(directory: Path):
    """The (recipe, seed) runs not stored for their current recipe, seed-major."""
    todo = []
    for k, (recipe, seeds) in enumerate(book_experiments()):
        done = set(stored_seeds(recipe, directory))
        todo += [(seed, k, recipe) for seed in seeds if seed not in done]
    return [(recipe, seed) for seed, _, recipe in sorted(todo, key=lambda t: t[:2])]


def cost(recipe) -> float:
    """A rough relative cost of one run, for the time estimate: updates × width²-ish."""
    if hasattr(recipe, "num_layers"):
        per_update = recipe.hidden_size ** 2 * recipe.num_layers * recipe.batch_size
        gates = {"rnn": 1, "gru": 3, "lstm": 4}[recipe.kind]
        return recipe.updates * per_update * gates * recipe.num_steps / 64
    gates = {"rnn": 1, "gru": 3, "lstm": 4}[recipe.kind]
    return recipe.updates * recipe.batch_size * (recipe.distance + 1) * gates * 30


def bar(done: float, total: float, started: float, label: str) -> str:
    width = 30
    filled = int(width * done / total) if total else width
    elapsed = time.perf_counter() - started
    left = elapsed * (total - done) / done if done else float("nan")
    eta = "?" if left != left else f"{left / 60:.0f} min"
    return (f"[{'#' * filled}{'.' * (width - filled)}] {100 * done / total:3.0f} %  "
            f"{elapsed / 60:.1f} min so far, about {eta} left  {label}")


def train_and_store(recipe, seed: int, directory: Path):
    result = _train(recipe, seed)
    save_run(recipe, result, directory)
    return result.value, result.seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="list missing or stale runs; exit 1 if there are any")
    parser.add_argument("--jobs", type=int, default=1,
                        help="runs at a time (default 1)")
    parser.add_argument("--results", type=Path, default=RESULTS,
                        help=f"the results folder (default {RESULTS})")
    args = parser.parse_args(argv)
    todo = pending(args.results)
    total_runs = sum(len(seeds) for _, seeds in book_experiments())
    if args.check:
        for recipe, seed in todo:
            print(f"missing or stale: {recipe.name} seed {seed}")
        print(f"{total_runs - len(todo)} of {total_runs} runs stored and current")
        return 1 if todo else 0
    if not todo:
        print(f"all {total_runs} runs are stored and current; nothing to do")
        return 0
    print(f"{len(todo)} of {total_runs} runs to train into {args.results}", flush=True)
    total = sum(cost(r) for r, _ in todo)
    done, started = 0.0, time.perf_counter()
    with ProcessPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = {pool.submit(train_and_store, r, s, args.results): (r, s)
                   for r, s in todo}
        for future in as_completed(futures):
            recipe, seed = futures[future]
            value, seconds = future.result()
            done += cost(recipe)
            label = f"{recipe.name} seed {seed}: {value:.4g} ({seconds:.0f} s)"
            print(bar(done, total, started, label), flush=True)
    print(f"done: {len(todo)} runs in {(time.perf_counter() - started) / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
