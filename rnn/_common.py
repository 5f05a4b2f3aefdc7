"""Checks and the pieces shared by the three recurrent cells (rnn_layer, gru, lstm).

Private: the public contract is the error messages, which name the expected shape or
dtype, e.g. ``ValueError("X must have shape (T, B, D) with D = 8; got (5, 3, 7)")``.
"""
from __future__ import annotations

import functools

import numpy as np


# --------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------

def init_uniform(
    names: tuple[str, ...], D: int, H: int, rng: np.random.Generator | int, dtype
) -> dict[str, np.ndarray]:
    """Draw every parameter i.i.d. from U(−1/√H, 1/√H), in the order of ``names``.

    Shapes come from the names: ``W_x*`` (D, H), ``W_h*`` (H, H), ``b_*`` (H,).
    """
    for label, n in (("D", D), ("H", H)):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"{label} must be an integer ≥ 1; got {n!r}")
    rng = as_rng(rng)
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"dtype must be a floating type such as float32 or float64; "
                        f"got {dtype}")
    bound = 1.0 / np.sqrt(H)
    return {name: rng.uniform(-bound, bound, size=param_shape(name, D, H)).astype(dtype)
            for name in names}


def param_shape(name: str, D: int, H: int) -> tuple[int, ...]:
    """The shape a parameter called ``name`` has: W_x* (D, H), W_h* (H, H), b_* (H,)."""
    if name.startswith("W_x"):
        return (D, H)
    if name.startswith("W_h"):
        return (H, H)
    return (H,)


def check_params(
    params: dict, names: tuple[str, ...], cell: str
) -> tuple[int, int, np.dtype]:
    """Check that ``params`` holds every name with consistent shapes and one float
    dtype; return (D, H, dtype).

    ``names[0]`` must be an input weight W_x* of shape (D, H); D and H are read from it.
    Extra keys (e.g. an output layer's W_hq kept in the same dict) are ignored.
    """
    if not isinstance(params, dict):
        raise TypeError(f"{cell} params must be a dict name -> array; "
                        f"got {type(params).__name__}")
    missing = [n for n in names if n not in params]
    if missing:
        raise ValueError(f"{cell} params are missing {missing}; "
                         f"expected the keys {list(names)}")
    first = params[names[0]]
    if not isinstance(first, np.ndarray) or first.ndim != 2:
        raise ValueError(f"{cell} parameter {names[0]} must be a 2-D array of shape "
                         f"(D, H); got {np.shape(first)}")
    D, H = first.shape
    dtype = first.dtype
    if dtype.kind != "f":
        raise TypeError(f"{cell} parameters must have a floating dtype; "
                        f"{names[0]} has {dtype}")
    for n in names:
        p = params[n]
        expected = param_shape(n, D, H)
        if not isinstance(p, np.ndarray) or p.shape != expected:
            symbolic = {2: "(D, H)" if n.startswith("W_x") else "(H, H)",
                        1: "(H,)"}[len(expected)]
            raise ValueError(f"{cell} parameter {n} must have shape {symbolic} = "
                             f"{expected}; got {np.shape(p)}")
        if p.dtype != dtype:
            raise TypeError(f"all {cell} parameters must share one dtype; "
                            f"{names[0]} is {dtype} but {n} is {p.dtype}")
    return D, H, dtype


# --------------------------------------------------------------------------------------
# Inputs, states and upstream gradients
# --------------------------------------------------------------------------------------

def _check_array(A, name: str, symbolic: str) -> None:
    if not isinstance(A, np.ndarray):
        raise TypeError(f"{name} must be a numpy array of shape {symbolic}; "
                        f"got {type(A).__name__}")


def _check_dtype(A: np.ndarray, name: str, dtype: np.dtype, cell: str) -> None:
    if A.dtype != dtype:
        raise TypeError(
            f"{name} has dtype {A.dtype} but the {cell} parameters have dtype {dtype}; "
            f"convert one of them explicitly (no silent casts)"
        )


def _check_finite(A: np.ndarray, name: str) -> None:
    if not np.isfinite(A).all():
        raise ValueError(f"{name} contains NaN or infinity; expected finite values")


def check_sequence(
    X, D: int, dtype: np.dtype, cell: str, name: str = "X", D_name: str = "D"
) -> tuple[int, int]:
    """Check a time-major input X of shape (T, B, D) with T, B ≥ 1, the parameters'
    dtype, finite; return (T, B)."""
    _check_array(X, name, f"(T, B, {D_name})")
    if X.ndim != 3 or X.shape[2] != D:
        raise ValueError(f"{name} must have shape (T, B, {D_name}) with "
                         f"{D_name} = {D}; got {X.shape}")
    T, B, _ = X.shape
    if T < 1:
        raise ValueError(f"{name} must have at least one time step: shape "
                         f"(T, B, {D_name}) with T ≥ 1; got {X.shape}")
    if B < 1:
        raise ValueError(f"{name} must hold at least one sequence: shape "
                         f"(T, B, {D_name}) with B ≥ 1; got {X.shape}")
    _check_dtype(X, name, dtype, cell)
    _check_finite(X, name)
    return T, B


