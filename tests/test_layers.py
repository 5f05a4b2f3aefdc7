"""Tests for rnn.layers: the generic stacked, (bi)directional recurrent layer over the
three cells."""

import dataclasses
import inspect

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rnn._common
from rnn.functional import softmax_cross_entropy
from rnn.gru import gru_backward, gru_forward, gru_step_forward
from rnn.layers import (
    RecurrentCache,
    RecurrentSpec,
    init_recurrent,
    param_count,
    recurrent_backward,
    recurrent_forward,
    spec_from_dict,
    spec_to_dict,
)
from rnn.lstm import lstm_backward, lstm_forward, lstm_step_forward
from rnn.rnn_layer import rnn_backward, rnn_forward, rnn_step_forward

from gradient_helpers import assert_gradients

CELLS = [
    {"kind": "rnn"},
    {"kind": "rnn", "nonlinearity": "relu"},
    {"kind": "gru"},
    {"kind": "gru", "reset_after": True},
    {"kind": "lstm"},
]
CELL_IDS = ["rnn-tanh", "rnn-relu", "gru", "gru-reset-after", "lstm"]


def state_parts(spec, state):
    """The state as a tuple of arrays: (H,) for rnn/gru, (H, C) for lstm."""
    return state if spec.kind == "lstm" else (state,)


def make_state(spec, rng, B, dtype=np.float64):
    shape = (spec.num_layers * spec.num_directions, B, spec.hidden_size)
    parts = tuple(
        rng.standard_normal(shape).astype(dtype)
        for _ in range(2 if spec.kind == "lstm" else 1)
    )
    return parts if spec.kind == "lstm" else parts[0]


def cell_run(spec, p, X, s0):
    """Run one layer-direction with the per-kind sequence function; returns (Hs, final
    state parts)."""
    if spec.kind == "rnn":
        Hs, _ = rnn_forward(X, s0[0], p, spec.nonlinearity)
        return Hs, (Hs[-1],)
    if spec.kind == "gru":
        Hs, _ = gru_forward(X, s0[0], p, spec.reset_after)
        return Hs, (Hs[-1],)
    Hs, C_T, _ = lstm_forward(X, s0[0], s0[1], p)
    return Hs, (Hs[-1], C_T)


def sub_params(params, k, d):
    prefix = f"l{k}.{d}."
    return {key[len(prefix):]: v for key, v in params.items() if key.startswith(prefix)}


# --------------------------------------------------------------------------------------
# Gradient checks of the whole layer with a masked cross-entropy loss on top (float64)
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "with_state0", [False, True], ids=["zero-state", "given-state"]
)
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
@pytest.mark.parametrize("cell", CELLS, ids=CELL_IDS)
def test_layer_gradients(cell, bidirectional, num_layers, with_state0):
    """L = masked CE(Hs W_hq) + Σ state ⊙ G (dstate nonzero); checks dX, dstate0 and
    every parameter."""
    spec = RecurrentSpec(
        input_size=2,
        hidden_size=2,
        num_layers=num_layers,
        bidirectional=bidirectional,
        **cell,
    )
    T, B, Q = 3, 2, 3
    rng = np.random.default_rng(0)
    params = init_recurrent(spec, rng, np.float64)
    X = rng.standard_normal((T, B, 2))
    state0 = make_state(spec, rng, B) if with_state0 else None
    G = make_state(spec, rng, B)  # weights of the loss on the final state
    W_hq = rng.standard_normal((spec.num_directions * 2, Q))
    y = rng.integers(0, Q, size=(T, B))
    mask = np.array([[1, 1], [0, 1], [1, 0]], dtype=bool)

    def loss():
        Hs, state, _ = recurrent_forward(spec, params, X, state0)
        ce, _ = softmax_cross_entropy(Hs @ W_hq, y, mask)
        return ce + sum(
            float((s * g).sum())
            for s, g in zip(state_parts(spec, state), state_parts(spec, G))
        )

    Hs, state, cache = recurrent_forward(spec, params, X, state0)
    _, dO = softmax_cross_entropy(Hs @ W_hq, y, mask)
    dX, dstate0, grads = recurrent_backward(spec, params, dO @ W_hq.T, G, cache)
    assert list(grads) == list(params)
    arrays, analytic = {"X": X, **params}, {"X": dX, **grads}
    if with_state0:
        for i, (s, ds) in enumerate(
            zip(state_parts(spec, state0), state_parts(spec, dstate0))
        ):
            arrays[f"state0[{i}]"], analytic[f"state0[{i}]"] = s, ds
    assert_gradients(loss, arrays, analytic)


