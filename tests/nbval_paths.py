"""Run nbval on the notebooks under two numeric paths, and say which paths they were.

Float results differ in their last bits from one CPU to another: OpenBLAS picks its kernels
for the processor it runs on, and numpy dispatches its loops to the widest SIMD the CPU has
(AVX2, AVX-512, ...). The book's rule is that a compared output prints only digits that are
the same on every path. This script checks the rule, instead of hoping for it, by running
nbval twice:

``native``
    whatever this machine picks (the reader's own path);
``portable``
    OpenBLAS forced to its Sandybridge kernels (``OPENBLAS_CORETYPE``) and numpy's SIMD
    dispatch above the x86-64-v2 baseline switched off (``NPY_DISABLE_CPU_FEATURES``): the
    plain-AVX path every x86-64 machine of the last decade can run. It differs from the
    native path of most machines, so a notebook that prints a CPU-dependent digit fails here.

On a machine that is not x86-64 the portable path cannot be forced the same way; that run is
skipped with a message that says so. Usage (what ``make nbval`` does)::

    python tests/nbval_paths.py [--paths native,portable] NOTEBOOK ... -- [PYTEST ARGS]

Exit status: 0 when every run passed (or was skipped), otherwise the first failing status.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

PATHS = ("native", "portable")

# Printed by a child Python under the path's environment: what that path really runs.
_PROBE = """
import json, numpy as np
from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__
try:
    import threadpoolctl
    blas = [f"{i['internal_api']} {i.get('version')} ({i.get('architecture')})"
            for i in threadpoolctl.threadpool_info() if i['user_api'] == 'blas']
except ImportError:
    blas = ["(threadpoolctl not installed: BLAS kernel unknown)"]
print(json.dumps({"numpy": np.__version__, "blas": blas,
                  "dispatch": [f for f in __cpu_dispatch__ if __cpu_features__.get(f)]}))
"""


def probe(env: dict[str, str]) -> dict:
    """What numpy and OpenBLAS run in a fresh interpreter with ``env``."""
    out = subprocess.run([sys.executable, "-c", _PROBE], env=env, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def path_env(name: str) -> tuple[dict[str, str] | None, str]:
    """The environment for numeric path ``name``, or None and the reason it cannot run."""
    env = dict(os.environ)
    if name == "native":
        return env, ""
    if name != "portable":
        raise ValueError(f"numeric path must be one of {PATHS}; got {name!r}")
    machine = platform.machine().lower()
    if machine not in ("x86_64", "amd64"):
        return None, (f"the portable path forces x86-64 kernels (OpenBLAS Sandybridge, "
                      f"numpy without AVX2/AVX-512); this machine is {machine}")
    # Disable only dispatch targets this CPU has: numpy warns about the others.
    enabled = probe(env)["dispatch"]
    env["OPENBLAS_CORETYPE"] = "Sandybridge"
    env["NPY_DISABLE_CPU_FEATURES"] = " ".join(enabled)
    if not enabled:
        env.pop("NPY_DISABLE_CPU_FEATURES")
    return env, ""


def describe(name: str, env: dict[str, str]) -> str:
    info = probe(env)
    dispatch = " ".join(info["dispatch"]) or "none above the baseline"
    return (f"numeric path '{name}': numpy {info['numpy']}, BLAS {', '.join(info['blas'])}, "
            f"numpy SIMD dispatch: {dispatch}")


def main(argv: list[str]) -> int:
    paths = list(PATHS)
    if argv[:1] == ["--paths"]:
        paths, argv = argv[1].split(","), argv[2:]
    if "--" in argv:
        cut = argv.index("--")
        notebooks, pytest_args = argv[:cut], argv[cut + 1:]
    else:
        notebooks, pytest_args = argv, []
    if not notebooks:
        print("nbval_paths: name at least one notebook", file=sys.stderr)
        return 2
    results = []
    for name in paths:
        env, why = path_env(name)
        if env is None:
            print(f"\n== nbval, numeric path '{name}': SKIPPED, {why}", flush=True)
            results.append((name, "skipped", 0))
            continue
        print(f"\n== nbval, {describe(name, env)}", flush=True)
        cmd = [sys.executable, "-m", "pytest", *pytest_args, *notebooks]
        status = subprocess.run(cmd, env=env).returncode
        results.append((name, "passed" if status == 0 else "FAILED", status))
    print("\n== nbval summary: " + "; ".join(f"{n} {r}" for n, r, _ in results))
    return next((s for _, _, s in results if s), 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