def check_step_input(X_t, D: int, dtype: np.dtype, cell: str) -> int:
    """Check one step's input X_t of shape (B, D), finite; return B."""
    _check_array(X_t, "X_t", "(B, D)")
    if X_t.ndim != 2 or X_t.shape[1] != D:
        raise ValueError(f"X_t must have shape (B, D) with D = {D}; got {X_t.shape}")
    if X_t.shape[0] < 1:
        raise ValueError(f"X_t must hold at least one example: shape (B, D) with "
                         f"B ≥ 1; got {X_t.shape}")
    _check_dtype(X_t, "X_t", dtype, cell)
    _check_finite(X_t, "X_t")
    return X_t.shape[0]


def check_state(
    S, B: int, H: int, dtype: np.dtype, cell: str, name: str
) -> np.ndarray:
    """Check a state such as H0, H_prev or C0: shape (B, H), the parameters' dtype,
    finite."""
    _check_array(S, name, "(B, H)")
    if S.shape != (B, H):
        raise ValueError(f"{name} must have shape (B, H) = ({B}, {H}); got {S.shape}")
    _check_dtype(S, name, dtype, cell)
    _check_finite(S, name)
    return S


def check_grad(
    dY, shape: tuple[int, ...], symbolic: str, dtype: np.dtype, cell: str, name: str
) -> np.ndarray:
    """Check an upstream gradient: exactly the shape and dtype of what it is the
    gradient of."""
    _check_array(dY, name, symbolic)
    if dY.shape != shape:
        raise ValueError(f"{name} must have shape {symbolic} = {shape}; got {dY.shape}")
    _check_dtype(dY, name, dtype, cell)
    return dY


def check_cache(cache, cache_type: type, function: str) -> None:
    """A backward pass takes the cache its own forward pass returned."""
    if not isinstance(cache, cache_type):
        raise TypeError(f"cache must be the {cache_type.__name__} returned by "
                        f"{function}; got {type(cache).__name__}")


def check_backward(
    dHs, cache, cache_type: type, function: str, cell: str, **dfinal
) -> None:
    """Check the arguments of a sequence backward pass: the cache of ``function``,
    dHs shaped like its Hs (T, B, H) or None, and each gradient on a final state in
    ``dfinal`` (e.g. dH_T=…) of shape (B, H) or None; all in the layer's dtype."""
    check_cache(cache, cache_type, function)
    Hs = cache.Hs
    if dHs is not None:
        check_grad(dHs, Hs.shape, "(T, B, H)", Hs.dtype, cell, "dHs")
    for name, dS in dfinal.items():
        if dS is not None:
            check_grad(dS, Hs.shape[1:], "(B, H)", Hs.dtype, cell, name)


# --------------------------------------------------------------------------------------
# What every cell shares: checks on entry, and the gradients of its linear maps
# --------------------------------------------------------------------------------------

def checked(check):
    """Decorator: the public function first runs ``check`` on its arguments, once.

    ``check`` takes the same arguments as the function and raises on bad ones; it stays
    callable as ``.check``. The body underneath, with no checks, stays callable as
    ``.unchecked``: the sequence functions call a step body T times after checking the
    whole sequence once, and the stacked layers call the sequence bodies after checking
    everything once.
    ``inspect.getsource`` of the decorated function shows the body.
    """
    def decorate(body):
        @functools.wraps(body)
        def public(*args, **kwargs):
            check(*args, **kwargs)
            return body(*args, **kwargs)
        public.check, public.unchecked = check, body
        return public
    return decorate


def gate_grads(
    X: np.ndarray, H_prev: np.ndarray, dA: np.ndarray, gates: str, recurrent: int
) -> dict[str, np.ndarray]:
    """Parameter gradients of the pre-activations A_g = X W_xg + H_prev W_hg + b_g.

    dA = [dA_g …] holds the gates' gradients side by side in the order of ``gates``,
    (N, k·H); the first ``recurrent`` gates have a W_hg that multiplies H_prev directly.
    dW_xg = Xᵀ dA_g, dW_hg = H_prevᵀ dA_g, db_g = Σ_rows dA_g: one product for all
    gates. Rows are examples: X (N, D), H_prev (N, H). One step has N = B; a sequence
    passes all its steps as N = T·B rows, so each sum over t is one product too.
    """
    H = dA.shape[1] // len(gates)
    grads = split_columns(X.T @ dA, tuple(f"W_x{g}" for g in gates))
    grads |= split_columns(H_prev.T @ dA[:, :recurrent * H],
                           tuple(f"W_h{g}" for g in gates[:recurrent]))
    grads |= split_columns(dA.sum(axis=0), tuple(f"b_{g}" for g in gates))
    return grads


