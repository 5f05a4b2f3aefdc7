"""One interface for every recurrent layer the book uses: RNN, GRU or LSTM, stacked,
uni- or bidirectional.

A ``RecurrentSpec`` says what to build; ``init_recurrent`` draws its parameters;
``recurrent_forward`` and ``recurrent_backward`` run it on a time-major X (T, B, D) by
calling the per-kind sequence functions (``rnn_forward``, ``gru_forward``,
``lstm_forward`` and their backward passes) once per layer and direction, as the table
``_CELLS`` says.

- Parameter keys are ``f"l{k}.{d}.{name}"``: layer k = 0, 1, …, direction d = "fwd" or
  "bwd" (bwd only when bidirectional), name one of the cell's math names, e.g.
  "l0.fwd.W_xh", "l1.bwd.b_z". Layer k > 0 reads the output of layer k − 1, so its input
  size is H·num_directions.
- The state (initial ``state0`` or final ``state``) follows PyTorch's h_n layout: an
  array of shape (num_layers·num_directions, B, H) whose index
  layer·num_directions + direction holds that layer and direction's state; for an LSTM
  a tuple (H_n, C_n) of two such arrays. The bwd direction's final state is the one
  after it has read the sequence backwards, i.e. at t = 1.
- Bidirectional: the bwd direction runs on X[::-1], its outputs are reversed back and
  concatenated after the fwd ones, so the output at t is [H→_t, H←_t] and Hs has shape
  (T, B, num_directions·H).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from rnn._common import check_params, check_sequence, init_uniform
from rnn.gru import gru_backward, gru_forward, gru_param_names
from rnn.lstm import LSTM_PARAM_NAMES, lstm_backward, lstm_forward
from rnn.rnn_layer import NONLINEARITIES, RNN_PARAM_NAMES, rnn_backward, rnn_forward

KINDS = ("rnn", "gru", "lstm")
DIRECTIONS = ("fwd", "bwd")


@dataclass(frozen=True)
class RecurrentSpec:
    """What recurrent layer to build. Checked on construction (ValueError naming the
    bad field)."""

    kind: str                   # "rnn" | "gru" | "lstm"
    input_size: int             # D
    hidden_size: int            # H
    num_layers: int = 1
    bidirectional: bool = False
    nonlinearity: str = "tanh"  # rnn only: "tanh" or "relu"
    reset_after: bool = False   # gru only: the PyTorch/Keras candidate-state variant

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}; got {self.kind!r}")
        for field in ("input_size", "hidden_size", "num_layers"):
            n = getattr(self, field)
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
                raise ValueError(f"{field} must be an integer ≥ 1; got {n!r}")
        for field in ("bidirectional", "reset_after"):
            if not isinstance(getattr(self, field), (bool, np.bool_)):
                raise ValueError(f"{field} must be True or False; "
                                 f"got {getattr(self, field)!r}")
        if self.nonlinearity not in NONLINEARITIES:
            raise ValueError(f"nonlinearity must be one of {NONLINEARITIES}; "
                             f"got {self.nonlinearity!r}")
        if self.kind != "rnn" and self.nonlinearity != "tanh":
            raise ValueError(f"nonlinearity applies to kind 'rnn' only; got "
                             f"nonlinearity={self.nonlinearity!r} "
                             f"with kind={self.kind!r}")
        if self.kind != "gru" and self.reset_after:
            raise ValueError(f"reset_after applies to kind 'gru' only; got "
                             f"reset_after=True with kind={self.kind!r}")

    @property
    def num_directions(self) -> int:
        """2 if bidirectional else 1."""
        return 2 if self.bidirectional else 1

    @property
    def directions(self) -> tuple[str, ...]:
        """("fwd",) or ("fwd", "bwd")."""
        return DIRECTIONS[: self.num_directions]

    def layer_input_size(self, k: int) -> int:
        """Input size of layer k: input_size for k = 0, hidden_size·num_directions
        above it."""
        return self.input_size if k == 0 else self.hidden_size * self.num_directions

    def cell_param_names(self) -> tuple[str, ...]:
        """The math names of one layer-direction's parameters, e.g. ("W_xh", "W_hh",
        "b_h") for an RNN."""
        return _CELLS[self.kind].names(self)


def spec_to_dict(spec: RecurrentSpec) -> dict[str, Any]:
    """The spec as a plain dict of str/int/bool (for checkpoints and JSON)."""
    return {k: (v.item() if isinstance(v, np.generic) else v)
            for k, v in dataclasses.asdict(spec).items()}


def spec_from_dict(d: dict[str, Any]) -> RecurrentSpec:
    """Inverse of ``spec_to_dict``; unknown or missing fields raise ValueError."""
    fields = [f.name for f in dataclasses.fields(RecurrentSpec)]
    unknown = sorted(set(d) - set(fields))
    if unknown:
        raise ValueError(f"unknown RecurrentSpec fields {unknown}; "
                         f"expected a subset of {fields}")
    missing = [f for f in ("kind", "input_size", "hidden_size") if f not in d]
    if missing:
        raise ValueError(f"RecurrentSpec needs the fields {missing}")
    return RecurrentSpec(**d)


def param_count(params: dict[str, np.ndarray]) -> int:
    """Total number of scalars in a parameter dict."""
    return int(sum(p.size for p in params.values()))


def init_recurrent(
    spec: RecurrentSpec, rng: np.random.Generator, dtype=np.float32
) -> dict[str, np.ndarray]:
    """Parameters for every layer and direction, keys ``f"l{k}.{d}.{name}"``, each drawn
    from U(−1/√H, 1/√H).

    Drawn layer by layer, fwd before bwd, as the per-kind initialisers
    (``init_rnn_params`` etc.) draw them.
    """
    _check_spec(spec)
    params = {}
    for k in range(spec.num_layers):
        for d in spec.directions:
            cell = init_uniform(spec.cell_param_names(), spec.layer_input_size(k),
                                spec.hidden_size, rng, dtype)
            params |= {_key(k, d, name): value for name, value in cell.items()}
    return params


# --------------------------------------------------------------------------------------
# Forward and backward
# --------------------------------------------------------------------------------------

class _Cell(NamedTuple):
    """One kind of cell, as ``recurrent_forward``/``recurrent_backward`` call it."""

    names: Any            # spec → the parameter names of one layer-direction
    forward: Any          # rnn_forward, gru_forward or lstm_forward
    backward: Any         # the matching backward pass
    states: int           # 1: the state is H; 2: it is (H, C)
    option: str | None    # the spec field passed after params, if the cell takes one


# The sequence functions differ only in how many state arrays they take and return:
#   forward(X, *state0, params, *option) → (Hs, *rest_of_final_state, cache)
#   backward(dHs, cache, *dstate_T, need_dX) → (dX, *dstate0, grads)
# with state0 = (H0,) or (H0, C0); the final H is Hs[-1].
_CELLS = {
    "rnn": _Cell(lambda spec: RNN_PARAM_NAMES,
                 rnn_forward, rnn_backward, 1, "nonlinearity"),
    "gru": _Cell(lambda spec: gru_param_names(spec.reset_after),
                 gru_forward, gru_backward, 1, "reset_after"),
    "lstm": _Cell(lambda spec: LSTM_PARAM_NAMES,
                  lstm_forward, lstm_backward, 2, None),
}


class RecurrentCache(NamedTuple):
    """What ``recurrent_backward`` needs. ``cells[k][j]`` is the per-kind cache
    (RNNCache, GRUCache or LSTMCache) of layer k, direction j (0 = fwd, 1 = bwd); a bwd
    cache is in reversed time (its step 0 is t = T)."""

    spec: RecurrentSpec
    cells: tuple[tuple[Any, ...], ...]


def recurrent_forward(
    spec: RecurrentSpec, params: dict[str, np.ndarray], X: np.ndarray, state0=None
) -> tuple[np.ndarray, Any, RecurrentCache]:
    """Run the stacked (bi)directional layer of ``spec`` over X.

    X: (T, B, input_size) time-major; state0: None (zeros), or for rnn/gru an array
    (num_layers·num_directions, B, H), for lstm a tuple (H0, C0) of two such arrays.
    Returns Hs (T, B, num_directions·H), the last layer's outputs; state, the final
    state of every layer and direction in state0's layout; and the cache for
    ``recurrent_backward``.
    """
    _check_spec(spec)
    dtype = _check_params(spec, params)
    T, B = check_sequence(X, spec.input_size, dtype, spec.kind.upper())
    init = _unpack_state(spec, state0, B, dtype, "state0")   # (L·dirs, B, H) or Nones
    cell = _CELLS[spec.kind]
    option = () if cell.option is None else (getattr(spec, cell.option),)

    inp, cells, finals = X, [], []
    for k in range(spec.num_layers):
        outs, layer_cells = [], []
        for j, d in enumerate(spec.directions):
            p = _cell_params(spec, params, k, d)
            s0 = [None if s is None else s[_index(spec, k, j)] for s in init]
            Hs_kd, *rest, cache = cell.forward.unchecked(_read(inp, d), *s0, p, *option)
            outs.append(_read(Hs_kd, d))
            layer_cells.append(cache)
            finals.append((Hs_kd[-1], *rest))
        inp = outs[0] if len(outs) == 1 else np.concatenate(outs, axis=-1)
        cells.append(tuple(layer_cells))
    state = tuple(np.stack(parts) for parts in zip(*finals))
    return inp, _pack_state(spec, state), RecurrentCache(spec, tuple(cells))


def recurrent_backward(
    spec: RecurrentSpec, params: dict[str, np.ndarray], dHs: np.ndarray | None, dstate,
    cache: RecurrentCache, *, need_dX: bool = True,
) -> tuple[np.ndarray | None, Any, dict[str, np.ndarray]]:
    """Backpropagation through time (and through the layers) for ``recurrent_forward``.

    dHs: (T, B, num_directions·H), ∂L/∂Hs (None for zeros); dstate: ∂L/∂state in the
    layout of the state returned by the forward (None, or for lstm a tuple whose entries
    may be None, for zeros); params: the dict given to the forward; cache: its cache.
    Returns dX (T, B, input_size), dstate0 (∂L/∂state0, in the state layout, also when
    state0 was None: then it is the gradient with respect to the zero initial state) and
    grads with the keys of the layer's params.
    need_dX=False skips the input gradient of the first layer and returns None for dX (a
    model whose input is one-hot has no use for it); the layers above still pass their
    gradients down.
    """
    _check_spec(spec)
    if not isinstance(cache, RecurrentCache):
        raise TypeError(f"cache must be the RecurrentCache returned by "
                        f"recurrent_forward; got {type(cache).__name__}")
    if cache.spec != spec:
        raise ValueError(f"the cache was made by {cache.spec}, not by {spec}")
    T, B, _ = cache.cells[0][0].X.shape
    H = spec.hidden_size
    dtype = cache.cells[0][0].Hs.dtype
    if dHs is not None:
        expected = (T, B, spec.num_directions * H)
        if not isinstance(dHs, np.ndarray) or dHs.shape != expected:
            raise ValueError(f"dHs must have shape (T, B, num_directions*H) = "
                             f"{expected}; got {np.shape(dHs)}")
        if dHs.dtype != dtype:
            raise TypeError(f"dHs has dtype {dHs.dtype} but the layer computes in "
                            f"{dtype}")
    dfinal = _unpack_state(spec, dstate, B, dtype, "dstate", check_finite=False)
    cell = _CELLS[spec.kind]

    # From the top layer down: dOut is ∂L/∂(outputs of layer k), then of layer k − 1.
    dOut, dinit, grads = dHs, {}, {}
    for k in reversed(range(spec.num_layers)):
        dX_k = None
        for j, d in enumerate(spec.directions):
            idx = _index(spec, k, j)
            dHs_kd = None if dOut is None else _read(dOut[..., j * H:(j + 1) * H], d)
            dT = [None if s is None else s[idx] for s in dfinal]
            dX_kd, *d0, g = cell.backward.unchecked(
                dHs_kd, cache.cells[k][j], *dT, need_dX=need_dX or k > 0)
            dinit[idx] = d0
            grads |= {_key(k, d, name): value for name, value in g.items()}
            if dX_kd is not None:      # directions read the same input: gradients add
                dX_k = _read(dX_kd, d) if dX_k is None else dX_k + _read(dX_kd, d)
        dOut = dX_k
    dstate0 = tuple(np.stack(parts)
                    for parts in zip(*(dinit[i] for i in sorted(dinit))))
    return dOut, _pack_state(spec, dstate0), {n: grads[n] for n in params if n in grads}


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------

def _check_spec(spec) -> None:
    if not isinstance(spec, RecurrentSpec):
        raise TypeError(f"spec must be a RecurrentSpec; got {type(spec).__name__}")


def _key(k: int, d: str, name: str) -> str:
    return f"l{k}.{d}.{name}"


def _index(spec: RecurrentSpec, k: int, j: int) -> int:
    """Where layer k, direction j sits in the state's first axis (PyTorch's h_n)."""
    return k * spec.num_directions + j


def _read(A: np.ndarray, d: str) -> np.ndarray:
    """A time-major array in the order direction d reads it: bwd reads it reversed."""
    return A if d == "fwd" else A[::-1]


def _cell_params(spec: RecurrentSpec, params: dict, k: int, d: str) -> dict:
    """Layer k, direction d's parameters under their math names (prefix stripped)."""
    return {n: params[_key(k, d, n)] for n in spec.cell_param_names()}


