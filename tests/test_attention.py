"""Tests for rnn.attention: additive and dot-product attention (shapes, masks, float64
central differences, PyTorch's autograd as stored in book/data/attention/), and the
encoder–decoder with attention (gradients, decoding, training)."""
import json
from pathlib import Path

import numpy as np
import pytest

from rnn.attention import (
    attention_backward,
    attention_decoder,
    attention_decoder_step,
    attention_encode,
    attention_forward,
    attention_seq2seq_loss_and_grads,
    attention_weights,
    init_attention,
    init_attention_seq2seq,
    masked_softmax,
    train_attention_seq2seq,
)
from rnn.decoding import (
    beam_search,
    exact_match,
    exhaustive_search,
    greedy_decode,
    pad_outputs,
    sequence_log_prob,
)
from rnn.gradcheck import numerical_gradient, relative_error
from rnn.optim import Adam
from rnn.seq2seq import init_seq2seq
from rnn.tasks import BOS_ID, PAD_ID, make_reverse_data
from test_seq2seq import batch   # right-padded pairs of unequal lengths

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


# --------------------------------------------------------------------------------------
# The encoder–decoder with attention
# --------------------------------------------------------------------------------------

KINDS = ["rnn", "gru", "lstm"]


def att_model64(kind, attention="additive", seed=0, H=4, D=3, A=5):
    """A float64 model whose weights are scaled up (attention ×4, the rest ×2): at
    their initial size a small LSTM's attention moves the loss so little (∂L/∂W_da ≈
    1e-7) that the round-off of central differences, about 1e-16 / ε, would be a
    sizeable part of its gradient."""
    m = init_attention_seq2seq(7, 6, H, kind, attention=attention, embed_size=D,
                               attention_size=A if attention == "additive" else None,
                               rng=seed, dtype=np.float64)
    for name, p in m.params.items():
        p *= 4 if name.startswith("att.") else 2
    return m


def test_model_parameters():
    m = init_attention_seq2seq(7, 6, 5, "lstm", embed_size=3, attention_size=4, rng=0)
    p = m.params
    assert p["dec.W_xi"].shape == (3 + 5, 5) and p["enc.W_xi"].shape == (3, 5)
    assert p["att.W_da"].shape == (5, 4) and p["att.W_ea"].shape == (5, 4)
    assert p["att.v_a"].shape == (4,) and p["W_cq"].shape == (5, 6)
    assert all(v.dtype == np.float32 for v in p.values()) and m.dtype == np.float32
    dot = init_attention_seq2seq(7, 6, 5, "gru", attention="dot", rng=0)
    assert not any(k.startswith("att.") for k in dot.params)
    assert dot.attention_size is None
    assert init_attention_seq2seq(7, 6, 5, rng=0).attention_size == 5


@pytest.mark.parametrize("kind,attention", [(k, "additive") for k in KINDS]
                         + [("gru", "dot"), ("lstm", "dot")])
def test_model_gradients_match_central_differences(kind, attention):
    rng = np.random.default_rng(4)
    m = att_model64(kind, attention, seed=5)
    args = batch(rng)
    _, grads = attention_seq2seq_loss_and_grads(m, *args)
    assert set(grads) == set(m.params)

    def loss():
        return attention_seq2seq_loss_and_grads(m, *args)[0]

    for name, x in m.params.items():
        err = relative_error(grads[name], numerical_gradient(loss, x, eps=1e-5))
        assert err < 1e-6, f"d{name}: relative error {err:.1e}"
    assert not grads["E_src"][PAD_ID].any()


@pytest.mark.parametrize("kind", KINDS)
def test_model_padding_changes_nothing(kind):
    rng = np.random.default_rng(2)
    m = att_model64(kind)
    src, src_mask, tgt, tgt_mask = batch(rng)
    loss, grads = attention_seq2seq_loss_and_grads(m, src, src_mask, tgt, tgt_mask)

    def pad(a, k):
        return np.concatenate([a, np.zeros((a.shape[0], k), a.dtype)], axis=1)

    loss2, grads2 = attention_seq2seq_loss_and_grads(m, pad(src, 3), pad(src_mask, 3),
                                                     pad(tgt, 2), pad(tgt_mask, 2))
    assert loss2 == pytest.approx(loss, rel=1e-13)
    for k in grads:
        np.testing.assert_allclose(grads2[k], grads[k], rtol=1e-11, atol=1e-14)
    alpha = attention_weights(m, src, src_mask, tgt, tgt_mask)
    assert alpha.shape == (3, tgt.shape[1], src.shape[1])
    assert (alpha[~tgt_mask] == 0).all()
    assert (alpha.transpose(0, 2, 1)[~src_mask] == 0).all()
    np.testing.assert_allclose(alpha.sum(axis=2), tgt_mask, rtol=1e-13)