def input_grad(dA: np.ndarray, params: dict[str, np.ndarray], gates: str) -> np.ndarray:
    """dX = Σ_g dA_g W_xgᵀ = [dA_g …] [W_xg …]ᵀ, one product; dA and rows as in
    ``gate_grads``."""
    return dA @ concat_columns(params, tuple(f"W_x{g}" for g in gates)).T


def transposed(params: dict[str, np.ndarray], names: tuple[str, ...]) -> np.ndarray:
    """[W_1 W_2 …]ᵀ: the named recurrent weights side by side, transposed and copied
    once into C order, so that Σ_g dA_g W_gᵀ is one product [dA_1 dA_2 …] @ it.

    Speed: the backward recursion multiplies by these at every step. A ``.T`` view
    would hand BLAS a Fortran-order matrix each time, and for these small products
    (B × k·H times k·H × H) that layout is about 1.5× slower with OpenBLAS.
    """
    return np.ascontiguousarray(concat_columns(params, names).T)


def rows(A: np.ndarray) -> np.ndarray:
    """A time-major (T, B, n) array as (T·B, n): the rows of every step in turn."""
    return A.reshape(-1, A.shape[-1])


# --------------------------------------------------------------------------------------
# Gate matrices side by side
# --------------------------------------------------------------------------------------

def concat_columns(params: dict, names: tuple[str, ...]) -> np.ndarray:
    """[P_1, P_2, …] side by side along the last axis: (D, H)s → (D, k·H), biases (H,)s
    → (k·H,)."""
    return np.concatenate([params[n] for n in names], axis=-1)


def split_columns(M: np.ndarray, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Inverse of ``concat_columns``: cut the last axis of M into len(names) equal,
    contiguous blocks."""
    H = M.shape[-1] // len(names)
    return {n: np.ascontiguousarray(M[..., k * H:(k + 1) * H])
            for k, n in enumerate(names)}



# --------------------------------------------------------------------------------------
# Checks at the public boundary of the models, training, generation and checkpoints
# --------------------------------------------------------------------------------------

def check_int(value, name: str, low: int = 1) -> int:
    """``value`` as an int if it is an integer ≥ ``low`` (a bool is not), else
    ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(f"{name} must be an integer ≥ {low}; got {value!r}")
    if value < low:
        raise ValueError(f"{name} must be an integer ≥ {low}; got {value!r}")
    return int(value)


def check_positive_number(value, name: str) -> float:
    """``value`` as a float if it is a finite number > 0, else TypeError/ValueError."""
    real = (int, float, np.integer, np.floating)
    if isinstance(value, bool) or not isinstance(value, real):
        raise TypeError(f"{name} must be a positive number; got {type(value).__name__}")
    if not (value > 0 and np.isfinite(value)):
        raise ValueError(f"{name} must be a positive finite number; got {value!r}")
    return float(value)


def as_rng(rng, name: str = "rng") -> np.random.Generator:
    """How every public function takes randomness: a numpy Generator, used as is (its
    state advances), or an int seed ≥ 0, which gives ``np.random.default_rng(seed)``."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, bool) or not isinstance(rng, (int, np.integer)):
        raise TypeError(f"{name} must be an int seed or a numpy Generator, e.g. "
                        f"np.random.default_rng(0); got {type(rng).__name__}")
    if rng < 0:
        raise ValueError(f"{name} must be an int seed ≥ 0 or a numpy Generator; "
                         f"got {rng}")
    return np.random.default_rng(int(rng))


def check_finite_params(params: dict[str, np.ndarray], where: str) -> None:
    """ValueError naming the first parameter that holds NaN or infinity (a diverged or
    corrupted model), before a forward pass turns it into NaN outputs."""
    for name, p in params.items():
        if not np.isfinite(p).all():
            raise ValueError(f"{where}: parameter {name!r} contains NaN or infinity; "
                             f"expected finite values (a diverged training run or a "
                             f"corrupted file)")


def check_ids(ids, V: int, name: str) -> np.ndarray:
    """Token ids: an integer numpy array of shape (B, T), B, T ≥ 1, values in [0, V)."""
    if not isinstance(ids, np.ndarray) or not np.issubdtype(ids.dtype, np.integer):
        got = ids.dtype if isinstance(ids, np.ndarray) else type(ids).__name__
        raise TypeError(f"{name} must be an integer numpy array of token ids, "
                        f"shape (B, T); got {got}")
    if ids.ndim != 2 or ids.shape[0] < 1 or ids.shape[1] < 1:
        raise ValueError(f"{name} must have shape (B, T) with B, T ≥ 1 (batch first); "
                         f"got {ids.shape}")
    return check_id_range(ids, V, name)


def check_id_range(ids: np.ndarray, V: int, name: str) -> np.ndarray:
    """ValueError unless every id of the (non-empty) integer array lies in [0, V)."""
    lo, hi = ids.min(), ids.max()
    if lo < 0 or hi >= V:
        raise ValueError(f"{name} must lie in [0, V) = [0, {V}); "
                         f"got values from {lo} to {hi}")
    return ids