@pytest.mark.parametrize("cell", CELLS[::2], ids=CELL_IDS[::2])
def test_layer_gradients_T1_B1(cell):
    spec = RecurrentSpec(
        input_size=3, hidden_size=3, num_layers=2, bidirectional=True, **cell
    )
    rng = np.random.default_rng(1)
    params = init_recurrent(spec, rng, np.float64)
    X = rng.standard_normal((1, 1, 3))
    state0, G = make_state(spec, rng, 1), make_state(spec, rng, 1)
    W = rng.standard_normal((1, 1, 6))

    def loss():
        Hs, state, _ = recurrent_forward(spec, params, X, state0)
        return float((Hs * W).sum()) + sum(
            float((s * g).sum())
            for s, g in zip(state_parts(spec, state), state_parts(spec, G))
        )

    _, _, cache = recurrent_forward(spec, params, X, state0)
    dX, dstate0, grads = recurrent_backward(spec, params, W, G, cache)
    arrays, analytic = {"X": X, **params}, {"X": dX, **grads}
    for i, (s, ds) in enumerate(
        zip(state_parts(spec, state0), state_parts(spec, dstate0))
    ):
        arrays[f"state0[{i}]"], analytic[f"state0[{i}]"] = s, ds
    assert_gradients(loss, arrays, analytic)


# --------------------------------------------------------------------------------------
# The layer is the per-kind functions, composed as documented
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("cell", CELLS, ids=CELL_IDS)
def test_layer_is_the_cells_composed(cell):
    """fwd runs on X, bwd on X[::-1] (reversed back), layer 1 reads [fwd, bwd]; state
    index = layer·2 + direction."""
    spec = RecurrentSpec(
        input_size=3, hidden_size=2, num_layers=2, bidirectional=True, **cell
    )
    rng = np.random.default_rng(2)
    params = init_recurrent(spec, rng, np.float64)
    X = rng.standard_normal((4, 3, 3))
    state0 = make_state(spec, rng, 3)
    Hs, state, _ = recurrent_forward(spec, params, X, state0)

    inp, finals = X, []
    for k in range(2):
        outs = []
        for j, d in enumerate(("fwd", "bwd")):
            s0 = tuple(s[2 * k + j] for s in state_parts(spec, state0))
            X_kd = inp if d == "fwd" else inp[::-1]
            Hs_kd, final = cell_run(spec, sub_params(params, k, d), X_kd, s0)
            outs.append(Hs_kd if d == "fwd" else Hs_kd[::-1])
            finals.append(final)
        inp = np.concatenate(outs, axis=-1)
    np.testing.assert_array_equal(Hs, inp)
    for i, part in enumerate(state_parts(spec, state)):
        np.testing.assert_array_equal(part, np.stack([f[i] for f in finals]))
    # the bwd direction's final state is its output at t = 1
    np.testing.assert_array_equal(state_parts(spec, state)[0][3], Hs[0, :, 2:])


def test_one_layer_unidirectional_is_exactly_the_cell():
    spec = RecurrentSpec("lstm", 3, 4)
    rng = np.random.default_rng(3)
    params = init_recurrent(spec, rng)
    assert sorted(params) == sorted(f"l0.fwd.{n}" for n in sub_params(params, 0, "fwd"))
    X = rng.standard_normal((5, 2, 3)).astype(np.float32)
    Hs, (H_n, C_n), cache = recurrent_forward(spec, params, X)
    Hs_cell, C_T, cell_cache = lstm_forward(X, None, None, sub_params(params, 0, "fwd"))
    np.testing.assert_array_equal(Hs, Hs_cell)
    np.testing.assert_array_equal(H_n, Hs_cell[-1][None])
    np.testing.assert_array_equal(C_n, C_T[None])
    assert isinstance(cache, RecurrentCache)
    np.testing.assert_array_equal(
        cache.cells[0][0].Cs, cell_cache.Cs
    )  # gates and cells reachable


