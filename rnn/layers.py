"""One interface for every recurrent layer the book uses: RNN, GRU or LSTM, stacked, uni- or bidirectional.

A ``RecurrentSpec`` says what to build; ``init_recurrent`` draws its parameters; ``recurrent_forward`` and
``recurrent_backward`` run it on a time-major X (T, B, D) by calling the per-kind sequence functions
(``rnn_forward``/``gru_forward``/``lstm_forward`` and their backward passes) once per layer and direction.

- Parameter keys are ``f"l{k}.{d}.{name}"``: layer k = 0, 1, …, direction d = "fwd" or "bwd" (bwd only when
  bidirectional), name one of the cell's math names, e.g. "l0.fwd.W_xh", "l1.bwd.b_z". Layer k > 0 reads the
  output of layer k − 1, so its input size is H·num_directions.
- The state (initial ``state0`` or final ``state``) follows PyTorch's h_n layout: an array of shape
  (num_layers·num_directions, B, H) whose index layer·num_directions + direction holds that layer and
  direction's state; for an LSTM a tuple (H_n, C_n) of two such arrays. The bwd direction's final state is
  the one after it has read the sequence backwards, i.e. at t = 1.
- Bidirectional: the bwd direction runs on X[::-1], its outputs are reversed back and concatenated after the
  fwd ones, so the output at t is [H→_t, H←_t] and Hs has shape (T, B, num_directions·H).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from rnn._common import check_sequence
from rnn.gru import gru_backward, gru_forward, gru_param_names, init_gru_params
from rnn.lstm import LSTM_PARAM_NAMES, init_lstm_params, lstm_backward, lstm_forward
from rnn.rnn_layer import NONLINEARITIES, RNN_PARAM_NAMES, init_rnn_params, rnn_backward, rnn_forward

KINDS = ("rnn", "gru", "lstm")
DIRECTIONS = ("fwd", "bwd")


@dataclass(frozen=True)
class RecurrentSpec:
    """What recurrent layer to build. Checked on construction (ValueError naming the bad field)."""

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
                raise ValueError(f"{field} must be True or False; got {getattr(self, field)!r}")
        if self.nonlinearity not in NONLINEARITIES:
            raise ValueError(f"nonlinearity must be one of {NONLINEARITIES}; got {self.nonlinearity!r}")
        if self.kind != "rnn" and self.nonlinearity != "tanh":
            raise ValueError(f"nonlinearity applies to kind 'rnn' only; got nonlinearity={self.nonlinearity!r} "
                             f"with kind={self.kind!r}")
        if self.kind != "gru" and self.reset_after:
            raise ValueError(f"reset_after applies to kind 'gru' only; got reset_after=True with kind={self.kind!r}")

    @property
    def num_directions(self) -> int:
        """2 if bidirectional else 1."""
        return 2 if self.bidirectional else 1

    @property
    def directions(self) -> tuple[str, ...]:
        """("fwd",) or ("fwd", "bwd")."""
        return DIRECTIONS[: self.num_directions]

    def layer_input_size(self, k: int) -> int:
        """Input size of layer k: input_size for k = 0, hidden_size·num_directions above it."""
        return self.input_size if k == 0 else self.hidden_size * self.num_directions

    def cell_param_names(self) -> tuple[str, ...]:
        """The math names of one layer-direction's parameters, e.g. ("W_xh", "W_hh", "b_h") for an RNN."""
        if self.kind == "rnn":
            return RNN_PARAM_NAMES
        if self.kind == "gru":
            return gru_param_names(self.reset_after)
        return LSTM_PARAM_NAMES


def spec_to_dict(spec: RecurrentSpec) -> dict[str, Any]:
    """The spec as a plain dict of str/int/bool (for checkpoints and JSON)."""
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in dataclasses.asdict(spec).items()}


def spec_from_dict(d: dict[str, Any]) -> RecurrentSpec:
    """Inverse of ``spec_to_dict``; unknown or missing fields raise ValueError."""
    fields = [f.name for f in dataclasses.fields(RecurrentSpec)]
    unknown = sorted(set(d) - set(fields))
    if unknown:
        raise ValueError(f"unknown RecurrentSpec fields {unknown}; expected a subset of {fields}")
    missing = [f for f in ("kind", "input_size", "hidden_size") if f not in d]
    if missing:
        raise ValueError(f"RecurrentSpec needs the fields {missing}")
    return RecurrentSpec(**d)


def param_count(params: dict[str, np.ndarray]) -> int:
    """Total number of scalars in a parameter dict."""
    return int(sum(p.size for p in params.values()))


