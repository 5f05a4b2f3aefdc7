"""Write the PyTorch and Keras reference files that book/interop.ipynb and
tests/test_interop.py compare rnn against, without either framework installed.

Run it in a separate environment that has the frameworks; they are never dependencies of
the course:

    python3 -m venv /work/torchenv
    /work/torchenv/bin/pip install torch==2.13.0 keras==3.15.1 tensorflow-cpu==2.21.0
    /work/torchenv/bin/pip install -c constraints.txt -e .     # rnn, numpy, matplotlib
    KERAS_BACKEND=tensorflow /work/torchenv/bin/python
    scripts/write_interop_references.py

Keras runs on its TensorFlow backend, because that is the one backend on which Keras
computes in float64: on the others (torch, jax) Keras' type promotion maps float64 to
float32 inside its ops, to match JAX's default (BIT64_TO_BIT32_DTYPE in
keras/src/backend/common/dtypes.py), so a float64 Keras model on the torch backend
disagrees with any float64 computation by ~1e-7, float32 round-off, and the references
could only be compared to that. With TensorFlow they agree to ~1e-16. The Keras models
run Keras' own GRUCell/LSTMCell/SimpleRNNCell equations (on a CPU there is no cuDNN
kernel), its gate order and (2, 3H) reset-after bias, its Bidirectional wrapper and its
get_weights() order, which is what the files check.

Each case is one small language model (ids → embedding or one-hot → recurrent layers →
output layer → mean cross-entropy), in float64. Half of the cases start from the
framework's own initialisation, with every bias (both of PyTorch's, both rows of a Keras
reset-after GRU bias) redrawn at random so that no bias is zero; they check the import
direction. The other half start from rnn.model.init_language_model and are exported with
rnn.interop (this repository's package, installed in that environment too) and loaded
into the framework strictly; they check the export direction. The framework then
computes the logits, the loss and the gradient of every parameter. One .npz file per
case goes to book/data/interop/:

    meta            JSON: case, framework and its version, backend, numpy and Python
                    versions, the architecture (kind, V, D, H, layers, ...), origin
    ids, targets    (B, T) int64 token ids
    logits          (B, T, V) float64; loss: () float64
    weights/<name>  the parameters in the framework's layout (PyTorch: state-dict keys;
                    Keras: weights/00, weights/01, ... in get_weights() order)
    grads/<name>    the framework's gradient of each of them, same keys
"""
from __future__ import annotations

import json
import os
import platform
import sys
from pathlib import Path

import numpy as np

from rnn.interop import to_keras_lm_weights, to_torch_lm_state_dict
from rnn.model import init_language_model

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "book" / "data" / "interop"

V, D, H, B, T = 7, 3, 4, 2, 5

# name, framework, kind, num_layers, bidirectional, embedding?, options, weights from
CASES = [
    ("torch-rnn-tanh-one-hot", "torch", "rnn", 1, False, False, {}, "rnn"),
    (
        "torch-rnn-relu-bidirectional",
        "torch",
        "rnn",
        1,
        True,
        True,
        {"nonlinearity": "relu"},
        "framework",
    ),
    (
        "torch-gru-bidirectional-2-layer",
        "torch",
        "gru",
        2,
        True,
        True,
        {"reset_after": True},
        "framework",
    ),
    (
        "torch-gru-one-hot",
        "torch",
        "gru",
        1,
        False,
        False,
        {"reset_after": True},
        "rnn",
    ),
    ("torch-lstm-2-layer", "torch", "lstm", 2, False, True, {}, "rnn"),
    (
        "torch-lstm-one-hot-bidirectional",
        "torch",
        "lstm",
        1,
        True,
        False,
        {},
        "framework",
    ),
    ("keras-rnn-tanh-one-hot", "keras", "rnn", 1, False, False, {}, "rnn"),
    (
        "keras-rnn-relu-2-layer",
        "keras",
        "rnn",
        2,
        False,
        True,
        {"nonlinearity": "relu"},
        "framework",
    ),
    (
        "keras-gru-bidirectional-2-layer",
        "keras",
        "gru",
        2,
        True,
        True,
        {"reset_after": True},
        "framework",
    ),
    (
        "keras-gru-reset-before",
        "keras",
        "gru",
        1,
        False,
        True,
        {"reset_after": False},
        "framework",
    ),
    (
        "keras-gru-one-hot",
        "keras",
        "gru",
        1,
        False,
        False,
        {"reset_after": True},
        "rnn",
    ),
    ("keras-lstm-bidirectional-2-layer", "keras", "lstm", 2, True, True, {}, "rnn"),
    ("keras-lstm-one-hot", "keras", "lstm", 1, False, False, {}, "framework"),
]