def test_parameter_keys_and_layer_input_sizes():
    spec = RecurrentSpec(
        "gru",
        input_size=5,
        hidden_size=4,
        num_layers=2,
        bidirectional=True,
        reset_after=True,
    )
    params = init_recurrent(spec, np.random.default_rng(0))
    assert params["l0.fwd.W_xr"].shape == (5, 4)
    assert params["l1.bwd.W_xz"].shape == (8, 4)  # layer 1 reads [fwd, bwd] of layer 0
    assert params["l1.bwd.b_hh"].shape == (4,)
    assert len(params) == 2 * 2 * 10
    assert all(v.dtype == np.float32 for v in params.values())
    again = init_recurrent(spec, np.random.default_rng(0))
    assert all(np.array_equal(params[k], again[k]) for k in params)


def test_param_count_matches_the_formula():
    # per layer-direction: gates · (D_k·H + H·H + H); PyTorch would count one more bias
    # per gate.
    spec = RecurrentSpec(
        "lstm", input_size=10, hidden_size=20, num_layers=2, bidirectional=True
    )
    params = init_recurrent(spec, np.random.default_rng(0))
    expected = 2 * 4 * (10 * 20 + 20 * 20 + 20) + 2 * 4 * (40 * 20 + 20 * 20 + 20)
    assert param_count(params) == expected
    assert (
        param_count(
            init_recurrent(RecurrentSpec("rnn", 3, 5), np.random.default_rng(0))
        )
        == 3 * 5 + 25 + 5
    )


def test_dstate0_has_the_state_structure_even_without_state0():
    for cell in CELLS:
        spec = RecurrentSpec(input_size=2, hidden_size=3, num_layers=2, **cell)
        params = init_recurrent(spec, np.random.default_rng(0), np.float64)
        X = np.random.default_rng(1).standard_normal((3, 2, 2))
        Hs, state, cache = recurrent_forward(spec, params, X)
        dX, dstate0, _ = recurrent_backward(spec, params, np.ones_like(Hs), None, cache)
        assert type(dstate0) is type(state)
        for part, dpart in zip(state_parts(spec, state), state_parts(spec, dstate0)):
            assert part.shape == dpart.shape == (2, 2, 3)


def test_lstm_dstate_entries_may_be_none():
    spec = RecurrentSpec("lstm", 2, 3)
    params = init_recurrent(spec, np.random.default_rng(0), np.float64)
    X = np.random.default_rng(1).standard_normal((3, 2, 2))
    Hs, (H_n, C_n), cache = recurrent_forward(spec, params, X)
    G = np.random.default_rng(2).standard_normal(C_n.shape)
    a = recurrent_backward(spec, params, None, (None, G), cache)
    b = recurrent_backward(
        spec, params, np.zeros_like(Hs), (np.zeros_like(H_n), G), cache
    )
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[2]["l0.fwd.W_hf"], b[2]["l0.fwd.W_hf"])