def init_recurrent(spec: RecurrentSpec, rng: np.random.Generator, dtype=np.float32) -> dict[str, np.ndarray]:
    """Parameters for every layer and direction, keys ``f"l{k}.{d}.{name}"``, each drawn from U(−1/√H, 1/√H).

    Drawn layer by layer, fwd before bwd, with the per-kind initialiser (``init_rnn_params`` etc.).
    """
    _check_spec(spec)
    params = {}
    for k in range(spec.num_layers):
        for d in spec.directions:
            D_k, H = spec.layer_input_size(k), spec.hidden_size
            if spec.kind == "rnn":
                cell = init_rnn_params(D_k, H, rng, dtype)
            elif spec.kind == "gru":
                cell = init_gru_params(D_k, H, rng, dtype, reset_after=spec.reset_after)
            else:
                cell = init_lstm_params(D_k, H, rng, dtype)
            params |= {f"l{k}.{d}.{name}": value for name, value in cell.items()}
    return params


# ---------------------------------------------------------------------------------------------
# Forward and backward
# ---------------------------------------------------------------------------------------------

class RecurrentCache(NamedTuple):
    """What ``recurrent_backward`` needs. ``cells[k][j]`` is the per-kind cache (RNNCache, GRUCache or LSTMCache)
    of layer k, direction j (0 = fwd, 1 = bwd); a bwd cache is in reversed time (its step 0 is t = T)."""

    spec: RecurrentSpec
    cells: tuple[tuple[Any, ...], ...]


def recurrent_forward(
    spec: RecurrentSpec, params: dict[str, np.ndarray], X: np.ndarray, state0=None
) -> tuple[np.ndarray, Any, RecurrentCache]:
    """Run the stacked (bi)directional layer of ``spec`` over X.

    X: (T, B, input_size) time-major; state0: None (zeros), or for rnn/gru an array
    (num_layers·num_directions, B, H), for lstm a tuple (H0, C0) of two such arrays.
    Returns Hs (T, B, num_directions·H), the last layer's outputs; state, the final state of every layer and
    direction in state0's layout; and the cache for ``recurrent_backward``.
    """
    _check_spec(spec)
    dtype = _cell_params(spec, params, 0, "fwd")[spec.cell_param_names()[0]].dtype
    T, B = check_sequence(X, spec.input_size, dtype, spec.kind.upper())
    init = _unpack_state(spec, state0, B, dtype, "state0")   # tuple of (L·dirs, B, H) arrays or Nones

    inp = X
    cells, finals = [], []
    for k in range(spec.num_layers):
        outs, layer_cells = [], []
        for j, d in enumerate(spec.directions):
            idx = k * spec.num_directions + j
            p = _cell_params(spec, params, k, d)
            X_kd = inp if d == "fwd" else inp[::-1]
            s0 = tuple(None if s is None else s[idx] for s in init)
            Hs_kd, final, cell = _cell_forward(spec, p, X_kd, s0)
            outs.append(Hs_kd if d == "fwd" else Hs_kd[::-1])
            layer_cells.append(cell)
            finals.append(final)
        inp = outs[0] if len(outs) == 1 else np.concatenate(outs, axis=-1)
        cells.append(tuple(layer_cells))
    state = tuple(np.stack([f[i] for f in finals]) for i in range(len(finals[0])))
    return inp, _pack_state(spec, state), RecurrentCache(spec, tuple(cells))


def recurrent_backward(
    spec: RecurrentSpec, params: dict[str, np.ndarray], dHs: np.ndarray | None, dstate, cache: RecurrentCache,
    *, need_dX: bool = True,
) -> tuple[np.ndarray | None, Any, dict[str, np.ndarray]]:
    """Backpropagation through time (and through the layers) for ``recurrent_forward``.

    dHs: (T, B, num_directions·H), ∂L/∂Hs (None for zeros); dstate: ∂L/∂state in the layout of the state
    returned by the forward (None, or for lstm a tuple whose entries may be None, for zeros);
    params: the dict given to the forward; cache: its cache.
    Returns dX (T, B, input_size), dstate0 (∂L/∂state0, in the state layout, also when state0 was None:
    then it is the gradient with respect to the zero initial state) and grads with the keys of the layer's params.
    need_dX=False skips the input gradient of the first layer and returns None for dX (a model whose input
    is one-hot has no use for it); the layers above still pass their gradients down.
    """
    _check_spec(spec)
    if cache.spec != spec:
        raise ValueError(f"the cache was made by {cache.spec}, not by {spec}")
    first = cache.cells[0][0]
    T, B, _ = first.X.shape
    H, L, dirs = spec.hidden_size, spec.num_layers, spec.num_directions
    dtype = first.Hs.dtype
    if dHs is not None:
        expected = (T, B, dirs * H)
        if not isinstance(dHs, np.ndarray) or dHs.shape != expected:
            raise ValueError(f"dHs must have shape (T, B, num_directions*H) = {expected}; got {np.shape(dHs)}")
        if dHs.dtype != dtype:
            raise TypeError(f"dHs has dtype {dHs.dtype} but the layer computes in {dtype}")
    dfinal = _unpack_state(spec, dstate, B, dtype, "dstate", check_finite=False)

    dOut = dHs                                   # ∂L/∂(output of layer k), (T, B, dirs·H) or None
    dinit = [[None] * (L * dirs) for _ in dfinal]
    grads = {}
    for k in reversed(range(L)):
        dX_k = None
        for j, d in enumerate(spec.directions):
            idx = k * dirs + j
            dHs_kd = None if dOut is None else dOut[..., j * H:(j + 1) * H]
            if dHs_kd is not None and d == "bwd":
                dHs_kd = dHs_kd[::-1]
            dT = tuple(None if s is None else s[idx] for s in dfinal)
            dX_kd, d0, g = _cell_backward(spec, dHs_kd, cache.cells[k][j], dT, need_dX or k > 0)
            if dX_kd is not None:
                if d == "bwd":
                    dX_kd = dX_kd[::-1]
                dX_k = dX_kd if dX_k is None else dX_k + dX_kd
            for i, d0_i in enumerate(d0):
                dinit[i][idx] = d0_i
            grads |= {_key(spec, k, d, name): value for name, value in g.items()}
        dOut = dX_k
    dstate0 = _pack_state(spec, tuple(np.stack(s) for s in dinit))
    return dOut, dstate0, {n: grads[n] for n in params if n in grads}


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------

