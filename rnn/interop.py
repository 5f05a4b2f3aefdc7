"""Move the parameters of a recurrent layer to and from PyTorch's and Keras' layouts (pure numpy).

Neither framework is imported: the functions take and return numpy arrays. With PyTorch, pass
``{k: v.detach().numpy() for k, v in module.state_dict().items()}`` in, and load the result back with
``module.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()})``; with Keras, the list goes
to ``layer.set_weights`` and comes from ``layer.get_weights()``. The correspondence (see the notation
page of the book) is, for layer k and direction d of a ``RecurrentSpec``:

PyTorch ``nn.RNN`` / ``nn.GRU`` / ``nn.LSTM`` (``batch_first`` does not change the parameters)
    ``weight_ih_l{k}``  (G·H, D_k) = [W_x(gate 1) … W_x(gate G)]ᵀ    D_k = input size of layer k
    ``weight_hh_l{k}``  (G·H, H)   = [W_h(gate 1) … W_h(gate G)]ᵀ
    ``bias_ih_l{k}``, ``bias_hh_l{k}``  (G·H,), whose sum is our bias; the suffix ``_reverse`` marks d = "bwd".
    Gate blocks: RNN one block (G = 1); GRU r, z, n (n = our candidate h); LSTM i, f, g, o (g = our c).
    PyTorch's GRU is the reset-after one, n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), so b_in = b_h and
    b_hn = b_hh cannot be merged; every other bias is a sum b_i· + b_h·. Going to PyTorch, the whole bias goes
    in ``bias_ih`` and ``bias_hh`` gets zeros (except b_hn = b_hh); coming back, the two are added.

Keras ``SimpleRNN`` / ``GRU`` / ``LSTM`` (one list of arrays per layer and direction)
    ``[kernel (D_k, G·H), recurrent_kernel (H, G·H), bias]``: our orientation, gate blocks side by side.
    Gate blocks: SimpleRNN one block; GRU z, r, h; LSTM i, f, c, o.
    bias: (G·H,), except for a GRU with ``reset_after=True`` (the Keras default): (2, 3H), row 0 the input
    biases, row 1 the recurrent ones, so b_z = bias[0, z] + bias[1, z], b_r likewise, b_h = bias[0, h] and
    b_hh = bias[1, h]. A Keras GRU with ``reset_after=False`` is our reset-before GRU, bias (3H,) = [b_z, b_r, b_h].
    Stacked or bidirectional: one flat list, three arrays per layer and direction, layer by layer and forward
    before backward, which is the order of ``get_weights()`` for a ``Bidirectional`` wrapper (forward layer
    first) and for a ``Sequential`` stack of such layers. Layer k, direction j (0 = fwd, 1 = bwd) owns
    ``weights[3·(k·num_directions + j) : 3·(k·num_directions + j) + 3]``.

The frameworks must be built with the same hyper-parameters as the spec: ``nonlinearity`` for an RNN
(``nn.RNN(nonlinearity="relu")``, ``SimpleRNN(activation="relu")``), Keras' default activations
(tanh, sigmoid), biases on, and for PyTorch no ``proj_size``.
Conversions copy and keep the dtype; a round trip returns exactly the arrays it started from.
The two layouts compute the same function, but training them is not quite the same: where we have one bias b,
PyTorch has two whose sum acts (Keras' reset-after GRU likewise), so SGD moves that sum twice as fast and the
gradient norm counts ∂L/∂b twice. To train our parametrisation in PyTorch, freeze the zero copy
(``bias_hh_l{k}.requires_grad_(False)`` for RNN and LSTM; for the GRU only its r and z blocks, e.g. with a hook).
Extra keys in ``params`` (an output layer's W_hq, an embedding E) are ignored, as the layer functions do.
"""
from __future__ import annotations

import numpy as np

from rnn._common import param_shape
from rnn.layers import RecurrentSpec

# Our math names of each gate block, in each framework's block order. "gate" = the letter in our names
# (W_x{gate}, W_h{gate}, b_{gate}).
TORCH_GATES = {"rnn": ("h",), "gru": ("r", "z", "h"), "lstm": ("i", "f", "c", "o")}
KERAS_GATES = {"rnn": ("h",), "gru": ("z", "r", "h"), "lstm": ("i", "f", "c", "o")}

