"""Element-wise functions, softmax and the cross-entropy loss, shared by every layer.

Shapes follow the book's notation page: logits ``O`` have the class axis last.
"""
from __future__ import annotations

import numpy as np


def sigmoid(A: np.ndarray) -> np.ndarray:
    """σ(A) = 1 / (1 + exp(−A)) of a pre-activation A. Any shape; same shape and dtype
    out.

    Computed as the identical function σ(z) = (1 + tanh(z/2)) / 2, which never overflows
    for large |z| and needs a single transcendental call instead of exp, a division and
    a branch. The price: the error is about 1e-16 in absolute terms, so values far in
    the left tail (σ(z) < 1e-8, z < −18) lose relative accuracy. A gate that is 1e-8
    open is closed for every purpose of this course.
    """
    return 0.5 * np.tanh(0.5 * A) + 0.5


def softmax(O: np.ndarray, axis: int = -1) -> np.ndarray:
    """softmax(O)[k] = exp(O[k]) / Σ_j exp(O[j]) along ``axis``; subtracting the max
    keeps exp finite."""
    Z = O - O.max(axis=axis, keepdims=True)
    E = np.exp(Z)
    return E / E.sum(axis=axis, keepdims=True)


def log_softmax(O: np.ndarray, axis: int = -1) -> np.ndarray:
    """log softmax(O) = O − logsumexp(O) along ``axis``, stable for large logits."""
    Z = O - O.max(axis=axis, keepdims=True)
    return Z - np.log(np.exp(Z).sum(axis=axis, keepdims=True))


def one_hot(ids: np.ndarray, num_classes: int, dtype=np.float64) -> np.ndarray:
    """One-hot encoding: ``out[..., k] = 1`` where ``k = ids[...]``. ids: any integer
    shape S → (*S, num_classes)."""
    ids = np.asarray(ids)
    if not np.issubdtype(ids.dtype, np.integer):
        raise TypeError(f"ids must be an integer array; got dtype {ids.dtype}")
    if ids.size and (ids.min() < 0 or ids.max() >= num_classes):
        raise ValueError(
            f"ids must lie in [0, {num_classes}); "
            f"got values from {ids.min()} to {ids.max()}"
        )
    out = np.zeros(ids.shape + (num_classes,), dtype=dtype)
    np.put_along_axis(out, ids[..., None], 1, axis=-1)
    return out


def softmax_cross_entropy(
    O: np.ndarray, y: np.ndarray, mask: np.ndarray | None = None
) -> tuple[float, np.ndarray]:
    """Mean over tokens of ℓ = −log softmax(O)[y], and its gradient
    dO = (softmax(O) − onehot(y)) / N.

    O: (..., Q) logits; y: (...) integer targets in [0, Q); mask: (...) of 0/1 (or
    bool), 1 where the token counts. N is the number of counted tokens. Returns (loss,
    dO) with dO shaped like O.
    """
    O = np.asarray(O)
    y = np.asarray(y)
    if O.ndim < 1 or O.shape[:-1] != y.shape:
        raise ValueError(
            f"targets must have the logits' shape without the class axis, "
            f"{O.shape[:-1]}; got {y.shape}"
        )
    if not np.issubdtype(y.dtype, np.integer):
        raise TypeError(f"targets must be integer class ids; got dtype {y.dtype}")
    Q = O.shape[-1]
    if y.size and (y.min() < 0 or y.max() >= Q):
        raise ValueError(f"targets must lie in [0, {Q}); "
                         f"got values from {y.min()} to {y.max()}")
    if mask is None:
        weights = np.ones(y.shape, dtype=O.dtype)
    else:
        mask = np.asarray(mask)
        if mask.shape != y.shape:
            raise ValueError(f"mask must have the targets' shape {y.shape}; "
                             f"got {mask.shape}")
        weights = mask.astype(O.dtype)
    N = weights.sum()
    if N == 0:
        raise ValueError("the mask hides every token: the loss would be 0/0")
    logp = log_softmax(O)
    picked = np.take_along_axis(logp, y[..., None], axis=-1)[..., 0]
    loss = -(picked * weights).sum() / N
    dO = np.exp(logp)
    p_y = np.take_along_axis(dO, y[..., None], axis=-1)
    np.put_along_axis(dO, y[..., None], p_y - 1, axis=-1)
    dO *= (weights / N)[..., None]
    return float(loss), dO.astype(O.dtype, copy=False)
