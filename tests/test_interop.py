"""Tests for rnn.interop: PyTorch and Keras layouts of parameters and gradients, of one
recurrent layer and of a whole language model, checked without either framework.

Two independent checks. (1) The gate orders are verified against small numpy
transcriptions of the equations in each framework's documentation (PyTorch's
nn.RNN/nn.GRU/nn.LSTM, Keras' SimpleRNNCell/GRUCell/LSTMCell), run on the framework's
own layout: if a block were in the wrong place, the forward passes would disagree. (2)
The reference files in book/data/interop/, written by PyTorch and Keras themselves
(scripts/write_interop_references.py, run in a separate environment), hold weights,
inputs, logits, losses and gradients of small language models in float64: rnn must
reproduce them to 1e-12. tests/test_torch_parity.py checks more against torch itself,
where it is installed.
"""
import itertools
import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnn.functional import sigmoid
from rnn.gradcheck import numerical_gradient
from rnn.interop import (
    from_keras_grads,
    from_keras_lm_grads,
    from_keras_lm_weights,
    from_keras_weights,
    from_torch_grads,
    from_torch_lm_grads,
    from_torch_lm_state_dict,
    from_torch_state_dict,
    to_keras_grads,
    to_keras_lm_grads,
    to_keras_lm_weights,
    to_keras_weights,
    to_torch_grads,
    to_torch_lm_grads,
    to_torch_lm_state_dict,
    to_torch_state_dict,
    torch_lm_param_names,
    torch_param_names,
)
from rnn.layers import (
    RecurrentSpec,
    init_recurrent,
    recurrent_backward,
    recurrent_forward,
)
from rnn.model import init_language_model, lm_forward, lm_loss_and_grads

CELLS = [
    {"kind": "rnn"},
    {"kind": "rnn", "nonlinearity": "relu"},
    {"kind": "gru", "reset_after": True},
    {"kind": "gru", "reset_after": False},
    {"kind": "lstm"},
]
CELL_IDS = ["rnn-tanh", "rnn-relu", "gru-reset-after", "gru-reset-before", "lstm"]
SHAPES = [(1, False), (1, True), (2, False), (2, True)]  # (num_layers, bidirectional)
SHAPE_IDS = ["1-layer", "bidirectional", "2-layer", "bidirectional-2-layer"]
D, H, T, B = 3, 4, 5, 2


def all_specs(torch_only=False):
    cells = [
        (c, i)
        for c, i in zip(CELLS, CELL_IDS)
        if not (torch_only and i == "gru-reset-before")
    ]
    return [
        pytest.param(
            RecurrentSpec(
                input_size=D, hidden_size=H, num_layers=L, bidirectional=bi, **c
            ),
            id=f"{i}-{s}",
        )
        for (c, i), ((L, bi), s) in itertools.product(cells, zip(SHAPES, SHAPE_IDS))
    ]


def gates_of(spec):
    return {"rnn": 1, "gru": 3, "lstm": 4}[spec.kind]


def random_state(spec, rng):
    """A random initial state in the layer's layout: (L·dirs, B, H), or (H0, C0) for an
    LSTM."""
    shape = (spec.num_layers * spec.num_directions, B, H)
    if spec.kind == "lstm":
        return rng.standard_normal(shape), rng.standard_normal(shape)
    return rng.standard_normal(shape)


def assert_same_params(p, q):
    assert list(p) == list(q)
    for k in p:
        assert p[k].dtype == q[k].dtype, k
        np.testing.assert_array_equal(p[k], q[k], err_msg=k)


# --------------------------------------------------------------------------------------
# PyTorch's equations (torch.nn.RNN / GRU / LSTM documentation), column vectors, numpy
# --------------------------------------------------------------------------------------

def torch_rnn_step_numpy(x, h, W_ih, W_hh, b_ih, b_hh, nonlinearity="tanh"):
    """h_t = φ(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh)."""
    a = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh
    return np.tanh(a) if nonlinearity == "tanh" else np.maximum(a, 0)


def torch_gru_step_numpy(x, h, W_ih, W_hh, b_ih, b_hh):
    """r = σ(W_ir x + b_ir + W_hr h + b_hr), z = σ(W_iz x + b_iz + W_hz h + b_hz),
    n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h' = (1 − z) ⊙ n + z ⊙ h;
    rows stacked r | z | n."""
    W_ir, W_iz, W_in = np.split(W_ih, 3)
    W_hr, W_hz, W_hn = np.split(W_hh, 3)
    b_ir, b_iz, b_in = np.split(b_ih, 3)
    b_hr, b_hz, b_hn = np.split(b_hh, 3)
    r = sigmoid(x @ W_ir.T + b_ir + h @ W_hr.T + b_hr)
    z = sigmoid(x @ W_iz.T + b_iz + h @ W_hz.T + b_hz)
    n = np.tanh(x @ W_in.T + b_in + r * (h @ W_hn.T + b_hn))
    return (1 - z) * n + z * h


def torch_lstm_step_numpy(x, h, c, W_ih, W_hh, b_ih, b_hh):
    """i, f, o = σ(W_i· x + b_i· + W_h· h + b_h·), g = tanh(…), c' = f ⊙ c + i ⊙ g,
    h' = o ⊙ tanh(c'); rows stacked i | f | g | o."""
    W_ii, W_if, W_ig, W_io = np.split(W_ih, 4)
    W_hi, W_hf, W_hg, W_ho = np.split(W_hh, 4)
    b_ii, b_if, b_ig, b_io = np.split(b_ih, 4)
    b_hi, b_hf, b_hg, b_ho = np.split(b_hh, 4)
    i = sigmoid(x @ W_ii.T + b_ii + h @ W_hi.T + b_hi)
    f = sigmoid(x @ W_if.T + b_if + h @ W_hf.T + b_hf)
    g = np.tanh(x @ W_ig.T + b_ig + h @ W_hg.T + b_hg)
    o = sigmoid(x @ W_io.T + b_io + h @ W_ho.T + b_ho)
    c = f * c + i * g
    return o * np.tanh(c), c


