"""Tests for rnn.tasks: the generated tagging and long-range data (the classifiers
trained on them are tested in test_classifier.py)."""
import numpy as np
import pytest

import rnn.classifier
import rnn.tasks
from rnn.tasks import (
    AMBIGUOUS_WORDS,
    LEFT_NOUN_AFTER,
    LEFT_VERB_AFTER,
    RIGHT_NOUN_BEFORE,
    RIGHT_VERB_BEFORE,
    TaggingData,
    make_long_range_data,
    make_tagging_data,
)


def sentences(d: TaggingData):
    """Each sentence as a list of (word, tag, ambiguous) triples."""
    for ids, tags, mask, amb in zip(d.ids, d.tags, d.mask, d.ambiguous):
        k = int(mask.sum())
        yield [(d.words[i], d.tagset[t], bool(a))
               for i, t, a in zip(ids[:k], tags[:k], amb[:k])]


# --------------------------------------------------------------------------------------
# Tagging data
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("context", ["left", "right"])
def test_tagging_data_shapes_padding_and_determinism(context):
    d = make_tagging_data(300, np.random.default_rng(0), context=context, length=(5, 9))
    assert d.ids.shape == d.tags.shape == d.mask.shape == d.ambiguous.shape == (300, 9)
    assert d.ids.dtype == d.tags.dtype == np.int64
    assert d.mask.dtype == d.ambiguous.dtype == bool
    lengths = d.mask.sum(axis=1)
    assert lengths.min() >= 5 and lengths.max() <= 9
    # padding at the end only
    assert (d.mask == (np.arange(9) < lengths[:, None])).all()
    assert (d.ids[~d.mask] == 0).all() and (d.tags[~d.mask] == 0).all()
    assert d.words[0] == d.tagset[0] == "<pad>"
    assert (d.ids[d.mask] != 0).all() and (d.tags[d.mask] != 0).all()
    assert not (d.ambiguous & ~d.mask).any() and d.ambiguous.any()
    again = make_tagging_data(300, np.random.default_rng(0), context=context,
                              length=(5, 9))
    for a, b in zip(d[:4], again[:4]):
        assert np.array_equal(a, b)
    other = make_tagging_data(300, np.random.default_rng(1), context=context,
                              length=(5, 9))
    assert not np.array_equal(d.ids, other.ids)


@pytest.mark.parametrize("context", ["left", "right"])
def test_every_word_but_the_ambiguous_ones_has_one_tag(context):
    d = make_tagging_data(500, np.random.default_rng(2), context=context)
    seen = {}
    for sentence in sentences(d):
        for word, tag, amb in sentence:
            assert amb == (word in AMBIGUOUS_WORDS)
            if not amb:
                assert seen.setdefault(word, tag) == tag
            else:
                assert tag in ("NOUN", "VERB")


def test_left_rule_holds_on_every_sentence():
    d = make_tagging_data(1000, np.random.default_rng(3), context="left",
                          length=(4, 14))
    readings = set()
    for sentence in sentences(d):
        for t, (word, tag, amb) in enumerate(sentence):
            if amb:
                assert t > 0
                previous = sentence[t - 1][1]
                assert previous in LEFT_VERB_AFTER | LEFT_NOUN_AFTER
                assert tag == ("VERB" if previous in LEFT_VERB_AFTER else "NOUN")
                readings.add((word, tag))
    # both readings of every word
    assert readings == {(w, t) for w in AMBIGUOUS_WORDS for t in ("NOUN", "VERB")}


def test_right_rule_holds_and_needs_the_right_context():
    d = make_tagging_data(1000, np.random.default_rng(4), context="right")
    by_left_context = {}   # (words up to and including the ambiguous word) -> tags seen
    for sentence in sentences(d):
        for t, (word, tag, amb) in enumerate(sentence):
            if amb:
                # left context carries no information
                assert t == 0 or sentence[t - 1][1] == "CONJ"
                assert t + 1 < len(sentence)
                following = sentence[t + 1][1]
                assert following in RIGHT_VERB_BEFORE | RIGHT_NOUN_BEFORE
                assert tag == ("VERB" if following in RIGHT_VERB_BEFORE else "NOUN")
                if t == 0:
                    by_left_context.setdefault(word, set()).add(tag)
    # The same left context (the sentence's first word) occurs with both tags: only the
    # right context decides.
    assert all(tags == {"NOUN", "VERB"} for tags in by_left_context.values())
    assert set(by_left_context) == set(AMBIGUOUS_WORDS)
    noun_share = (d.tags[d.ambiguous] == d.tagset.index("NOUN")).mean()
    assert 0.4 < noun_share < 0.6


