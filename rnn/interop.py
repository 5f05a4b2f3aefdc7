"""Move a recurrent layer or a whole language model to and from PyTorch's and Keras'
layouts: parameters and their gradients, in pure numpy.

Neither framework is imported: the functions take and return numpy arrays. With PyTorch,
pass ``{k: v.detach().numpy() for k, v in module.state_dict().items()}`` in, and load
the result back with
``module.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})``;
with Keras, the list goes to ``layer.set_weights`` and comes from
``layer.get_weights()``. The correspondence (see the notation page of the book) is, for
layer k and direction d of a ``RecurrentSpec``:

PyTorch ``nn.RNN`` / ``nn.GRU`` / ``nn.LSTM`` (``batch_first`` changes no parameter)
    ``weight_ih_l{k}``  (G·H, D_k) = [W_x(gate 1) … W_x(gate G)]ᵀ, D_k = input size of k
    ``weight_hh_l{k}``  (G·H, H)   = [W_h(gate 1) … W_h(gate G)]ᵀ
    ``bias_ih_l{k}``, ``bias_hh_l{k}``  (G·H,), whose sum is our bias; the suffix
    ``_reverse`` marks d = "bwd". Gate blocks: RNN one block (G = 1); GRU r, z, n
    (n = our candidate h); LSTM i, f, g, o (g = our c). PyTorch's GRU is the reset-after
    one, n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), so b_in = b_h and b_hn = b_hh
    cannot be merged; every other bias is a sum b_i· + b_h·. Going to PyTorch, the whole
    bias goes in ``bias_ih`` and ``bias_hh`` gets zeros (except b_hn = b_hh); coming
    back, the two are added.

Keras ``SimpleRNN`` / ``GRU`` / ``LSTM`` (one list of arrays per layer and direction)
    ``[kernel (D_k, G·H), recurrent_kernel (H, G·H), bias]``: our orientation, gate
    blocks side by side. Gate blocks: SimpleRNN one block; GRU z, r, h; LSTM i, f, c, o.
    bias: (G·H,), except for a GRU with ``reset_after=True`` (the Keras default):
    (2, 3H), row 0 the input biases, row 1 the recurrent ones, so
    b_z = bias[0, z] + bias[1, z], b_r likewise, b_h = bias[0, h] and
    b_hh = bias[1, h]. A Keras GRU with ``reset_after=False`` is our reset-before GRU,
    bias (3H,) = [b_z, b_r, b_h]. Stacked or bidirectional: one flat list, three arrays
    per layer and direction, layer by layer and forward before backward, which is the
    order of ``get_weights()`` for a ``Bidirectional`` wrapper (forward layer first) and
    for a ``Sequential`` stack of such layers. Layer k, direction j (0 = fwd, 1 = bwd)
    owns ``weights[3·(k·num_directions + j) : 3·(k·num_directions + j) + 3]``.

Gradients, the convention of each framework
    Where a framework keeps two biases whose sum acts as our one bias b, each of the two
    receives the whole gradient: ∂L/∂bias_ih = ∂L/∂bias_hh = ∂L/∂b, block by block (in a
    Keras reset-after GRU, ∂L/∂bias[0, z] = ∂L/∂bias[1, z] = ∂L/∂b_z, and for r). The
    GRU candidate's two biases are separate parameters: ∂L/∂b_in = ∂L/∂b_h and
    ∂L/∂b_hn = ∂L/∂b_hh (Keras: bias[0, h] and bias[1, h]). So ``to_torch_grads`` copies
    our ∂L/∂b into both, and ``from_torch_grads`` reads it from ``bias_ih`` once, after
    checking that ``bias_hh`` holds the same values: it never adds the two (that would
    double the gradient). Weight gradients are laid out as the weights are.

A whole language model (``rnn.model.LanguageModel``)
    PyTorch: one state dict with the keys of the module below (``embedding.`` is absent
    when the model reads one-hot vectors, D = V; ``linear.weight`` is W_hqᵀ)::

        class LM(nn.Module):
            def __init__(self, V, D, H, num_layers, bidirectional):
                super().__init__()
                self.embedding = nn.Embedding(V, D)          # weight (V, D) = E
                self.rnn = nn.GRU(D, H, num_layers, bidirectional=bidirectional)
                self.linear = nn.Linear((1 + bidirectional) * H, V)  # (V, dirs·H)

    Keras: the ``get_weights()`` list of ``Sequential([Embedding(V, D), <recurrent
    layers, return_sequences=True, each maybe in Bidirectional>, Dense(V)])``:
    [E (V, D)], the recurrent weights as above, then [W_hq (dirs·H, V), b_q (V,)];
    without an embedding the list starts with the first kernel and the model is fed
    one-hot vectors.

The frameworks must be built with the same hyper-parameters as the spec:
``nonlinearity`` for an RNN (``nn.RNN(nonlinearity="relu")``,
``SimpleRNN(activation="relu")``), Keras' default activations (tanh, sigmoid), biases
on, and for PyTorch no ``proj_size``. Conversions copy and keep the dtype; a round trip
returns exactly the arrays it started from. The two layouts compute the same function,
but training them is not quite the same: where we have one bias b, PyTorch has two whose
sum acts (Keras' reset-after GRU likewise), so SGD moves that sum twice as fast and the
gradient norm counts ∂L/∂b twice. To train our parametrisation in PyTorch, freeze the
zero copy (``bias_hh_l{k}.requires_grad_(False)`` for RNN and LSTM; for the GRU only its
r and z blocks, e.g. with a hook). The layer functions ignore extra keys in ``params``
(an output layer's W_hq, an embedding E), as ``rnn.layers`` does.
"""
from __future__ import annotations

