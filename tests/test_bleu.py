"""Tests for rnn.bleu: hand-computed values, then agreement with sacrebleu 2.6.0 on
random corpora (skipped when sacrebleu is not installed; it is in the test extra)."""
import math

import numpy as np
import pytest

from rnn.bleu import SMOOTHING, corpus_bleu, ngrams


def split(*texts):
    return [t.split() for t in texts]


# --------------------------------------------------------------------------------------
# Hand-computed values
# --------------------------------------------------------------------------------------

def test_ngrams():
    assert ngrams("a b a b".split(), 2) == {("a", "b"): 2, ("b", "a"): 1}
    assert ngrams(["a"], 2) == {}


def test_modified_precision_clips_repeated_words():
    # Papineni et al.'s example: 7 × "the"; one reference has two "the", the other one
    b = corpus_bleu(split("the the the the the the the"),
                    [split("the cat is on the mat", "there is a cat on the mat")])
    assert b.matches[0] == 2 and b.totals[0] == 7
    assert b.precisions[0] == pytest.approx(2 / 7)
    assert b.matches[1] == 0 and b.score == 0.0            # no bigram matches


def test_bleu_by_hand():
    b = corpus_bleu(split("the cat sat on the mat"), [split("the cat sat on a mat")])
    assert b.matches == (5, 3, 2, 1) and b.totals == (6, 5, 4, 3)
    assert b.candidate_length == b.reference_length == 6 and b.brevity_penalty == 1.0
    assert b.score == pytest.approx((5 / 6 * 3 / 5 * 2 / 4 * 1 / 3) ** 0.25, rel=1e-14)
    perfect = corpus_bleu(split("a b c d e"), [split("a b c d e")])
    assert perfect.score == 1.0


def test_brevity_penalty_and_closest_reference_length():
    b = corpus_bleu(split("the cat"), [split("the cat sat on the mat")], max_n=2)
    assert b.brevity_penalty == pytest.approx(math.exp(1 - 6 / 2))
    assert b.score == pytest.approx(math.exp(-2))
    # two references of lengths 1 and 3 are equally close to 2 tokens: the shorter
    # counts, so there is no penalty
    tie = corpus_bleu(split("a b"), [split("a", "a b c")], max_n=1)
    assert tie.reference_length == 1 and tie.brevity_penalty == 1.0
    # the corpus sums c and r before the penalty
    corpus = corpus_bleu(split("a b", "c d e f"), [split("a b c"), split("c d e f")],
                         max_n=1)
    assert (corpus.candidate_length, corpus.reference_length) == (6, 7)
    assert corpus.score == pytest.approx(math.exp(1 - 7 / 6))
    assert corpus_bleu([[]], [split("a")]).score == 0.0


def test_smoothing_by_hand():
    cand, ref = split("a b c d"), [split("a b x d")]
    # matches (3, 1, 0, 0) of (4, 3, 2, 1) n-grams
    assert corpus_bleu(cand, ref).score == 0.0
    floor = corpus_bleu(cand, ref, smoothing="floor")
    assert floor.precisions == pytest.approx((3 / 4, 1 / 3, 0.1 / 2, 0.1 / 1))
    exp = corpus_bleu(cand, ref, smoothing="exp")
    assert exp.precisions == pytest.approx((3 / 4, 1 / 3, 1 / (2 * 2), 1 / (4 * 1)))
    assert exp.score == pytest.approx((1 / 64) ** 0.25, rel=1e-14)
    add = corpus_bleu(cand, ref, smoothing="add-k")
    assert add.precisions == pytest.approx((3 / 4, 2 / 4, 1 / 3, 1 / 2))


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(TypeError, match="split a string first"):
        corpus_bleu(["the cat"], [["the cat"]])
    with pytest.raises(ValueError, match="one entry per candidate"):
        corpus_bleu(split("a", "b"), [split("a")])
    with pytest.raises(TypeError, match=r"references\[0\] must be a non-empty list"):
        corpus_bleu(split("a"), [["a"]])
    with pytest.raises(TypeError, match="non-empty list of token lists"):
        corpus_bleu([], [])
    with pytest.raises(ValueError, match="smoothing must be one of"):
        corpus_bleu(split("a"), [split("a")], smoothing="add-one")
    with pytest.raises(ValueError, match="max_n must be an integer"):
        corpus_bleu(split("a"), [split("a")], max_n=0)


# --------------------------------------------------------------------------------------
# Agreement with sacrebleu
# --------------------------------------------------------------------------------------

def random_corpus(rng, N, refs_per_candidate, vocab=8):
    """N candidates with refs_per_candidate references each: random words from a small
    vocabulary, so that n-grams match often; references are edited candidates."""
    words = [f"w{k}" for k in range(vocab)]
    cands, refs = [], []
    for _ in range(N):
        cand = list(rng.choice(words, rng.integers(0, 12)))
        cands.append(cand)
        row = []
        for _ in range(refs_per_candidate):
            ref = [w if rng.random() < 0.7 else str(rng.choice(words)) for w in cand]
            ref = ref[:rng.integers(0, len(ref) + 1)] + list(
                rng.choice(words, rng.integers(0, 4)))
            row.append(ref)
        refs.append(row)
    return cands, refs


@pytest.mark.parametrize("smoothing", SMOOTHING)
@pytest.mark.parametrize("refs_per_candidate", [1, 3])
def test_agrees_with_sacrebleu(smoothing, refs_per_candidate):
    sacrebleu = pytest.importorskip("sacrebleu", minversion="2.6.0")
    metric = sacrebleu.metrics.BLEU(tokenize="none", smooth_method=smoothing)
    rng = np.random.default_rng(refs_per_candidate)
    for N in (1, 2, 5, 40):
        for _ in range(10):
            cands, refs = random_corpus(rng, N, refs_per_candidate)
            ours = corpus_bleu(cands, refs, smoothing=smoothing)
            streams = [[" ".join(row[k]) for row in refs]
                       for k in range(refs_per_candidate)]
            theirs = metric.corpus_score([" ".join(c) for c in cands], streams)
            assert 100 * ours.score == pytest.approx(theirs.score, rel=1e-12, abs=1e-12)
            assert (ours.candidate_length, ours.reference_length) == (theirs.sys_len,
                                                                     theirs.ref_len)
            assert ours.brevity_penalty == pytest.approx(theirs.bp, rel=1e-12)
            if any(ours.matches):               # sacrebleu stops early without any
                assert [100 * p for p in ours.precisions] == pytest.approx(
                    theirs.precisions, rel=1e-12, abs=1e-12)


def test_agrees_with_sacrebleu_on_iso_dates_as_characters():
    sacrebleu = pytest.importorskip("sacrebleu", minversion="2.6.0")
    from rnn.tasks import make_date_data
    d = make_date_data(200, 0)
    rng = np.random.default_rng(1)
    noisy = ["".join(ch if rng.random() < 0.9 else "0" for ch in t)
             [:rng.integers(6, 11)] for t in d.tgt_text]
    ours = corpus_bleu([list(t) for t in noisy], [[list(t)] for t in d.tgt_text])
    theirs = sacrebleu.metrics.BLEU(tokenize="char").corpus_score(noisy, [d.tgt_text])
    assert 100 * ours.score == pytest.approx(theirs.score, rel=1e-12)
    assert 0.3 < ours.score < 0.95
