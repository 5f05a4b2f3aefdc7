"""Tests for rnn.tasks: the generated tagging, long-range, date and reversal data (the
classifiers trained on them are tested in test_classifier.py, the encoder–decoder in
test_seq2seq.py)."""
import datetime

import numpy as np
import pytest

import rnn.classifier
import rnn.tasks
from rnn.tasks import (
    AMBIGUOUS_WORDS,
    DATE_FORMATS,
    DATE_SRC_VOCAB,
    DATE_TGT_VOCAB,
    LEFT_NOUN_AFTER,
    LEFT_VERB_AFTER,
    RIGHT_NOUN_BEFORE,
    RIGHT_VERB_BEFORE,
    SPECIALS,
    TaggingData,
    date_tokens,
    ids_to_text,
    make_date_data,
    make_long_range_data,
    make_reverse_data,
    make_tagging_data,
    write_date,
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


# --------------------------------------------------------------------------------------
# Sequence-to-sequence tasks
# --------------------------------------------------------------------------------------


def check_seq2seq_layout(d, T_src, T_tgt):
    """Right-padded ids, masks True at real tokens, <eos> last in every target."""
    N = len(d.src_text)
    assert d.src.shape == d.src_mask.shape == (N, T_src)
    assert d.tgt.shape == d.tgt_mask.shape == (N, T_tgt)
    assert d.src.dtype == d.tgt.dtype == np.int64
    for ids, mask in ((d.src, d.src_mask), (d.tgt, d.tgt_mask)):
        assert mask.dtype == bool
        lengths = mask.sum(axis=1)
        assert lengths.min() >= 1
        assert (mask == (np.arange(mask.shape[1]) < lengths[:, None])).all()
        assert ((ids == 0) == ~mask).all()
    last = d.tgt_mask.sum(axis=1) - 1
    assert (d.tgt[np.arange(N), last] == 2).all()
    assert ((d.tgt == 2) & d.tgt_mask).sum() == N           # one <eos> per row
    assert d.src_vocab[:3] == d.tgt_vocab[:3] == SPECIALS == ["<pad>", "<bos>", "<eos>"]
    assert not (d.src == 2).any() and not (d.src == 1).any()


def test_date_data_layout_and_answers():
    d = make_date_data(2000, 0)
    check_seq2seq_layout(d, 10, 11)
    assert d.src_vocab == DATE_SRC_VOCAB and d.tgt_vocab == DATE_TGT_VOCAB
    seen_formats, years = set(), []
    for i, (s, t) in enumerate(zip(d.src_text, d.tgt_text)):
        date = datetime.date.fromisoformat(t)       # every target is a valid ISO date
        years.append(date.year)
        formats = [f for f in DATE_FORMATS if write_date(date, f) == s]
        assert len(formats) == 1, (s, t)
        seen_formats |= set(formats)
        assert ids_to_text(d.src[i], d.src_vocab, " ") == " ".join(date_tokens(s))
        assert ids_to_text(d.tgt[i], d.tgt_vocab) == t
    assert seen_formats == set(DATE_FORMATS)
    assert 1900 <= min(years) and max(years) <= 2099 and max(years) - min(years) > 150
    again = make_date_data(2000, 0)
    assert np.array_equal(again.src, d.src) and again.tgt_text == d.tgt_text
    assert make_date_data(2000, 1).tgt_text != d.tgt_text


def test_date_formats_and_tokens():
    day = datetime.date(1987, 3, 3)
    for fmt, example in DATE_FORMATS.items():
        assert write_date(day, fmt) == example
    assert date_tokens("the twenty-first of may, 2001") == [
        "the", "twenty-first", "of", "may", ",", "2", "0", "0", "1"]
    assert write_date(datetime.date(2000, 2, 29), "ordinal") == \
        "the twenty-ninth of february, 2000"
    d = make_date_data(50, 3, years=(2000, 2000), formats=("numeric",))
    assert all(t.startswith("2000-") for t in d.tgt_text)
    assert all(s.endswith("/2000") and len(s) == 10 for s in d.src_text)


def test_reverse_data_layout_and_answers():
    d = make_reverse_data(500, 0, length=(3, 7), num_symbols=5)
    check_seq2seq_layout(d, 7, 8)
    assert d.src_vocab == d.tgt_vocab == SPECIALS + list("abcde")
    lengths = d.src_mask.sum(axis=1)
    assert lengths.min() == 3 and lengths.max() == 7
    assert (d.tgt_mask.sum(axis=1) == lengths + 1).all()
    for i in range(500):
        assert d.tgt_text[i] == d.src_text[i][::-1]
        assert ids_to_text(d.src[i], d.src_vocab) == d.src_text[i]
        assert ids_to_text(d.tgt[i], d.tgt_vocab) == d.tgt_text[i]


def test_seq2seq_tasks_reject_bad_arguments():
    with pytest.raises(ValueError, match="years must be a tuple"):
        make_date_data(5, 0, years=(2000, 1999))
    with pytest.raises(ValueError, match="formats must be a non-empty tuple"):
        make_date_data(5, 0, formats=("iso",))
    with pytest.raises(ValueError, match="n must be an integer"):
        make_date_data(0, 0)
    with pytest.raises(ValueError, match="length must be a tuple"):
        make_reverse_data(5, 0, length=(0, 3))
    with pytest.raises(ValueError, match="num_symbols must be an integer from 2 to 26"):
        make_reverse_data(5, 0, num_symbols=27)
    with pytest.raises(ValueError, match="fmt must be one of"):
        write_date(datetime.date(2000, 1, 1), "iso")
    with pytest.raises(ValueError, match=r"ids must lie in \[0, len\(vocab\)\)"):
        ids_to_text(np.array([5]), ["<pad>", "<bos>", "<eos>"])
    with pytest.raises(ValueError, match="one row of integer token ids"):
        ids_to_text(np.zeros((2, 2), int), SPECIALS)
