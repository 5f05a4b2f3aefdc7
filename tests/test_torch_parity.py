"""Parity with torch.nn: the same weights give the same outputs, final states and
gradients.

PyTorch is not a dependency of the course. Where it is importable (a separate
environment: ``python3 -m venv /tmp/torchenv && /tmp/torchenv/bin/pip install
torch==2.13.0 numpy pytest hypothesis && /tmp/torchenv/bin/pip install -e .``, then
``/tmp/torchenv/bin/pytest tests/test_torch_parity.py``), this file loads our parameters
into nn.RNN / nn.GRU / nn.LSTM through ``rnn.interop`` and compares, in float64, forward
values and every gradient of a random linear function of the outputs and the final
states, and whole language models in both directions. Elsewhere the whole module is
skipped, with the reason shown in pytest's summary.
"""
import numpy as np
import pytest

torch = pytest.importorskip(
    "torch",
    reason="PyTorch not installed: parity with torch.nn is checked only where it is "
    "importable (pip install torch==2.13.0 in a separate venv); the reference files "
    "of book/data/interop are checked by test_interop.py everywhere",
)

from rnn.interop import (  # noqa: E402
    from_torch_grads,
    from_torch_lm_grads,
    from_torch_lm_state_dict,
    from_torch_state_dict,
    to_torch_grads,
    to_torch_lm_grads,
    to_torch_lm_state_dict,
    to_torch_state_dict,
)
from rnn.layers import (  # noqa: E402
    RecurrentSpec,
    init_recurrent,
    recurrent_backward,
    recurrent_forward,
)
from rnn.model import init_language_model, lm_forward, lm_loss_and_grads  # noqa: E402
from rnn.optim import SGD, clip_grad_norm  # noqa: E402

TOL = 1e-6          # what the brief asks; in float64 the differences are ~1e-15
D, H, T, B = 5, 7, 6, 3

SPECS = [
    pytest.param(RecurrentSpec("rnn", D, H), id="rnn-tanh"),
    pytest.param(RecurrentSpec("rnn", D, H, nonlinearity="relu"), id="rnn-relu"),
    pytest.param(RecurrentSpec("gru", D, H, reset_after=True), id="gru"),
    pytest.param(RecurrentSpec("lstm", D, H), id="lstm"),
    pytest.param(
        RecurrentSpec("rnn", D, H, bidirectional=True), id="rnn-bidirectional"
    ),
    pytest.param(
        RecurrentSpec("gru", D, H, bidirectional=True, reset_after=True),
        id="gru-bidirectional",
    ),
    pytest.param(
        RecurrentSpec("lstm", D, H, bidirectional=True), id="lstm-bidirectional"
    ),
    pytest.param(
        RecurrentSpec("rnn", D, H, num_layers=2, nonlinearity="relu"),
        id="rnn-relu-2-layer",
    ),
    pytest.param(
        RecurrentSpec("gru", D, H, num_layers=2, reset_after=True), id="gru-2-layer"
    ),
    pytest.param(RecurrentSpec("lstm", D, H, num_layers=2), id="lstm-2-layer"),
    pytest.param(
        RecurrentSpec("rnn", D, H, num_layers=2, bidirectional=True),
        id="rnn-bidirectional-2-layer",
    ),
    pytest.param(
        RecurrentSpec("gru", D, H, num_layers=2, bidirectional=True, reset_after=True),
        id="gru-bidirectional-2-layer",
    ),
    pytest.param(
        RecurrentSpec("lstm", D, H, num_layers=2, bidirectional=True),
        id="lstm-bidirectional-2-layer",
    ),
]


