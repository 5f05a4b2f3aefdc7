"""Tests for rnn.seq2seq: the encoder–decoder, its masks, its hand-written backward
pass (float64 central differences) and its training."""
import numpy as np
import pytest

from rnn.gradcheck import numerical_gradient, relative_error
from rnn.optim import Adam
from rnn.seq2seq import (
    Seq2Seq,
    cell_params,
    decoder_step,
    encode,
    init_seq2seq,
    run_cell,
    seq2seq_loss_and_grads,
    shift_right,
    teacher_forced_predictions,
    train_seq2seq,
)
from rnn.tasks import BOS_ID, EOS_ID, PAD_ID, make_reverse_data

KINDS = ["rnn", "gru", "lstm"]


def assert_gradients(m, args, grads, tol=1e-6):
    """Every analytic gradient agrees with central differences (relative error < tol).

    ε = 1e-5: the encoder's gradients are small (about 1e-4), and with ε = 1e-6 the
    round-off of the loss, about 1e-16 / ε, would be a sizeable part of them; the
    truncation error, O(ε²), stays far below either.
    """
    def loss():
        return seq2seq_loss_and_grads(m, *args)[0]

    for name, x in m.params.items():
        err = relative_error(grads[name], numerical_gradient(loss, x, eps=1e-5))
        assert err < tol, f"d{name}: relative error {err:.1e}"


def batch(rng, B=3, V_src=7, V_tgt=6, src_lengths=(4, 2, 3), tgt_lengths=(2, 4, 1)):
    """Right-padded ids with unequal lengths; real ids avoid the special tokens, and
    every target ends in <eos>."""
    T_src, T_tgt = max(src_lengths), max(tgt_lengths)
    src_mask = np.arange(T_src) < np.array(src_lengths)[:, None]
    tgt_mask = np.arange(T_tgt) < np.array(tgt_lengths)[:, None]
    src = np.where(src_mask, rng.integers(3, V_src, (B, T_src)), PAD_ID)
    tgt = np.where(tgt_mask, rng.integers(3, V_tgt, (B, T_tgt)), PAD_ID)
    tgt[np.arange(B), np.array(tgt_lengths) - 1] = EOS_ID
    return src, src_mask, tgt, tgt_mask


def model64(kind, seed=0, V_src=7, V_tgt=6, H=4, D=3):
    return init_seq2seq(V_src, V_tgt, H, kind, embed_size=D, rng=seed,
                        dtype=np.float64)


# --------------------------------------------------------------------------------------
# Shapes and masks
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_parameters_shapes_and_dtype(kind):
    m = init_seq2seq(7, 6, 5, kind, embed_size=3, rng=0)
    p = m.params
    assert p["E_src"].shape == (7, 3) and p["E_tgt"].shape == (6, 3)
    assert p["W_hq"].shape == (5, 6) and p["b_q"].shape == (6,)
    assert all(v.dtype == np.float32 for v in p.values())
    gates = {"rnn": 1, "gru": 3, "lstm": 4}[kind]
    assert sum(k.startswith("enc.") for k in p) == 3 * gates
    assert cell_params(m, "dec").keys() == cell_params(m, "enc").keys()
    again = init_seq2seq(7, 6, 5, kind, embed_size=3, rng=0)
    assert all(np.array_equal(p[k], again.params[k]) for k in p)


@pytest.mark.parametrize("kind", KINDS)
def test_context_is_the_state_at_the_last_real_token(kind):
    rng = np.random.default_rng(1)
    m = model64(kind)
    src, src_mask, _, _ = batch(rng)
    context = encode(m, src, src_mask)
    assert len(context) == (2 if kind == "lstm" else 1)
    for b, L in enumerate(src_mask.sum(axis=1)):
        alone = encode(m, src[b:b + 1, :L], src_mask[b:b + 1, :L])
        for S, S_alone in zip(context, alone):
            np.testing.assert_allclose(S[b], S_alone[0], rtol=1e-12, atol=1e-14)
    # run_cell without a mask does read the padding: the state moves on
    X = m.params["E_src"][src.T]
    _, unmasked, _ = run_cell(kind, cell_params(m, "enc"), X,
                              tuple(np.zeros((3, 4)) for _ in context))
    assert not np.allclose(unmasked[0][1], context[0][1])