# --------------------------------------------------------------------------------------
# Shapes and dtypes, property-based
# --------------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    T=st.integers(1, 4),
    B=st.integers(1, 3),
    D=st.integers(1, 3),
    H=st.integers(1, 3),
    cell=st.sampled_from(CELLS),
    num_layers=st.integers(1, 2),
    bidirectional=st.booleans(),
    dtype=st.sampled_from([np.float32, np.float64]),
    with_state0=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_shapes_and_dtypes(
    T, B, D, H, cell, num_layers, bidirectional, dtype, with_state0, seed
):
    spec = RecurrentSpec(
        input_size=D,
        hidden_size=H,
        num_layers=num_layers,
        bidirectional=bidirectional,
        **cell,
    )
    rng = np.random.default_rng(seed)
    params = init_recurrent(spec, rng, dtype)
    X = rng.standard_normal((T, B, D)).astype(dtype)
    state0 = make_state(spec, rng, B, dtype) if with_state0 else None
    Hs, state, cache = recurrent_forward(spec, params, X, state0)
    dirs = 2 if bidirectional else 1
    assert Hs.shape == (T, B, dirs * H) and Hs.dtype == dtype
    for part in state_parts(spec, state):
        assert part.shape == (num_layers * dirs, B, H) and part.dtype == dtype
    dX, dstate0, grads = recurrent_backward(
        spec, params, np.ones_like(Hs), state, cache
    )
    assert dX.shape == X.shape and dX.dtype == dtype
    for part in state_parts(spec, dstate0):
        assert part.shape == (num_layers * dirs, B, H) and part.dtype == dtype
    assert list(grads) == list(params)
    for k, g in grads.items():
        assert g.shape == params[k].shape and g.dtype == dtype, k


# --------------------------------------------------------------------------------------
# Spec and bad inputs
# --------------------------------------------------------------------------------------

def test_spec_validation():
    with pytest.raises(
        ValueError,
        match=r"kind must be one of \('rnn', 'gru', 'lstm'\); got 'transformer'",
    ):
        RecurrentSpec("transformer", 3, 4)
    with pytest.raises(ValueError, match=r"hidden_size must be an integer ≥ 1; got 0"):
        RecurrentSpec("rnn", 3, 0)
    with pytest.raises(ValueError, match=r"num_layers must be an integer ≥ 1; got 1.5"):
        RecurrentSpec("rnn", 3, 4, num_layers=1.5)
    with pytest.raises(
        ValueError, match=r"nonlinearity must be one of \('tanh', 'relu'\); got 'gelu'"
    ):
        RecurrentSpec("rnn", 3, 4, nonlinearity="gelu")
    with pytest.raises(ValueError, match=r"nonlinearity applies to kind 'rnn' only"):
        RecurrentSpec("lstm", 3, 4, nonlinearity="relu")
    with pytest.raises(ValueError, match=r"reset_after applies to kind 'gru' only"):
        RecurrentSpec("rnn", 3, 4, reset_after=True)
    with pytest.raises(
        ValueError, match=r"bidirectional must be True or False; got 'yes'"
    ):
        RecurrentSpec("gru", 3, 4, bidirectional="yes")
    with pytest.raises(TypeError, match=r"spec must be a RecurrentSpec; got dict"):
        init_recurrent({"kind": "rnn"}, np.random.default_rng(0))


def test_spec_dict_round_trip():
    spec = RecurrentSpec(
        "gru", 7, 16, num_layers=2, bidirectional=True, reset_after=True
    )
    d = spec_to_dict(spec)
    assert d == {
        "kind": "gru",
        "input_size": 7,
        "hidden_size": 16,
        "num_layers": 2,
        "bidirectional": True,
        "nonlinearity": "tanh",
        "reset_after": True,
    }
    assert spec_from_dict(d) == spec
    assert spec_from_dict(
        {"kind": "rnn", "input_size": 2, "hidden_size": 3}
    ) == RecurrentSpec("rnn", 2, 3)
    with pytest.raises(ValueError, match=r"unknown RecurrentSpec fields \['dropout'\]"):
        spec_from_dict({**d, "dropout": 0.1})
    with pytest.raises(
        ValueError, match=r"RecurrentSpec needs the fields \['hidden_size'\]"
    ):
        spec_from_dict({"kind": "rnn", "input_size": 2})


