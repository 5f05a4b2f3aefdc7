"""Tests for rnn.train (perplexity, learning a repetitive corpus, determinism,
divergence) and rnn.generate."""
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
    return init_language_model(len(VOCAB), 16, kind, rng=np.random.default_rng(seed),
                               **kw)


def test_untrained_perplexity_is_about_V():
    model = _model()
    ppl = evaluate_perplexity(model, IDS, batch_size=4, num_steps=10)
    assert 0.5 * len(VOCAB) < ppl < 2 * len(VOCAB)


def test_evaluate_perplexity_matches_a_direct_computation():
    from rnn.functional import log_softmax
    from rnn.model import lm_forward
    model = _model("gru")
    ids = IDS[:41]
    # B = 2 rows of L = 20 tokens; num_steps = 7 leaves a short last block, the state is
    # carried.
    O, _, _ = lm_forward(model, ids[:40].reshape(2, 20))
    logp = log_softmax(O.astype(np.float64))
    nll = -np.take_along_axis(logp, ids[1:41].reshape(2, 20)[..., None], axis=-1).mean()
    ppl = evaluate_perplexity(model, ids, batch_size=2, num_steps=7)
    assert ppl == pytest.approx(math.exp(nll), rel=1e-5)


@pytest.mark.parametrize("kind", ["rnn", "gru", "lstm"])
def test_training_learns_a_repetitive_corpus(kind):
    model = _model(kind, embed_size=None if kind == "rnn" else 8)
    history = train_language_model(model, IDS, valid_ids=IDS[:200], batch_size=4,
                                   num_steps=8, epochs=6, optimizer=Adam(lr=0.05),
                                   seed=0)
    assert len(history.train_ppl) == len(history.valid_ppl) == len(history.elapsed) == 6
    assert len(history.loss) == len(history.grad_norm) == 6 * 18
    assert history.train_ppl[-1] < history.train_ppl[0]
    # "abcd" repeats: after the first token everything is predictable
    assert history.valid_ppl[-1] < 1.2
    assert all(p.dtype == np.float32 for p in model.params.values())


@pytest.mark.parametrize("partition", ["sequential", "random"])
def test_same_seed_same_history(partition):
    runs = []
    for _ in range(2):
        model = _model("gru", seed=3)
        h = train_language_model(model, IDS, valid_ids=IDS[:100], batch_size=3,
                                 num_steps=5, epochs=2, optimizer=Adam(lr=0.01),
                                 partition=partition, seed=7, progress=False)
        runs.append((h, model.params))
    (h1, p1), (h2, p2) = runs
    assert h1.loss == h2.loss and h1.grad_norm == h2.grad_norm
    assert h1.train_ppl == h2.train_ppl and h1.valid_ppl == h2.valid_ppl
    for k in p1:
        np.testing.assert_array_equal(p1[k], p2[k])


def test_different_seed_different_minibatches():
    h = [train_language_model(_model(), IDS, batch_size=3, num_steps=5, epochs=1,
                              optimizer=SGD(0.1),
                              partition="random", seed=s) for s in (0, 1)]
    assert h[0].loss != h[1].loss


def test_clipping_records_the_norm_before_clipping():
    model = _model()
    h = train_language_model(model, IDS, batch_size=4, num_steps=8, epochs=1,
                             optimizer=SGD(1.0), clip=1e-3, seed=0)
    assert min(h.grad_norm) > 1e-3


def test_divergence_raises_with_epoch_and_step(monkeypatch):
    import rnn.train

    real = rnn.train._lm_loss_and_grads   # the unchecked loss the training loop calls
    calls = []

    def flaky(*args, **kwargs):
        loss, grads, state = real(*args, **kwargs)
        calls.append(1)
        return (float("nan") if len(calls) == 5 else loss), grads, state

    monkeypatch.setattr(rnn.train, "_lm_loss_and_grads", flaky)
    with pytest.raises(FloatingPointError,
                       match=r"epoch 1, step 5.*learning rate.*clip"):
        train_language_model(_model(), IDS, batch_size=4, num_steps=8, epochs=1,
                             optimizer=SGD(0.1), clip=None, seed=0)