def stacked_forward_numpy(spec, X, state0, step_for):
    """Run a framework's documented step equations over a stack of (bidirectional)
    layers on X (T, B, D).

    step_for(k, j) returns step(x, h, c) -> (h, c) for layer k, direction j (0 forward,
    1 backward, which reads the steps in reverse and writes its outputs back in time
    order). Returns the output (T, B, dirs·H) and h_n (and c_n for an LSTM) in PyTorch's
    (layers·dirs, B, H) order, which is also Keras' weight order.
    """
    lstm = spec.kind == "lstm"
    h0, c0 = state0 if lstm else (state0, None)
    h_n, c_n = [], []
    inp = X
    for k in range(spec.num_layers):
        outs = []
        for j in range(spec.num_directions):
            idx = k * spec.num_directions + j
            step = step_for(k, j)
            h, c = h0[idx], (c0[idx] if lstm else None)
            out = [None] * len(X)
            for t in (range(len(X)) if j == 0 else reversed(range(len(X)))):
                h, c = step(inp[t], h, c)
                out[t] = h
            outs.append(np.stack(out))
            h_n.append(h)
            c_n.append(c)
        inp = np.concatenate(outs, axis=-1)
    return (inp, (np.stack(h_n), np.stack(c_n))) if lstm else (inp, np.stack(h_n))


def torch_forward_numpy(spec, sd, X, state0):
    """nn.RNN/GRU/LSTM(batch_first=False) on X (T, B, D): output (T, B, dirs·H) and h_n
    (, c_n)."""
    def step_for(k, j):
        suffix = ("", "_reverse")[j]
        w = [
            sd[f"{n}_l{k}{suffix}"]
            for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
        ]
        if spec.kind == "rnn":
            return lambda x, h, c: (
                torch_rnn_step_numpy(x, h, *w, spec.nonlinearity),
                None,
            )
        if spec.kind == "gru":
            return lambda x, h, c: (torch_gru_step_numpy(x, h, *w), None)
        return lambda x, h, c: torch_lstm_step_numpy(x, h, c, *w)
    return stacked_forward_numpy(spec, X, state0, step_for)


def random_torch_state_dict(spec, rng):
    """A state dict as nn.RNN/GRU/LSTM would hold it, with bias_ih and bias_hh both
    nonzero."""
    G = gates_of(spec)
    sd = {}
    for name in torch_param_names(spec):
        k = int(name.split("_l")[1].split("_")[0])
        cols = spec.layer_input_size(k) if name.startswith("weight_ih") else H
        shape = (G * H, cols) if name.startswith("weight") else (G * H,)
        sd[name] = rng.uniform(-0.7, 0.7, size=shape)
    return sd


# --------------------------------------------------------------------------------------
# Keras' equations (SimpleRNNCell / GRUCell / LSTMCell), row-vector weights, numpy
# --------------------------------------------------------------------------------------


def keras_simple_rnn_step_numpy(
    x, h, kernel, recurrent_kernel, bias, activation="tanh"
):
    """h' = activation(x @ kernel + bias + h @ recurrent_kernel)."""
    a = x @ kernel + bias + h @ recurrent_kernel
    return np.tanh(a) if activation == "tanh" else np.maximum(a, 0)


def keras_gru_step_numpy(x, h, kernel, recurrent_kernel, bias, reset_after):
    """Keras GRUCell: blocks z | r | h; reset_after: bias (2, 3H) = [input_bias,
    recurrent_bias] and hh = tanh(x_h + r ⊙ (h @ rk_h + b1_h)); otherwise bias (3H,) and
    hh = tanh(x_h + (r ⊙ h) @ rk_h).
    """
    n = h.shape[1]
    input_bias, recurrent_bias = (
        (bias[0], bias[1]) if reset_after else (bias, np.zeros_like(bias))
    )
    x_all = x @ kernel + input_bias
    x_z, x_r, x_h = x_all[:, :n], x_all[:, n:2 * n], x_all[:, 2 * n:]
    inner = h @ recurrent_kernel + recurrent_bias
    z = sigmoid(x_z + inner[:, :n])
    r = sigmoid(x_r + inner[:, n:2 * n])
    if reset_after:
        recurrent_h = r * inner[:, 2 * n:]
    else:
        recurrent_h = (r * h) @ recurrent_kernel[:, 2 * n:]
    hh = np.tanh(x_h + recurrent_h)
    return z * h + (1 - z) * hh


def keras_lstm_step_numpy(x, h, c, kernel, recurrent_kernel, bias):
    """Keras LSTMCell: z = x @ kernel + h @ recurrent_kernel + bias, blocks i | f | c |
    o; c' = f ⊙ c + i ⊙ tanh(z_c), h' = o ⊙ tanh(c')."""
    n = h.shape[1]
    z = x @ kernel + h @ recurrent_kernel + bias
    i, f, o = sigmoid(z[:, :n]), sigmoid(z[:, n:2 * n]), sigmoid(z[:, 3 * n:])
    c = f * c + i * np.tanh(z[:, 2 * n:3 * n])
    return o * np.tanh(c), c


def keras_forward_numpy(spec, weights, X, state0):
    """A stack of (Bidirectional) Keras layers with return_sequences=True on time-major
    X: the backward layer runs with go_backwards=True and its outputs are put back in
    time order before concatenation.
    """
    def step_for(k, j):
        idx = k * spec.num_directions + j
        w = weights[3 * idx: 3 * idx + 3]
        if spec.kind == "rnn":
            return lambda x, h, c: (
                keras_simple_rnn_step_numpy(x, h, *w, spec.nonlinearity),
                None,
            )
        if spec.kind == "gru":
            return lambda x, h, c: (
                keras_gru_step_numpy(x, h, *w, spec.reset_after),
                None,
            )
        return lambda x, h, c: keras_lstm_step_numpy(x, h, c, *w)
    return stacked_forward_numpy(spec, X, state0, step_for)


