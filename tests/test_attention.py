"""Tests for rnn.attention: additive and dot-product attention (shapes, masks, float64
central differences, PyTorch's autograd as stored in book/data/attention/), and the
encoder–decoder with attention (gradients, decoding, training)."""
import json
from pathlib import Path

import numpy as np
import pytest

from rnn.attention import (
    attention_backward,
    attention_forward,
    init_attention,
    masked_softmax,
)
from rnn.gradcheck import numerical_gradient, relative_error

ATTENTION = ["additive", "dot"]


def attention_case(kind, seed=0, B=3, T_src=5, Hq=4, H=4, A=6, lengths=(5, 2, 3)):
    """Query, encoder states (random at the padding too), mask, float64 params."""
    rng = np.random.default_rng(seed)
    mask = np.arange(T_src) < np.array(lengths)[:, None]
    H_dec = rng.standard_normal((B, Hq))
    Hs = rng.standard_normal((B, T_src, H))
    params = init_attention(kind, Hq, H, A if kind == "additive" else None, rng=seed,
                            dtype=np.float64)
    return H_dec, Hs, mask, params


# --------------------------------------------------------------------------------------
# One attention step
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ATTENTION)
def test_shapes_weights_and_context(kind):
    H_dec, Hs, mask, p = attention_case(kind)
    c, alpha, _ = attention_forward(kind, p, H_dec, Hs, mask)
    assert c.shape == (3, 4) and alpha.shape == (3, 5) and c.dtype == np.float64
    np.testing.assert_allclose(alpha.sum(axis=1), 1, rtol=1e-14)
    assert (alpha[~mask] == 0).all() and (alpha[mask] > 0).all()
    np.testing.assert_allclose(c, np.einsum("bt,bth->bh", alpha, Hs), rtol=1e-13)
    # the scores, written out for one row and one position
    b, t = 2, 1
    if kind == "additive":
        e = np.tanh((H_dec @ p["W_da"])[:, None] + Hs @ p["W_ea"]) @ p["v_a"]
    else:
        e = np.einsum("bh,bth->bt", H_dec, Hs) / 2.0               # √H = 2
    real = e[b, mask[b]]
    assert alpha[b, t] == pytest.approx(np.exp(real[t]) / np.exp(real).sum(), rel=1e-13)
    assert set(p) == ({"W_da", "W_ea", "v_a"} if kind == "additive" else set())


def test_init_attention_shapes_and_dtype():
    p = init_attention("additive", 3, 4, 5, rng=0)
    assert {n: v.shape for n, v in p.items()} == {"W_da": (3, 5), "W_ea": (4, 5),
                                                  "v_a": (5,)}
    assert all(v.dtype == np.float32 for v in p.values())
    assert all(np.abs(v).max() <= 1 / np.sqrt(5) for v in p.values())
    again = init_attention("additive", 3, 4, 5, rng=np.random.default_rng(0))
    assert all(np.array_equal(p[n], again[n]) for n in p)
    assert init_attention("dot", 4, 4, rng=0) == {}


@pytest.mark.parametrize("kind", ATTENTION)
def test_padding_is_never_attended(kind):
    H_dec, Hs, mask, p = attention_case(kind, seed=1)
    c, alpha, cache = attention_forward(kind, p, H_dec, Hs, mask)
    garbage = np.where(mask[:, :, None], Hs, 1e3)      # huge values at the padding
    c2, alpha2, _ = attention_forward(kind, p, H_dec, garbage, mask)
    np.testing.assert_array_equal(alpha2, alpha)
    np.testing.assert_array_equal(c2, c)
    _, dHs, _ = attention_backward(p, np.ones_like(c), cache)
    assert (dHs[~mask] == 0).all() and np.abs(dHs[mask]).max() > 0
    # each row alone, cut to its length, gives the same
    for b, L in enumerate(mask.sum(axis=1)):
        c_b, alpha_b, _ = attention_forward(kind, p, H_dec[b:b + 1], Hs[b:b + 1, :L],
                                            mask[b:b + 1, :L])
        np.testing.assert_allclose(c_b[0], c[b], rtol=1e-13)
        np.testing.assert_allclose(alpha_b[0], alpha[b, :L], rtol=1e-13)


def test_masked_softmax_of_one_token_and_of_large_scores():
    e = np.array([[1e4, -3.0, 2.0], [5.0, 7.0, 1e308]])
    mask = np.array([[True, False, False], [True, True, False]])
    alpha = masked_softmax(e, mask)
    np.testing.assert_array_equal(alpha[0], [1, 0, 0])
    np.testing.assert_allclose(alpha[1], [1 / (1 + np.e**2), 1 / (1 + np.e**-2), 0])


@pytest.mark.parametrize("kind", ATTENTION)
@pytest.mark.parametrize("shape", [dict(), dict(B=2, T_src=4, Hq=3, A=2,
                                                lengths=(1, 4))])