@pytest.mark.parametrize("kind", KINDS)
def test_extra_padding_changes_nothing(kind):
    rng = np.random.default_rng(2)
    m = model64(kind)
    src, src_mask, tgt, tgt_mask = batch(rng)
    loss, grads = seq2seq_loss_and_grads(m, src, src_mask, tgt, tgt_mask)

    def pad(a, k):
        return np.concatenate([a, np.zeros((a.shape[0], k), a.dtype)], axis=1)

    loss2, grads2 = seq2seq_loss_and_grads(m, pad(src, 3), pad(src_mask, 3),
                                           pad(tgt, 2), pad(tgt_mask, 2))
    assert loss2 == pytest.approx(loss, rel=1e-13)
    for k in grads:
        np.testing.assert_allclose(grads2[k], grads[k], rtol=1e-11, atol=1e-14)


def test_loss_is_the_mean_over_real_target_tokens():
    rng = np.random.default_rng(3)
    m = model64("gru")
    src, src_mask, tgt, tgt_mask = batch(rng)
    loss, _ = seq2seq_loss_and_grads(m, src, src_mask, tgt, tgt_mask)
    # the same loss, step by step with decoder_step under teacher forcing
    state = encode(m, src, src_mask)
    total, prev = 0.0, np.full(3, BOS_ID)
    for j in range(tgt.shape[1]):
        logp, state = decoder_step(m, state, prev)
        total -= logp[np.arange(3), tgt[:, j]][tgt_mask[:, j]].sum()
        prev = tgt[:, j]
    assert loss == pytest.approx(total / tgt_mask.sum(), rel=1e-12)
    assert np.array_equal(shift_right(tgt)[:, 0], [BOS_ID] * 3)
    assert np.array_equal(shift_right(tgt)[:, 1:], tgt[:, :-1])


# --------------------------------------------------------------------------------------
# Gradients
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_gradients_match_central_differences(kind):
    rng = np.random.default_rng(4)
    m = model64(kind, seed=5)
    src, src_mask, tgt, tgt_mask = batch(rng)
    _, grads = seq2seq_loss_and_grads(m, src, src_mask, tgt, tgt_mask)
    assert set(grads) == set(m.params)
    assert_gradients(m, (src, src_mask, tgt, tgt_mask), grads)
    # the padding's embedding rows get no gradient (<pad> is never a real input of
    # the encoder; the decoder reads <pad> only after a row's end)
    assert not grads["E_src"][PAD_ID].any()
    assert np.abs(grads["enc.W_xh" if kind != "lstm" else "enc.W_xi"]).max() > 0


@pytest.mark.parametrize("kind", KINDS)
def test_gradients_with_one_pair_and_one_token(kind):
    rng = np.random.default_rng(6)
    m = model64(kind, seed=7, H=3, D=2)
    src, src_mask, tgt, tgt_mask = batch(rng, B=1, src_lengths=(1,), tgt_lengths=(1,))
    _, grads = seq2seq_loss_and_grads(m, src, src_mask, tgt, tgt_mask)
    assert_gradients(m, (src, src_mask, tgt, tgt_mask), grads)


# --------------------------------------------------------------------------------------
# Bad inputs
# --------------------------------------------------------------------------------------