def our_model(kind, num_layers, bidirectional, embedding, options, seed):
    rng = np.random.default_rng(seed)
    model = init_language_model(V, H, kind, num_layers=num_layers,
                                embed_size=D if embedding else None,
                                bidirectional=bidirectional, rng=rng, dtype=np.float64,
                                **options)
    model.params["b_q"][:] = rng.uniform(-0.5, 0.5, size=V)     # not the zero default
    return model


# --------------------------------------------------------------------------------------
# PyTorch
# --------------------------------------------------------------------------------------

def torch_case(kind, num_layers, bidirectional, embedding, options, origin, seed, ids,
               targets):
    import torch

    class LM(torch.nn.Module):
        """The module of rnn.interop's docstring: embedding, recurrent layers,
        linear."""

        def __init__(self):
            super().__init__()
            if embedding:
                self.embedding = torch.nn.Embedding(V, D)
            cls = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[
                kind
            ]
            extra = ({"nonlinearity": options.get("nonlinearity", "tanh")}
                     if kind == "rnn" else {})
            self.rnn = cls(D if embedding else V, H, num_layers,
                           bidirectional=bidirectional, **extra)
            self.linear = torch.nn.Linear((2 if bidirectional else 1) * H, V)

        def forward(self, ids):                        # ids (B, T) -> logits (B, T, V)
            ids_tm = ids.T
            if embedding:
                X = self.embedding(ids_tm)
            else:
                X = torch.nn.functional.one_hot(ids_tm, V).double()
            Hs, _ = self.rnn(X)
            return self.linear(Hs).transpose(0, 1)

    torch.manual_seed(seed)
    module = LM().double()
    if origin == "rnn":
        sd = to_torch_lm_state_dict(
            our_model(kind, num_layers, bidirectional, embedding, options, seed)
        )
        module.load_state_dict({k: torch.from_numpy(v) for k, v in sd.items()},
                               strict=True)
    else:                                  # torch's initialisation, every bias redrawn
        rng = np.random.default_rng(seed)
        with torch.no_grad():
            for name, p in module.named_parameters():
                if "bias" in name:
                    p.copy_(torch.from_numpy(rng.uniform(-0.5, 0.5, size=p.shape)))
    logits = module(torch.from_numpy(ids))
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, V),
                                             torch.from_numpy(targets).reshape(-1))
    loss.backward()
    weights = {k: v.detach().numpy().copy() for k, v in module.state_dict().items()}
    grads = {k: p.grad.numpy().copy() for k, p in module.named_parameters()}
    assert list(grads) == list(weights)
    return logits.detach().numpy(), loss.item(), weights, grads, {
        "torch_version": torch.__version__}


# --------------------------------------------------------------------------------------
# Keras
# --------------------------------------------------------------------------------------

