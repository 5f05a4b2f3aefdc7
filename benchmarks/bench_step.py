"""Time one training step of the character language model: rnn (numpy) against torch.nn,
same model, same run.

One step = forward, backward, global-norm clipping, optimiser update, on a (B, T)
minibatch of token ids:
    one-hot (or embedding) input → RNN / GRU / LSTM (hidden H) → Linear (H → V)
    → mean cross-entropy.
Defaults: V = 65 (the tiny-Shakespeare character set), B = 32, T = 35, H = 256, float32,
one-hot input, Adam (lr 1e-3), clipping at θ = 1. The GRU is the reset-after variant,
the one torch computes. The numpy step is what ``rnn.train.train_language_model`` does
per minibatch (``lm_loss_and_grads``, ``clip_grad_norm``, ``optimizer.step``); the torch
step is the same model in torch.nn with ``clip_grad_norm_`` and ``torch.optim``.

Reported, over ``--repeats`` steps after ``--warmup``, numpy and torch steps interleaved
so that other load on the machine hits both alike: the median wall-clock time of one
step and the ratio numpy/torch; the median CPU time of one step (all threads of the
process) and its ratio, steadier on a shared machine; and the peak of numpy's own
allocations during one numpy step, measured separately with tracemalloc (numpy reports
its array buffers to tracemalloc; torch's allocations are invisible to it, so no torch
figure is given). Thread counts: torch.get_num_threads() and, through threadpoolctl if
it is installed, the BLAS/OpenMP pools numpy and torch use. ``--threads N`` limits both
to N threads.

Run (torch in a separate venv, never a dependency of the course):
    /tmp/torchenv/bin/python benchmarks/bench_step.py
    .venv/bin/python benchmarks/bench_step.py                      # numpy only
    /tmp/torchenv/bin/python benchmarks/bench_step.py --profile lstm   # cProfile
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
import tracemalloc
import warnings

import numpy as np

from rnn.model import init_language_model, lm_loss_and_grads
from rnn.optim import SGD, Adam, clip_grad_norm

try:
    import torch
    # torch.backends.mkldnn.flags() warns about TF32 on Intel GPUs, irrelevant here
    warnings.filterwarnings("ignore", message="TF32 acceleration on top of oneDNN")
except ImportError:   # numpy-only run
    torch = None

KINDS = ("rnn", "gru", "lstm")


# --------------------------------------------------------------------------------------
# The numpy step
# --------------------------------------------------------------------------------------

def numpy_setup(kind, args, seed=0):
    """A float32 language model and an optimiser; returns step(X, Y) → loss."""
    model = init_language_model(
        args.vocab,
        args.hidden,
        kind,
        embed_size=args.embed,
        rng=np.random.default_rng(seed),
        dtype=np.float32,
        reset_after=(kind == "gru"),
    )
    opt = Adam(lr=1e-3) if args.optimizer == "adam" else SGD(lr=1.0)

    def step(X, Y):
        loss, grads, _ = lm_loss_and_grads(model, X, Y)
        clip_grad_norm(grads, args.clip)
        opt.step(model.params, grads)
        return loss

    return model, step


def numpy_peak_bytes(step, X, Y) -> int:
    """Peak of numpy's allocations during one step (tracemalloc), above what was
    allocated before it."""
    step(
        X, Y
    )  # create the optimiser's state first: it persists, it is not per-step work
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    step(X, Y)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak - base


# --------------------------------------------------------------------------------------
# The torch step
# --------------------------------------------------------------------------------------

def torch_setup(kind, args, seed=0):
    """The same architecture in torch.nn (float32, time-major inside); returns step(X,
    Y) → loss.

    On CPU, torch runs nn.LSTM (not RNN or GRU) through oneDNN's fused LSTM kernel when
    it can; ``--no-mkldnn`` switches that off, to compare with torch's own per-step
    implementation."""
    torch.manual_seed(seed)
    V, H = args.vocab, args.hidden
    D = V if args.embed is None else args.embed
    rnn = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[kind](D, H)
    linear = torch.nn.Linear(H, V)
    embedding = None if args.embed is None else torch.nn.Embedding(V, args.embed)
    modules = [m for m in (embedding, rnn, linear) if m is not None]
    params = [p for m in modules for p in m.parameters()]
    opt = (
        torch.optim.Adam(params, lr=1e-3)
        if args.optimizer == "adam"
        else torch.optim.SGD(params, lr=1.0)
    )

    def step(X, Y):
        with torch.backends.mkldnn.flags(enabled=not args.no_mkldnn):
            return _step(X, Y)

    def _step(X, Y):
        ids = torch.from_numpy(X).T  # (T, B), time-major like ours
        if embedding is None:
            inp = torch.nn.functional.one_hot(ids, V).to(torch.float32)
        else:
            inp = embedding(ids)
        Hs, _ = rnn(inp)
        O = linear(Hs)
        loss = torch.nn.functional.cross_entropy(
            O.reshape(-1, V), torch.from_numpy(Y).T.reshape(-1)
        )
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, args.clip)
        opt.step()
        return loss.item()

    return step


# --------------------------------------------------------------------------------------
# Timing and reporting
# --------------------------------------------------------------------------------------


def time_steps(
    steps, batches, warmup, repeats
) -> tuple[list[list[float]], list[list[float]]]:
    """Wall-clock and CPU seconds of ``repeats`` calls of each function in ``steps``,
    interleaved (a, b, a, b, …) so that a busy machine slows both alike. Returns (wall,
    cpu): one list of times per function each. CPU time (time.process_time: all threads
    of this process) does not count the time spent waiting for a core while other
    processes run, so on a shared machine it is the steadier figure; with several
    threads it also counts threads that spin while waiting for work."""
    for i in range(warmup):
        for step in steps:
            step(*batches[i % len(batches)])
    wall, cpu = [[] for _ in steps], [[] for _ in steps]
    for i in range(repeats):
        X, Y = batches[i % len(batches)]
        for step, w, c in zip(steps, wall, cpu):
            t0, c0 = time.perf_counter(), time.process_time()
            step(X, Y)
            c.append(time.process_time() - c0)
            w.append(time.perf_counter() - t0)
    return wall, cpu


def ms(ts: list[float]) -> float:
    """The median, in milliseconds."""
    return 1e3 * statistics.median(ts)


def thread_report() -> list[str]:
    lines = []
    if torch is not None:
        lines.append(
            f"torch {torch.__version__}: "
            f"torch.get_num_threads() = {torch.get_num_threads()}"
        )
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        lines.append(
            "threadpoolctl not installed: numpy's BLAS thread count not reported "
            "(OPENBLAS_NUM_THREADS="
            + os.environ.get("OPENBLAS_NUM_THREADS", "unset")
            + ")"
        )
        return lines
    for pool in threadpool_info():
        lines.append(
            f"{pool['user_api']:6s} {pool['internal_api']:9s} "
            f"{pool.get('version') or '':12s} "
            f"threads={pool['num_threads']}  {os.path.basename(pool['filepath'])}"
        )
    return lines


def machine_report() -> list[str]:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(
                line.split(":", 1)[1].strip()
                for line in f
                if line.startswith("model name")
            )
    except (OSError, StopIteration):
        pass
    return [
        f"python {platform.python_version()}, numpy {np.__version__}, "
        f"{os.cpu_count()} CPUs: {cpu}"
    ]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    parser.add_argument("--vocab", type=int, default=65)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument(
        "--steps", type=int, default=35, help="T, the number of time steps"
    )
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument(
        "--embed",
        type=int,
        default=None,
        help="embedding size (default: one-hot input)",
    )
    parser.add_argument("--optimizer", choices=("adam", "sgd"), default="adam")
    parser.add_argument("--clip", type=float, default=1.0)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--no-torch", action="store_true", help="time numpy only")
    parser.add_argument(
        "--no-mkldnn",
        action="store_true",
        help="run torch with oneDNN (mkldnn) disabled: its LSTM then takes the native "
        "per-step path",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="limit numpy's BLAS (threadpoolctl) and torch to this many threads "
        "(default: leave)",
    )
    parser.add_argument(
        "--profile", choices=KINDS, help="cProfile 10 numpy steps of this kind and exit"
    )
    args = parser.parse_args(argv)

    rng = np.random.default_rng(1)
    batches = [
        (
            rng.integers(0, args.vocab, size=(args.batch, args.steps)),
            rng.integers(0, args.vocab, size=(args.batch, args.steps)),
        )
        for _ in range(4)
    ]

    if args.profile:
        import cProfile
        import pstats
        _, step = numpy_setup(args.profile, args)
        for X, Y in batches:
            step(X, Y)
        prof = cProfile.Profile()
        prof.enable()
        for i in range(10):
            step(*batches[i % 4])
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)
        return

    use_torch = torch is not None and not args.no_torch
    if args.threads is not None:
        from threadpoolctl import threadpool_limits
        threadpool_limits(args.threads)
        if torch is not None:
            torch.set_num_threads(args.threads)
    inp = "one-hot" if args.embed is None else f"embedding {args.embed}"
    if use_torch and args.no_mkldnn:
        inp += ", torch without oneDNN"
    print(
        f"One training step: V={args.vocab}, B={args.batch}, T={args.steps}, "
        f"H={args.hidden}, float32, {inp} input, {args.optimizer} "
        f"+ clip θ={args.clip}; median of {args.repeats} steps after {args.warmup} "
        f"warm-up"
    )
    for line in machine_report() + thread_report():
        print("  " + line)
    print(
        "  load average (1, 5, 15 min) before: "
        + ", ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    if not use_torch:
        print("  torch not importable (or --no-torch): numpy only")
    print()
    cols = [("model", 6)]
    cols += (
        [("numpy ms", 9), ("torch ms", 9), ("numpy/torch", 11)]
        if use_torch
        else [("numpy ms", 9)]
    )
    cols += (
        [("numpy CPU ms", 12), ("torch CPU ms", 12), ("CPU ratio", 9)]
        if use_torch
        else [("numpy CPU ms", 12)]
    )
    cols += [("numpy peak MiB", 14)]
    header = " ".join(
        f"{name:>{w}s}" if i else f"{name:{w}s}" for i, (name, w) in enumerate(cols)
    )
    print(header)
    print("-" * len(header))
    for kind in args.kinds:
        _, step = numpy_setup(kind, args)
        steps = [step, torch_setup(kind, args)] if use_torch else [step]
        wall, cpu = time_steps(steps, batches, args.warmup, args.repeats)
        peak = numpy_peak_bytes(step, *batches[0]) / 2**20
        values = [ms(w) for w in wall]
        if use_torch:
            values.append(values[0] / values[1])
        values += [ms(c) for c in cpu]
        if use_torch:
            values.append(values[-2] / values[-1])
        values.append(peak)
        fmt = [
            ".2f" if "/" in name or "ratio" in name else ".1f" for name, _ in cols[1:]
        ]
        print(
            f"{kind:6s} "
            + " ".join(f"{v:{w}{f}}" for v, (_, w), f in zip(values, cols[1:], fmt)),
            flush=True,
        )
    print(
        "load average (1, 5, 15 min) after: "
        + ", ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