def random_keras_weights(spec, rng):
    """Weights as Keras layers would hold them, with a nonzero recurrent bias for a
    reset-after GRU."""
    G = gates_of(spec)
    weights = []
    for k in range(spec.num_layers):
        for _ in spec.directions:
            bias_shape = (
                (2, G * H) if spec.kind == "gru" and spec.reset_after else (G * H,)
            )
            weights += [
                rng.uniform(-0.7, 0.7, size=s)
                for s in ((spec.layer_input_size(k), G * H), (H, G * H), bias_shape)
            ]
    return weights


def assert_same_outputs(ours, theirs, spec):
    (Hs, state), (out, state_ref) = ours, theirs
    np.testing.assert_allclose(Hs, out, rtol=0, atol=1e-12)
    for a, b in zip(
        state if spec.kind == "lstm" else (state,),
        state_ref if spec.kind == "lstm" else (state_ref,),
    ):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


# --------------------------------------------------------------------------------------
# PyTorch layout
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("spec", all_specs(torch_only=True))
def test_torch_round_trip_is_exact(spec, dtype):
    params = init_recurrent(spec, np.random.default_rng(0), dtype)
    sd = to_torch_state_dict(spec, params)
    assert list(sd) == torch_param_names(spec)
    assert all(v.dtype == dtype and v.flags.c_contiguous for v in sd.values())
    assert_same_params(from_torch_state_dict(spec, sd), params)


@pytest.mark.parametrize("spec", all_specs(torch_only=True))
def test_torch_shapes(spec):
    sd = to_torch_state_dict(
        spec, init_recurrent(spec, np.random.default_rng(1), np.float64)
    )
    G = gates_of(spec)
    for k in range(spec.num_layers):
        for suffix in ("", "_reverse")[: spec.num_directions]:
            assert sd[f"weight_ih_l{k}{suffix}"].shape == (
                G * H,
                D if k == 0 else H * spec.num_directions,
            )
            assert sd[f"weight_hh_l{k}{suffix}"].shape == (G * H, H)
            assert sd[f"bias_ih_l{k}{suffix}"].shape == (G * H,)
            assert sd[f"bias_hh_l{k}{suffix}"].shape == (G * H,)
    names = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
    if spec.bidirectional:
        names += [n + "_reverse" for n in names]
    assert torch_param_names(spec)[: len(names)] == names


def test_torch_blocks_by_hand():
    """Spot checks of the documented layout: GRU rows r | z | n, LSTM rows i | f | g |
    o, biases."""
    rng = np.random.default_rng(2)
    spec = RecurrentSpec("gru", D, H, reset_after=True)
    p = init_recurrent(spec, rng, np.float64)
    sd = to_torch_state_dict(spec, p)
    np.testing.assert_array_equal(sd["weight_ih_l0"][H:2 * H], p["l0.fwd.W_xz"].T)
    np.testing.assert_array_equal(sd["weight_hh_l0"][2 * H:], p["l0.fwd.W_hh"].T)
    np.testing.assert_array_equal(
        sd["bias_ih_l0"],
        np.concatenate([p["l0.fwd.b_r"], p["l0.fwd.b_z"], p["l0.fwd.b_h"]]),
    )
    np.testing.assert_array_equal(
        sd["bias_hh_l0"], np.concatenate([np.zeros(2 * H), p["l0.fwd.b_hh"]])
    )
    spec = RecurrentSpec("lstm", D, H)
    p = init_recurrent(spec, rng, np.float64)
    sd = to_torch_state_dict(spec, p)
    np.testing.assert_array_equal(
        sd["weight_ih_l0"][2 * H : 3 * H], p["l0.fwd.W_xc"].T
    )  # g = our candidate c
    np.testing.assert_array_equal(sd["weight_hh_l0"][3 * H:], p["l0.fwd.W_ho"].T)
    np.testing.assert_array_equal(sd["bias_hh_l0"], np.zeros(4 * H))


def test_torch_biases_are_summed():
    rng = np.random.default_rng(3)
    spec = RecurrentSpec("gru", D, H, reset_after=True)
    sd = random_torch_state_dict(spec, rng)
    p = from_torch_state_dict(spec, sd)
    bi, bh = sd["bias_ih_l0"], sd["bias_hh_l0"]
    np.testing.assert_array_equal(p["l0.fwd.b_r"], bi[:H] + bh[:H])
    np.testing.assert_array_equal(p["l0.fwd.b_z"], bi[H:2 * H] + bh[H:2 * H])
    np.testing.assert_array_equal(p["l0.fwd.b_h"], bi[2 * H:])
    np.testing.assert_array_equal(p["l0.fwd.b_hh"], bh[2 * H:])
    spec = RecurrentSpec("rnn", D, H)
    sd = random_torch_state_dict(spec, rng)
    np.testing.assert_array_equal(
        from_torch_state_dict(spec, sd)["l0.fwd.b_h"],
        sd["bias_ih_l0"] + sd["bias_hh_l0"],
    )


@pytest.mark.parametrize("spec", all_specs(torch_only=True))
def test_from_torch_matches_torch_equations(spec):
    """A torch state dict with both biases nonzero, run by PyTorch's documented
    equations and by rnn."""
    rng = np.random.default_rng(4)
    sd = random_torch_state_dict(spec, rng)
    X = rng.standard_normal((T, B, D))
    state0 = random_state(spec, rng)
    Hs, state, _ = recurrent_forward(spec, from_torch_state_dict(spec, sd), X, state0)
    assert_same_outputs((Hs, state), torch_forward_numpy(spec, sd, X, state0), spec)


