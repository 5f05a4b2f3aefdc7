"""Embedding lookup: token ids → dense rows of a matrix E, and its backward pass.

The book writes X_t = E[ids_t] = one_hot(ids_t) E with E ∈ R^{V×D}: choosing row k of E
is the same as multiplying the one-hot vector of k by E, only without building the
(mostly zero) one-hot matrix.
"""
from __future__ import annotations

import numpy as np

from rnn._common import as_rng, check_id_range, check_int


def init_embedding(
    V: int, D: int, rng: np.random.Generator | int, dtype=np.float32
) -> np.ndarray:
    """E ∈ R^{V×D} with independent entries E[k, j] ~ N(0, 1/D).

    The standard deviation 1/√D keeps the squared norm of each row about 1 whatever D
    is. V: vocabulary size, D: embedding size, rng: the random generator. Returns E of
    shape (V, D). rng may also be an int seed.
    """
    V, D = check_int(V, "V"), check_int(D, "D")
    rng = as_rng(rng)
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"dtype must be a floating type such as float32 or float64; "
                        f"got {dtype}")
    return (rng.standard_normal((V, D)) / np.sqrt(D)).astype(dtype)


def _check_ids(ids: np.ndarray, V: int) -> np.ndarray:
    ids = np.asarray(ids)
    if not np.issubdtype(ids.dtype, np.integer):
        raise TypeError(f"ids must be an integer array; got dtype {ids.dtype}")
    return check_id_range(ids, V, "ids") if ids.size else ids


def embedding_forward(E: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """X = E[ids], i.e. X_t = E[ids_t] = one_hot(ids_t) E for every position.

    E: (V, D); ids: integer array of any shape S with values in [0, V), e.g. (T, B) or
    (B, T).
    Returns X of shape (*S, D) and E's dtype.
    """
    E = np.asarray(E)
    if E.ndim != 2:
        raise ValueError(f"E must have shape (V, D); got {E.shape}")
    ids = _check_ids(ids, E.shape[0])
    return E[ids]


def embedding_backward(dX: np.ndarray, ids: np.ndarray, V: int) -> np.ndarray:
    """dE = one_hot(ids)ᵀ dX: row k of dE is the sum of the rows of dX at positions
    where ids == k.

    dX: (*S, D) upstream gradient ∂L/∂X; ids: the integer array of shape S used in the
    forward pass; V: vocabulary size. Returns dE of shape (V, D) and dX's dtype. A token
    that occurs several times receives the sum of its gradients (np.add.at accumulates
    repeated indices; ``dE[ids] += dX`` would not).
    """
    dX = np.asarray(dX)
    ids = _check_ids(ids, V)
    if dX.shape[:-1] != ids.shape or dX.ndim != ids.ndim + 1:
        raise ValueError(f"dX must have shape (*ids.shape, D) = "
                         f"{ids.shape + ('D',)}; got {dX.shape}")
    D = dX.shape[-1]
    dE = np.zeros((V, D), dtype=dX.dtype)
    np.add.at(dE, ids.reshape(-1), dX.reshape(-1, D))
    return dE