def test_huge_learning_rate_raises_floating_point_error():
    model = _model("rnn", embed_size=4)
    model.params["W_hq"] *= 1e4
    with pytest.raises(FloatingPointError,
                       match=r"became (inf|nan|non-finite).*learning rate"):
        train_language_model(model, IDS, batch_size=4, num_steps=8, epochs=3,
                             optimizer=SGD(1e38), clip=None, seed=0, max_loss=math.inf)


def test_a_loss_far_above_the_uniform_models_stops_training():
    # SGD with lr = 1e3 and no clipping: the loss leaves ln V behind within a few steps
    # while staying finite; before, every epoch ran to the end with train_ppl = inf.
    V = len(VOCAB)
    kw = dict(batch_size=4, num_steps=8, epochs=3, optimizer=SGD(1e3), clip=None,
              seed=0)
    limit = f"{10 * math.log(V):.4g}"
    with pytest.raises(FloatingPointError,
                       match=rf"the loss became [0-9.e+]+, above max_loss = {limit} "
                             rf".*at epoch 1, step \d+: training diverged"):
        train_language_model(_model(), IDS, **kw)
    with pytest.raises(FloatingPointError, match=r"above max_loss = 2 "):
        train_language_model(_model(), IDS, **kw, max_loss=2.0)
    # A model that learns never gets near the limit.
    h = train_language_model(_model(), IDS, batch_size=4, num_steps=8, epochs=2,
                             optimizer=Adam(lr=0.05), seed=0)
    assert max(h.loss) < 10 * math.log(V)


def test_the_divergence_limit_is_ten_times_the_uniform_loss():
    import rnn.train
    assert rnn.train.DIVERGENCE_FACTOR == 10.0
    model = _model()
    model.params["W_hq"][:] = 0
    model.params["b_q"][:] = 0
    # every prediction is "<unk>": loss ≈ 60 > 10 ln 5 ≈ 16
    model.params["b_q"][0] = 60.0
    with pytest.raises(FloatingPointError, match=r"at epoch 1, step 1"):
        train_language_model(model, IDS, batch_size=4, num_steps=8, epochs=1,
                             optimizer=SGD(1e-9), seed=0)
    h = train_language_model(model, IDS, batch_size=4, num_steps=8, epochs=1,
                             optimizer=SGD(1e-9), seed=0, max_loss=100.0)
    assert 50 < h.loss[0] < 100


def test_callback_can_stop_early_and_progress_prints(capsys):
    seen = []

    def callback(epoch, history):
        seen.append((epoch, len(history.train_ppl)))
        return epoch == 2

    h = train_language_model(_model(), IDS, batch_size=4, num_steps=8, epochs=5,
                             optimizer=SGD(0.5),
                             seed=0, callback=callback, progress=True)
    assert seen == [(1, 1), (2, 2)] and len(h.train_ppl) == 2
    out = capsys.readouterr().out
    assert "epoch 2/5" in out and out.endswith("\n")
    train_language_model(_model(), IDS, batch_size=4, num_steps=8, epochs=1,
                         optimizer=SGD(0.5), seed=0)
    # progress=None: silent when stdout is not a terminal
    assert capsys.readouterr().out == ""


def _nan_model(name="l0.fwd.W_hh"):
    model = _model()
    model.params[name].flat[0] = np.nan
    return model


TRAIN = dict(batch_size=4, num_steps=8, epochs=1, optimizer=SGD(0.1), seed=0)

