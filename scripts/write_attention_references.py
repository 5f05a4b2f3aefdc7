"""Write the PyTorch reference files that tests/test_attention.py (and chapter 16)
compare rnn.attention against, without PyTorch installed.

Run it in a separate environment that has PyTorch; it imports numpy and torch only
(not rnn), so the references are PyTorch's autograd applied to the formulas as
written, independent of the code they check:

    python3 -m venv /work/torchenv
    /work/torchenv/bin/pip install torch==2.13.0 numpy
    OMP_NUM_THREADS=1 /work/torchenv/bin/python scripts/write_attention_references.py

Each case is one attention step in float64 with a batch of sources of unequal lengths
(right-padded, the mask True at real tokens): the query H_dec (B, H'), the encoder's
states Hs (B, T_src, H), the mask, the parameters, and an upstream gradient G (B, H)
on the context; the loss is Σ G ⊙ c, so PyTorch's gradients are the backward pass's
outputs for dc = G. The formulas are those of rnn.attention's docstring:

    additive  e_t = tanh(H' W_da + H_t W_ea) v_a
    dot       e_t = H' · H_t / √H
    α = softmax(e) over the real tokens (−∞ at padding, so α_t = 0 there)
    c = Σ_t α_t H_t

One .npz file per case goes to book/data/attention/:

    meta                JSON: case, kind, sizes, torch, numpy and Python versions
    H_dec, Hs, mask, G  the inputs (mask bool) and the upstream gradient
    params/<name>       W_da, W_ea, v_a (additive only)
    c, alpha            PyTorch's outputs
    grads/<name>        PyTorch's gradients: H_dec, Hs, and each parameter
"""
from __future__ import annotations

import json
import math
import platform
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "book" / "data" / "attention"

# name, kind, B, T_src, H' (query), H (keys), H_a, source lengths
CASES = [
    ("additive", "additive", 3, 5, 3, 4, 6, (5, 2, 3)),
    ("additive-one-token", "additive", 2, 4, 4, 4, 3, (1, 4)),
    ("dot", "dot", 3, 5, 4, 4, None, (3, 5, 1)),
    ("dot-one-row", "dot", 1, 6, 5, 5, None, (4,)),
]


def torch_attention(kind, H_dec, Hs, mask, params):
    """c (B, H) and α (B, T_src) by the formulas of the docstring."""
    if kind == "additive":
        hidden = torch.tanh((H_dec @ params["W_da"])[:, None, :] + Hs @ params["W_ea"])
        e = hidden @ params["v_a"]
    else:
        e = torch.einsum("bh,bth->bt", H_dec, Hs) / math.sqrt(Hs.shape[-1])
    alpha = torch.softmax(e.masked_fill(~mask, -math.inf), dim=-1)
    return torch.einsum("bt,bth->bh", alpha, Hs), alpha


def main():
    torch.set_num_threads(1)
    OUT.mkdir(parents=True, exist_ok=True)
    for seed, (name, kind, B, T_src, Hq, H, A, lengths) in enumerate(CASES):
        rng = np.random.default_rng(2000 + seed)
        mask = np.arange(T_src) < np.array(lengths)[:, None]
        # Hs is random at the padding too: it must get weight 0 and gradient 0 there
        inputs = {"H_dec": rng.standard_normal((B, Hq)),
                  "Hs": rng.standard_normal((B, T_src, H))}
        params = {}
        if kind == "additive":
            params = {"W_da": rng.uniform(-1, 1, (Hq, A)),
                      "W_ea": rng.uniform(-1, 1, (H, A)),
                      "v_a": rng.uniform(-1, 1, A)}
        G = rng.standard_normal((B, H))
        leaves = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True)
                  for k, v in (inputs | params).items()}
        c, alpha = torch_attention(kind, leaves["H_dec"], leaves["Hs"],
                                   torch.from_numpy(mask), leaves)
        (c * torch.from_numpy(G)).sum().backward()
        meta = {"case": name, "kind": kind, "B": B, "T_src": T_src,
                "query_size": Hq, "key_size": H, "attention_size": A,
                "lengths": list(lengths), "dtype": "float64",
                "torch_version": torch.__version__, "numpy_version": np.__version__,
                "python_version": platform.python_version()}
        arrays = {"meta": np.array(json.dumps(meta)), "mask": mask, "G": G,
                  "c": c.detach().numpy(), "alpha": alpha.detach().numpy()}
        arrays |= inputs
        arrays |= {f"params/{k}": v for k, v in params.items()}
        arrays |= {f"grads/{k}": t.grad.numpy().copy() for k, t in leaves.items()}
        assert all(a.dtype == np.float64 for k, a in arrays.items()
                   if k not in ("meta", "mask"))
        assert (arrays["alpha"][~mask] == 0).all()
        assert (arrays["grads/Hs"][~mask] == 0).all()
        path = OUT / f"{name}.npz"
        np.savez_compressed(path, **arrays)
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