def test_bad_inputs_raise_with_the_expected_shape_or_type():
    spec = RecurrentSpec("gru", input_size=8, hidden_size=16, num_layers=2)
    params = init_recurrent(spec, np.random.default_rng(0))
    X = np.zeros((5, 4, 8), np.float32)
    with pytest.raises(
        ValueError, match=r"X must have shape \(T, B, D\) with D = 8; got \(5, 4, 7\)"
    ):
        recurrent_forward(spec, params, X[..., :7])
    with pytest.raises(
        ValueError, match=r"X must have shape \(T, B, D\) with D = 8; got \(5, 8\)"
    ):
        recurrent_forward(spec, params, X[:, 0])
    with pytest.raises(ValueError, match=r"T ≥ 1; got \(0, 4, 8\)"):
        recurrent_forward(spec, params, X[:0])
    with pytest.raises(
        TypeError,
        match=r"X has dtype float64 but the GRU parameters have dtype float32",
    ):
        recurrent_forward(spec, params, X.astype(np.float64))
    X_nan = X.copy()
    X_nan[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match=r"X contains NaN or infinity"):
        recurrent_forward(spec, params, X_nan)
    with pytest.raises(
        ValueError,
        match=r"state0 must have shape \(num_layers\*num_directions, B, H\) = "
        r"\(2, 4, 16\); got \(2, 3, 16\)",
    ):
        recurrent_forward(spec, params, X, np.zeros((2, 3, 16), np.float32))
    with pytest.raises(
        TypeError,
        match=r"state0 has dtype float64 but the parameters have dtype float32",
    ):
        recurrent_forward(spec, params, X, np.zeros((2, 4, 16)))
    with pytest.raises(ValueError, match=r"params are missing \['l1.fwd.b_h'\]"):
        recurrent_forward(
            spec, {k: v for k, v in params.items() if k != "l1.fwd.b_h"}, X
        )
    Hs, state, cache = recurrent_forward(spec, params, X)
    with pytest.raises(
        ValueError,
        match=r"dHs must have shape \(T, B, num_directions\*H\) = \(5, 4, 16\)",
    ):
        recurrent_backward(spec, params, Hs[..., :8], None, cache)
    with pytest.raises(
        ValueError,
        match=r"dstate must have shape \(num_layers\*num_directions, B, H\) = "
        r"\(2, 4, 16\); got \(1, 4, 16\)",
    ):
        recurrent_backward(spec, params, Hs, state[:1], cache)
    other = RecurrentSpec("gru", input_size=8, hidden_size=16, num_layers=1)
    with pytest.raises(ValueError, match=r"the cache was made by"):
        recurrent_backward(other, params, Hs, None, cache)


def test_bad_lstm_state():
    spec = RecurrentSpec(
        "lstm", input_size=3, hidden_size=4, num_layers=1, bidirectional=True
    )
    params = init_recurrent(spec, np.random.default_rng(0))
    X = np.zeros((2, 5, 3), np.float32)
    with pytest.raises(
        TypeError,
        match=r"state0 of an LSTM must be a tuple \(H, C\) of two arrays; got ndarray",
    ):
        recurrent_forward(spec, params, X, np.zeros((2, 5, 4), np.float32))
    with pytest.raises(
        ValueError,
        match=r"state0 C must have shape \(num_layers\*num_directions, B, H\) = "
        r"\(2, 5, 4\); got \(1, 5, 4\)",
    ):
        recurrent_forward(
            spec,
            params,
            X,
            (np.zeros((2, 5, 4), np.float32), np.zeros((1, 5, 4), np.float32)),
        )


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
@pytest.mark.parametrize("bidirectional, num_layers", [(False, 1), (True, 2)])
def test_need_dX_false_skips_only_the_input_gradient(kind, bidirectional, num_layers):
    spec = RecurrentSpec(kind, 3, 4, num_layers=num_layers, bidirectional=bidirectional)
    rng = np.random.default_rng(0)
    params = init_recurrent(spec, rng, np.float64)
    X = rng.standard_normal((5, 2, 3))
    Hs, _, cache = recurrent_forward(spec, params, X)
    dHs = rng.standard_normal(Hs.shape)
    dX, d0, grads = recurrent_backward(spec, params, dHs, None, cache)
    none, d0_skip, grads_skip = recurrent_backward(
        spec, params, dHs, None, cache, need_dX=False
    )
    assert dX is not None and none is None
    for name in grads:
        np.testing.assert_array_equal(grads_skip[name], grads[name])
    for a, b in zip(
        d0 if isinstance(d0, tuple) else (d0,),
        d0_skip if isinstance(d0_skip, tuple) else (d0_skip,),
    ):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("field, value, says", [
    ("hidden_size", 5, "8 and 5"),
    ("input_size", 7, "7 and 4"),
])
def test_params_that_disagree_with_the_spec_raise(field, value, says):
    spec = RecurrentSpec("gru", input_size=8, hidden_size=4, num_layers=2)
    params = init_recurrent(spec, np.random.default_rng(0))
    other = dataclasses.replace(spec, **{field: value})
    X = np.zeros((3, 2, other.input_size), np.float32)
    expected = (r"parameters l0\.fwd\.\* have input size 8 and hidden size 4, "
                rf"but the spec says {says}")
    with pytest.raises(ValueError, match=expected):
        recurrent_forward(other, params, X)


