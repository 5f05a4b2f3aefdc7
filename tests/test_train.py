"""Tests for rnn.train (perplexity, learning a repetitive corpus, determinism, divergence) and rnn.generate."""
import math

import numpy as np
import pytest

from rnn.data import Vocab, tokenize
from rnn.generate import generate
from rnn.model import init_language_model
from rnn.optim import SGD, Adam
from rnn.train import History, evaluate_perplexity, train_language_model

TEXT = "abcd" * 150
VOCAB = Vocab(tokenize(TEXT))
IDS = VOCAB.encode(TEXT)


def _model(kind="rnn", seed=0, **kw):
    return init_language_model(len(VOCAB), 16, kind, rng=np.random.default_rng(seed), **kw)


def test_untrained_perplexity_is_about_V():
    model = _model()
    ppl = evaluate_perplexity(model, IDS, batch_size=4, num_steps=10)
    assert 0.5 * len(VOCAB) < ppl < 2 * len(VOCAB)


def test_evaluate_perplexity_matches_a_direct_computation():
    from rnn.functional import log_softmax
    from rnn.model import lm_forward
    model = _model("gru")
    ids = IDS[:41]
    # B = 2 rows of L = 20 tokens; num_steps = 7 leaves a short last block, the state is carried.
    O, _, _ = lm_forward(model, ids[:40].reshape(2, 20))
    logp = log_softmax(O.astype(np.float64))
    nll = -np.take_along_axis(logp, ids[1:41].reshape(2, 20)[..., None], axis=-1).mean()
    assert evaluate_perplexity(model, ids, batch_size=2, num_steps=7) == pytest.approx(math.exp(nll), rel=1e-5)


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_training_learns_a_repetitive_corpus(kind):
    model = _model(kind, embed_size=None if kind == "rnn" else 8)
    history = train_language_model(model, IDS, valid_ids=IDS[:200], batch_size=4, num_steps=8, epochs=6,
                                   optimizer=Adam(lr=0.05), seed=0)
    assert len(history.train_ppl) == len(history.valid_ppl) == len(history.elapsed) == 6
    assert len(history.loss) == len(history.grad_norm) == 6 * 18
    assert history.train_ppl[-1] < history.train_ppl[0]
    assert history.valid_ppl[-1] < 1.2   # "abcd" repeats: after the first token everything is predictable
    assert all(p.dtype == np.float32 for p in model.params.values())


@pytest.mark.parametrize("partition", ["sequential", "random"])
def test_same_seed_same_history(partition):
    runs = []
    for _ in range(2):
        model = _model("gru", seed=3)
        h = train_language_model(model, IDS, valid_ids=IDS[:100], batch_size=3, num_steps=5, epochs=2,
                                 optimizer=Adam(lr=0.01), partition=partition, seed=7, progress=False)
        runs.append((h, model.params))
    (h1, p1), (h2, p2) = runs
    assert h1.loss == h2.loss and h1.grad_norm == h2.grad_norm
    assert h1.train_ppl == h2.train_ppl and h1.valid_ppl == h2.valid_ppl
    for k in p1:
        np.testing.assert_array_equal(p1[k], p2[k])


def test_different_seed_different_minibatches():
    h = [train_language_model(_model(), IDS, batch_size=3, num_steps=5, epochs=1, optimizer=SGD(0.1),
                              partition="random", seed=s) for s in (0, 1)]
    assert h[0].loss != h[1].loss


def test_clipping_records_the_norm_before_clipping():
    model = _model()
    h = train_language_model(model, IDS, batch_size=4, num_steps=8, epochs=1, optimizer=SGD(1.0),
                             clip=1e-3, seed=0)
    assert min(h.grad_norm) > 1e-3


def test_divergence_raises_with_epoch_and_step(monkeypatch):
    import rnn.train

    real = rnn.train.lm_loss_and_grads
    calls = []

    def flaky(*args, **kwargs):
        loss, grads, state = real(*args, **kwargs)
        calls.append(1)
        return (float("nan") if len(calls) == 5 else loss), grads, state

    monkeypatch.setattr(rnn.train, "lm_loss_and_grads", flaky)
    with pytest.raises(FloatingPointError, match=r"epoch 1, step 5.*learning rate.*clip"):
        train_language_model(_model(), IDS, batch_size=4, num_steps=8, epochs=1, optimizer=SGD(0.1),
                             clip=None, seed=0)


def test_huge_learning_rate_raises_floating_point_error():
    model = _model("rnn", embed_size=4)
    model.params["W_hq"] *= 1e4
    with pytest.raises(FloatingPointError, match="learning rate"):
        train_language_model(model, IDS, batch_size=4, num_steps=8, epochs=3, optimizer=SGD(1e38),
                             clip=None, seed=0)


def test_callback_can_stop_early_and_progress_prints(capsys):
    seen = []

    def callback(epoch, history):
        seen.append((epoch, len(history.train_ppl)))
        return epoch == 2

    h = train_language_model(_model(), IDS, batch_size=4, num_steps=8, epochs=5, optimizer=SGD(0.5),
                             seed=0, callback=callback, progress=True)
    assert seen == [(1, 1), (2, 2)] and len(h.train_ppl) == 2
    out = capsys.readouterr().out
    assert "epoch 2/5" in out and out.endswith("\n")
    train_language_model(_model(), IDS, batch_size=4, num_steps=8, epochs=1, optimizer=SGD(0.5), seed=0)
    assert capsys.readouterr().out == ""   # progress=None: silent when stdout is not a terminal


