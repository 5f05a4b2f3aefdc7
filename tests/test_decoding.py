"""Tests for rnn.decoding: greedy decoding, sampling, beam search with length
normalisation, exhaustive search, sequence log-probabilities and exact match; on a
hand-made decoder whose answers are worked out by hand, and on small seq2seq models."""
import math

import numpy as np
import pytest

from rnn.decoding import (
    Hypothesis,
    beam_search,
    exact_match,
    exhaustive_search,
    greedy_decode,
    pad_outputs,
    sample_decode,
    seq2seq_decoder,
    sequence_log_prob,
)
from rnn.seq2seq import init_seq2seq
from rnn.tasks import BOS_ID, EOS_ID, PAD_ID

A, B_ = 3, 4          # the two ordinary tokens of the hand-made decoder, "a" and "b"

# p(next | previous) over (<pad>, <bos>, <eos>, a, b); <pad> and <bos> are never output.
TABLE = {BOS_ID: [0.0, 0.0, 0.50, 0.45, 0.05],
         A: [0.0, 0.0, 0.05, 0.05, 0.90],
         B_: [0.0, 0.0, 0.90, 0.05, 0.05],
         EOS_ID: [0.0, 0.0, 0.20, 0.40, 0.40]}   # fed only to rows that have ended


def bigram_step(state, prev):
    """A decoder whose next-token distribution depends only on the previous token;
    its state (one number per row) counts the steps."""
    with np.errstate(divide="ignore"):
        logp = np.log(np.array([TABLE[int(v)] for v in prev]))
    return logp, (state[0] + 1,)


def bigram_state(B=1):
    return (np.zeros(B),)


# --------------------------------------------------------------------------------------
# The hand-made decoder: every answer worked out by hand
# --------------------------------------------------------------------------------------

def test_greedy_takes_the_locally_best_token():
    ids = greedy_decode(bigram_step, bigram_state(2), max_len=4)
    assert ids.tolist() == [[EOS_ID, PAD_ID, PAD_ID, PAD_ID]] * 2   # p(<eos>) is 0.5


def test_sequence_log_prob_by_hand():
    outputs = pad_outputs([(EOS_ID,), (A, B_, EOS_ID), (A, B_)], 3)
    assert outputs.tolist() == [[2, 0, 0], [3, 4, 2], [3, 4, 0]]
    logP = sequence_log_prob(bigram_step, bigram_state(3), outputs)
    expected = [math.log(0.5), math.log(0.45 * 0.9 * 0.9), math.log(0.45 * 0.9)]
    np.testing.assert_allclose(logP, expected, rtol=1e-14)


def test_beam_search_by_hand_with_and_without_length_normalisation():
    # γ = 0 ranks by probability: "<eos>" (0.5) beats "a b <eos>" (0.3645)
    [[best, *_]] = beam_search(bigram_step, bigram_state(), 2, 3)
    assert best.tokens == (EOS_ID,) and best.log_prob == pytest.approx(math.log(0.5))
    # γ = 1 ranks by log-probability per token: log(0.3645)/3 > log(0.5)/1
    hyps = beam_search(bigram_step, bigram_state(), 2, 3, gamma=1.0)[0]
    assert hyps[0].tokens == (A, B_, EOS_ID)
    assert hyps[0].score == pytest.approx(math.log(0.45 * 0.81) / 3, rel=1e-14)
    assert hyps[1].tokens == (EOS_ID,) and len(hyps) == 2
    # width 1 is greedy and never sees "a b <eos>"
    [[only]] = beam_search(bigram_step, bigram_state(), 1, 3, gamma=1.0)
    assert only == Hypothesis((EOS_ID,), math.log(0.5), math.log(0.5))
    # exhaustive search agrees with the wide beam
    for gamma in (0.0, 1.0):
        [exact] = exhaustive_search(bigram_step, bigram_state(), 3, gamma=gamma)
        [[wide, *_]] = beam_search(bigram_step, bigram_state(), 50, 3, gamma=gamma)
        assert exact.tokens == wide.tokens
        assert exact.score == pytest.approx(wide.score, rel=1e-14)


