"""The names data set: the package's file, the tokenizer, the fixed split, padded batches."""

from __future__ import annotations

import random
from importlib import resources

import numpy as np
import pytest

from scratchgrad.data import DATASETS, IGNORE_INDEX, CharTokenizer, NamesData, load_dataset, load_names


@pytest.fixture(scope="module")
def data() -> NamesData:
    return NamesData()


def test_the_names_ship_inside_the_package() -> None:
    assert resources.files("scratchgrad.data").joinpath("names.txt").is_file()
    names = load_names()
    assert len(names) == 32_033 and names[:3] == ["emma", "olivia", "ava"] and names[-1] == "zzyzx"
    assert set("".join(names)) == set("abcdefghijklmnopqrstuvwxyz")
    assert all(name == name.strip() and 2 <= len(name) <= 15 for name in names)


def test_the_tokenizer_is_microgpts_with_the_start_end_token_last(data: NamesData) -> None:
    tok = data.tokenizer
    assert tok.chars == "abcdefghijklmnopqrstuvwxyz" and tok.bos == 26 and tok.vocab_size == 27
    assert tok.encode("emma") == [4, 12, 12, 0]
    assert tok.document("emma") == [26, 4, 12, 12, 0, 26]
    assert tok.decode([26, 4, 12, 12, 0, 26, 1, 2]) == "emma"  # a leading BOS skipped, the next one ends it
    assert tok.decode(tok.encode("zyrah")) == "zyrah"
    assert CharTokenizer.from_texts(["ba", "ca"]) == CharTokenizer("abc")
    with pytest.raises(ValueError, match=r"'E' in 'Emma' is not in the vocabulary"):
        tok.encode("Emma")
    with pytest.raises(ValueError, match="id 27 is out of range"):
        tok.decode([1, 27])
    with pytest.raises(ValueError, match="distinct single characters"):
        CharTokenizer("aab")


def test_the_split_is_fixed_every_tenth_name_validates(data: NamesData) -> None:
    names = load_names()
    assert data.validation == names[9::10] and len(data.validation) == 3_203
    assert len(data.train) == 28_830 and data.train[:10] == names[:9] + names[10:11]
    assert sorted(data.train + data.validation) == sorted(names)
    assert NamesData().validation == data.validation  # the same on every call and machine
    own = NamesData([f"n{'a' * i}" for i in range(1, 21)])
    assert own.validation == ["naaaaaaaaaa", "naaaaaaaaaaaaaaaaaaaa"]


def test_batches_are_padded_with_ignored_targets_and_a_mask(data: NamesData) -> None:
    batch = data.batch(["emma", "olivia", "ava"])
    assert batch.inputs.shape == batch.targets.shape == batch.mask.shape == (3, 7)  # 'olivia' + the end: 7 positions
    assert batch.inputs[0].tolist() == [26, 4, 12, 12, 0, 26, 26]
    assert batch.targets[0].tolist() == [4, 12, 12, 0, 26, IGNORE_INDEX, IGNORE_INDEX]
    assert batch.mask[2].tolist() == [True] * 4 + [False] * 3
    assert batch.tokens == 5 + 7 + 4 and len(batch) == 3
    assert batch.inputs.dtype == batch.targets.dtype == np.int64
    # a longer name is cut to block_size positions; a fixed length pads further
    short = NamesData(load_names(), block_size=4).batch(["isabella"])
    assert short.inputs.tolist() == [[26, 8, 18, 0]] and short.targets.tolist() == [[8, 18, 0, 1]]
    assert data.batch(["ava"], length=6).targets.tolist() == [[0, 21, 0, 26, IGNORE_INDEX, IGNORE_INDEX]]


def test_a_pass_over_a_split_sees_each_name_once_and_draws_are_reproducible(data: NamesData) -> None:
    small = NamesData(load_names()[:100])
    seen = [small.tokenizer.decode(row) for batch in small.batches("validation", batch_size=4, seed=1) for row in batch.inputs]
    assert sorted(seen) == sorted(small.validation)
    first = data.sample_batch(8, random.Random(3))
    again = data.sample_batch(8, random.Random(3))
    assert np.array_equal(first.inputs, again.inputs) and len(first) == 8


def test_bad_requests_name_what_is_wrong(data: NamesData) -> None:
    with pytest.raises(ValueError, match="split must be 'train' or 'validation', got 'test'"):
        data.split("test")
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        data.sample_batch(0)
    with pytest.raises(ValueError, match="length must be an int from 1 to block_size=16"):
        data.batch(["emma"], length=17)
    with pytest.raises(ValueError, match="no names"):
        data.batch([])
    with pytest.raises(ValueError, match=r"name #5 must be a non-empty string"):
        NamesData(["ok"] * 5 + [""] * 10)
    with pytest.raises(ValueError, match="needs at least 10 names"):
        NamesData(["emma", "ava"])


def test_the_registry_entry_is_the_next_character_task(data: NamesData) -> None:
    info = DATASETS["names"]
    assert info.kind == "classes" and info.classes == 27 and info.features == 3 and info.samples is None
    loaded = load_dataset("names")
    assert loaded.X.shape == (sum(len(n) + 1 for n in data.train), 3)
    assert loaded.X[:5].tolist() == [[26, 26, 26], [26, 26, 4], [26, 4, 12], [4, 12, 12], [12, 12, 0]]  # 'emma'
    assert loaded.y[:5].tolist() == [4, 12, 12, 0, 26]
    assert len(loaded.X_test) == sum(len(n) + 1 for n in data.validation)
    with pytest.raises(ValueError, match="the names data set has no samples setting"):
        load_dataset("names", samples=10)