@pytest.mark.parametrize("spec", all_specs(torch_only=True))
def test_to_torch_matches_torch_equations(spec):
    rng = np.random.default_rng(5)
    params = init_recurrent(spec, rng, np.float64)
    X = rng.standard_normal((T, B, D))
    state0 = random_state(spec, rng)
    Hs, state, _ = recurrent_forward(spec, params, X, state0)
    assert_same_outputs(
        (Hs, state),
        torch_forward_numpy(spec, to_torch_state_dict(spec, params), X, state0),
        spec,
    )


def test_torch_state_dict_round_trip_keeps_the_function():
    """torch → rnn → torch moves the bias into bias_ih (the dict changes) but not the
    function it computes."""
    rng = np.random.default_rng(6)
    spec = RecurrentSpec("lstm", D, H, num_layers=2, bidirectional=True)
    sd = random_torch_state_dict(spec, rng)
    sd2 = to_torch_state_dict(spec, from_torch_state_dict(spec, sd))
    np.testing.assert_array_equal(
        sd2["weight_hh_l1_reverse"], sd["weight_hh_l1_reverse"]
    )
    np.testing.assert_allclose(
        sd2["bias_ih_l0"] + sd2["bias_hh_l0"],
        sd["bias_ih_l0"] + sd["bias_hh_l0"],
        rtol=1e-15,
    )
    X, state0 = rng.standard_normal((T, B, D)), random_state(spec, rng)
    assert_same_outputs(
        torch_forward_numpy(spec, sd2, X, state0),
        torch_forward_numpy(spec, sd, X, state0),
        spec,
    )


# --------------------------------------------------------------------------------------
# Keras layout
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("spec", all_specs())
def test_keras_round_trip_is_exact(spec, dtype):
    params = init_recurrent(spec, np.random.default_rng(7), dtype)
    weights = to_keras_weights(spec, params)
    assert all(w.dtype == dtype for w in weights)
    assert_same_params(from_keras_weights(spec, weights), params)


@pytest.mark.parametrize("spec", all_specs())
def test_keras_shapes(spec):
    weights = to_keras_weights(
        spec, init_recurrent(spec, np.random.default_rng(8), np.float64)
    )
    G = gates_of(spec)
    assert len(weights) == 3 * spec.num_layers * spec.num_directions
    for i, w in enumerate(weights):
        k = i // (3 * spec.num_directions)
        expected = [
            (D if k == 0 else H * spec.num_directions, G * H),
            (H, G * H),
            (2, G * H) if spec.kind == "gru" and spec.reset_after else (G * H,),
        ][i % 3]
        assert w.shape == expected, i


def test_keras_blocks_by_hand():
    """Spot checks: GRU blocks z | r | h (not PyTorch's r | z | n), LSTM i | f | c | o,
    GRU bias rows."""
    rng = np.random.default_rng(9)
    spec = RecurrentSpec("gru", D, H, reset_after=True)
    p = init_recurrent(spec, rng, np.float64)
    kernel, recurrent_kernel, bias = to_keras_weights(spec, p)
    np.testing.assert_array_equal(kernel[:, :H], p["l0.fwd.W_xz"])
    np.testing.assert_array_equal(recurrent_kernel[:, H:2 * H], p["l0.fwd.W_hr"])
    np.testing.assert_array_equal(
        bias[0], np.concatenate([p["l0.fwd.b_z"], p["l0.fwd.b_r"], p["l0.fwd.b_h"]])
    )
    np.testing.assert_array_equal(
        bias[1], np.concatenate([np.zeros(2 * H), p["l0.fwd.b_hh"]])
    )
    spec = RecurrentSpec("gru", D, H, reset_after=False)
    p = init_recurrent(spec, rng, np.float64)
    _, _, bias = to_keras_weights(spec, p)
    np.testing.assert_array_equal(
        bias, np.concatenate([p["l0.fwd.b_z"], p["l0.fwd.b_r"], p["l0.fwd.b_h"]])
    )
    spec = RecurrentSpec("lstm", D, H, bidirectional=True)
    p = init_recurrent(spec, rng, np.float64)
    weights = to_keras_weights(spec, p)
    np.testing.assert_array_equal(weights[0][:, 2 * H:3 * H], p["l0.fwd.W_xc"])
    np.testing.assert_array_equal(
        weights[4][:, 3 * H :], p["l0.bwd.W_ho"]
    )  # backward layer second
    spec = RecurrentSpec("rnn", D, H)
    p = init_recurrent(spec, rng, np.float64)
    for w, name in zip(to_keras_weights(spec, p), ("W_xh", "W_hh", "b_h")):
        np.testing.assert_array_equal(w, p[f"l0.fwd.{name}"])


@pytest.mark.parametrize("spec", all_specs())
def test_from_keras_matches_keras_equations(spec):
    rng = np.random.default_rng(10)
    weights = random_keras_weights(spec, rng)
    X = rng.standard_normal((T, B, D))
    state0 = random_state(spec, rng)
    Hs, state, _ = recurrent_forward(spec, from_keras_weights(spec, weights), X, state0)
    assert_same_outputs(
        (Hs, state), keras_forward_numpy(spec, weights, X, state0), spec
    )


@pytest.mark.parametrize("spec", all_specs())
def test_to_keras_matches_keras_equations(spec):
    rng = np.random.default_rng(11)
    params = init_recurrent(spec, rng, np.float64)
    X = rng.standard_normal((T, B, D))
    state0 = random_state(spec, rng)
    Hs, state, _ = recurrent_forward(spec, params, X, state0)
    assert_same_outputs(
        (Hs, state),
        keras_forward_numpy(spec, to_keras_weights(spec, params), X, state0),
        spec,
    )


@settings(max_examples=25, deadline=None)
@given(
    kind=st.sampled_from(["rnn", "gru-ra", "gru", "lstm"]),
    d=st.integers(1, 5),
    h=st.integers(1, 5),
    layers=st.integers(1, 3),
    bidirectional=st.booleans(),
    seed=st.integers(0, 2**16),
)
def test_round_trips_for_any_sizes(kind, d, h, layers, bidirectional, seed):
    spec = RecurrentSpec(
        kind.split("-")[0], d, h, layers, bidirectional, reset_after=kind == "gru-ra"
    )
    params = init_recurrent(spec, np.random.default_rng(seed), np.float64)
    assert_same_params(from_keras_weights(spec, to_keras_weights(spec, params)), params)
    if kind != "gru":
        assert_same_params(
            from_torch_state_dict(spec, to_torch_state_dict(spec, params)), params
        )