@pytest.mark.parametrize("kwargs, error", [
    ({"n": 0}, ValueError),
    ({"context": "middle"}, ValueError),
    ({"length": (9, 5)}, ValueError),
    ({"length": (20, 30)}, ValueError),
    ({"length": 7}, ValueError),
    ({"rng": "0"}, TypeError),
    ({"rng": 0.5}, TypeError),
], ids=["n 0", "unknown context", "length reversed", "length outside the grammar",
        "length an int", "rng a str", "rng a float"])
def test_tagging_data_bad_inputs(kwargs, error):
    args = {"n": 10, "rng": np.random.default_rng(0)} | kwargs
    with pytest.raises(error):
        make_tagging_data(args.pop("n"), args.pop("rng"), **args)


# --------------------------------------------------------------------------------------
# Long-range data
# --------------------------------------------------------------------------------------

def test_long_range_data():
    ids, y = make_long_range_data(500, 7, np.random.default_rng(0), num_classes=3,
                                  vocab_size=10)
    assert ids.shape == (500, 8) and y.shape == (500,)
    assert ids.dtype == y.dtype == np.int64
    assert np.array_equal(ids[:, 0], y) and set(np.unique(y)) == {0, 1, 2}
    # distractors never look like a signal
    assert ids[:, 1:].min() >= 3 and ids[:, 1:].max() <= 9
    ids2, y2 = make_long_range_data(500, 7, np.random.default_rng(0), num_classes=3,
                                    vocab_size=10)
    assert np.array_equal(ids, ids2) and np.array_equal(y, y2)
    ids0, _ = make_long_range_data(4, 0, np.random.default_rng(0))
    assert ids0.shape == (4, 1)


@pytest.mark.parametrize("kwargs, message", [
    ({"distance": -1}, r"distance must be an integer ≥ 0; got -1"),
    ({"distance": 2.0}, r"distance must be an integer ≥ 0; got 2.0"),
    ({"num_classes": 1}, r"num_classes must be an integer ≥ 2; got 1"),
    ({"vocab_size": 4}, r"vocab_size must be an integer above num_classes = 4"),
    ({"vocab_size": True}, r"vocab_size must be an integer above num_classes"),
    ({"n": 0}, r"n must be an integer ≥ 1; got 0"),
], ids=["distance -1", "distance a float", "num_classes 1", "vocab_size 4",
        "vocab_size a bool", "n 0"])
def test_long_range_data_bad_inputs(kwargs, message):
    args = {"n": 5, "distance": 3} | kwargs
    with pytest.raises(ValueError, match=message):
        make_long_range_data(args.pop("n"), args.pop("distance"),
                             np.random.default_rng(0), **args)


# --------------------------------------------------------------------------------------
# Seeds, and the classifier names the notebooks import from rnn.tasks
# --------------------------------------------------------------------------------------

def test_an_int_seed_and_a_generator_give_the_same_data():
    a = make_tagging_data(20, 3)
    b = make_tagging_data(20, np.random.default_rng(3))
    assert np.array_equal(a.ids, b.ids) and np.array_equal(a.tags, b.tags)
    ids_a, y_a = make_long_range_data(10, 4, 5)
    ids_b, y_b = make_long_range_data(10, 4, np.random.default_rng(5))
    assert np.array_equal(ids_a, ids_b) and np.array_equal(y_a, y_b)


@pytest.mark.parametrize("name", ["SequenceModel", "init_sequence_model",
                                  "sequence_loss_and_grads", "predict", "accuracy",
                                  "train_sequence_model"])
def test_the_classifier_is_importable_from_tasks(name):
    assert getattr(rnn.tasks, name) is getattr(rnn.classifier, name)
    assert getattr(rnn.classifier, name).__module__ == "rnn.classifier"