TRAIN_CASES = [
    # (id, model, train_ids, keyword arguments over TRAIN, error, message)
    ("unknown partition", _model, IDS, dict(partition="shuffled"), ValueError,
     r"partition must be 'sequential' or 'random'"),
    ("clip 0", _model, IDS, dict(clip=0), ValueError,
     r"clip \(None for no clipping\) must be a positive finite number"),
    ("clip NaN", _model, IDS, dict(clip=float("nan")), ValueError,
     r"clip .* must be a positive finite number; got nan"),
    ("clip a str", _model, IDS, dict(clip="1"), TypeError,
     r"clip .* must be a positive number"),
    ("2-D corpus", _model, IDS.reshape(2, -1), {}, ValueError,
     r"train_ids must be a 1-D integer array of token ids"),
    ("float corpus", _model, IDS.astype(float), {}, ValueError,
     r"train_ids must be a 1-D integer array"),
    ("ids beyond V", _model, IDS + 5, {}, ValueError,
     r"train_ids must lie in \[0, V\) = \[0, 5\); got values from 6 to 9"),
    ("one-token corpus", _model, IDS[:1], {}, ValueError,
     r"train_ids must hold at least 2"),
    ("corpus too short", _model, IDS[:10], {}, ValueError, r"too short"),
    ("batch_size 0", _model, IDS, dict(batch_size=0), ValueError,
     r"batch_size must be an integer ≥ 1; got 0"),
    ("num_steps float", _model, IDS, dict(num_steps=8.0), ValueError,
     r"num_steps must be an integer ≥ 1; got 8.0"),
    ("epochs 0", _model, IDS, dict(epochs=0), ValueError,
     r"epochs must be an integer ≥ 1"),
    ("valid_batch_size 0", _model, IDS, dict(valid_batch_size=0), ValueError,
     r"valid_batch_size must be an integer ≥ 1"),
    ("valid_ids too short", _model, IDS, dict(valid_ids=IDS[:3]), ValueError,
     r"need at least batch_size \+ 1 = 5 tokens in valid_ids"),
    ("valid_ids beyond V", _model, IDS, dict(valid_ids=IDS + 9), ValueError,
     r"valid_ids must lie in \[0, V\)"),
    ("seed a float", _model, IDS, dict(seed=1.5), TypeError,
     r"seed must be an int seed or a numpy Generator.*got float"),
    ("seed None", _model, IDS, dict(seed=None), TypeError, r"seed must be an int seed"),
    ("optimizer without step", _model, IDS, dict(optimizer="adam"), TypeError,
     r"optimizer must have a .step\(params, grads\) method"),
    ("optimizer class", _model, IDS, dict(optimizer=SGD), TypeError,
     r"optimizer must be an optimiser object.*got the class SGD"),
    ("callback not callable", _model, IDS, dict(callback=3), TypeError,
     r"callback must be a function"),
    ("progress a str", _model, IDS, dict(progress="yes"), TypeError,
     r"progress must be None, True or False"),
    ("max_loss 0", _model, IDS, dict(max_loss=0), ValueError,
     r"max_loss must be a number > 0"),
    ("params dict instead of model", lambda: _model().params, IDS, {}, TypeError,
     r"train_language_model needs a LanguageModel"),
    ("NaN parameter", _nan_model, IDS, {}, ValueError,
     r"train_language_model: parameter 'l0.fwd.W_hh' contains NaN or infinity"),
]


@pytest.mark.parametrize("make, ids, kwargs, error, message",
                         [c[1:] for c in TRAIN_CASES], ids=[c[0] for c in TRAIN_CASES])
def test_train_rejects_bad_arguments_before_the_first_step(make, ids, kwargs, error,
                                                            message):
    model = make()
    before = {k: p.copy() for k, p in getattr(model, "params", model).items()}
    with pytest.raises(error, match=message):
        train_language_model(model, ids, **(TRAIN | kwargs))
    for k, p in getattr(model, "params", model).items():   # no step was taken
        np.testing.assert_array_equal(p, before[k])