def test_extra_params_are_ignored():
    """A language model's dict (with W_hq, b_q, E) converts: only the recurrent keys are
    read."""
    spec = RecurrentSpec("rnn", D, H)
    params = init_recurrent(spec, np.random.default_rng(12), np.float64)
    sd = to_torch_state_dict(
        spec, params | {"W_hq": np.zeros((H, 7)), "b_q": np.zeros(7)}
    )
    assert list(sd) == torch_param_names(spec)
    assert len(to_keras_weights(spec, params | {"E": np.zeros((7, D))})) == 3


def test_conversions_copy():
    spec = RecurrentSpec("lstm", D, H)
    params = init_recurrent(spec, np.random.default_rng(13), np.float64)
    sd = to_torch_state_dict(spec, params)
    back = from_torch_state_dict(spec, sd)
    for v in sd.values():
        v[...] = 0
    assert all(np.any(v != 0) for v in back.values())


# --------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------

def test_reset_before_gru_to_torch_is_refused():
    spec = RecurrentSpec("gru", D, H, reset_after=False)
    params = init_recurrent(spec, np.random.default_rng(14), np.float64)
    with pytest.raises(
        ValueError, match=r"reset-before GRU.*cannot be expressed.*reset_after=True"
    ):
        to_torch_state_dict(spec, params)
    sd = random_torch_state_dict(
        RecurrentSpec("gru", D, H, reset_after=True), np.random.default_rng(0)
    )
    with pytest.raises(ValueError, match="reset_after=True"):
        from_torch_state_dict(spec, sd)


def test_torch_missing_and_extra_keys_are_listed():
    spec = RecurrentSpec("lstm", D, H, bidirectional=True)
    sd = random_torch_state_dict(spec, np.random.default_rng(15))
    del sd["bias_hh_l0_reverse"]
    sd["weight_hr_l0"] = np.zeros((4 * H, H))
    with pytest.raises(
        ValueError,
        match=r"missing \['bias_hh_l0_reverse'\], unexpected \['weight_hr_l0'\]",
    ):
        from_torch_state_dict(spec, sd)
    sd = random_torch_state_dict(RecurrentSpec("lstm", D, H), np.random.default_rng(15))
    with pytest.raises(ValueError, match=r"missing \['weight_ih_l0_reverse'"):
        from_torch_state_dict(spec, sd)
    no_bias = {k: v for k, v in sd.items() if k.startswith("weight")}
    with pytest.raises(ValueError, match="bias=False"):
        from_torch_state_dict(RecurrentSpec("lstm", D, H), no_bias)


def test_torch_wrong_shape_is_named():
    spec = RecurrentSpec("gru", D, H, num_layers=2, reset_after=True)
    sd = random_torch_state_dict(spec, np.random.default_rng(16))
    sd["weight_ih_l1"] = np.zeros((3 * H, D))  # layer 1 reads H features, not D
    with pytest.raises(
        ValueError,
        match=r"weight_ih_l1'\] must have shape \(G·H, D_k\) = \(3·4, 4\); "
        r"got \(12, 3\)",
    ):
        from_torch_state_dict(spec, sd)
    sd = random_torch_state_dict(RecurrentSpec("rnn", D, H), np.random.default_rng(16))
    with pytest.raises(ValueError, match="must have shape"):
        from_torch_state_dict(
            RecurrentSpec("lstm", D, H), sd
        )  # an RNN's dict read as an LSTM's


def test_torch_values_must_be_numpy_of_one_dtype():
    spec = RecurrentSpec("rnn", D, H)
    sd = random_torch_state_dict(spec, np.random.default_rng(17))
    with pytest.raises(TypeError, match=r"\.detach\(\)\.numpy\(\)"):
        from_torch_state_dict(spec, sd | {"bias_ih_l0": list(sd["bias_ih_l0"])})
    with pytest.raises(TypeError, match="one dtype"):
        from_torch_state_dict(
            spec, sd | {"bias_ih_l0": sd["bias_ih_l0"].astype(np.float32)}
        )
    with pytest.raises(TypeError, match="float dtype"):
        from_torch_state_dict(spec, {k: v.astype(np.int64) for k, v in sd.items()})


def test_our_params_are_checked():
    spec = RecurrentSpec("lstm", D, H, num_layers=2)
    params = init_recurrent(spec, np.random.default_rng(18), np.float64)
    broken = {k: v for k, v in params.items() if k != "l1.fwd.W_hc"}
    for convert in (to_torch_state_dict, to_keras_weights):
        with pytest.raises(ValueError, match=r"missing \['l1.fwd.W_hc'\]"):
            convert(spec, broken)
        with pytest.raises(
            ValueError,
            match=r"params\['l0.fwd.b_f'\] must have shape \(4,\); got \(5,\)",
        ):
            convert(spec, params | {"l0.fwd.b_f": np.zeros(5)})
        with pytest.raises(TypeError, match="one dtype"):
            convert(
                spec, params | {"l0.fwd.b_f": params["l0.fwd.b_f"].astype(np.float32)}
            )
        with pytest.raises(TypeError, match="RecurrentSpec"):
            convert("lstm", params)