def torch_module(spec: RecurrentSpec):
    """The torch.nn module with spec's hyper-parameters, float64, time-major
    (batch_first=False)."""
    kwargs = dict(
        input_size=spec.input_size,
        hidden_size=spec.hidden_size,
        num_layers=spec.num_layers,
        bidirectional=spec.bidirectional,
        batch_first=False,
    )
    if spec.kind == "rnn":
        return torch.nn.RNN(nonlinearity=spec.nonlinearity, **kwargs).double()
    return {"gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[spec.kind](**kwargs).double()


def load(module, state_dict: dict[str, np.ndarray]) -> None:
    module.load_state_dict(
        {k: torch.from_numpy(v) for k, v in state_dict.items()}, strict=True
    )


def numpy_state_dict(module) -> dict[str, np.ndarray]:
    return {k: v.detach().numpy().copy() for k, v in module.state_dict().items()}


def as_parts(spec, state):
    return state if spec.kind == "lstm" else (state,)


@pytest.mark.parametrize("spec", SPECS)
def test_forward_and_gradients_match_torch(spec):
    rng = np.random.default_rng(0)
    params = init_recurrent(spec, rng, np.float64)
    module = torch_module(spec)
    load(module, to_torch_state_dict(spec, params))

    X = rng.standard_normal((T, B, D))
    shape = (spec.num_layers * spec.num_directions, B, H)
    state0 = tuple(
        rng.standard_normal(shape) for _ in range(2 if spec.kind == "lstm" else 1)
    )
    # L = Σ G ⊙ Hs + Σ_s G_s ⊙ state_s: a random linear functional, so ∂L/∂Hs = G and
    # ∂L/∂state_s = G_s
    G = rng.standard_normal((T, B, spec.num_directions * H))
    G_state = tuple(rng.standard_normal(shape) for _ in state0)

    # ours
    s0 = state0 if spec.kind == "lstm" else state0[0]
    Hs, state, cache = recurrent_forward(spec, params, X, s0)
    dstate = G_state if spec.kind == "lstm" else G_state[0]
    dX, dstate0, grads = recurrent_backward(spec, params, G, dstate, cache)

    # torch
    X_t = torch.tensor(X, requires_grad=True)
    state0_t = tuple(torch.tensor(s, requires_grad=True) for s in state0)
    out, final = module(X_t, state0_t if spec.kind == "lstm" else state0_t[0])
    final = final if spec.kind == "lstm" else (final,)
    L = (out * torch.from_numpy(G)).sum() + sum(
        (f * torch.from_numpy(g)).sum() for f, g in zip(final, G_state)
    )
    L.backward()

    np.testing.assert_allclose(Hs, out.detach().numpy(), rtol=0, atol=TOL)
    for ours, theirs in zip(as_parts(spec, state), final):
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=0, atol=TOL)
    np.testing.assert_allclose(dX, X_t.grad.numpy(), rtol=0, atol=TOL)
    for ours, theirs in zip(as_parts(spec, dstate0), state0_t):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=0, atol=TOL)
    # both directions of the gradient conversion, in torch's convention (bias_ih and
    # bias_hh each hold ∂L/∂b): ours → torch's .grad, and torch's .grad → ours
    expected = to_torch_grads(spec, grads)
    torch_grads = {n: p.grad.numpy() for n, p in module.named_parameters()}
    assert set(expected) == set(torch_grads)
    for name, g in torch_grads.items():
        np.testing.assert_allclose(expected[name], g, rtol=0, atol=TOL, err_msg=name)
    imported = from_torch_grads(spec, torch_grads)
    for name, g in grads.items():
        np.testing.assert_allclose(imported[name], g, rtol=0, atol=TOL, err_msg=name)


@pytest.mark.parametrize(
    "spec", [s for s in SPECS if s.id.endswith("bidirectional-2-layer")]
)
def test_torch_initialised_weights_run_the_same(spec):
    """The other direction: weights drawn by torch (two nonzero biases each) →
    from_torch_state_dict → rnn."""
    torch.manual_seed(0)
    module = torch_module(spec)
    params = from_torch_state_dict(spec, numpy_state_dict(module))
    X = np.random.default_rng(1).standard_normal((T, B, D))
    Hs, state, _ = recurrent_forward(spec, params, X)
    out, final = module(torch.from_numpy(X))
    np.testing.assert_allclose(Hs, out.detach().numpy(), rtol=0, atol=TOL)
    for ours, theirs in zip(
        as_parts(spec, state), final if spec.kind == "lstm" else (final,)
    ):
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=0, atol=TOL)


def test_float32_parity():
    """The default dtypes of both libraries: float32 agrees to float32 round-off."""
    spec = RecurrentSpec("lstm", D, H, num_layers=2, bidirectional=True)
    rng = np.random.default_rng(2)
    params = init_recurrent(spec, rng, np.float32)
    module = torch_module(spec).float()
    load(module, to_torch_state_dict(spec, params))
    X = rng.standard_normal((T, B, D)).astype(np.float32)
    Hs, _, _ = recurrent_forward(spec, params, X)
    out, _ = module(torch.from_numpy(X))
    assert Hs.dtype == np.float32
    np.testing.assert_allclose(Hs, out.detach().numpy(), rtol=0, atol=1e-5)


