"""Numerical gradients by central differences, and the relative error the book
reports.

Used by the chapters and by the unit tests alike, so a reader sees one definition of
"the gradient is right".
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from rnn._common import check_positive_number


def _scalar(value):
    """f's value, unchanged; TypeError naming what f returned unless one number."""
    one = value[()] if isinstance(value, np.ndarray) and value.ndim == 0 else value
    real = (int, float, np.integer, np.floating)
    if isinstance(one, bool) or not isinstance(one, real):
        got = (f"an array of shape {value.shape}" if isinstance(value, np.ndarray)
               else type(value).__name__)
        raise TypeError(f"f must return one number (the loss); got {got}: for a "
                        f"function that returns (loss, grads), pass lambda: f()[0]")
    return value


def numerical_gradient(
    f: Callable[[], float], x: np.ndarray, eps: float = 1e-6
) -> np.ndarray:
    """Central differences ∂f/∂x[i] ≈ (f(x + ε e_i) − f(x − ε e_i)) / 2ε for every
    entry i of ``x``.

    ``f`` takes no arguments and reads ``x`` (an array it closes over), which is
    perturbed in place one entry at a time and restored exactly afterwards (also when f
    raises); f must return one number. Use float64: in float32 the round-off of f swamps
    differences of size ε. Returns an array shaped like ``x``.
    """
    if not callable(f):
        raise TypeError(f"f must be a function of no arguments that returns the loss; "
                        f"got {type(f).__name__}")
    if not isinstance(x, np.ndarray):
        raise TypeError(f"x must be the float64 numpy array that f reads (perturbed in "
                        f"place); got {type(x).__name__}")
    if x.dtype != np.float64:
        raise TypeError(f"gradient checks need a float64 array; got {x.dtype}")
    if not x.flags.writeable:
        raise ValueError("x must be writeable: it is perturbed in place")
    check_positive_number(eps, "eps")
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=[["readwrite"]])
    for _ in it:
        i = it.multi_index
        old = x[i]
        try:
            x[i] = old + eps
            f_plus = _scalar(f())
            x[i] = old - eps
            f_minus = _scalar(f())
        finally:
            x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """max |a − b| / max(max |a| + max |b|, 1e-12): 0 when equal, about 1 when
    unrelated. Shapes must match."""
    try:
        a = np.asarray(a, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise TypeError(f"relative_error compares two numeric arrays (gradients); "
                        f"{e}") from None
    if a.shape != b.shape:
        raise ValueError(f"cannot compare gradients of shapes {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    scale = max(np.abs(a).max() + np.abs(b).max(), 1e-12)
    return float(np.abs(a - b).max() / scale)