import numpy as np

from rnn._common import param_shape
from rnn.layers import RecurrentSpec
from rnn.model import LanguageModel, lm_param_shapes

# Our math names of each gate block, in each framework's block order. "gate" = the
# letter in our names (W_x{gate}, W_h{gate}, b_{gate}).
TORCH_GATES = {"rnn": ("h",), "gru": ("r", "z", "h"), "lstm": ("i", "f", "c", "o")}
KERAS_GATES = {"rnn": ("h",), "gru": ("z", "r", "h"), "lstm": ("i", "f", "c", "o")}

# Two biases whose sum acts as one receive the same gradient; a framework's two copies
# may differ by round-off (float32 sums in another order), never by more than this,
# relative to the larger of the two.
SAME_GRADIENT_RTOL = 1e-4

_RESET_BEFORE_TORCH = (
    "a reset-before GRU (RecurrentSpec(kind='gru', reset_after=False)) cannot be "
    "expressed exactly in PyTorch: nn.GRU computes the reset-after candidate "
    "n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), applying the reset gate after the "
    "recurrent matmul, while the reset-before GRU computes "
    "tanh(X W_xh + (R ⊙ H) W_hh + b_h). Build the model with "
    "RecurrentSpec(kind='gru', reset_after=True) (init_recurrent then adds the bias "
    "b_hh), or export a reset-before GRU to Keras instead "
    "(keras.layers.GRU(reset_after=False) is the same model)"
)


# --------------------------------------------------------------------------------------
# PyTorch: one recurrent module
# --------------------------------------------------------------------------------------

def torch_param_names(spec: RecurrentSpec) -> list[str]:
    """The state-dict keys of the PyTorch module matching ``spec``, in PyTorch's
    order."""
    _check_spec(spec)
    return [f"{kind}_l{k}{suffix}"
            for k in range(spec.num_layers) for suffix in _torch_suffixes(spec)
            for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]