# --------------------------------------------------------------------------------------
# A whole language-model training step: (embedding) → recurrent layer → Linear →
# cross-entropy, then global-norm clipping and SGD
# --------------------------------------------------------------------------------------

class TorchLM(torch.nn.Module):
    """The language model of rnn.model in torch.nn: ids (B, T) → logits (T, B, V),
    time-major inside."""

    def __init__(self, spec, V, embed_size):
        super().__init__()
        self.V = V
        self.embedding = (
            None if embed_size is None else torch.nn.Embedding(V, embed_size)
        )
        self.rnn = torch_module(spec)
        self.linear = torch.nn.Linear(spec.num_directions * spec.hidden_size, V)

    def forward(self, ids, state=None):
        ids_tm = ids.T
        if self.embedding is None:
            X = torch.nn.functional.one_hot(ids_tm, self.V).to(self.linear.weight.dtype)
        else:
            X = self.embedding(ids_tm)
        Hs, state = self.rnn(X, state)
        return self.linear(Hs), state


def torch_lm_from(model) -> TorchLM:
    """A TorchLM holding the parameters of our LanguageModel (float64), trained with our
    parametrisation.

    torch keeps two biases where we keep one (b = bias_ih + bias_hh): plain SGD would
    move their sum twice as fast as our b, and the global norm would count ∂L/∂b twice.
    So the redundant copy is frozen at the zeros ``to_torch_state_dict`` puts there:
    bias_hh entirely for RNN and LSTM, its r and z blocks for the GRU (whose n block is
    our b_hh, a parameter of its own).
    """
    tlm = TorchLM(model.spec, model.vocab_size, model.embed_size).double()
    load(tlm, to_torch_lm_state_dict(model))           # strict: every key must match
    Hh = model.spec.hidden_size
    for name, q in tlm.rnn.named_parameters():
        if name.startswith("bias_hh"):
            if model.spec.kind == "gru":
                keep = torch.cat([torch.zeros(2 * Hh), torch.ones(Hh)]).double()
                q.register_hook(lambda g, keep=keep: g * keep)
            else:
                q.requires_grad_(False)
    return tlm


def our_grads_in_torch_layout(model, grads) -> dict[str, np.ndarray]:
    """Our gradients as the .grad of TorchLM's trainable parameters (bias_hh frozen, see
    ``torch_lm_from``)."""
    out = to_torch_lm_grads(model, grads)
    Hh = model.spec.hidden_size
    for name in [n for n in out if n.startswith("rnn.bias_hh")]:
        if model.spec.kind == "gru":
            out[name][:2 * Hh] = 0.0         # the hook zeroes the r and z blocks
        else:
            del out[name]                    # frozen: no .grad
    return out


LM_CONFIGS = [
    pytest.param("rnn", None, 1, {}, id="rnn-one-hot"),
    pytest.param("gru", 6, 2, {"reset_after": True}, id="gru-embedding-2-layer"),
    pytest.param("lstm", 6, 1, {}, id="lstm-embedding"),
    pytest.param("lstm", None, 2, {}, id="lstm-one-hot-2-layer"),
]