def test_attention_gradients_match_central_differences(kind, shape):
    if kind == "dot" and shape:
        shape = dict(shape, Hq=4)
    H_dec, Hs, mask, p = attention_case(kind, seed=2, **shape)
    G = np.random.default_rng(3).standard_normal((H_dec.shape[0], Hs.shape[2]))

    def loss():
        return (attention_forward(kind, p, H_dec, Hs, mask)[0] * G).sum()

    c, _, cache = attention_forward(kind, p, H_dec, Hs, mask)
    dH_dec, dHs, grads = attention_backward(p, G, cache)
    assert set(grads) == set(p)
    for name, x, analytic in [("H_dec", H_dec, dH_dec), ("Hs", Hs, dHs)] + [
            (n, p[n], grads[n]) for n in p]:
        err = relative_error(analytic, numerical_gradient(loss, x))
        assert err < 1e-6, f"d{name}: relative error {err:.1e}"
    assert (dHs[~mask] == 0).all()


# --------------------------------------------------------------------------------------
# PyTorch's autograd, stored (scripts/write_attention_references.py)
# --------------------------------------------------------------------------------------

REFERENCE_DIR = Path(__file__).resolve().parents[1] / "book" / "data" / "attention"
REFERENCES = sorted(REFERENCE_DIR.glob("*.npz"))
REFERENCE_TOL = 1e-12       # float64 on both sides; the differences are ~1e-16


def load_reference(path):
    """meta, and the stored arrays with the params/ and grads/ groups as dicts."""
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays.pop("meta")))
    for group in ("params", "grads"):
        arrays[group] = {k.split("/")[1]: arrays.pop(k) for k in list(arrays)
                         if k.startswith(group + "/")}
    return meta, arrays


def test_reference_files_are_there_small_and_dated():
    assert {p.stem for p in REFERENCES} >= {"additive", "dot"}
    assert sum(p.stat().st_size for p in REFERENCES) < 50_000
    for path in REFERENCES:
        meta, arrays = load_reference(path)
        assert meta["case"] == path.stem and meta["dtype"] == "float64"
        assert meta["torch_version"].startswith("2.")
        assert arrays["mask"].dtype == bool and arrays["c"].dtype == np.float64
        assert (~arrays["mask"]).any() or arrays["mask"].shape[0] == 1


@pytest.mark.parametrize("path", REFERENCES, ids=[p.stem for p in REFERENCES])
def test_agrees_with_pytorch_autograd(path):
    meta, a = load_reference(path)
    kind, p = meta["kind"], a["params"]
    c, alpha, cache = attention_forward(kind, p, a["H_dec"], a["Hs"], a["mask"])
    np.testing.assert_allclose(c, a["c"], rtol=0, atol=REFERENCE_TOL)
    np.testing.assert_allclose(alpha, a["alpha"], rtol=0, atol=REFERENCE_TOL)
    dH_dec, dHs, grads = attention_backward(p, a["G"], cache)
    ours = {"H_dec": dH_dec, "Hs": dHs} | grads
    assert set(ours) == set(a["grads"])
    for name, g in a["grads"].items():
        np.testing.assert_allclose(ours[name], g, rtol=0, atol=REFERENCE_TOL,
                                   err_msg=name)


# --------------------------------------------------------------------------------------
# Bad inputs
# --------------------------------------------------------------------------------------

def test_bad_attention_inputs_raise_clear_errors():
    H_dec, Hs, mask, p = attention_case("additive")
    f = attention_forward
    with pytest.raises(ValueError, match="kind must be one of"):
        f("multiplicative", p, H_dec, Hs, mask)
    with pytest.raises(ValueError, match=r"missing \['v_a'\]"):
        f("additive", {k: p[k] for k in ("W_da", "W_ea")}, H_dec, Hs, mask)
    with pytest.raises(ValueError, match=r"W_da must have shape \(H', H_a\) = \(3, "):
        f("additive", p, H_dec[:, :3], Hs, mask)
    with pytest.raises(TypeError, match="Hs must be a float numpy array"):
        f("additive", p, H_dec, Hs[0], mask)
    with pytest.raises(ValueError, match=r"H_dec must have shape \(B, H'\) = \(2, 4\)"):
        f("additive", p, H_dec, Hs[:2], mask[:2])
    with pytest.raises(TypeError, match="H_dec has dtype float32 but Hs"):
        f("additive", p, H_dec.astype(np.float32), Hs, mask)
    with pytest.raises(TypeError, match="mask must be a bool numpy array"):
        f("additive", p, H_dec, Hs, mask.astype(int))
    with pytest.raises(ValueError, match=r"mask must have shape \(B, T_src\)"):
        f("additive", p, H_dec, Hs, mask[:, :4])
    empty = mask.copy()
    empty[1] = False
    with pytest.raises(ValueError, match="a True .* in every row"):
        f("additive", p, H_dec, Hs, empty)
    nan = Hs.copy()
    nan[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="Hs contains NaN"):
        f("additive", p, H_dec, nan, mask)
    with pytest.raises(ValueError, match="query's size H' to be the keys' H"):
        f("dot", {}, H_dec[:, :3], Hs, mask)
    with pytest.raises(ValueError, match="query_size = key_size"):
        init_attention("dot", 3, 4, rng=0)
    with pytest.raises(ValueError, match="no attention_size"):
        init_attention("dot", 4, 4, 5, rng=0)
    with pytest.raises(ValueError, match="attention_size must be an integer"):
        init_attention("additive", 4, 4, rng=0)
    c, _, cache = f("additive", p, H_dec, Hs, mask)
    with pytest.raises(ValueError, match=r"dc must have shape \(B, H\) = \(3, 4\)"):
        attention_backward(p, c[:, :3], cache)
    with pytest.raises(TypeError, match="AttentionCache"):
        attention_backward(p, c, (cache,))