def test_hypotheses_cut_at_max_len_and_finished_ones():
    # max_len = 1: "<eos>", "a", "b" are all the outputs there are
    hyps = beam_search(bigram_step, bigram_state(), 3, 1)[0]
    assert [h.tokens for h in hyps] == [(EOS_ID,), (A,), (B_,)]
    np.testing.assert_allclose([h.log_prob for h in hyps],
                               np.log([0.5, 0.45, 0.05]), rtol=1e-14)


def test_sampling_follows_the_probabilities_and_the_temperature():
    first = sample_decode(bigram_step, bigram_state(4000), 1, rng=0)[:, 0]
    freq = [(first == v).mean() for v in (EOS_ID, A, B_)]
    np.testing.assert_allclose(freq, [0.5, 0.45, 0.05], atol=0.03)
    hot = sample_decode(bigram_step, bigram_state(4000), 1, temperature=4.0, rng=0)
    assert (hot[:, 0] == B_).mean() > 0.15             # κ > 1 flattens
    cold = sample_decode(bigram_step, bigram_state(50), 4, temperature=0.005, rng=0)
    assert np.array_equal(cold, greedy_decode(bigram_step, bigram_state(50), 4))
    again = sample_decode(bigram_step, bigram_state(4000), 1, rng=0)
    assert np.array_equal(again[:, 0], first)
    assert not np.isin(sample_decode(bigram_step, bigram_state(500), 5, rng=1),
                       [BOS_ID]).any()


def test_exact_match():
    tgt = np.array([[3, 4, 2], [3, 2, 0], [4, 2, 0]])
    mask = tgt != 0
    pred = np.array([[3, 4, 2, 0], [3, 2, 4, 4], [4, 4, 2, 0]])
    assert exact_match(pred, tgt, mask).tolist() == [True, True, False]
    cut = np.array([[3, 4], [3, 4], [4, 2]])              # no <eos>: not a match
    assert exact_match(cut, tgt, mask).tolist() == [False, False, True]


# --------------------------------------------------------------------------------------
# Small seq2seq models
# --------------------------------------------------------------------------------------

def small_problem(kind, B=6, V_tgt=5, seed=0):
    """An untrained float64 model (its distributions are far from peaked, so search is
    hard) and B random sources."""
    rng = np.random.default_rng(seed)
    m = init_seq2seq(7, V_tgt, 6, kind, embed_size=4, rng=seed, dtype=np.float64)
    m.params["W_hq"] *= 4                                 # sharper, less uniform
    src = rng.integers(3, 7, (B, 4))
    return m, src, np.ones_like(src, bool)


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_beam_width_one_is_greedy(kind):
    m, src, mask = small_problem(kind, B=8)
    step, state = seq2seq_decoder(m, src, mask)
    greedy = greedy_decode(step, state, 5)
    beams = beam_search(step, state, 1, 5)
    assert np.array_equal(pad_outputs([h[0] for h in beams], 5), greedy)


@pytest.mark.parametrize("gamma", [0.0, 0.75])
def test_a_wide_enough_beam_is_exhaustive_and_narrow_ones_never_beat_it(gamma):
    m, src, mask = small_problem("gru", B=6, V_tgt=5)
    step, state = seq2seq_decoder(m, src, mask)
    max_len, count = 4, 1 + 2 + 4 + 8 + 16           # 2 ordinary tokens
    exact = exhaustive_search(step, state, max_len, gamma=gamma)
    wide = beam_search(step, state, count, max_len, gamma=gamma)
    assert [h[0].tokens for h in wide] == [h.tokens for h in exact]
    np.testing.assert_allclose([h[0].score for h in wide], [h.score for h in exact],
                               rtol=1e-12)
    errors = 0
    for width in (1, 2, 3):
        for hyps, best in zip(beam_search(step, state, width, max_len, gamma=gamma),
                              exact):
            assert hyps[0].score <= best.score + 1e-12
            errors += hyps[0].score < best.score - 1e-12
    assert errors > 0                    # the narrow beams do make search errors here


