"""The names data set: 32,033 first names, a character tokenizer, a fixed split, padded batches.

``names.txt`` ships inside the package: makemore's list of names (MIT licence), taken from
the U.S. Social Security Administration's public baby-name data. Nothing is downloaded.

    from scratchgrad.data import load_names, NamesData
    names = load_names()                     # ['emma', 'olivia', 'ava', ...]
    data = NamesData()                       # tokenizer, train / validation split
    batch = data.batch(data.train[:4])       # inputs, targets, mask: (4, T) arrays

A name is one document: the tokenizer turns it into character ids and puts the start/end
token (``BOS``, microgpt's "beginning of sequence", the last id) on both sides,
``[BOS, e, m, m, a, BOS]``. A model reads ``[BOS, e, m, m, a]`` and learns to predict
``[e, m, m, a, BOS]``: the first letter, each next letter, and where the name ends.
Batches pad shorter names to the longest one: the padded positions have target
`IGNORE_INDEX` (ignored by `scratchgrad.tensor.cross_entropy`, as in PyTorch) and mask False.

The split is fixed, the same on every machine: every tenth name (the 10th, the 20th, ...
of the file) is the validation set, the rest the training set.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from importlib import resources
from typing import Any, Iterable, Iterator, Sequence

import numpy as np

IGNORE_INDEX = -100  # the target of a padded position: cross_entropy's default ignore_index
VALIDATION_EVERY = 10  # names 10, 20, 30, ... of the file are the validation set
DEFAULT_BLOCK_SIZE = 16  # positions a model sees: the longest name (15 letters) plus its start token
MAX_NAME_LENGTH = 1000


def load_names() -> list[str]:
    """The 32,033 names of the package's ``names.txt``, in the file's order (most popular first)."""
    text = resources.files("scratchgrad.data").joinpath("names.txt").read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


class CharTokenizer:
    """Characters to token ids and back: each distinct character gets an id (in sorted order)
    and one more id, `bos`, is the start/end token (as microgpt: 26 letters, BOS = 26).

    ``encode('emma')`` -> [4, 12, 12, 0]; ``decode`` maps ids back and stops at a BOS;
    ``document('emma')`` -> [BOS, 4, 12, 12, 0, BOS], the sequence a model trains on.
    """

    def __init__(self, chars: str | Iterable[str]) -> None:
        ordered = "".join(chars)
        if not ordered:
            raise ValueError("CharTokenizer: needs at least one character")
        if len(set(ordered)) != len(ordered) or any(len(c) != 1 for c in ordered):
            raise ValueError(f"CharTokenizer: the characters must be distinct single characters, got {ordered!r}")
        self.chars = ordered
        self.bos = len(ordered)
        self._ids = {c: i for i, c in enumerate(ordered)}

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> CharTokenizer:
        """The tokenizer of every character used in ``texts``, sorted."""
        return cls(sorted(set("".join(texts))))

    @property
    def vocab_size(self) -> int:
        """The number of token ids: the characters and the start/end token."""
        return len(self.chars) + 1

    def encode(self, text: str) -> list[int]:
        """The ids of the characters of ``text``; a ValueError names a character it does not know."""
        try:
            return [self._ids[c] for c in text]
        except KeyError as err:
            raise ValueError(f"CharTokenizer: {err.args[0]!r} in {text[:40]!r} is not in the vocabulary {self.chars!r}") from None

    def document(self, text: str) -> list[int]:
        """``[BOS] + encode(text) + [BOS]``: a name as a model reads and predicts it."""
        return [self.bos, *self.encode(text), self.bos]

    def decode(self, ids: Iterable[int]) -> str:
        """The text of ``ids``, up to the first start/end token (a leading one is skipped)."""
        out = []
        for position, i in enumerate(ids):
            i = int(i)
            if i == self.bos:
                if position == 0:
                    continue
                break
            if not 0 <= i < len(self.chars):
                raise ValueError(f"CharTokenizer: id {i} is out of range (0..{self.bos})")
            out.append(self.chars[i])
        return "".join(out)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CharTokenizer) and other.chars == self.chars

    def __repr__(self) -> str:
        return f"CharTokenizer({self.chars!r})"


@dataclass(frozen=True)
class NameBatch:
    """Names as padded arrays of shape (names, T): ``inputs`` (token ids, padding is BOS),
    ``targets`` (the next token; `IGNORE_INDEX` at padding) and ``mask`` (True at real positions)."""

    inputs: np.ndarray
    targets: np.ndarray
    mask: np.ndarray

    @property
    def tokens(self) -> int:
        """The number of real (not padded) positions: the characters a loss averages over."""
        return int(self.mask.sum())

    def __len__(self) -> int:
        return int(self.inputs.shape[0])


class NamesData:
    """Names ready for a character-level model: `tokenizer`, the fixed split (`train`,
    `validation`: lists of names) and padded batches of at most `block_size` positions.

    ``NamesData()`` uses the package's names; pass ``names`` to use your own list (the
    same rule splits it: every tenth name is for validation).
    """

    def __init__(self, names: Sequence[str] | None = None, block_size: int = DEFAULT_BLOCK_SIZE) -> None:
        names = load_names() if names is None else list(names)
        for i, name in enumerate(names):
            if not isinstance(name, str) or not name:
                raise ValueError(f"NamesData: name #{i} must be a non-empty string, got {name!r}")
            if len(name) > MAX_NAME_LENGTH:
                raise ValueError(f"NamesData: name #{i} has {len(name)} characters; at most {MAX_NAME_LENGTH}")
        if len(names) < VALIDATION_EVERY:
            raise ValueError(f"NamesData: needs at least {VALIDATION_EVERY} names to split off a validation set, got {len(names)}")
        if isinstance(block_size, bool) or not isinstance(block_size, int) or block_size < 1:
            raise ValueError(f"NamesData: block_size must be a positive int, got {block_size!r}")
        self.names = names
        self.block_size = block_size
        self.tokenizer = CharTokenizer.from_texts(names)
        self.validation = names[VALIDATION_EVERY - 1 :: VALIDATION_EVERY]
        self.train = [name for i, name in enumerate(names) if i % VALIDATION_EVERY != VALIDATION_EVERY - 1]

    def split(self, name: str) -> list[str]:
        """The names of the split called ``name``: 'train' or 'validation'."""
        if name == "train":
            return self.train
        if name == "validation":
            return self.validation
        raise ValueError(f"NamesData: split must be 'train' or 'validation', got {name!r}")

    def batch(self, names: Sequence[str], length: int | None = None) -> NameBatch:
        """``names`` as a padded `NameBatch` of T = ``length`` positions (default: the longest
        document in the batch, at most ``block_size``). A longer name is cut to T positions."""
        if not names:
            raise ValueError("NamesData.batch: no names")
        documents = [self.tokenizer.document(name) for name in names]
        longest = max(len(d) - 1 for d in documents)
        steps = min(longest, self.block_size) if length is None else length
        if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= self.block_size:
            raise ValueError(f"NamesData.batch: length must be an int from 1 to block_size={self.block_size}, got {length!r}")
        inputs = np.full((len(documents), steps), self.tokenizer.bos, dtype=np.int64)
        targets = np.full((len(documents), steps), IGNORE_INDEX, dtype=np.int64)
        for row, document in enumerate(documents):
            n = min(len(document) - 1, steps)
            inputs[row, :n] = document[:n]
            targets[row, :n] = document[1 : n + 1]
        return NameBatch(inputs, targets, targets != IGNORE_INDEX)

    def batches(self, split: str = "train", batch_size: int = 32, shuffle: bool = True, seed: Any = None) -> Iterator[NameBatch]:
        """One pass over a split in batches of ``batch_size`` names (the last may be smaller),
        shuffled from ``seed`` (an int, a `random.Random`, None: the global `random`)."""
        from scratchgrad._random import as_random

        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"NamesData.batches: batch_size must be a positive int, got {batch_size!r}")
        names = list(self.split(split))
        if shuffle:
            as_random(seed, "NamesData.batches: seed").shuffle(names)
        for start in range(0, len(names), batch_size):
            yield self.batch(names[start : start + batch_size])

    def sample_batch(self, batch_size: int, rng: random.Random | Any = None, split: str = "train") -> NameBatch:
        """``batch_size`` names drawn at random (with replacement) from a split: one training step's batch."""
        from scratchgrad._random import as_random

        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"NamesData.sample_batch: batch_size must be a positive int, got {batch_size!r}")
        names = self.split(split)
        draw = as_random(rng, "NamesData.sample_batch: rng")
        return self.batch([names[int(draw.random() * len(names))] for _ in range(batch_size)])

    def next_character_windows(self, context: int, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
        """Every position of every name of a split as a classification sample: X (n, context)
        the ids of the previous ``context`` tokens (BOS before the start), y (n,) the next
        token (makemore's MLP data set)."""
        if isinstance(context, bool) or not isinstance(context, int) or context < 1:
            raise ValueError(f"next_character_windows: context must be a positive int, got {context!r}")
        rows: list[list[int]] = []
        labels: list[int] = []
        for name in self.split(split):
            window = [self.tokenizer.bos] * context
            for token in self.tokenizer.document(name)[1:]:
                rows.append(window)
                labels.append(token)
                window = window[1:] + [token]
        return np.array(rows, dtype=np.float64).reshape(-1, context), np.array(labels, dtype=np.int64)

    def __repr__(self) -> str:
        return f"NamesData({len(self.train)} training and {len(self.validation)} validation names, vocabulary {self.tokenizer.vocab_size})"


__all__ = ["CharTokenizer", "IGNORE_INDEX", "NameBatch", "NamesData", "load_names"]