def test_an_int_seed_and_a_generator_train_alike():
    a, b = _model(), _model()
    ha = train_language_model(a, IDS, **(TRAIN | dict(seed=4, partition="random")))
    hb = train_language_model(b, IDS, **(TRAIN | dict(seed=np.random.default_rng(4),
                                                      partition="random")))
    assert ha.loss == hb.loss


EVAL_CASES = [
    ("batch_size larger than the corpus", _model, IDS[:3], 4, 8, ValueError,
     r"need at least batch_size \+ 1 = 5 tokens in ids"),
    ("batch_size 0", _model, IDS, 0, 8, ValueError,
     r"batch_size must be an integer ≥ 1"),
    ("num_steps float", _model, IDS, 4, 8.0, ValueError,
     r"num_steps must be an integer ≥ 1"),
    ("float ids", _model, IDS.astype(float), 4, 8, ValueError,
     r"ids must be a 1-D integer array"),
    ("ids beyond V", _model, IDS + 7, 4, 8, ValueError, r"ids must lie in \[0, V\)"),
    ("NaN parameter", _nan_model, IDS, 4, 8, ValueError,
     r"evaluate_perplexity: parameter 'l0.fwd.W_hh' contains NaN"),
    ("params dict instead of model", lambda: _model().params, IDS, 4, 8, TypeError,
     r"evaluate_perplexity needs a LanguageModel"),
]


@pytest.mark.parametrize("make, ids, B, T, error, message", [c[1:] for c in EVAL_CASES],
                         ids=[c[0] for c in EVAL_CASES])
def test_evaluate_perplexity_rejects_bad_arguments(make, ids, B, T, error, message):
    with pytest.raises(error, match=message):
        evaluate_perplexity(make(), ids, batch_size=B, num_steps=T)


def test_history_is_a_plain_record():
    assert History() == History() and History().loss == []


# --------------------------------------------------------------------------------------
# rnn.generate (tested here, next to the training it relies on)
# --------------------------------------------------------------------------------------

def _trained_model():
    model = _model("gru", embed_size=8)
    train_language_model(model, IDS, batch_size=4, num_steps=8, epochs=6,
                         optimizer=Adam(lr=0.05), seed=0)
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


GENERATE_CASES = [
    # (id, model, vocab, prefix, num_tokens, keyword arguments, error, message)
    ("empty prefix", _model, VOCAB, "", 5, dict(greedy=True), ValueError,
     r"prefix must contain at least one token"),
    ("unknown prefix tokens", _model, VOCAB, "azbx", 5, dict(greedy=True), ValueError,
     r"prefix tokens not in the vocabulary: \['x', 'z'\]"),
    ("prefix an int", _model, VOCAB, 3, 5, dict(greedy=True), TypeError,
     r"prefix must be a str or a list of tokens; got int"),
    ("prefix of ids", _model, VOCAB, [1, 2], 5, dict(greedy=True), TypeError,
     r"prefix tokens must be str"),
    ("temperature 0", _model, VOCAB, "a", 5, dict(temperature=0, rng=0), ValueError,
     r"temperature must be a finite number > 0"),
    ("temperature inf", _model, VOCAB, "a", 5, dict(temperature=math.inf, rng=0),
     ValueError,
     r"temperature must be a finite number > 0"),
    ("temperature a str", _model, VOCAB, "a", 5, dict(temperature="1", rng=0),
     TypeError,
     r"temperature must be a number > 0"),
    ("sampling without rng", _model, VOCAB, "a", 5, {}, ValueError,
     r"sampling needs rng=np.random.default_rng\(seed\)"),
    ("rng a float", _model, VOCAB, "a", 5, dict(rng=0.5), TypeError,
     r"rng must be an int seed or a numpy Generator"),
    ("negative num_tokens", _model, VOCAB, "a", -1, dict(greedy=True), ValueError,
     r"num_tokens must be an integer ≥ 0; got -1"),
    ("float num_tokens", _model, VOCAB, "a", 3.0, dict(greedy=True), ValueError,
     r"num_tokens must be an integer ≥ 0; got 3.0"),
    ("greedy a str", _model, VOCAB, "a", 3, dict(greedy="yes"), TypeError,
     r"greedy must be True or False"),
    ("stop a list", _model, VOCAB, "a", 3, dict(greedy=True, stop=["a"]), TypeError,
     r"stop must be a token \(str\) or None"),
    ("vocab a list", _model, list(VOCAB.idx_to_token), "a", 3, dict(greedy=True),
     TypeError,
     r"vocab must be a rnn.data.Vocab"),
    ("vocab of another size", _model, Vocab(list("abc")), "a", 3, dict(greedy=True),
     ValueError, r"the vocabulary has 4 tokens but the model predicts V = 5"),
    ("NaN parameter, greedy", _nan_model, VOCAB, "a", 3, dict(greedy=True), ValueError,
     r"generate: parameter 'l0.fwd.W_hh' contains NaN or infinity"),
    ("NaN parameter, sampling", lambda: _nan_model("b_q"), VOCAB, "a", 3, dict(rng=0),
     ValueError, r"generate: parameter 'b_q' contains NaN"),
]