@pytest.mark.parametrize("kind, embed_size, num_layers, extra", LM_CONFIGS)
def test_language_model_step_matches_torch(kind, embed_size, num_layers, extra):
    V, Hh, Bb, Tt = 11, 8, 4, 9
    rng = np.random.default_rng(3)
    model = init_language_model(
        V,
        Hh,
        kind,
        num_layers=num_layers,
        embed_size=embed_size,
        rng=rng,
        dtype=np.float64,
        **extra,
    )
    model.params["b_q"][:] = rng.normal(size=V)
    tlm = torch_lm_from(model)
    X = rng.integers(0, V, size=(Bb, Tt))
    Y = rng.integers(0, V, size=(Bb, Tt))
    shape = (num_layers, Bb, Hh)
    state = (
        (rng.standard_normal(shape), rng.standard_normal(shape))
        if kind == "lstm"
        else rng.standard_normal(shape)
    )

    # ours: loss, gradients, clipping, one SGD step, and the loss after it
    theta, lr = 0.5, 0.3
    loss, grads, _ = lm_loss_and_grads(model, X, Y, state)
    norm = clip_grad_norm(grads, theta)
    SGD(lr).step(model.params, grads)
    loss_after, _, _ = lm_loss_and_grads(model, X, Y, state)

    # torch
    state_t = (
        tuple(map(torch.from_numpy, state))
        if kind == "lstm"
        else torch.from_numpy(state)
    )
    X_t, Y_t = torch.from_numpy(X), torch.from_numpy(Y)

    def torch_loss():
        O, _ = tlm(X_t, state_t)
        return torch.nn.functional.cross_entropy(O.reshape(-1, V), Y_t.T.reshape(-1))

    L = torch_loss()
    L.backward()
    raw = {
        n: p.grad.numpy().copy() for n, p in tlm.named_parameters() if p.requires_grad
    }
    norm_t = torch.nn.utils.clip_grad_norm_(
        [q for q in tlm.parameters() if q.requires_grad], theta
    )
    torch.optim.SGD([q for q in tlm.parameters() if q.requires_grad], lr=lr).step()
    with torch.no_grad():
        L_after = torch_loss()

    assert abs(loss - L.item()) < TOL
    assert abs(norm - norm_t.item()) < TOL
    # our gradients were clipped in place: undo the scale to compare with torch's raw
    # gradients
    scale = min(1.0, theta / norm)
    expected = our_grads_in_torch_layout(
        model, {k: g / scale for k, g in grads.items()}
    )
    assert set(expected) == set(raw)
    for name in raw:
        np.testing.assert_allclose(
            expected[name], raw[name], rtol=0, atol=TOL, err_msg=name
        )
    # torch's clip divides by (‖g‖ + 1e-6), ours by ‖g‖: the updated weights differ by
    # ~lr·θ·1e-6/‖g‖
    assert abs(loss_after - L_after.item()) < TOL
    after = to_torch_state_dict(model.spec, model.params)
    for name, q in tlm.rnn.named_parameters():
        np.testing.assert_allclose(
            after[name], q.detach().numpy(), rtol=0, atol=TOL, err_msg=name
        )
    np.testing.assert_allclose(
        model.params["W_hq"].T, tlm.linear.weight.detach().numpy(), rtol=0, atol=TOL
    )


@pytest.mark.parametrize("kind, embed_size, num_layers, extra", LM_CONFIGS)
def test_language_model_from_torch(kind, embed_size, num_layers, extra):
    """A TorchLM as torch initialises it (both biases trained, nothing frozen), imported
    whole with from_torch_lm_state_dict: same logits and loss, and torch's gradients,
    imported with from_torch_lm_grads, equal ours (each bias gradient counted once)."""
    V, Hh, Bb, Tt = 11, 8, 4, 9
    spec = RecurrentSpec(
        kind, embed_size or V, Hh, num_layers, bidirectional=True, **extra
    )
    torch.manual_seed(4)
    tlm = TorchLM(spec, V, embed_size).double()
    model = from_torch_lm_state_dict(spec, numpy_state_dict(tlm))
    rng = np.random.default_rng(4)
    X, Y = rng.integers(0, V, size=(2, Bb, Tt))
    loss, grads, _ = lm_loss_and_grads(model, X, Y)
    O, _ = tlm(torch.from_numpy(X))
    L = torch.nn.functional.cross_entropy(
        O.reshape(-1, V), torch.from_numpy(Y).T.reshape(-1)
    )
    L.backward()
    np.testing.assert_allclose(
        lm_forward(model, X)[0], O.detach().numpy().transpose(1, 0, 2), rtol=0, atol=TOL
    )
    assert abs(loss - L.item()) < TOL
    imported = from_torch_lm_grads(
        model, {n: p.grad.numpy() for n, p in tlm.named_parameters()}
    )
    for name, g in grads.items():
        np.testing.assert_allclose(imported[name], g, rtol=0, atol=TOL, err_msg=name)
    exported = to_torch_lm_grads(model, grads)
    for name, p in tlm.named_parameters():
        np.testing.assert_allclose(
            exported[name], p.grad.numpy(), rtol=0, atol=TOL, err_msg=name
        )