def test_keras_errors():
    spec = RecurrentSpec("gru", D, H, bidirectional=True, reset_after=True)
    weights = random_keras_weights(spec, np.random.default_rng(19))
    with pytest.raises(
        ValueError, match=r"3 arrays .* per layer and direction, 6 .*; got 3"
    ):
        from_keras_weights(spec, weights[:3])
    with pytest.raises(
        ValueError, match=r"kernel of layer 0 bwd \(weights\[3:6\]\) must have shape"
    ):
        from_keras_weights(spec, weights[:3] + [weights[3].T] + weights[4:])
    reset_before = RecurrentSpec("gru", D, H, bidirectional=True, reset_after=False)
    with pytest.raises(
        ValueError,
        match=r"reset_after=True; use RecurrentSpec\(kind='gru', reset_after=True\)",
    ):
        from_keras_weights(reset_before, weights)
    flat = random_keras_weights(reset_before, np.random.default_rng(19))
    with pytest.raises(
        ValueError,
        match=r"reset_after=False; use RecurrentSpec\(kind='gru', reset_after=False\)",
    ):
        from_keras_weights(spec, flat)
    with pytest.raises(TypeError, match="list"):
        from_keras_weights(spec, {"kernel": weights[0]})
    with pytest.raises(TypeError, match="one dtype"):
        from_keras_weights(spec, weights[:5] + [weights[5].astype(np.float32)])


# --------------------------------------------------------------------------------------
# Gradients in each framework's convention
# --------------------------------------------------------------------------------------

def random_grads(spec, rng):
    """Gradients with the keys and shapes of the layer's parameters, all entries
    nonzero."""
    return {k: rng.uniform(0.1, 1.0, size=v.shape) * rng.choice([-1, 1], size=v.shape)
            for k, v in init_recurrent(spec, rng, np.float64).items()}


@pytest.mark.parametrize("spec", all_specs(torch_only=True))
def test_torch_grads_round_trip_and_convention(spec):
    rng = np.random.default_rng(20)
    grads = random_grads(spec, rng)
    tg = to_torch_grads(spec, grads)
    assert list(tg) == torch_param_names(spec)
    assert_same_params(from_torch_grads(spec, tg), grads)
    for name in tg:
        if name.startswith("bias_hh"):
            ih = tg[name.replace("bias_hh", "bias_ih")]
            merged = slice(0, 2 * H) if spec.kind == "gru" else slice(None)
            np.testing.assert_array_equal(
                tg[name][merged], ih[merged]
            )  # both get ∂L/∂b
    if spec.kind == "gru":
        np.testing.assert_array_equal(tg["bias_hh_l0"][2 * H:], grads["l0.fwd.b_hh"])
        np.testing.assert_array_equal(tg["bias_ih_l0"][2 * H:], grads["l0.fwd.b_h"])


@pytest.mark.parametrize("spec", all_specs())
def test_keras_grads_round_trip_and_convention(spec):
    rng = np.random.default_rng(21)
    grads = random_grads(spec, rng)
    kg = to_keras_grads(spec, grads)
    assert [g.shape for g in kg] == [w.shape for w in to_keras_weights(spec, grads)]
    assert_same_params(from_keras_grads(spec, kg), grads)
    if spec.kind == "gru" and spec.reset_after:
        bias = kg[2]
        np.testing.assert_array_equal(bias[1, :2 * H], bias[0, :2 * H])
        np.testing.assert_array_equal(bias[1, 2 * H:], grads["l0.fwd.b_hh"])


def gru_linear_loss(spec, framework_params, from_framework, rng):
    """Inputs X, h0, weights G of the loss L = Σ G ⊙ Hs, and rnn's gradients of L, for a
    GRU layer whose parameters are given in a framework's layout."""
    X, h0 = rng.standard_normal((T, B, D)), random_state(spec, rng)
    G = rng.standard_normal((T, B, H))
    params = from_framework(spec, framework_params)
    _, _, cache = recurrent_forward(spec, params, X, h0)
    _, _, grads = recurrent_backward(spec, params, G, None, cache)
    return X, h0, G, grads


def test_torch_bias_gradients_are_those_of_the_torch_equations():
    """Central differences of PyTorch's documented GRU equations, with respect to
    bias_ih and bias_hh, equal to_torch_grads of our gradient: ∂L/∂b in both copies,
    not half of it in each; from_torch_grads reads it back once, not doubled."""
    spec = RecurrentSpec("gru", D, H, reset_after=True)
    rng = np.random.default_rng(22)
    sd = random_torch_state_dict(spec, rng)
    X, h0, G, grads = gru_linear_loss(spec, sd, from_torch_state_dict, rng)
    expected = to_torch_grads(spec, grads)

    def loss():
        return float((G * torch_forward_numpy(spec, sd, X, h0)[0]).sum())

    for name in ("bias_ih_l0", "bias_hh_l0"):
        numeric = numerical_gradient(loss, sd[name])
        np.testing.assert_allclose(expected[name], numeric, rtol=0, atol=1e-8)
    assert_same_params(from_torch_grads(spec, expected), grads)


def test_keras_bias_gradients_are_those_of_the_keras_equations():
    """The same for the (2, 3H) bias of a Keras reset-after GRU: both rows."""
    spec = RecurrentSpec("gru", D, H, reset_after=True)
    rng = np.random.default_rng(23)
    weights = random_keras_weights(spec, rng)
    X, h0, G, grads = gru_linear_loss(spec, weights, from_keras_weights, rng)

    def loss():
        return float((G * keras_forward_numpy(spec, weights, X, h0)[0]).sum())

    numeric = numerical_gradient(loss, weights[2])
    expected = to_keras_grads(spec, grads)
    np.testing.assert_allclose(expected[2], numeric, rtol=0, atol=1e-8)
    assert_same_params(from_keras_grads(spec, expected), grads)