def to_torch_state_dict(
    spec: RecurrentSpec, params: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Our parameters as the state dict of ``nn.RNN``/``nn.GRU``/``nn.LSTM`` (numpy
    arrays, same dtype).

    spec: the layer (for a GRU, reset_after must be True); params: keys
    ``"l{k}.{d}.{name}"`` as from ``init_recurrent``. Returns, for every layer k and
    direction (suffix "" or "_reverse"): weight_ih_l{k} (G·H, D_k), weight_hh_l{k}
    (G·H, H), bias_ih_l{k} and bias_hh_l{k} (G·H,), G = 1, 3 or 4. Each of our biases
    goes whole into bias_ih; bias_hh is zero except for the GRU's b_hn = b_hh. Raises
    ValueError for a reset-before GRU (PyTorch has none) or missing/misshapen
    parameters.
    """
    return _to_torch(spec, params, "params", as_grads=False)


def from_torch_state_dict(
    spec: RecurrentSpec, state_dict: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Inverse of ``to_torch_state_dict``: a PyTorch state dict (numpy values) → our
    parameters.

    state_dict: exactly the keys of ``torch_param_names(spec)`` (e.g.
    ``{k: v.detach().numpy() for k, v in rnn.state_dict().items()}``), all of one float
    dtype. Our biases are bias_ih + bias_hh block by block, except the GRU candidate's:
    b_h = b_in, b_hh = b_hn. Returns keys ``"l{k}.{d}.{name}"`` in the order of
    ``init_recurrent``. Raises ValueError naming missing or unexpected keys and
    misshapen arrays, TypeError for arrays that are not numpy or not of one float dtype,
    ValueError for a reset-before GRU.
    """
    return _from_torch(spec, state_dict, "state_dict", as_grads=False)


def to_torch_grads(
    spec: RecurrentSpec, grads: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Our gradients ∂L/∂θ as the ``.grad`` of each parameter of the PyTorch module.

    grads: the keys of the layer's parameters (as ``recurrent_backward`` returns them).
    Weights as in ``to_torch_state_dict``. Biases in PyTorch's convention: bias_ih and
    bias_hh are added where we have one bias b, so each has the gradient ∂L/∂b
    (``bias_hh`` is a copy of ``bias_ih``, block by block), except the GRU candidate's
    block: ∂L/∂b_in = ∂L/∂b_h, ∂L/∂b_hn = ∂L/∂b_hh. Keys and shapes are those of
    ``torch_param_names(spec)``.
    """
    return _to_torch(spec, grads, "grads", as_grads=True)


def from_torch_grads(
    spec: RecurrentSpec, torch_grads: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Inverse of ``to_torch_grads``: the ``.grad`` of every parameter of a PyTorch
    module (numpy arrays, keys of ``torch_param_names(spec)``) → our gradients.

    ∂L/∂b is read once, from bias_ih: it is not bias_ih + bias_hh, which would double
    it. Where the two are added (every block but the GRU candidate's), their gradients
    must be equal up to round-off (``SAME_GRADIENT_RTOL``), else ValueError: such arrays
    are not the gradients of one module. The GRU candidate's: ∂L/∂b_h = ∂L/∂b_in (from
    bias_ih), ∂L/∂b_hh = ∂L/∂b_hn (from bias_hh).
    """
    return _from_torch(spec, torch_grads, "torch_grads", as_grads=True)


# --------------------------------------------------------------------------------------
# Keras: one layer, or a stack of (bidirectional) layers
# --------------------------------------------------------------------------------------

def to_keras_weights(
    spec: RecurrentSpec, params: dict[str, np.ndarray]
) -> list[np.ndarray]:
    """Our parameters as the weights of Keras ``SimpleRNN``/``GRU``/``LSTM`` layers
    (numpy arrays, same dtype).

    Returns one flat list, [kernel, recurrent_kernel, bias] for every layer and
    direction, layer by layer, forward before backward (see the module docstring):
    kernel (D_k, G·H), recurrent_kernel (H, G·H), bias (G·H,), or (2, 3H) for a
    reset-after GRU (row 0 = [b_z, b_r, b_h], row 1 = [0, 0, b_hh]). For a single
    unidirectional layer this is exactly ``layer.set_weights``' argument.
    """
    return _to_keras(spec, params, "params", as_grads=False)


def from_keras_weights(
    spec: RecurrentSpec, weights: list[np.ndarray]
) -> dict[str, np.ndarray]:
    """Inverse of ``to_keras_weights``: the flat list of Keras weights → our parameters.

    weights: 3 arrays per layer and direction as described in the module docstring
    (``layer.get_weights()`` for a single layer, the forward and backward lists one
    after the other for ``Bidirectional``). A GRU's bias of shape (2, 3H) belongs to
    ``reset_after=True``, of shape (3H,) to ``reset_after=False``; the spec must say
    which. Returns keys ``"l{k}.{d}.{name}"`` in the order of ``init_recurrent``.
    """
    return _from_keras(spec, weights, "weights", as_grads=False)


def to_keras_grads(
    spec: RecurrentSpec, grads: dict[str, np.ndarray]
) -> list[np.ndarray]:
    """Our gradients as the gradients of the Keras weights, in the order of
    ``to_keras_weights``.

    Kernels and single biases as the weights. A reset-after GRU's bias (2, 3H): rows 0
    and 1 are added in the z and r blocks, so each row has our ∂L/∂b_z, ∂L/∂b_r there;
    the h block has ∂L/∂b_h in row 0 and ∂L/∂b_hh in row 1.
    """
    return _to_keras(spec, grads, "grads", as_grads=True)


def from_keras_grads(
    spec: RecurrentSpec, keras_grads: list[np.ndarray]
) -> dict[str, np.ndarray]:
    """Inverse of ``to_keras_grads``: the gradients of Keras' weights → ours.

    For a reset-after GRU, ∂L/∂b_z and ∂L/∂b_r are read once, from row 0 of the bias
    gradient, after checking that row 1 holds the same values up to round-off
    (``SAME_GRADIENT_RTOL``; ValueError otherwise); they are never added.
    """
    return _from_keras(spec, keras_grads, "keras_grads", as_grads=True)


# --------------------------------------------------------------------------------------
# A whole language model: embedding (or one-hot input), recurrent layers, output layer
# --------------------------------------------------------------------------------------

def torch_lm_param_names(model: LanguageModel) -> list[str]:
    """The state-dict keys of the PyTorch module matching ``model`` (see the module
    docstring): ``embedding.weight`` (with an embedding), ``rnn.*``, ``linear.weight``,
    ``linear.bias``."""
    _check_model(model)
    return _torch_lm_names(model.spec, model.embed_size is not None)


def to_torch_lm_state_dict(model: LanguageModel) -> dict[str, np.ndarray]:
    """The whole language model as one PyTorch state dict (numpy arrays, same dtype).

    ``embedding.weight`` = E (V, D) when the model has an embedding; ``rnn.<key>`` as in
    ``to_torch_state_dict``; ``linear.weight`` = W_hqᵀ (V, dirs·H); ``linear.bias`` =
    b_q.
    """
    _check_model(model)
    return _lm_to_torch(model, model.params, "model.params", as_grads=False)


def from_torch_lm_state_dict(
    spec: RecurrentSpec, state_dict: dict[str, np.ndarray]
) -> LanguageModel:
    """Inverse of ``to_torch_lm_state_dict``: a language model from a PyTorch state
    dict.

    spec: the recurrent layers. V is read from ``linear.bias``; with
    ``embedding.weight`` (V, D) the model has an embedding and spec.input_size must be
    D; without it the model reads one-hot vectors and spec.input_size must be V. Raises
    ValueError naming missing or unexpected keys and misshapen arrays, TypeError for
    non-numpy or mixed dtypes.
    """
    _check_spec(spec)
    _check_dict(state_dict, "state_dict")
    V = _vocab_size(state_dict.get("linear.bias"), "state_dict['linear.bias']")
    has_embedding = "embedding.weight" in state_dict
    _check_keys(state_dict, _torch_lm_names(spec, has_embedding), "state_dict", spec)
    values = _lm_from_torch(spec, V, has_embedding, state_dict, "state_dict", False)
    return LanguageModel(spec, V, spec.input_size if has_embedding else None, values)


def to_torch_lm_grads(
    model: LanguageModel, grads: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """The gradients of a language model (as ``lm_loss_and_grads`` returns them) as the
    ``.grad`` of every parameter of the PyTorch module, in PyTorch's convention
    (``to_torch_grads`` for the recurrent layers, transposed W_hq like the weights)."""
    _check_model(model)
    return _lm_to_torch(model, grads, "grads", as_grads=True)


def from_torch_lm_grads(
    model: LanguageModel, torch_grads: dict[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """Inverse of ``to_torch_lm_grads``: PyTorch's ``.grad`` arrays (keys of
    ``torch_lm_param_names(model)``) → gradients with the keys of ``model.params``, each
    bias gradient counted once (see ``from_torch_grads``)."""
    _check_model(model)
    _check_dict(torch_grads, "torch_grads")
    has_embedding = model.embed_size is not None
    names = _torch_lm_names(model.spec, has_embedding)
    _check_keys(torch_grads, names, "torch_grads", model.spec)
    return _lm_from_torch(model.spec, model.vocab_size, has_embedding, torch_grads,
                          "torch_grads", True)


def to_keras_lm_weights(model: LanguageModel) -> list[np.ndarray]:
    """The whole language model as the ``get_weights()`` list of the Keras
    ``Sequential`` of the module docstring: [E] (with an embedding), the recurrent
    weights of ``to_keras_weights``, then W_hq (dirs·H, V) and b_q (V,), Dense's kernel
    and bias."""
    _check_model(model)
    return _lm_to_keras(model, model.params, "model.params", as_grads=False)


def from_keras_lm_weights(
    spec: RecurrentSpec, weights: list[np.ndarray]
) -> LanguageModel:
    """Inverse of ``to_keras_lm_weights``: a language model from a Keras weight list.

    The list holds 3 arrays per recurrent layer and direction, plus Dense's two, plus
    one in front when the model starts with an Embedding (then spec.input_size must be
    its D); without one, the model reads one-hot vectors and spec.input_size must be V.
    """
    _check_spec(spec)
    weights = _check_list(weights, "weights")
    n = 3 * spec.num_layers * spec.num_directions
    if len(weights) not in (n + 2, n + 3):
        raise ValueError(
            f"weights of a language model with {spec} must hold {n + 3} arrays "
            f"(embedding, 3 per recurrent layer and direction, Dense kernel and bias) "
            f"or {n + 2} (one-hot input, no embedding); got {len(weights)}")
    V = _vocab_size(weights[-1], f"weights[{len(weights) - 1}] (Dense bias)")
    has_embedding = len(weights) == n + 3
    values = _lm_from_keras(spec, V, has_embedding, weights, "weights", False)
    return LanguageModel(spec, V, spec.input_size if has_embedding else None, values)


def to_keras_lm_grads(
    model: LanguageModel, grads: dict[str, np.ndarray]
) -> list[np.ndarray]:
    """The gradients of a language model as the gradients of the Keras weight list of
    ``to_keras_lm_weights``, in Keras' convention (see ``to_keras_grads``)."""
    _check_model(model)
    return _lm_to_keras(model, grads, "grads", as_grads=True)


def from_keras_lm_grads(
    model: LanguageModel, keras_grads: list[np.ndarray]
) -> dict[str, np.ndarray]:
    """Inverse of ``to_keras_lm_grads``: Keras' gradient list → gradients with the keys
    of ``model.params``, each bias gradient counted once (see ``from_keras_grads``)."""
    _check_model(model)
    keras_grads = _check_list(keras_grads, "keras_grads")
    spec, has_embedding = model.spec, model.embed_size is not None
    n = 3 * spec.num_layers * spec.num_directions + 2 + has_embedding
    if len(keras_grads) != n:
        raise ValueError(f"keras_grads must hold {n} arrays, one per weight of "
                         f"to_keras_lm_weights(model); got {len(keras_grads)}")
    return _lm_from_keras(spec, model.vocab_size, has_embedding, keras_grads,
                          "keras_grads", True)


# --------------------------------------------------------------------------------------
# The conversions, written once for parameters and for gradients
# --------------------------------------------------------------------------------------

def _to_torch(spec, values: dict, label: str, as_grads: bool) -> dict[str, np.ndarray]:
    _check_spec(spec)
    if spec.kind == "gru" and not spec.reset_after:
        raise ValueError(_RESET_BEFORE_TORCH)
    gates = TORCH_GATES[spec.kind]
    H = spec.hidden_size
    out = {}
    for k in range(spec.num_layers):
        for d, suffix in zip(spec.directions, _torch_suffixes(spec)):
            p = _layer_values(spec, values, k, d, label)
            bias_ih = _stack_blocks(p, "b_", gates)
            # parameters: all of b in bias_ih, zeros in bias_hh; gradients: ∂L/∂b in
            # both
            bias_hh = bias_ih.copy() if as_grads else np.zeros_like(bias_ih)
            if spec.kind == "gru":
                bias_hh[2 * H:] = p["b_hh"]     # b_hn = b_hh: inside r ⊙ (…), apart
            out[f"weight_ih_l{k}{suffix}"] = _stack_blocks(p, "W_x", gates).T.copy()
            out[f"weight_hh_l{k}{suffix}"] = _stack_blocks(p, "W_h", gates).T.copy()
            out[f"bias_ih_l{k}{suffix}"] = bias_ih
            out[f"bias_hh_l{k}{suffix}"] = bias_hh
    return out


def _from_torch(spec, sd: dict, label: str, as_grads: bool) -> dict[str, np.ndarray]:
    _check_spec(spec)
    if spec.kind == "gru" and not spec.reset_after:
        raise ValueError(_RESET_BEFORE_TORCH)
    _check_dict(sd, label)
    expected = torch_param_names(spec)
    _check_keys(sd, expected, label, spec)
    _common_dtype(sd, expected, label)
    gates = TORCH_GATES[spec.kind]
    G, H = len(gates), spec.hidden_size
    merged = slice(0, 2 * H) if spec.kind == "gru" else slice(None)   # blocks added
    params = {}
    for k in range(spec.num_layers):
        D_k = spec.layer_input_size(k)
        shapes = {"weight_ih": ((G * H, D_k), f"(G·H, D_k) = ({G}·{H}, {D_k})"),
                  "weight_hh": ((G * H, H), f"(G·H, H) = ({G}·{H}, {H})"),
                  "bias_ih": ((G * H,), f"(G·H,) = ({G}·{H},)"),
                  "bias_hh": ((G * H,), f"(G·H,) = ({G}·{H},)")}
        for d, suffix in zip(spec.directions, _torch_suffixes(spec)):
            a = {}
            for kind, (shape, symbolic) in shapes.items():
                name = f"{kind}_l{k}{suffix}"
                a[kind] = _checked_shape(sd[name], shape, f"{label}[{name!r}]",
                                         symbolic)
            b = a["bias_ih"].copy()
            if as_grads:        # each copy holds ∂L/∂b: read it once, never add the two
                _check_same_gradient(a["bias_ih"][merged], a["bias_hh"][merged],
                                     f"{label}['bias_ih_l{k}{suffix}']",
                                     f"{label}['bias_hh_l{k}{suffix}']", "PyTorch")
            else:               # the two biases are added: our b is their sum
                b[merged] += a["bias_hh"][merged]
            cell = _split_blocks(a["weight_ih"].T, "W_x", gates)
            cell |= _split_blocks(a["weight_hh"].T, "W_h", gates)
            cell |= _split_blocks(b, "b_", gates)      # GRU: b_h = b_in (bias_ih only)
            if spec.kind == "gru":
                cell["b_hh"] = a["bias_hh"][2 * H:].copy()
            params |= {f"l{k}.{d}.{n}": cell[n] for n in spec.cell_param_names()}
    return params


def _to_keras(spec, values: dict, label: str, as_grads: bool) -> list[np.ndarray]:
    _check_spec(spec)
    gates = KERAS_GATES[spec.kind]
    H = spec.hidden_size
    weights = []
    for k in range(spec.num_layers):
        for d in spec.directions:
            p = _layer_values(spec, values, k, d, label)
            bias = _stack_blocks(p, "b_", gates)
            if spec.kind == "gru" and spec.reset_after:
                # row 1 = recurrent biases: zeros for parameters, ∂L/∂b_z, ∂L/∂b_r for
                # grads
                recurrent_bias = bias.copy() if as_grads else np.zeros_like(bias)
                recurrent_bias[2 * H:] = p["b_hh"]
                bias = np.stack([bias, recurrent_bias])
            weights += [_stack_blocks(p, "W_x", gates), _stack_blocks(p, "W_h", gates),
                        bias]
    return weights


def _from_keras(spec, weights, label: str, as_grads: bool) -> dict[str, np.ndarray]:
    _check_spec(spec)
    weights = _check_list(weights, label)
    n = 3 * spec.num_layers * spec.num_directions
    if len(weights) != n:
        raise ValueError(f"{label} must hold 3 arrays (kernel, recurrent_kernel, bias) "
                         f"per layer and direction, {n} for {spec}; got {len(weights)}")
    _common_dtype(dict(enumerate(weights)), range(n), label)
    gates = KERAS_GATES[spec.kind]
    G, H = len(gates), spec.hidden_size
    two_biases = spec.kind == "gru" and spec.reset_after
    params = {}
    for k in range(spec.num_layers):
        D_k = spec.layer_input_size(k)
        for j, d in enumerate(spec.directions):
            i = 3 * (k * spec.num_directions + j)
            where = f"layer {k} {d} ({label}[{i}:{i + 3}])"
            kernel = _checked_shape(weights[i], (D_k, G * H), f"kernel of {where}",
                                    f"(D_k, G·H) = ({D_k}, {G}·{H})")
            recurrent = _checked_shape(weights[i + 1], (H, G * H),
                                       f"recurrent_kernel of {where}",
                                       f"(H, G·H) = ({H}, {G}·{H})")
            bias = _keras_bias(spec, weights[i + 2], where)
            if two_biases:
                b = bias[0].copy()                       # b_h = bias[0, h]
                if as_grads:    # each row holds ∂L/∂b_z, ∂L/∂b_r: read once, never add
                    _check_same_gradient(bias[0, :2 * H], bias[1, :2 * H],
                                         f"row 0 of the bias of {where}",
                                         f"row 1 of the bias of {where}", "Keras")
                else:           # the two rows are added in the z and r blocks
                    b[:2 * H] += bias[1, :2 * H]
            else:
                b = bias
            cell = _split_blocks(kernel, "W_x", gates)
            cell |= _split_blocks(recurrent, "W_h", gates)
            cell |= _split_blocks(b, "b_", gates)
            if two_biases:
                cell["b_hh"] = bias[1, 2 * H:].copy()
            params |= {f"l{k}.{d}.{n}": cell[n] for n in spec.cell_param_names()}
    return params


def _keras_bias(spec, bias, where: str) -> np.ndarray:
    """The bias of one Keras layer, checked against the spec (which GRU it is)."""
    G, H = len(KERAS_GATES[spec.kind]), spec.hidden_size
    if spec.kind == "gru" and spec.reset_after:
        if np.shape(bias) == (G * H,):
            raise ValueError(f"bias of {where} has shape (3H,) = ({G * H},): that is a "
                             f"Keras GRU with reset_after=False; use "
                             f"RecurrentSpec(kind='gru', reset_after=False)")
        return _checked_shape(bias, (2, G * H), f"bias of {where}",
                              f"(2, 3H) = (2, {G * H})")
    if spec.kind == "gru" and np.shape(bias) == (2, G * H):
        raise ValueError(f"bias of {where} has shape (2, 3H) = (2, {G * H}): that is a "
                         f"Keras GRU with reset_after=True; use "
                         f"RecurrentSpec(kind='gru', reset_after=True)")
    return _checked_shape(bias, (G * H,), f"bias of {where}", f"(G·H,) = ({G}·{H},)")


def _lm_to_torch(model, values: dict, label: str, as_grads: bool) -> dict:
    _check_lm_values(model, values, label)
    out = {}
    if model.embed_size is not None:
        out["embedding.weight"] = values["E"].copy()
    recurrent = _to_torch(model.spec, values, label, as_grads)
    out |= {f"rnn.{key}": value for key, value in recurrent.items()}
    out["linear.weight"] = values["W_hq"].T.copy()
    out["linear.bias"] = values["b_q"].copy()
    return out


def _lm_from_torch(spec, V: int, has_embedding: bool, sd: dict, label: str,
                   as_grads: bool) -> dict[str, np.ndarray]:
    """Keys already checked; shapes, dtype and the layout are checked here."""
    _common_dtype(sd, list(sd), label)
    out = {}
    if has_embedding:
        out["E"] = _checked_shape(sd["embedding.weight"], (V, spec.input_size),
                                  f"{label}['embedding.weight']",
                                  f"(V, D) = ({V}, {spec.input_size})").copy()
    else:
        _check_one_hot(spec, V, "embedding.weight")
    recurrent = {key[len("rnn."):]: value for key, value in sd.items()
                 if key.startswith("rnn.")}
    out |= _from_torch(spec, recurrent, f"{label} (rnn.*, prefix dropped)", as_grads)
    Q = spec.num_directions * spec.hidden_size
    out["W_hq"] = _checked_shape(sd["linear.weight"], (V, Q),
                                 f"{label}['linear.weight']",
                                 f"(V, dirs·H) = ({V}, {Q})").T.copy()
    out["b_q"] = _checked_shape(sd["linear.bias"], (V,), f"{label}['linear.bias']",
                                f"(V,) = ({V},)").copy()
    return out


def _lm_to_keras(model, values: dict, label: str, as_grads: bool) -> list[np.ndarray]:
    _check_lm_values(model, values, label)
    front = [] if model.embed_size is None else [values["E"].copy()]
    return (front + _to_keras(model.spec, values, label, as_grads)
            + [values["W_hq"].copy(), values["b_q"].copy()])


def _lm_from_keras(spec, V: int, has_embedding: bool, weights: list, label: str,
                   as_grads: bool) -> dict[str, np.ndarray]:
    """Length already checked; shapes, dtype and the layout are checked here."""
    _common_dtype(dict(enumerate(weights)), range(len(weights)), label)
    out = {}
    if has_embedding:
        out["E"] = _checked_shape(weights[0], (V, spec.input_size),
                                  f"{label}[0] (Embedding)",
                                  f"(V, D) = ({V}, {spec.input_size})").copy()
    else:
        _check_one_hot(spec, V, "an Embedding's weights")
    n = len(weights) - 2                     # weights[has_embedding:n]: recurrent
    out |= _from_keras(spec, list(weights[has_embedding:n]),
                       f"{label}[{int(has_embedding)}:{n}]", as_grads)
    Q = spec.num_directions * spec.hidden_size
    out["W_hq"] = _checked_shape(weights[n], (Q, V), f"{label}[{n}] (Dense kernel)",
                                 f"(dirs·H, V) = ({Q}, {V})").copy()
    out["b_q"] = _checked_shape(weights[n + 1], (V,), f"{label}[{n + 1}] (Dense bias)",
                                f"(V,) = ({V},)").copy()
    return out


# --------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------

def _check_spec(spec) -> None:
    if not isinstance(spec, RecurrentSpec):
        raise TypeError(f"spec must be a RecurrentSpec; got {type(spec).__name__}")


def _check_model(model) -> None:
    if not isinstance(model, LanguageModel):
        raise TypeError(f"model must be an rnn.model.LanguageModel; got "
                        f"{type(model).__name__}")


def _check_dict(d, label: str) -> None:
    if not isinstance(d, dict):
        raise TypeError(f"{label} must be a dict name -> numpy array; got "
                        f"{type(d).__name__}")


def _check_list(weights, label: str) -> list:
    if not isinstance(weights, (list, tuple)):
        raise TypeError(f"{label} must be a list of numpy arrays (as "
                        f"layer.get_weights() returns); got {type(weights).__name__}")
    return list(weights)


def _check_keys(d: dict, expected: list[str], label: str, spec) -> None:
    missing = [n for n in expected if n not in d]
    extra = sorted(set(d) - set(expected))
    if missing or extra:
        hint = ""
        if any("proj" in n or "weight_hr" in n for n in extra):
            hint = " (an LSTM with proj_size > 0 has no counterpart here)"
        elif missing and all("bias" in n for n in missing):
            hint = (" (a module built with bias=False has no counterpart here: our "
                    "layers always have biases)")
        raise ValueError(f"{label} does not match {spec}: missing {missing}, "
                         f"unexpected {extra}{hint}; expected exactly {expected}")


def _vocab_size(b, label: str) -> int:
    """V, read from the output layer's bias (V,)."""
    if not isinstance(b, np.ndarray) or b.ndim != 1 or b.size < 1:
        raise ValueError(f"{label} must be the output layer's bias, a numpy array of "
                         f"shape (V,); got "
                         f"{type(b).__name__ if b is None else np.shape(b)}")
    return b.shape[0]


def _check_one_hot(spec, V: int, absent: str) -> None:
    if spec.input_size != V:
        raise ValueError(f"without {absent} the model reads one-hot vectors, so "
                         f"spec.input_size must be V = {V}; got {spec.input_size} "
                         f"(give the embedding, or a spec with input_size={V})")


def _torch_lm_names(spec, has_embedding: bool) -> list[str]:
    front = ["embedding.weight"] if has_embedding else []
    return (front + [f"rnn.{name}" for name in torch_param_names(spec)]
            + ["linear.weight", "linear.bias"])


def _check_lm_values(model, values, label: str) -> None:
    """values: a dict with exactly the keys, shapes and one dtype of model.params."""
    _check_dict(values, label)
    shapes = lm_param_shapes(model.spec, model.vocab_size, model.embed_size)
    missing = [n for n in shapes if n not in values]
    extra = sorted(set(values) - set(shapes))
    if missing or extra:
        raise ValueError(f"{label} must have the keys of the model's parameters: "
                         f"missing {missing}, unexpected {extra}")
    for name, shape in shapes.items():
        _checked_shape(values[name], shape, f"{label}[{name!r}]", str(shape))
    _common_dtype(values, list(shapes), label)


def _torch_suffixes(spec: RecurrentSpec) -> tuple[str, ...]:
    return ("", "_reverse")[: spec.num_directions]


def _layer_values(spec, values: dict, k: int, d: str, label: str) -> dict:
    """Layer k, direction d's parameters (or gradients) under their math names, checked:
    present, shapes, one float dtype."""
    _check_dict(values, label)
    names = spec.cell_param_names()
    keys = [f"l{k}.{d}.{n}" for n in names]
    missing = [key for key in keys if key not in values]
    if missing:
        raise ValueError(f"{label} are missing {missing} (spec: {spec})")
    D_k, H = spec.layer_input_size(k), spec.hidden_size
    for n, key in zip(names, keys):
        shape = param_shape(n, D_k, H)
        _checked_shape(values[key], shape, f"{label}[{key!r}]", str(shape))
    _common_dtype(values, keys, label)
    return {n: values[key] for n, key in zip(names, keys)}


def _checked_shape(a, shape: tuple[int, ...], name: str, symbolic: str) -> np.ndarray:
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy array of shape {symbolic}; got "
                        f"{type(a).__name__} (convert a torch tensor with "
                        f".detach().numpy())")
    if a.shape != shape:
        raise ValueError(f"{name} must have shape {symbolic}; got {a.shape}")
    return a


def _common_dtype(arrays: dict, names, label: str) -> np.dtype:
    """The one float dtype of ``arrays[n]`` for n in names (TypeError naming the first
    that differs)."""
    dtype = None
    for n in names:
        a = arrays[n]
        if not isinstance(a, np.ndarray):
            raise TypeError(f"{label}[{n!r}] must be a numpy array; got "
                            f"{type(a).__name__} (convert a torch tensor with "
                            f".detach().numpy())")
        if a.dtype.kind != "f":
            raise TypeError(f"{label}[{n!r}] must have a float dtype; got {a.dtype}")
        if dtype is None:
            dtype, first = a.dtype, n
        elif a.dtype != dtype:
            raise TypeError(f"{label} must hold arrays of one dtype; "
                            f"{label}[{first!r}] is {dtype} but {label}[{n!r}] is "
                            f"{a.dtype}")
    return dtype


def _check_same_gradient(g1: np.ndarray, g2: np.ndarray, name1: str, name2: str,
                         framework: str) -> None:
    """Two bias copies that are added must have received the same gradient."""
    scale = max(np.abs(g1).max(initial=0.0), np.abs(g2).max(initial=0.0))
    gap = np.abs(g1 - g2).max(initial=0.0)
    if not gap <= SAME_GRADIENT_RTOL * scale:
        raise ValueError(
            f"{name1} and {name2} must be equal where {framework} adds the two biases "
            f"(both receive ∂L/∂b); they differ by up to {gap:.3g}: these are not the "
            f"gradients of one {framework} layer")


def _stack_blocks(p: dict, prefix: str, gates: tuple[str, ...]) -> np.ndarray:
    """[p[prefix+g1], p[prefix+g2], …] side by side along the last axis (new array)."""
    return np.concatenate([p[prefix + g] for g in gates], axis=-1)


def _split_blocks(M: np.ndarray, prefix: str, gates: tuple[str, ...]) -> dict:
    """Inverse of ``_stack_blocks``: equal contiguous blocks of the last axis, copied
    (C-contiguous)."""
    H = M.shape[-1] // len(gates)
    return {prefix + g: M[..., i * H:(i + 1) * H].copy() for i, g in enumerate(gates)}