def _check_params(spec: RecurrentSpec, params) -> np.dtype:
    """Every layer-direction's parameters present, shaped as the spec says, one dtype;
    return that dtype."""
    if not isinstance(params, dict):
        raise TypeError(f"params must be a dict name -> array; "
                        f"got {type(params).__name__}")
    names = spec.cell_param_names()
    dtypes = set()
    for k in range(spec.num_layers):
        for d in spec.directions:
            missing = [_key(k, d, n) for n in names if _key(k, d, n) not in params]
            if missing:
                raise ValueError(f"params are missing {missing} (spec: {spec})")
            p = _cell_params(spec, params, k, d)
            D, H, dtype = check_params(p, names, f"{spec.kind.upper()} l{k}.{d}")
            expected = (spec.layer_input_size(k), spec.hidden_size)
            if (D, H) != expected:
                raise ValueError(
                    f"parameters l{k}.{d}.* have input size {D} and hidden size {H}, "
                    f"but the spec says {expected[0]} and {expected[1]} "
                    f"(input_size for layer 0, num_directions*hidden_size above it)")
            dtypes.add(dtype)
    if len(dtypes) > 1:
        raise TypeError(f"all parameters must share one dtype; "
                        f"got {sorted(map(str, dtypes))}")
    return dtypes.pop()