@pytest.mark.parametrize("make, vocab, prefix, n, kwargs, error, message",
                         [c[1:] for c in GENERATE_CASES],
                         ids=[c[0] for c in GENERATE_CASES])
def test_generate_rejects_bad_arguments(make, vocab, prefix, n, kwargs, error, message):
    with pytest.raises(error, match=message):
        generate(make(), vocab, prefix, n, **kwargs)


def test_valid_batch_size_one_scores_every_token_after_the_first():
    from rnn.data import Vocab
    from rnn.model import init_language_model, lm_forward
    from rnn.functional import log_softmax
    from rnn.optim import SGD
    from rnn.train import evaluate_perplexity, train_language_model

    rng = np.random.default_rng(0)
    model = init_language_model(5, 4, "gru", rng=rng, dtype=np.float64)
    ids = rng.integers(0, 5, size=23)
    hist = train_language_model(model, ids, valid_ids=ids, batch_size=2, num_steps=3,
                                epochs=1, optimizer=SGD(0.1), seed=0,
                                valid_batch_size=1, progress=False)
    # the trained model, all 22 predictions at once
    O, _, _ = lm_forward(model, ids[None, :-1])
    logp = log_softmax(O)[0]
    direct = float(np.exp(-logp[np.arange(22), ids[1:]].mean()))
    assert hist.valid_ppl[0] == pytest.approx(direct, rel=1e-12)
    ppl_1 = evaluate_perplexity(model, ids, batch_size=1, num_steps=5)
    assert ppl_1 == pytest.approx(direct, rel=1e-12)
    # B = 4 leaves out the last (22 mod 4) = 2 tokens and restarts the state per row: a
    # different number
    ppl_4 = evaluate_perplexity(model, ids, batch_size=4, num_steps=5)
    assert ppl_4 != pytest.approx(direct, rel=1e-6)


def test_generate_stops_at_the_stop_token():
    from rnn.data import Vocab
    from rnn.generate import generate
    from rnn.model import init_language_model

    vocab = Vocab(list("ab\n"))
    model = init_language_model(len(vocab), 3, "rnn", rng=np.random.default_rng(0),
                                dtype=np.float64)
    model.params["W_hq"][:] = 0
    model.params["b_q"][:] = 0
    # "\n" is overwhelmingly likely
    model.params["b_q"][vocab.token_to_idx["\n"]] = 50.0
    out = generate(model, vocab, "ab", 10, greedy=True, stop="\n")
    assert out == ["\n"]
    with pytest.raises(ValueError, match="stop token"):
        generate(model, vocab, "ab", 3, greedy=True, stop="z")