_RESET_BEFORE_TORCH = (
    "a reset-before GRU (RecurrentSpec(kind='gru', reset_after=False)) cannot be expressed exactly in PyTorch: "
    "nn.GRU computes the reset-after candidate n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), applying the reset "
    "gate after the recurrent matmul, while the reset-before GRU computes tanh(X W_xh + (R ⊙ H) W_hh + b_h). "
    "Build the model with RecurrentSpec(kind='gru', reset_after=True) (init_recurrent then adds the bias b_hh), "
    "or export a reset-before GRU to Keras instead (keras.layers.GRU(reset_after=False) is the same model)"
)


# ---------------------------------------------------------------------------------------------
# PyTorch
# ---------------------------------------------------------------------------------------------

def torch_param_names(spec: RecurrentSpec) -> list[str]:
    """The state-dict keys of the PyTorch module matching ``spec``, in PyTorch's order."""
    _check_spec(spec)
    return [f"{kind}_l{k}{suffix}"
            for k in range(spec.num_layers) for suffix in _torch_suffixes(spec)
            for kind in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]


def to_torch_state_dict(spec: RecurrentSpec, params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Our parameters as the state dict of ``nn.RNN``/``nn.GRU``/``nn.LSTM`` (numpy arrays, same dtype).

    spec: the layer (for a GRU, reset_after must be True); params: keys ``"l{k}.{d}.{name}"`` as from
    ``init_recurrent``. Returns, for every layer k and direction (suffix "" or "_reverse"):
    weight_ih_l{k} (G·H, D_k), weight_hh_l{k} (G·H, H), bias_ih_l{k} and bias_hh_l{k} (G·H,), G = 1, 3 or 4.
    Each of our biases goes whole into bias_ih; bias_hh is zero except for the GRU's b_hn = b_hh.
    Raises ValueError for a reset-before GRU (PyTorch has none) or missing/misshapen parameters.
    """
    _check_spec(spec)
    if spec.kind == "gru" and not spec.reset_after:
        raise ValueError(_RESET_BEFORE_TORCH)
    gates = TORCH_GATES[spec.kind]
    H = spec.hidden_size
    out = {}
    for k in range(spec.num_layers):
        for d, suffix in zip(spec.directions, _torch_suffixes(spec)):
            p = _layer_params(spec, params, k, d)
            dtype = p[f"W_x{gates[0]}"].dtype
            bias_hh = np.zeros(len(gates) * H, dtype)
            if spec.kind == "gru":
                bias_hh[2 * H:] = p["b_hh"]                   # b_hn: inside r ⊙ (…), cannot move to bias_ih
            out[f"weight_ih_l{k}{suffix}"] = _stack_blocks(p, "W_x", gates).T.copy()
            out[f"weight_hh_l{k}{suffix}"] = _stack_blocks(p, "W_h", gates).T.copy()
            out[f"bias_ih_l{k}{suffix}"] = _stack_blocks(p, "b_", gates)
            out[f"bias_hh_l{k}{suffix}"] = bias_hh
    return out


def from_torch_state_dict(spec: RecurrentSpec, state_dict: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Inverse of ``to_torch_state_dict``: a PyTorch state dict (values as numpy arrays) → our parameters.

    state_dict: exactly the keys of ``torch_param_names(spec)`` (e.g. ``{k: v.detach().numpy() for k, v in
    rnn.state_dict().items()}``), all of one float dtype. Our biases are bias_ih + bias_hh block by block,
    except the GRU candidate's: b_h = b_in, b_hh = b_hn. Returns keys ``"l{k}.{d}.{name}"`` in the order of
    ``init_recurrent``. Raises ValueError naming missing or unexpected keys and misshapen arrays, TypeError for
    arrays that are not numpy or not of one float dtype, ValueError for a reset-before GRU.
    """
    _check_spec(spec)
    if spec.kind == "gru" and not spec.reset_after:
        raise ValueError(_RESET_BEFORE_TORCH)
    if not isinstance(state_dict, dict):
        raise TypeError(f"state_dict must be a dict name -> numpy array; got {type(state_dict).__name__}")
    expected = torch_param_names(spec)
    missing = [n for n in expected if n not in state_dict]
    extra = sorted(set(state_dict) - set(expected))
    if missing or extra:
        hint = ""
        if any("proj" in n or "weight_hr" in n for n in extra):
            hint = " (an LSTM with proj_size > 0 has no counterpart here)"
        elif missing and all(n.startswith("bias") for n in missing):
            hint = " (a module built with bias=False has no counterpart here: our layers always have biases)"
        raise ValueError(f"state_dict does not match {spec}: missing {missing}, unexpected {extra}{hint}; "
                         f"expected exactly {expected}")
    gates = TORCH_GATES[spec.kind]
    G, H = len(gates), spec.hidden_size
    _common_dtype(state_dict, expected, "state_dict")
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
                a[kind] = _checked_shape(state_dict[name], shape, f"state_dict[{name!r}]", symbolic)
            b = a["bias_ih"] + a["bias_hh"]
            if spec.kind == "gru":
                b[2 * H:] = a["bias_ih"][2 * H:]             # b_h = b_in; b_hn is kept apart as b_hh
            cell = {}
            cell |= _split_blocks(a["weight_ih"].T, "W_x", gates)
            cell |= _split_blocks(a["weight_hh"].T, "W_h", gates)
            cell |= _split_blocks(b, "b_", gates)
            if spec.kind == "gru":
                cell["b_hh"] = a["bias_hh"][2 * H:].copy()
            params |= {f"l{k}.{d}.{n}": cell[n] for n in spec.cell_param_names()}
    return params


# ---------------------------------------------------------------------------------------------
# Keras
# ---------------------------------------------------------------------------------------------

def to_keras_weights(spec: RecurrentSpec, params: dict[str, np.ndarray]) -> list[np.ndarray]:
    """Our parameters as the weights of Keras ``SimpleRNN``/``GRU``/``LSTM`` layers (numpy arrays, same dtype).

    Returns one flat list, [kernel, recurrent_kernel, bias] for every layer and direction, layer by layer,
    forward before backward (see the module docstring): kernel (D_k, G·H), recurrent_kernel (H, G·H),
    bias (G·H,), or (2, 3H) for a reset-after GRU (row 0 = [b_z, b_r, b_h], row 1 = [0, 0, b_hh]).
    For a single unidirectional layer this is exactly ``layer.set_weights``' argument.
    """
    _check_spec(spec)
    gates = KERAS_GATES[spec.kind]
    H = spec.hidden_size
    weights = []
    for k in range(spec.num_layers):
        for d in spec.directions:
            p = _layer_params(spec, params, k, d)
            bias = _stack_blocks(p, "b_", gates)
            if spec.kind == "gru" and spec.reset_after:
                recurrent_bias = np.zeros_like(bias)
                recurrent_bias[2 * H:] = p["b_hh"]
                bias = np.stack([bias, recurrent_bias])
            weights += [_stack_blocks(p, "W_x", gates), _stack_blocks(p, "W_h", gates), bias]
    return weights


def from_keras_weights(spec: RecurrentSpec, weights: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Inverse of ``to_keras_weights``: the flat list of Keras weights → our parameters.

    weights: 3 arrays per layer and direction as described in the module docstring (``layer.get_weights()``
    for a single layer, the forward and backward lists one after the other for ``Bidirectional``). A GRU's bias
    of shape (2, 3H) belongs to ``reset_after=True``, of shape (3H,) to ``reset_after=False``; the spec must say
    which. Returns keys ``"l{k}.{d}.{name}"`` in the order of ``init_recurrent``.
    """
    _check_spec(spec)
    if not isinstance(weights, (list, tuple)):
        raise TypeError(f"weights must be a list of numpy arrays (layer.get_weights()); got {type(weights).__name__}")
    n = 3 * spec.num_layers * spec.num_directions
    if len(weights) != n:
        raise ValueError(f"weights must hold 3 arrays (kernel, recurrent_kernel, bias) per layer and direction, "
                         f"{n} for {spec}; got {len(weights)}")
    _common_dtype(dict(enumerate(weights)), range(n), "weights")
    gates = KERAS_GATES[spec.kind]
    G, H = len(gates), spec.hidden_size
    two_biases = spec.kind == "gru" and spec.reset_after
    params = {}
    for k in range(spec.num_layers):
        D_k = spec.layer_input_size(k)
        for j, d in enumerate(spec.directions):
            i = 3 * (k * spec.num_directions + j)
            where = f"layer {k} {d} (weights[{i}:{i + 3}])"
            kernel = _checked_shape(weights[i], (D_k, G * H), f"kernel of {where}", f"(D_k, G·H) = ({D_k}, {G}·{H})")
            recurrent = _checked_shape(weights[i + 1], (H, G * H), f"recurrent_kernel of {where}",
                                       f"(H, G·H) = ({H}, {G}·{H})")
            bias = weights[i + 2]
            if two_biases:
                if np.shape(bias) == (G * H,):
                    raise ValueError(f"bias of {where} has shape (3H,) = ({G * H},): that is a Keras GRU with "
                                     f"reset_after=False; use RecurrentSpec(kind='gru', reset_after=False)")
                bias = _checked_shape(bias, (2, G * H), f"bias of {where}", f"(2, 3H) = (2, {G * H})")
                b = bias[0] + bias[1]
                b[2 * H:] = bias[0, 2 * H:]                  # b_h: the input bias of the candidate
            else:
                if spec.kind == "gru" and np.shape(bias) == (2, G * H):
                    raise ValueError(f"bias of {where} has shape (2, 3H) = (2, {G * H}): that is a Keras GRU "
                                     f"with reset_after=True; use RecurrentSpec(kind='gru', reset_after=True)")
                b = _checked_shape(bias, (G * H,), f"bias of {where}", f"(G·H,) = ({G}·{H},)")
            cell = _split_blocks(kernel, "W_x", gates) | _split_blocks(recurrent, "W_h", gates)
            cell |= _split_blocks(b, "b_", gates)
            if two_biases:
                cell["b_hh"] = bias[1, 2 * H:].copy()
            params |= {f"l{k}.{d}.{name}": cell[name] for name in spec.cell_param_names()}
    return params


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------

def _check_spec(spec) -> None:
    if not isinstance(spec, RecurrentSpec):
        raise TypeError(f"spec must be a RecurrentSpec; got {type(spec).__name__}")


def _torch_suffixes(spec: RecurrentSpec) -> tuple[str, ...]:
    return ("", "_reverse")[: spec.num_directions]


def _layer_params(spec: RecurrentSpec, params: dict, k: int, d: str) -> dict[str, np.ndarray]:
    """Layer k, direction d's parameters under their math names, checked: present, shapes, one float dtype."""
    if not isinstance(params, dict):
        raise TypeError(f"params must be a dict name -> numpy array; got {type(params).__name__}")
    names = spec.cell_param_names()
    keys = [f"l{k}.{d}.{n}" for n in names]
    missing = [key for key in keys if key not in params]
    if missing:
        raise ValueError(f"params are missing {missing} (spec: {spec})")
    D_k, H = spec.layer_input_size(k), spec.hidden_size
    for n, key in zip(names, keys):
        shape = param_shape(n, D_k, H)
        _checked_shape(params[key], shape, f"params[{key!r}]", str(shape))
    _common_dtype(params, keys, "params")
    return {n: params[key] for n, key in zip(names, keys)}


def _checked_shape(a, shape: tuple[int, ...], name: str, symbolic: str) -> np.ndarray:
    if not isinstance(a, np.ndarray):
        raise TypeError(f"{name} must be a numpy array of shape {symbolic}; got {type(a).__name__} "
                        f"(convert a torch tensor with .detach().numpy())")
    if a.shape != shape:
        raise ValueError(f"{name} must have shape {symbolic}; got {a.shape}")
    return a


def _common_dtype(arrays: dict, names, label: str) -> np.dtype:
    """The one float dtype of ``arrays[n]`` for n in names (TypeError naming the first that differs)."""
    dtype = None
    for n in names:
        a = arrays[n]
        if not isinstance(a, np.ndarray):
            raise TypeError(f"{label}[{n!r}] must be a numpy array; got {type(a).__name__} "
                            f"(convert a torch tensor with .detach().numpy())")
        if a.dtype.kind != "f":
            raise TypeError(f"{label}[{n!r}] must have a float dtype; got {a.dtype}")
        if dtype is None:
            dtype, first = a.dtype, n
        elif a.dtype != dtype:
            raise TypeError(f"{label} must hold arrays of one dtype; {label}[{first!r}] is {dtype} "
                            f"but {label}[{n!r}] is {a.dtype}")
    return dtype


def _stack_blocks(p: dict, prefix: str, gates: tuple[str, ...]) -> np.ndarray:
    """[p[prefix+g1], p[prefix+g2], …] side by side along the last axis (a new array)."""
    return np.concatenate([p[prefix + g] for g in gates], axis=-1)


def _split_blocks(M: np.ndarray, prefix: str, gates: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Inverse of ``_stack_blocks``: equal contiguous blocks of the last axis, copied (C-contiguous)."""
    H = M.shape[-1] // len(gates)
    return {prefix + g: M[..., i * H:(i + 1) * H].copy() for i, g in enumerate(gates)}