def _unpack_state(
    spec: RecurrentSpec, state, B: int, dtype, name: str, check_finite: bool = True
) -> tuple:
    """state (array, or (H, C) for lstm, or None) → a tuple of (L·dirs, B, H) arrays or
    Nones, checked."""
    n = _CELLS[spec.kind].states
    if state is None:
        return (None,) * n
    if n == 2:
        if not isinstance(state, tuple) or len(state) != 2:
            raise TypeError(f"{name} of an LSTM must be a tuple (H, C) of two arrays; "
                            f"got {type(state).__name__}")
        parts = state
        labels = (f"{name} H", f"{name} C")
    else:
        parts = (state,)
        labels = (name,)
    expected = (spec.num_layers * spec.num_directions, B, spec.hidden_size)
    for S, label in zip(parts, labels):
        if S is None:
            continue
        if not isinstance(S, np.ndarray):
            raise TypeError(f"{label} must be a numpy array of shape "
                            f"(num_layers*num_directions, B, H) = {expected}; "
                            f"got {type(S).__name__}")
        if S.shape != expected:
            raise ValueError(f"{label} must have shape "
                             f"(num_layers*num_directions, B, H) = {expected}; "
                             f"got {S.shape}")
        if S.dtype != dtype:
            raise TypeError(f"{label} has dtype {S.dtype} but the parameters have "
                            f"dtype {dtype}; "
                            f"convert one of them explicitly (no silent casts)")
        if check_finite and not np.isfinite(S).all():
            raise ValueError(f"{label} contains NaN or infinity; "
                             f"expected finite values")
    return tuple(parts)


def _pack_state(spec: RecurrentSpec, parts: tuple):
    """Inverse of ``_unpack_state``: the array for rnn/gru, the tuple (H, C) for
    lstm."""
    return parts if len(parts) == 2 else parts[0]