def test_bad_arguments():
    kw = dict(batch_size=4, num_steps=8, epochs=1, optimizer=SGD(0.1), seed=0)
    with pytest.raises(ValueError, match="partition"):
        train_language_model(_model(), IDS, partition="shuffled", **kw)
    with pytest.raises(ValueError, match="clip"):
        train_language_model(_model(), IDS, clip=0, **kw)
    with pytest.raises(ValueError, match="train_ids"):
        train_language_model(_model(), IDS.reshape(2, -1), **kw)
    with pytest.raises(ValueError, match="too short"):
        train_language_model(_model(), IDS[:10], **kw)
    with pytest.raises(ValueError, match="batch_size"):
        evaluate_perplexity(_model(), IDS[:3], batch_size=4, num_steps=8)
    assert isinstance(History(), History)


# ---------------------------------------------------------------------------------------------
# rnn.generate (tested here, next to the training it relies on)
# ---------------------------------------------------------------------------------------------

def _trained_model():
    model = _model("gru", embed_size=8)
    train_language_model(model, IDS, batch_size=4, num_steps=8, epochs=6, optimizer=Adam(lr=0.05), seed=0)
    return model


def test_greedy_is_deterministic_and_continues_the_pattern():
    model = _trained_model()
    out = generate(model, VOCAB, "abc", 9, greedy=True)
    assert out == generate(model, VOCAB, list("abc"), 9, greedy=True)
    assert "".join(out) == "dabcdabcd"


def test_an_overwhelming_bias_is_always_chosen():
    model = _model("lstm")
    model.params["W_hq"][:] = 0
    model.params["b_q"][:] = 0
    model.params["b_q"][VOCAB.token_to_idx["c"]] = 50.0
    assert generate(model, VOCAB, "ab", 20, rng=0) == ["c"] * 20


def test_low_temperature_approaches_greedy_and_sampling_is_reproducible():
    model = _model("rnn")   # untrained: its distributions are far from one-hot
    greedy = generate(model, VOCAB, "a", 30, greedy=True)
    assert generate(model, VOCAB, "a", 30, temperature=1e-4, rng=1) == greedy
    s1 = generate(model, VOCAB, "a", 30, temperature=1.0, rng=np.random.default_rng(5))
    s2 = generate(model, VOCAB, "a", 30, temperature=1.0, rng=np.random.default_rng(5))
    assert s1 == s2 and s1 != greedy
    assert generate(model, VOCAB, "a", 0, rng=0) == []


def test_generate_validates_its_arguments():
    model = _model()
    with pytest.raises(ValueError, match="at least one token"):
        generate(model, VOCAB, "", 5, greedy=True)
    with pytest.raises(ValueError, match=r"not in the vocabulary: \['x', 'z'\]"):
        generate(model, VOCAB, "azbx", 5, greedy=True)
    with pytest.raises(ValueError, match="temperature"):
        generate(model, VOCAB, "a", 5, temperature=0, rng=0)
    with pytest.raises(ValueError, match="rng"):
        generate(model, VOCAB, "a", 5)
    with pytest.raises(ValueError, match="num_tokens"):
        generate(model, VOCAB, "a", -1, greedy=True)


def test_valid_batch_size_one_scores_every_token_after_the_first():
    from rnn.data import Vocab
    from rnn.model import init_language_model, lm_forward
    from rnn.functional import log_softmax
    from rnn.optim import SGD
    from rnn.train import evaluate_perplexity, train_language_model

    rng = np.random.default_rng(0)
    model = init_language_model(5, 4, "gru", rng=rng, dtype=np.float64)
    ids = rng.integers(0, 5, size=23)
    hist = train_language_model(model, ids, valid_ids=ids, batch_size=2, num_steps=3, epochs=1,
                                optimizer=SGD(0.1), seed=0, valid_batch_size=1, progress=False)
    O, _, _ = lm_forward(model, ids[None, :-1])        # the trained model, all 22 predictions at once
    logp = log_softmax(O)[0]
    direct = float(np.exp(-logp[np.arange(22), ids[1:]].mean()))
    assert hist.valid_ppl[0] == pytest.approx(direct, rel=1e-12)
    assert evaluate_perplexity(model, ids, batch_size=1, num_steps=5) == pytest.approx(direct, rel=1e-12)
    # B = 4 leaves out the last (22 mod 4) = 2 tokens and restarts the state per row: a different number
    assert evaluate_perplexity(model, ids, batch_size=4, num_steps=5) != pytest.approx(direct, rel=1e-6)


def test_generate_stops_at_the_stop_token():
    from rnn.data import Vocab
    from rnn.generate import generate
    from rnn.model import init_language_model

    vocab = Vocab(list("ab\n"))
    model = init_language_model(len(vocab), 3, "rnn", rng=np.random.default_rng(0), dtype=np.float64)
    model.params["W_hq"][:] = 0
    model.params["b_q"][:] = 0
    model.params["b_q"][vocab.token_to_idx["\n"]] = 50.0       # "\n" is overwhelmingly likely
    out = generate(model, vocab, "ab", 10, greedy=True, stop="\n")
    assert out == ["\n"]
    with pytest.raises(ValueError, match="stop token"):
        generate(model, vocab, "ab", 3, greedy=True, stop="z")
