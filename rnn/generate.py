"""Generating text from a trained language model, one token at a time.

Warm-up: run the model over the prefix (all but its last token) to put the prefix into
the state. Then repeat: feed the last token, turn the logits O into probabilities
softmax(O / κ), pick the next token (sample it, or take the argmax when greedy) and feed
it back in.

The temperature κ reshapes the distribution: κ = 1 samples from the model as trained,
κ → 0 approaches greedy decoding (all mass on the argmax), κ > 1 flattens towards
uniform.
"""
from __future__ import annotations

import numpy as np

from rnn._common import as_rng, check_int
from rnn.data import Vocab
from rnn.functional import softmax
from rnn.model import LanguageModel, _lm_forward, check_language_model


def generate(
    model: LanguageModel,
    vocab: Vocab,
    prefix: list[str] | str,
    num_tokens: int,
    *,
    temperature: float = 1.0,
    rng: np.random.Generator | int | None = None,
    greedy: bool = False,
    stop: str | None = None,
) -> list[str]:
    """The ``num_tokens`` tokens that follow ``prefix``, drawn from softmax(O_t / κ) one
    at a time.

    prefix: a non-empty list of tokens, or a str (a sequence of characters, for a
    character-level vocabulary); every token must be in ``vocab``.
    num_tokens: how many tokens to produce (≥ 0).
    temperature: κ > 0; greedy=True takes argmax O_t instead of sampling (κ and rng are
    then unused).
    rng: a np.random.Generator or an int seed, required when sampling so that the output
    is reproducible.
    stop: a token that ends generation early (e.g. "\\n", the end of a name); it is
    included in the output.
    Returns a list of at most ``num_tokens`` str, *without* the prefix:
    ``"".join(prefix) + "".join(output)`` is the text.
    Runs with a batch of one sequence (B = 1), keeping the model's state between steps.
    Every argument is checked first, including that the model's parameters are finite.
    A bidirectional model cannot generate: its backward direction is meant to read the
    sequence from the end, which does not exist yet. Fed one token at a time it runs
    left to right too, and chapter 9 shows the garbage that comes out.
    """
    check_language_model(model, "generate")
    if not isinstance(vocab, Vocab):
        raise TypeError(f"vocab must be a rnn.data.Vocab; got {type(vocab).__name__}")
    if not isinstance(prefix, (str, list, tuple)):
        raise TypeError(f"prefix must be a str or a list of tokens; "
                        f"got {type(prefix).__name__}")
    tokens = list(prefix)
    not_str = [t for t in tokens if not isinstance(t, str)]
    if not_str:
        raise TypeError(f"prefix tokens must be str; got {not_str[:3]}")
    if not tokens:
        raise ValueError("prefix must contain at least one token "
                         "(e.g. the end-of-name token '\\n')")
    unknown = sorted({t for t in tokens if t not in vocab}, key=str)
    if unknown:
        raise ValueError(f"prefix tokens not in the vocabulary: {unknown}")
    if len(vocab) != model.vocab_size:
        raise ValueError(f"the vocabulary has {len(vocab)} tokens but the model "
                         f"predicts V = {model.vocab_size}")
    check_int(num_tokens, "num_tokens", low=0)
    if stop is not None and not isinstance(stop, str):
        raise TypeError(f"stop must be a token (str) or None; "
                        f"got {type(stop).__name__}")
    if stop is not None and stop not in vocab:
        raise ValueError(f"stop token {stop!r} is not in the vocabulary")
    if greedy not in (True, False):
        raise TypeError(f"greedy must be True or False; got {greedy!r}")
    if not greedy:
        real = (int, float, np.integer, np.floating)
        if isinstance(temperature, bool) or not isinstance(temperature, real):
            raise TypeError(f"temperature must be a number > 0; "
                            f"got {type(temperature).__name__}")
        if not (temperature > 0 and np.isfinite(temperature)):
            raise ValueError(f"temperature must be a finite number > 0 (or use "
                             f"greedy=True); got {temperature!r}")
        if rng is None:
            raise ValueError("sampling needs rng=np.random.default_rng(seed) (or an "
                             "int seed), or use greedy=True")
        rng = as_rng(rng)

    ids = vocab.encode(tokens)                                 # (len(prefix),) int64
    state = None
    if len(ids) > 1:                                 # warm-up on all but the last token
        _, state, _ = _lm_forward(model, ids[None, :-1], state)
    last = ids[-1]
    out = []
    for _ in range(num_tokens):
        O, state, _ = _lm_forward(model, np.array([[last]]), state)  # O: (1, 1, V)
        O_t = O[0, 0].astype(np.float64)
        if greedy:
            last = int(np.argmax(O_t))
        else:
            P = softmax(O_t / temperature)                         # (V,) probabilities
            last = int(rng.choice(len(P), p=P))
        out.append(vocab.idx_to_token[last])
        if out[-1] == stop:
            break
    return out