def _check_spec(spec) -> None:
    if not isinstance(spec, RecurrentSpec):
        raise TypeError(f"spec must be a RecurrentSpec; got {type(spec).__name__}")


def _key(spec: RecurrentSpec, k: int, d: str, name: str) -> str:
    return f"l{k}.{d}.{name}"


def _cell_params(spec: RecurrentSpec, params: dict, k: int, d: str) -> dict[str, np.ndarray]:
    """Layer k, direction d's parameters under their math names (prefix stripped)."""
    if not isinstance(params, dict):
        raise TypeError(f"params must be a dict name -> array; got {type(params).__name__}")
    names = spec.cell_param_names()
    missing = [_key(spec, k, d, n) for n in names if _key(spec, k, d, n) not in params]
    if missing:
        raise ValueError(f"params are missing {missing} (spec: {spec})")
    return {n: params[_key(spec, k, d, n)] for n in names}


def _cell_forward(spec: RecurrentSpec, p: dict, X: np.ndarray, s0: tuple) -> tuple[np.ndarray, tuple, Any]:
    """One layer-direction forward. s0: (H0,) or (H0, C0), entries may be None. Returns Hs, final state, cache."""
    if spec.kind == "rnn":
        Hs, cache = rnn_forward(X, s0[0], p, spec.nonlinearity)
        return Hs, (Hs[-1],), cache
    if spec.kind == "gru":
        Hs, cache = gru_forward(X, s0[0], p, spec.reset_after)
        return Hs, (Hs[-1],), cache
    Hs, C_T, cache = lstm_forward(X, s0[0], s0[1], p)
    return Hs, (Hs[-1], C_T), cache


def _cell_backward(spec: RecurrentSpec, dHs, cache, dT: tuple, need_dX: bool = True) -> tuple[np.ndarray | None, tuple, dict]:
    """One layer-direction backward. dT: (dH_T,) or (dH_T, dC_T), entries may be None. Returns dX, d(state0), grads."""
    if spec.kind == "rnn":
        dX, dH0, grads = rnn_backward(dHs, cache, dT[0], need_dX=need_dX)
        return dX, (dH0,), grads
    if spec.kind == "gru":
        dX, dH0, grads = gru_backward(dHs, cache, dT[0], need_dX=need_dX)
        return dX, (dH0,), grads
    dX, dH0, dC0, grads = lstm_backward(dHs, cache, dT[0], dT[1], need_dX=need_dX)
    return dX, (dH0, dC0), grads


def _unpack_state(spec: RecurrentSpec, state, B: int, dtype, name: str, check_finite: bool = True) -> tuple:
    """state (array, or (H, C) for lstm, or None) → a tuple of (L·dirs, B, H) arrays or Nones, checked."""
    n = 2 if spec.kind == "lstm" else 1
    if state is None:
        return (None,) * n
    if spec.kind == "lstm":
        if not isinstance(state, tuple) or len(state) != 2:
            raise TypeError(f"{name} of an LSTM must be a tuple (H, C) of two arrays; got {type(state).__name__}")
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
            raise TypeError(f"{label} must be a numpy array of shape (num_layers*num_directions, B, H) = {expected}; "
                            f"got {type(S).__name__}")
        if S.shape != expected:
            raise ValueError(f"{label} must have shape (num_layers*num_directions, B, H) = {expected}; got {S.shape}")
        if S.dtype != dtype:
            raise TypeError(f"{label} has dtype {S.dtype} but the parameters have dtype {dtype}; "
                            f"convert one of them explicitly (no silent casts)")
        if check_finite and not np.isfinite(S).all():
            raise ValueError(f"{label} contains NaN or infinity; expected finite values")
    return tuple(parts)


def _pack_state(spec: RecurrentSpec, parts: tuple):
    """Inverse of ``_unpack_state``: the array for rnn/gru, the tuple (H, C) for lstm."""
    return parts if spec.kind == "lstm" else parts[0]