def test_bias_gradients_that_differ_are_refused():
    """Two added biases always get the same gradient; a dict where they differ (zeros
    for a frozen bias_hh, a sum) is not one module's, and importing it would lose data.
    """
    rng = np.random.default_rng(24)
    spec = RecurrentSpec("lstm", D, H, bidirectional=True)
    tg = to_torch_grads(spec, random_grads(spec, rng))
    tg["bias_hh_l0_reverse"] = np.zeros(4 * H)
    with pytest.raises(ValueError, match=r"bias_ih_l0_reverse'\] and torch_grads\["
                                         r"'bias_hh_l0_reverse'\] must be equal"):
        from_torch_grads(spec, tg)
    spec = RecurrentSpec("gru", D, H, reset_after=True)
    kg = to_keras_grads(spec, random_grads(spec, rng))
    kg[2] = kg[2] * np.array([[1.0], [2.0]])
    with pytest.raises(ValueError, match="row 0 of the bias .* must be equal .* Keras"):
        from_keras_grads(spec, kg)
    kg = to_keras_grads(spec, random_grads(spec, rng))
    kg[2][1, 2 * H:] = 0.0                  # the candidate's two biases are independent
    assert np.all(from_keras_grads(spec, kg)["l0.fwd.b_hh"] == 0)


# --------------------------------------------------------------------------------------
# A whole language model
# --------------------------------------------------------------------------------------

LM_CASES = [
    pytest.param("rnn", None, 1, False, {}, id="rnn-one-hot"),
    pytest.param("rnn", 3, 2, True, {"nonlinearity": "relu"}, id="rnn-relu-2-layer-bi"),
    pytest.param("gru", 3, 2, True, {"reset_after": True}, id="gru-2-layer-bi"),
    pytest.param("gru", None, 1, False, {"reset_after": True}, id="gru-one-hot"),
    pytest.param("lstm", 3, 1, True, {}, id="lstm-bidirectional"),
]
V_LM = 6


def lm(kind, embed_size, num_layers, bidirectional, extra, dtype=np.float64, seed=25):
    model = init_language_model(
        V_LM,
        H,
        kind,
        num_layers=num_layers,
        embed_size=embed_size,
        bidirectional=bidirectional,
        rng=np.random.default_rng(seed),
        dtype=dtype,
        **extra,
    )
    model.params["b_q"][:] = np.random.default_rng(seed).uniform(-1, 1, V_LM)
    return model


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind, embed_size, num_layers, bidirectional, extra", LM_CASES)
def test_language_model_round_trips(kind, embed_size, num_layers, bidirectional, extra,
                                    dtype):
    model = lm(kind, embed_size, num_layers, bidirectional, extra, dtype)
    sd = to_torch_lm_state_dict(model)
    assert list(sd) == torch_lm_param_names(model)
    assert ("embedding.weight" in sd) == (embed_size is not None)
    np.testing.assert_array_equal(sd["linear.weight"], model.params["W_hq"].T)
    back = from_torch_lm_state_dict(model.spec, sd)
    assert (back.vocab_size, back.embed_size) == (V_LM, embed_size)
    assert_same_params(back.params, model.params)
    weights = to_keras_lm_weights(model)
    assert len(weights) == 3 * num_layers * (1 + bidirectional) + 2 + (
        embed_size is not None
    )
    back = from_keras_lm_weights(model.spec, weights)
    assert (back.vocab_size, back.embed_size) == (V_LM, embed_size)
    assert_same_params(back.params, model.params)
    ids = np.random.default_rng(26).integers(0, V_LM, size=(B, T))
    np.testing.assert_array_equal(lm_forward(back, ids)[0], lm_forward(model, ids)[0])


@pytest.mark.parametrize("kind, embed_size, num_layers, bidirectional, extra", LM_CASES)
def test_language_model_grads_round_trip(kind, embed_size, num_layers, bidirectional,
                                         extra):
    model = lm(kind, embed_size, num_layers, bidirectional, extra)
    rng = np.random.default_rng(27)
    ids, targets = rng.integers(0, V_LM, size=(2, B, T))
    _, grads, _ = lm_loss_and_grads(model, ids, targets)
    tg = to_torch_lm_grads(model, grads)
    assert list(tg) == torch_lm_param_names(model)
    np.testing.assert_array_equal(tg["linear.weight"], grads["W_hq"].T)
    assert_same_params(from_torch_lm_grads(model, tg), grads)
    assert_same_params(
        from_keras_lm_grads(model, to_keras_lm_grads(model, grads)), grads
    )


def test_language_model_errors():
    model = lm("gru", 3, 1, False, {"reset_after": True})
    sd = to_torch_lm_state_dict(model)
    one_hot = RecurrentSpec("gru", V_LM, H, reset_after=True)
    with pytest.raises(ValueError, match=r"missing \['rnn.bias_hh_l0'\]"):
        from_torch_lm_state_dict(model.spec, {k: v for k, v in sd.items()
                                              if k != "rnn.bias_hh_l0"})
    without = {k: v for k, v in sd.items() if k != "embedding.weight"}
    with pytest.raises(ValueError, match=r"one-hot vectors, so spec.input_size must be "
                                         r"V = 6; got 3"):
        from_torch_lm_state_dict(model.spec, without)
    with pytest.raises(ValueError, match=r"\['embedding.weight'\] must have shape "
                                         r"\(V, D\) = \(6, 6\)"):
        from_torch_lm_state_dict(one_hot, sd)
    with pytest.raises(ValueError, match=r"linear.weight'\] must have shape"):
        from_torch_lm_state_dict(
            model.spec, sd | {"linear.weight": sd["linear.weight"].T}
        )
    with pytest.raises(
        ValueError, match=r"linear.bias'\] must be the output layer's bias"
    ):
        from_torch_lm_state_dict(model.spec, {k: v for k, v in sd.items()
                                              if k != "linear.bias"})
    with pytest.raises(ValueError, match=r"unexpected \['rnn.weight_ih_l1'\]"):
        from_torch_lm_state_dict(
            model.spec, sd | {"rnn.weight_ih_l1": sd["rnn.weight_ih_l0"]}
        )
    with pytest.raises(TypeError, match="one dtype"):
        from_torch_lm_state_dict(model.spec, sd | {"linear.bias": sd["linear.bias"]
                                                   .astype(np.float32)})
    weights = to_keras_lm_weights(model)
    with pytest.raises(ValueError, match=r"must hold 6 arrays .* or 5 .*; got 4"):
        from_keras_lm_weights(model.spec, weights[:4])
    with pytest.raises(ValueError, match=r"Dense kernel\) must have shape"):
        from_keras_lm_weights(model.spec, weights[:-2] + [weights[-2].T, weights[-1]])
    with pytest.raises(TypeError, match="LanguageModel"):
        to_torch_lm_state_dict(model.params)
    _, grads, _ = lm_loss_and_grads(model, np.zeros((1, 2), int), np.ones((1, 2), int))
    with pytest.raises(
        ValueError, match=r"grads must have the keys .* missing \['E'\]"
    ):
        to_keras_lm_grads(model, {k: v for k, v in grads.items() if k != "E"})
    with pytest.raises(ValueError, match="keras_grads must hold 6 arrays"):
        from_keras_lm_grads(model, to_keras_lm_grads(model, grads)[1:])
    short_bias = to_keras_lm_grads(model, grads)[:-1] + [np.zeros(V_LM - 1)]
    with pytest.raises(ValueError, match=r"keras_grads\[5\] \(Dense bias\) must have "
                                         r"shape \(V,\) = \(6,\); got \(5,\)"):
        from_keras_lm_grads(model, short_bias)
    torch_grads = to_torch_lm_grads(model, grads) | {"linear.bias": np.zeros(V_LM + 1)}
    with pytest.raises(ValueError, match=r"\['linear.bias'\] must have shape"):
        from_torch_lm_grads(model, torch_grads)
    kernel_first = to_keras_lm_grads(model, grads)
    kernel_first[1] = kernel_first[1].T
    with pytest.raises(ValueError, match=r"kernel of layer 0 fwd \(keras_grads\[1:4\]"):
        from_keras_lm_grads(model, kernel_first)