def test_layers_must_share_one_dtype():
    spec = RecurrentSpec("rnn", input_size=3, hidden_size=4, num_layers=2)
    params = init_recurrent(spec, np.random.default_rng(0))
    params |= {k: v.astype(np.float64)
               for k, v in params.items() if k.startswith("l1.")}
    with pytest.raises(TypeError, match=r"all parameters must share one dtype"):
        recurrent_forward(spec, params, np.zeros((2, 1, 3), np.float32))


# --------------------------------------------------------------------------------------
# Checks at the boundary: once per call, not once per step
# --------------------------------------------------------------------------------------

SEQUENCES = {
    "rnn": lambda X, p: rnn_forward(X, None, p),
    "gru": lambda X, p: gru_forward(X, None, p),
    "lstm": lambda X, p: lstm_forward(X, None, None, p),
}


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_inputs_are_checked_once_not_at_every_step(kind, monkeypatch):
    spec = RecurrentSpec(kind, input_size=3, hidden_size=4, num_layers=3)
    params = init_recurrent(spec, np.random.default_rng(0), np.float64)
    calls = []
    real = rnn._common._check_finite
    monkeypatch.setattr(rnn._common, "_check_finite",
                        lambda A, name: calls.append(name) or real(A, name))
    for T in (1, 9):
        calls.clear()
        X = np.ones((T, 2, 3))
        recurrent_forward(spec, params, X)
        assert calls == ["X"]                  # once, whatever T and num_layers
        calls.clear()
        SEQUENCES[kind](X, sub_params(params, 0, "fwd"))
        assert calls == ["X"]


@pytest.mark.parametrize("step, math_line", [
    (gru_step_forward, 'R = sigmoid(X_t @ p["W_xr"] + H_prev @ p["W_hr"] + p["b_r"])'),
    (lstm_step_forward, 'C_t = F * C_prev + I * C_tilde'),
])
def test_a_checked_step_shows_its_math(step, math_line):
    """Chapters 10 and 11 print the step functions' source next to the equations."""
    assert math_line in inspect.getsource(step)


@pytest.mark.parametrize("function", [
    rnn_step_forward, rnn_forward, rnn_backward, gru_step_forward, gru_forward,
    gru_backward, lstm_step_forward, lstm_forward, lstm_backward,
])
def test_a_checked_function_keeps_its_name_signature_and_docstring(function):
    body = function.unchecked
    assert inspect.signature(function) == inspect.signature(body)
    assert inspect.signature(function.check).parameters.keys() == \
        inspect.signature(body).parameters.keys()
    assert function.__name__ == body.__name__ and function.__doc__ == body.__doc__


@pytest.mark.parametrize("backward, cache_type", [
    (rnn_backward, "RNNCache"),
    (gru_backward, "GRUCache"),
    (lstm_backward, "LSTMCache"),
])
def test_a_backward_pass_takes_its_own_cache(backward, cache_type):
    with pytest.raises(TypeError, match=rf"cache must be the {cache_type} returned by"):
        backward(None, ("not", "a", "cache"))