def test_beam_log_probs_are_the_models():
    m, src, mask = small_problem("lstm", B=3, V_tgt=6)
    step, state = seq2seq_decoder(m, src, mask)
    for b, hyps in enumerate(beam_search(step, state, 4, 5, gamma=0.5)):
        assert len(hyps) == 4
        assert [h.score for h in hyps] == sorted((h.score for h in hyps), reverse=True)
        rows = tuple(S[[b] * len(hyps)] for S in state)
        logP = sequence_log_prob(step, rows, pad_outputs(hyps, 5))
        np.testing.assert_allclose(logP, [h.log_prob for h in hyps], rtol=1e-12)
        for h in hyps:
            assert h.score == pytest.approx(h.log_prob / len(h.tokens)**0.5, rel=1e-14)
            assert EOS_ID not in h.tokens[:-1] and not set(h.tokens) & {PAD_ID, BOS_ID}


def test_greedy_decode_reads_its_own_predictions():
    m, src, mask = small_problem("gru", B=5, V_tgt=6)
    step, state = seq2seq_decoder(m, src, mask)
    ids = greedy_decode(step, state, 6)
    # each greedy token is the argmax given the greedy prefix, checked one row at a time
    for b in range(5):
        s, prev = tuple(S[[b]] for S in state), np.array([BOS_ID])
        for j in range(6):
            logp, s = step(s, prev)
            logp[:, [PAD_ID, BOS_ID]] = -np.inf
            assert ids[b, j] == logp.argmax()
            if ids[b, j] == EOS_ID:
                assert (ids[b, j + 1:] == PAD_ID).all()
                break
            prev = ids[b, j:j + 1]


# --------------------------------------------------------------------------------------
# Bad inputs
# --------------------------------------------------------------------------------------

def test_bad_inputs_raise_clear_errors():
    s = bigram_state(2)
    with pytest.raises(TypeError, match="step must be a function"):
        greedy_decode("step", s, 3)
    with pytest.raises(TypeError, match="state must be a tuple of numpy arrays"):
        greedy_decode(bigram_step, np.zeros(2), 3)
    with pytest.raises(ValueError, match="same number B ≥ 1 of rows"):
        greedy_decode(bigram_step, (np.zeros(2), np.zeros(3)), 3)
    with pytest.raises(ValueError, match="max_len must be an integer ≥ 1"):
        greedy_decode(bigram_step, s, 0)
    with pytest.raises(ValueError, match="beam_width must be an integer ≥ 1"):
        beam_search(bigram_step, s, 0, 3)
    with pytest.raises(ValueError, match="gamma .* must be a number ≥ 0"):
        beam_search(bigram_step, s, 2, 3, gamma=-1)
    with pytest.raises(ValueError, match="temperature must be a positive finite"):
        sample_decode(bigram_step, s, 3, temperature=0.0, rng=0)
    with pytest.raises(ValueError, match="exceed max_outputs = 10"):
        exhaustive_search(bigram_step, s, 3, max_outputs=10)
    with pytest.raises(ValueError, match=r"log-probabilities of shape \(B, V\)"):
        greedy_decode(lambda st, prev: (np.zeros(4), st), s, 3)
    with pytest.raises(ValueError, match="a token besides <pad>, <bos> and <eos>"):
        greedy_decode(lambda st, prev: (np.zeros((2, 3)), st), s, 3)
    with pytest.raises(ValueError, match="at least one token, then <pad> only"):
        sequence_log_prob(bigram_step, s, np.array([[3, 0, 4], [2, 0, 0]]))
    with pytest.raises(ValueError, match=r"shape \(B, T\) with B = 2"):
        sequence_log_prob(bigram_step, s, np.array([[3, 2]]))
    with pytest.raises(ValueError, match="more than T = 1"):
        pad_outputs([(3, 2)], 1)
    with pytest.raises(ValueError, match="same number of rows"):
        exact_match(np.zeros((2, 3), int), np.zeros((3, 3), int), np.ones((3, 3), bool))
    with pytest.raises(TypeError, match="needs a Seq2Seq"):
        seq2seq_decoder("model", np.ones((1, 2), int), np.ones((1, 2), bool))