# --------------------------------------------------------------------------------------
# The reference files written by PyTorch and Keras (scripts/write_interop_references.py)
# --------------------------------------------------------------------------------------

REFERENCE_DIR = Path(__file__).resolve().parents[1] / "book" / "data" / "interop"
REFERENCES = sorted(REFERENCE_DIR.glob("*.npz"))
REFERENCE_TOL = 1e-12       # float64 on both sides; the differences are ~1e-16


def load_reference(path):
    """meta, arrays, and the framework's weights and gradients (a dict for PyTorch, a
    list in get_weights() order for Keras)."""
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays.pop("meta")))
    weights = {
        k[len("weights/") :]: v for k, v in arrays.items() if k.startswith("weights/")
    }
    grads = {k[len("grads/"):]: v for k, v in arrays.items() if k.startswith("grads/")}
    if meta["framework"] == "keras":
        weights, grads = ([d[k] for k in sorted(d)] for d in (weights, grads))
    return meta, arrays, weights, grads


def reference_spec(meta):
    return RecurrentSpec(meta["kind"], meta["embed_size"] or meta["vocab_size"],
                         meta["hidden_size"], meta["num_layers"], meta["bidirectional"],
                         meta["nonlinearity"], meta["reset_after"])


def test_reference_files_are_there_small_and_dated():
    names = [p.stem for p in REFERENCES]
    assert sum(n.startswith("torch-") for n in names) >= 5
    assert sum(n.startswith("keras-") for n in names) >= 5
    assert sum(p.stat().st_size for p in REFERENCES) < 400_000
    for path in REFERENCES:
        meta, arrays, _, _ = load_reference(path)
        assert meta["case"] == path.stem and meta["dtype"] == "float64"
        assert meta[f"{meta['framework']}_version"]
        assert arrays["logits"].dtype == np.float64


@pytest.mark.parametrize("path", REFERENCES, ids=[p.stem for p in REFERENCES])
def test_reference_language_model(path):
    """Import the framework's weights, run rnn, and compare logits, loss and every
    gradient with the framework's, in both directions of the gradient conversion."""
    meta, arrays, weights, ref_grads = load_reference(path)
    spec = reference_spec(meta)
    torch = meta["framework"] == "torch"
    model = (from_torch_lm_state_dict if torch else from_keras_lm_weights)(
        spec, weights
    )
    assert model.dtype == np.float64
    loss, grads, _ = lm_loss_and_grads(model, arrays["ids"], arrays["targets"])
    logits = lm_forward(model, arrays["ids"])[0]
    np.testing.assert_allclose(logits, arrays["logits"], rtol=0, atol=REFERENCE_TOL)
    assert abs(loss - arrays["loss"]) < REFERENCE_TOL
    imported = (from_torch_lm_grads if torch else from_keras_lm_grads)(model, ref_grads)
    exported = (to_torch_lm_grads if torch else to_keras_lm_grads)(model, grads)
    for name in grads:
        np.testing.assert_allclose(
            imported[name], grads[name], rtol=0, atol=REFERENCE_TOL, err_msg=name
        )
    for name in (ref_grads if torch else range(len(ref_grads))):
        np.testing.assert_allclose(exported[name], ref_grads[name], rtol=0,
                                   atol=REFERENCE_TOL, err_msg=str(name))


EXPORTED = [p for p in REFERENCES if load_reference(p)[0]["weights_from"] == "rnn"]


@pytest.mark.parametrize("path", EXPORTED, ids=[p.stem for p in EXPORTED])
def test_reference_exports_are_exact(path):
    """The cases the script built from rnn's model: exporting the imported model gives
    back, bit for bit, the arrays the framework loaded and computed with."""
    meta, _, weights, _ = load_reference(path)
    spec = reference_spec(meta)
    if meta["framework"] == "torch":
        sd = to_torch_lm_state_dict(from_torch_lm_state_dict(spec, weights))
        assert list(sd) == list(weights)
        assert_same_params(sd, weights)
    else:
        exported = to_keras_lm_weights(from_keras_lm_weights(spec, weights))
        assert len(exported) == len(weights)
        for a, b in zip(exported, weights):
            np.testing.assert_array_equal(a, b)