def test_bad_inputs_raise_clear_errors():
    rng = np.random.default_rng(8)
    m = model64("gru")
    src, src_mask, tgt, tgt_mask = batch(rng)
    f = seq2seq_loss_and_grads
    with pytest.raises(TypeError, match="Seq2Seq"):
        f("model", src, src_mask, tgt, tgt_mask)
    with pytest.raises(TypeError, match="src must be an integer numpy array"):
        f(m, src.astype(float), src_mask, tgt, tgt_mask)
    with pytest.raises(ValueError, match=r"src must lie in \[0, V\) = \[0, 7\)"):
        f(m, src + 10 * src_mask, src_mask, tgt, tgt_mask)
    with pytest.raises(TypeError, match="src_mask must be a bool numpy array"):
        f(m, src, src_mask.astype(int), tgt, tgt_mask)
    with pytest.raises(ValueError, match=r"tgt_mask must have the shape of tgt"):
        f(m, src, src_mask, tgt, tgt_mask[:, :-1])
    left = src_mask[:, ::-1].copy()
    with pytest.raises(ValueError, match="non-empty prefix of every row"):
        f(m, np.where(left, 3, 0), left, tgt, tgt_mask)
    with pytest.raises(ValueError, match=r"<pad> \(id 0\) exactly where"):
        f(m, src, src_mask, np.where(tgt_mask, tgt, 4), tgt_mask)
    with pytest.raises(ValueError, match="same number of rows"):
        f(m, src[:2], src_mask[:2], tgt, tgt_mask)
    bad = init_seq2seq(7, 6, 4, "gru", embed_size=3, rng=0, dtype=np.float64)
    bad.params["W_hq"][0, 0] = np.nan
    with pytest.raises(ValueError, match="'W_hq' contains NaN"):
        f(bad, src, src_mask, tgt, tgt_mask)
    with pytest.raises(ValueError, match="kind must be one of"):
        init_seq2seq(7, 6, 4, "transformer", rng=0)
    with pytest.raises(ValueError, match="hidden_size must be an integer"):
        init_seq2seq(7, 6, 0, "gru", rng=0)
    state = encode(m, src, src_mask)
    with pytest.raises(ValueError, match=r"prev_ids must be a 1-D integer array"):
        decoder_step(m, state, np.ones((3, 1), int))
    with pytest.raises(ValueError, match=r"shape \(B, H\) = \(2, 4\)"):
        decoder_step(m, state, np.ones(2, int))
    with pytest.raises(TypeError, match="state array has dtype float32"):
        decoder_step(m, (state[0].astype(np.float32),), np.ones(3, int))
    with pytest.raises(TypeError, match="tuple of 1 array"):
        decoder_step(m, state[0], np.ones(3, int))
    with pytest.raises(ValueError, match="epochs must be an integer"):
        train_seq2seq(m, src, src_mask, tgt, tgt_mask, epochs=0, batch_size=2,
                      optimizer=Adam(0.01), seed=0)
    with pytest.raises(TypeError, match="optimizer"):
        train_seq2seq(m, src, src_mask, tgt, tgt_mask, epochs=1, batch_size=2,
                      optimizer="adam", seed=0)
    with pytest.raises(TypeError, match="needs a Seq2Seq"):
        teacher_forced_predictions(None, src, src_mask, tgt, tgt_mask)


# --------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------

def test_a_small_model_learns_to_reverse_short_strings():
    d = make_reverse_data(400, 0, length=(2, 4), num_symbols=4)
    m = init_seq2seq(len(d.src_vocab), len(d.tgt_vocab), 32, "gru", embed_size=8,
                     rng=1)
    before, _ = seq2seq_loss_and_grads(m, d.src, d.src_mask, d.tgt, d.tgt_mask)
    history = train_seq2seq(m, d.src, d.src_mask, d.tgt, d.tgt_mask, epochs=15,
                            batch_size=32, optimizer=Adam(0.01), clip=5.0, seed=2)
    after, _ = seq2seq_loss_and_grads(m, d.src, d.src_mask, d.tgt, d.tgt_mask)
    assert history.steps == 15 * 13 and isinstance(m, Seq2Seq)
    assert after < 0.3 * before
    pred = teacher_forced_predictions(m, d.src, d.src_mask, d.tgt, d.tgt_mask)
    assert (pred == d.tgt)[d.tgt_mask].mean() > 0.9


def test_training_is_deterministic():
    d = make_reverse_data(64, 3, length=(2, 3), num_symbols=3)
    runs = []
    for _ in range(2):
        m = init_seq2seq(len(d.src_vocab), len(d.tgt_vocab), 8, "lstm", rng=4)
        h = train_seq2seq(m, d.src, d.src_mask, d.tgt, d.tgt_mask, epochs=2,
                          batch_size=16, optimizer=Adam(0.01), seed=5)
        runs.append((h.loss, m.params))
    assert runs[0][0] == runs[1][0]
    assert all(np.array_equal(runs[0][1][k], runs[1][1][k]) for k in runs[0][1])