def keras_case(kind, num_layers, bidirectional, embedding, options, origin, seed, ids,
               targets):
    import keras
    import tensorflow as tf

    keras.utils.clear_session()  # layer names start afresh in every case
    keras.config.set_floatx("float64")
    keras.utils.set_random_seed(seed)
    layers = [keras.Input((T,), dtype="int64") if embedding else keras.Input((T, V))]
    if embedding:
        layers.append(keras.layers.Embedding(V, D))
    for _ in range(num_layers):
        if kind == "rnn":
            layer = keras.layers.SimpleRNN(
                H, activation=options.get("nonlinearity", "tanh"), return_sequences=True
            )
        elif kind == "gru":
            layer = keras.layers.GRU(H, reset_after=options["reset_after"],
                                     return_sequences=True)
        else:
            layer = keras.layers.LSTM(H, return_sequences=True)
        layers.append(keras.layers.Bidirectional(layer) if bidirectional else layer)
    layers.append(keras.layers.Dense(V))
    model = keras.Sequential(layers)
    if origin == "rnn":
        model.set_weights(to_keras_lm_weights(
            our_model(kind, num_layers, bidirectional, embedding, options, seed)))
    else:                                  # Keras' initialisation, every bias redrawn
        rng = np.random.default_rng(seed)
        for v in model.weights:
            if v.path.endswith("bias"):
                v.assign(rng.uniform(-0.5, 0.5, size=v.shape))
    x = ids if embedding else np.eye(V)[ids]                # (B, T) or (B, T, V)
    with tf.GradientTape() as tape:
        logits = model(x)
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(targets,
                                                                            logits)
    gradients = tape.gradient(loss, model.weights)
    weights = {f"{i:02d}": keras.ops.convert_to_numpy(v).copy()
               for i, v in enumerate(model.weights)}
    # the embedding's gradient comes as tf.IndexedSlices (rows of the ids): made dense
    grads = {f"{i:02d}": tf.convert_to_tensor(g).numpy().copy()
             for i, g in enumerate(gradients)}
    versions = {
        "keras_version": keras.__version__,
        "keras_backend": keras.backend.backend(),
        "tensorflow_version": tf.__version__,
        "keras_weight_paths": [v.path for v in model.weights],
    }
    loss = float(keras.ops.convert_to_numpy(loss))
    return keras.ops.convert_to_numpy(logits), loss, weights, grads, versions


def main():
    import torch

    OUT.mkdir(parents=True, exist_ok=True)
    for seed, (name, framework, kind, num_layers, bidirectional, embedding, options,
               origin) in enumerate(CASES):
        rng = np.random.default_rng(1000 + seed)
        ids = rng.integers(0, V, size=(B, T))
        targets = rng.integers(0, V, size=(B, T))
        run = torch_case if framework == "torch" else keras_case
        logits, loss, weights, grads, versions = run(
            kind,
            num_layers,
            bidirectional,
            embedding,
            options,
            origin,
            seed,
            ids,
            targets,
        )
        meta = {"case": name, "framework": framework, "kind": kind, "vocab_size": V,
                "embed_size": D if embedding else None, "hidden_size": H,
                "num_layers": num_layers, "bidirectional": bidirectional,
                "nonlinearity": options.get("nonlinearity", "tanh"),
                "reset_after": options.get("reset_after", False),
                "weights_from": origin, "dtype": "float64",
                "torch_version": torch.__version__, "numpy_version": np.__version__,
                "python_version": platform.python_version()} | versions
        arrays = {"meta": np.array(json.dumps(meta)), "ids": ids, "targets": targets,
                  "logits": logits, "loss": np.array(loss)}
        arrays |= {f"weights/{k}": v for k, v in weights.items()}
        arrays |= {f"grads/{k}": v for k, v in grads.items()}
        assert all(a.dtype == np.float64 for k, a in arrays.items()
                   if k.startswith(("weights/", "grads/", "logits", "loss")))
        path = OUT / f"{name}.npz"
        np.savez_compressed(path, **arrays)
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    if os.environ.get("KERAS_BACKEND") != "tensorflow":
        sys.exit("set KERAS_BACKEND=tensorflow: Keras computes in float64 only on the "
                 "TensorFlow backend (see the docstring)")
    main()
