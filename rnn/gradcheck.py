"""Numerical gradients by central differences, and the relative error the book reports.

Used by the chapters and by the unit tests alike, so a reader sees one definition of "the gradient is right".
"""
from __future__ import annotations

from typing import Callable

import numpy as np


def numerical_gradient(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences ∂f/∂x[i] ≈ (f(x + ε e_i) − f(x − ε e_i)) / 2ε for every entry i of ``x``.

    ``f`` takes no arguments and reads ``x`` (an array it closes over), which is perturbed in place
    one entry at a time and restored exactly afterwards. Use float64: in float32 the round-off of f
    swamps differences of size ε. Returns an array shaped like ``x``.
    """
    if x.dtype != np.float64:
        raise TypeError(f"gradient checks need a float64 array; got {x.dtype}")
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + eps
        f_plus = f()
        x[i] = old - eps
        f_minus = f()
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """max |a − b| / max(max |a| + max |b|, 1e-12): 0 when equal, about 1 when unrelated. Shapes must match."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"cannot compare gradients of shapes {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    scale = max(np.abs(a).max() + np.abs(b).max(), 1e-12)
    return float(np.abs(a - b).max() / scale)