@pytest.mark.parametrize("kind", KINDS)
def test_step_api_reproduces_the_loss_and_drives_rnn_decoding(kind):
    rng = np.random.default_rng(3)
    m = att_model64(kind, "dot" if kind == "rnn" else "additive")
    src, src_mask, tgt, tgt_mask = batch(rng)
    loss, _ = attention_seq2seq_loss_and_grads(m, src, src_mask, tgt, tgt_mask)
    state = attention_encode(m, src, src_mask)
    total, prev = 0.0, np.full(3, BOS_ID)
    for j in range(tgt.shape[1]):
        logp, state = attention_decoder_step(m, state, prev)
        total -= logp[np.arange(3), tgt[:, j]][tgt_mask[:, j]].sum()
        prev = tgt[:, j]
    assert loss == pytest.approx(total / tgt_mask.sum(), rel=1e-12)
    step, state0 = attention_decoder(m, src, src_mask)
    log_P = sequence_log_prob(step, state0, tgt)
    assert log_P.sum() == pytest.approx(-total, rel=1e-12)
    greedy = greedy_decode(step, state0, max_len=3)
    beams = beam_search(step, state0, beam_width=1, max_len=3)
    assert np.array_equal(pad_outputs([b[0] for b in beams], 3), greedy)
    best = exhaustive_search(step, state0, max_len=2)
    wide = beam_search(step, state0, beam_width=3**2 + 3 + 1, max_len=2)
    assert [h.tokens for h in best] == [b[0].tokens for b in wide]


@pytest.mark.parametrize("kind", KINDS)
def test_gradients_with_one_pair_and_one_token(kind):
    rng = np.random.default_rng(6)
    m = att_model64(kind, seed=7, H=3, D=2, A=2)
    args = batch(rng, B=1, src_lengths=(1,), tgt_lengths=(1,))
    _, grads = attention_seq2seq_loss_and_grads(m, *args)
    for name, x in m.params.items():
        num = numerical_gradient(lambda: attention_seq2seq_loss_and_grads(m, *args)[0],
                                 x, eps=1e-5)
        assert relative_error(grads[name], num) < 1e-6, name


def test_bad_model_inputs_raise_clear_errors():
    rng = np.random.default_rng(8)
    m = att_model64("gru")
    src, src_mask, tgt, tgt_mask = batch(rng)
    with pytest.raises(TypeError, match="needs an AttentionSeq2Seq"):
        attention_seq2seq_loss_and_grads(init_seq2seq(7, 6, 4, rng=0), src, src_mask,
                                         tgt, tgt_mask)
    with pytest.raises(ValueError, match=r"<pad> \(id 0\) exactly where"):
        attention_seq2seq_loss_and_grads(m, np.where(src_mask, src, 3), src_mask, tgt,
                                         tgt_mask)
    with pytest.raises(ValueError, match="attention must be one of"):
        init_attention_seq2seq(7, 6, 4, attention="multiplicative", rng=0)
    with pytest.raises(ValueError, match="kind must be one of"):
        init_attention_seq2seq(7, 6, 4, "transformer", rng=0)
    with pytest.raises(ValueError, match="no attention_size"):
        init_attention_seq2seq(7, 6, 4, attention="dot", attention_size=3, rng=0)
    state = attention_encode(m, src, src_mask)
    with pytest.raises(TypeError, match=r"tuple of 4 array\(s\), as attention_encode"):
        attention_decoder_step(m, state[:1], np.ones(3, int))
    with pytest.raises(ValueError, match=r"shape \(B, H\) = \(2, 4\)"):
        attention_decoder_step(m, state, np.ones(2, int))
    with pytest.raises(TypeError, match="mask must be a bool"):
        attention_decoder_step(m, state[:3] + (src_mask.astype(int),), np.ones(3, int))
    with pytest.raises(ValueError, match="the state's K must have shape"):
        attention_decoder_step(m, state[:2] + (state[2][:, :, :2], state[3]),
                               np.ones(3, int))
    with pytest.raises(ValueError, match="prev_ids must lie in"):
        attention_decoder_step(m, state, np.full(3, 6))
    with pytest.raises(ValueError, match="epochs must be an integer"):
        train_attention_seq2seq(m, src, src_mask, tgt, tgt_mask, epochs=0,
                                batch_size=2, optimizer=Adam(0.01), seed=0)


def test_a_small_model_with_attention_learns_to_reverse_strings():
    d = make_reverse_data(400, 0, length=(3, 6), num_symbols=5)
    m = init_attention_seq2seq(len(d.src_vocab), len(d.tgt_vocab), 32, "gru",
                               embed_size=8, rng=1)
    before, _ = attention_seq2seq_loss_and_grads(m, d.src, d.src_mask, d.tgt,
                                                 d.tgt_mask)
    history = train_attention_seq2seq(m, d.src, d.src_mask, d.tgt, d.tgt_mask,
                                      epochs=15, batch_size=32, optimizer=Adam(0.01),
                                      clip=5.0, seed=2)
    after, _ = attention_seq2seq_loss_and_grads(m, d.src, d.src_mask, d.tgt,
                                                d.tgt_mask)
    assert history.steps == 15 * 13 and after < 0.1 * before
    test = make_reverse_data(200, 9, length=(3, 6), num_symbols=5)
    pred = greedy_decode(*attention_decoder(m, test.src, test.src_mask), max_len=7)
    assert exact_match(pred, test.tgt, test.tgt_mask).mean() > 0.8
    # the alignment: output j of a reversal looks at source token L + 1 − j
    alpha = attention_weights(m, test.src, test.src_mask, test.tgt, test.tgt_mask)
    L = test.src_mask.sum(axis=1)
    hits = [alpha[b, j].argmax() == L[b] - 1 - j for b in range(200)
            for j in range(L[b])]
    assert np.mean(hits) > 0.8
