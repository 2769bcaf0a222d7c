"""scratchgrad.data: seeded toy sets, the CSV loader's errors, minibatches."""

from __future__ import annotations

import math
import random
import sys

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from scratchgrad.data import digits as digits_module
from scratchgrad.data import (
    DataFileError,
    binary_labels,
    load_csv,
    make_circles,
    make_moons,
    make_spirals,
    make_xor,
    minibatches,
    stratified_split,
    toy_dataset,
    train_test_split,
    tutorial,
)
from scratchgrad.data import load_dataset
from scratchgrad.data.digits import load_digits

GENERATORS = [make_moons, make_circles, make_spirals, make_xor]


def test_tutorial_is_the_seeds_data():
    xs, ys = tutorial()
    assert xs == [[2.0, 3.0, -1.0], [3.0, -1.0, 0.5], [0.5, 1.0, 1.0], [1.0, 1.0, -1.0]]
    assert ys == [1.0, -1.0, -1.0, 1.0]
    xs.append([0.0])
    assert len(tutorial()[0]) == 4, "fresh lists every call"


@pytest.mark.parametrize("make", GENERATORS)
@pytest.mark.parametrize("n", [4, 7, 100])
def test_generators_shape_labels_and_balance(make, n):
    X, y = make(n, seed=0)
    assert len(X) == len(y) == n
    assert all(isinstance(row, list) and len(row) == 2 for row in X)
    assert all(type(v) is float and math.isfinite(v) for row in X for v in row)
    assert all(type(label) is float and label in (-1.0, 1.0) for label in y)
    assert abs(y.count(1.0) - y.count(-1.0)) <= 1


@pytest.mark.parametrize("make", GENERATORS)
def test_generators_are_reproducible(make):
    assert make(50, seed=3) == make(50, seed=3)
    assert make(50, seed=3) != make(50, seed=4)
    assert make(50, seed=random.Random(3)) == make(50, seed=3)
    random.seed(9)
    first = make(50)
    random.seed(9)
    assert make(50) == first, "seed=None uses the global random module"


def test_moons_geometry_without_noise():
    X, y = make_moons(40, noise=0.0, seed=0)
    for (a, b), label in zip(X, y):
        if label == -1.0:  # upper moon: unit half circle around (0, 0)
            assert math.hypot(a, b) == pytest.approx(1.0) and b >= -1e-12
        else:  # lower moon: unit half circle around (1, 0.5)
            assert math.hypot(a - 1, b - 0.5) == pytest.approx(1.0) and b <= 0.5 + 1e-12
    noisy, _ = make_moons(40, noise=0.1, seed=0)
    assert noisy != X


def test_circles_spirals_xor_geometry_without_noise():
    X, y = make_circles(40, noise=0.0, factor=0.3, seed=0)
    for (a, b), label in zip(X, y):
        assert math.hypot(a, b) == pytest.approx(1.0 if label == -1.0 else 0.3)
    X, y = make_spirals(40, noise=0.0, seed=0)
    assert max(math.hypot(a, b) for a, b in X) == pytest.approx(1.0)
    X, y = make_xor(40, noise=0.0, seed=0)
    for (a, b), label in zip(X, y):
        assert (1.0 if a * b > 0 else -1.0) == label
        assert 0.1 <= abs(a) <= 1 and 0.1 <= abs(b) <= 1


@pytest.mark.parametrize("make", GENERATORS)
def test_generator_argument_errors(make):
    with pytest.raises(ValueError, match="n_samples must be an int"):
        make(1)
    with pytest.raises(ValueError, match="n_samples must be an int"):
        make(10.5)
    with pytest.raises(ValueError, match="noise must be a finite number >= 0"):
        make(10, noise=-0.1)
    with pytest.raises(TypeError, match="seed must be an int"):
        make(10, seed="abc")


# ---- CSV ----------------------------------------------------------------------------------


def write(tmp_path, text, name="data.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_load_csv_with_header_and_blank_lines(tmp_path):
    path = write(tmp_path, "\ufeffx0,x1,label\n1,2,1\n\n3.5,-4e-1,-1\n")
    X, y = load_csv(path)
    assert X == [[1.0, 2.0], [3.5, -0.4]] and y == [1.0, -1.0]
    X, y = load_csv(path, target_column="x0")
    assert X == [[2.0, 1.0], [-0.4, -1.0]] and y == [1.0, 3.5]
    X, y = load_csv(path, target_column=0)
    assert y == [1.0, 3.5]


def test_load_csv_without_header_and_other_delimiters(tmp_path):
    X, y = load_csv(write(tmp_path, "1;2;0\n3;4;1\n"), delimiter=";")
    assert X == [[1.0, 2.0], [3.0, 4.0]] and y == [0.0, 1.0]
    assert binary_labels(y) == [-1.0, 1.0]
    with pytest.raises(DataFileError, match=r"row 1, column 1: 'a' is not a number"):
        load_csv(write(tmp_path, "a,b\n1,2\n"), header=False)


def test_load_csv_errors_name_file_row_and_column(tmp_path):
    with pytest.raises(FileNotFoundError, match="CSV file not found: .*missing.csv"):
        load_csv(tmp_path / "missing.csv")
    with pytest.raises(DataFileError, match=r"empty\.csv: the file is empty"):
        load_csv(write(tmp_path, "\n\n", "empty.csv"))
    with pytest.raises(DataFileError, match="no data rows"):
        load_csv(write(tmp_path, "a,b\n"))
    with pytest.raises(DataFileError, match="row 3 has 2 columns, expected 3"):
        load_csv(write(tmp_path, "1,2,3\n4,5,6\n7,8\n"))
    with pytest.raises(DataFileError, match=r"data\.csv: row 3, column 2 \('b'\): 'abc' is not a number"):
        load_csv(write(tmp_path, "a,b,c\n1,2,3\n4,abc,6\n"))
    with pytest.raises(DataFileError, match=r"row 2, column 1: an empty cell"):
        load_csv(write(tmp_path, "1,2\n,3\n"))
    with pytest.raises(DataFileError, match=r"row 1, column 2: 'nan' is not finite"):
        load_csv(write(tmp_path, "1,nan\n"))
    with pytest.raises(DataFileError, match="row 1, column 2: 'x' is not a number"):
        load_csv(write(tmp_path, "1,x\n2,3\n"))  # a half-numeric first row is data, not a header
    with pytest.raises(DataFileError, match="needs at least 2 columns"):
        load_csv(write(tmp_path, "1\n2\n"))
    with pytest.raises(DataFileError, match="not UTF-8"):
        (tmp_path / "bin.csv").write_bytes(b"1,2\n\xff\xfe,3\n")
        load_csv(tmp_path / "bin.csv")
    with pytest.raises(DataFileError, match="is a directory"):
        load_csv(tmp_path)
    good = write(tmp_path, "a,b\n1,2\n")
    with pytest.raises(ValueError, match="target_column 2 is out of range for 2 columns"):
        load_csv(good, target_column=2)
    with pytest.raises(ValueError, match="no column named 'z'"):
        load_csv(good, target_column="z")
    with pytest.raises(ValueError, match="has no header row"):
        load_csv(write(tmp_path, "1,2\n"), target_column="a")


def test_load_csv_explicit_header(tmp_path):
    X, y = load_csv(write(tmp_path, "10,20\n1,2\n"), header=True)
    assert X == [[1.0]] and y == [2.0]


def test_load_csv_row_numbers_count_blank_lines(tmp_path):
    with pytest.raises(DataFileError, match="row 5, column 1"):
        load_csv(write(tmp_path, "a,b\n1,2\n\n\nx,3\n"))


def test_binary_labels_errors():
    with pytest.raises(ValueError, match="exactly 2 distinct label values, got 3"):
        binary_labels([0.0, 1.0, 2.0])
    assert binary_labels([5.0, 2.0, 5.0]) == [1.0, -1.0, 1.0]


def test_train_test_split():
    X, y = make_moons(50, seed=0)
    Xtr, Xte, ytr, yte = train_test_split(X, y, test_fraction=0.2, seed=1)
    assert len(Xte) == len(yte) == 10 and len(Xtr) == len(ytr) == 40
    assert sorted(map(tuple, Xtr + Xte)) == sorted(map(tuple, X))
    assert train_test_split(X, y, seed=1) == train_test_split(X, y, seed=1)
    with pytest.raises(ValueError, match="test_fraction must be in"):
        train_test_split(X, y, test_fraction=1.5)
    with pytest.raises(ValueError, match="50 samples but y has 3"):
        train_test_split(X, y[:3])


# ---- minibatches --------------------------------------------------------------------------


def test_minibatches_cover_the_data_once():
    X = [[float(i), 0.0] for i in range(10)]
    y = [float(i) for i in range(10)]
    batches = list(minibatches(X, y, batch_size=4, seed=0))
    assert [len(xb) for xb, _ in batches] == [4, 4, 2]
    assert sorted(v for _, yb in batches for v in yb) == y
    for xb, yb in batches:
        assert [row[0] for row in xb] == yb, "samples keep their labels"
    assert [yb for _, yb in minibatches(X, y, 4, seed=0)] == [yb for _, yb in batches]
    assert [yb for _, yb in minibatches(X, y, 4, seed=1)] != [yb for _, yb in batches]
    assert [yb for _, yb in minibatches(X, y, 4, shuffle=False)][0] == [0.0, 1.0, 2.0, 3.0]
    assert [len(xb) for xb, _ in minibatches(X, y, 4, drop_last=True, seed=0)] == [4, 4]
    rng = random.Random(0)
    first, second = list(minibatches(X, y, 10, seed=rng)), list(minibatches(X, y, 10, seed=rng))
    assert first != second, "a shared generator gives a new order every epoch"


def test_minibatches_errors_come_at_the_call():
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        minibatches([[1.0]], [1.0], 0)
    with pytest.raises(ValueError, match="X has 2 samples but y has 1"):
        minibatches([[1.0], [2.0]], [1.0], 1)
    with pytest.raises(ValueError, match="no samples"):
        minibatches([], [], 1)


# ---- arrays: digits, splits and batches for the tensor engine ----------------------------------------------------------------------------------------------


def test_digits_split_is_fixed_stratified_and_scaled() -> None:
    a, b = load_digits(scale="unit"), load_digits(scale="unit")
    assert a.X_train.shape == (1438, 64) and a.X_test.shape == (359, 64)
    assert a.X_train.dtype == np.float64 and a.y_train.dtype == np.int64
    assert_array_equal(a.X_train, b.X_train)
    assert_array_equal(a.y_test, b.y_test)
    assert a.X_train.min() == 0.0 and a.X_train.max() == 1.0
    test_counts = np.bincount(a.y_test, minlength=10)
    assert test_counts.min() >= 34 and test_counts.max() <= 37  # 20% of each class
    assert not np.array_equal(load_digits(seed=5).y_test, a.y_test)
    s = load_digits()  # standardized by default
    assert np.abs(s.X_train.mean(axis=0)).max() < 1e-12
    assert_array_equal(s.y_train, a.y_train)
    assert np.allclose(s.transform(a.X_test * 16), s.X_test)
    with pytest.raises(ValueError, match="scale must be one of 'unit', 'standard'"):
        load_digits(scale="minmax")
    with pytest.raises(ValueError, match="test_fraction must be between 0 and 1"):
        load_digits(test_fraction=1.0)


def test_stratified_split_covers_every_index_once() -> None:
    y = np.repeat(np.arange(3), [10, 20, 30])
    train, test = stratified_split(y, 0.1, seed=0)
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(60))
    assert np.bincount(y[test]).tolist() == [1, 2, 3]


def test_missing_scikit_learn_names_the_extra(monkeypatch) -> None:
    digits_module._raw_digits.cache_clear()
    monkeypatch.setitem(sys.modules, "sklearn", None)
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    try:
        with pytest.raises(ImportError, match=r"make install-digits"):
            load_digits()
    finally:
        digits_module._raw_digits.cache_clear()


def test_minibatches_cover_the_data_once_per_epoch() -> None:
    X, y = np.arange(20.0).reshape(10, 2), np.arange(10)
    batches = list(minibatches(X, y, 4, seed=0))
    assert [len(b) for b, _ in batches] == [4, 4, 2]
    seen = np.concatenate([yb for _, yb in batches])
    assert sorted(seen.tolist()) == list(range(10)) and seen.tolist() != list(range(10))
    for xb, yb in batches:
        assert_array_equal(xb[:, 0] / 2, yb)  # rows stay paired with their labels
    assert [len(b) for b, _ in minibatches(X, y, 4, drop_last=True, seed=0)] == [4, 4]
    assert [yb.tolist() for _, yb in minibatches(X, y, 5, shuffle=False)] == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    rng = np.random.default_rng(1)
    first, second = [yb.tolist() for _, yb in minibatches(X, y, 10, seed=rng)], [yb.tolist() for _, yb in minibatches(X, y, 10, seed=rng)]
    assert first != second  # a shared generator gives each epoch a new order
    with pytest.raises(ValueError, match="batch_size must be a positive int"):
        next(minibatches(X, y, 0))
    with pytest.raises(ValueError, match="X has 10 samples but y has 9"):
        next(minibatches(X, y[:9], 2))


def test_toy_datasets_as_arrays() -> None:
    from scratchgrad import data

    X, y = toy_dataset("moons", 50, noise=0.1, seed=2)
    X_list, y_list = data.make_moons(50, noise=0.1, seed=2)
    assert X.shape == (50, 2) and y.shape == (50,) and X.dtype == np.float64
    assert_array_equal(X, np.array(X_list))
    assert_array_equal(y, np.array(y_list))
    assert set(np.unique(y)) == {-1.0, 1.0}
    for name in ("circles", "spirals", "xor"):
        assert toy_dataset(name, 30, seed=0)[0].shape == (30, 2)
    assert toy_dataset("xor", 10, seed=0, dtype=np.float32)[0].dtype == np.float32
    with pytest.raises(ValueError, match="unknown toy data set 'blobs'; choose one of moons, circles, spirals, xor, gauss"):
        toy_dataset("blobs")


@pytest.mark.parametrize("name", ["gauss", "plane", "gaussian_mix"])
def test_tensorflow_playgrounds_sets_are_seeded_and_shaped(name: str) -> None:
    from scratchgrad.data import DATASETS

    data = load_dataset(name, samples=120, noise=0.1, seed=3)
    again = load_dataset(name, samples=120, noise=0.1, seed=3)
    other = load_dataset(name, samples=120, noise=0.1, seed=4)
    assert data.X.shape == (120, 2) and data.y.shape == (120,) and np.isfinite(data.X).all()
    assert_array_equal(data.X, again.X)
    assert not np.array_equal(data.X, other.X) and not np.array_equal(data.X, data.X_test)
    assert data.kind == DATASETS[name].kind
    if data.kind == "binary":
        assert set(data.y.tolist()) == {-1.0, 1.0} and data.y.mean() == 0  # both classes, balanced
    else:
        assert data.kind == "regression" and data.classes == 1
        assert (np.abs(data.y) <= 1).all() and len(set(data.y.tolist())) > 100


def test_gauss_clouds_separate_and_noise_mixes_them() -> None:
    from scratchgrad.data import make_gauss

    X, y = (np.array(part) for part in make_gauss(400, 0.0, seed=0))
    assert np.mean(np.sign(X.sum(axis=1)) == y) > 0.97
    X, y = (np.array(part) for part in make_gauss(400, 1.0, seed=0))
    assert np.mean(np.sign(X.sum(axis=1)) == y) < 0.9


def test_regression_targets_without_noise_are_the_plane_and_the_bumps() -> None:
    from scratchgrad.data import make_gaussian_mix, make_plane

    X, y = (np.array(part) for part in make_plane(50, 0.0, seed=0))
    np.testing.assert_allclose(y, (X[:, 0] + X[:, 1]) / 2)
    X, y = (np.array(part) for part in make_gaussian_mix(2000, 0.0, seed=0))
    near = np.hypot(X[:, 0] + 0.5, X[:, 1] - 0.5) < 0.05  # on the top-left bump: height about 1
    assert near.any() and (y[near] > 0.9).all()
    with pytest.raises(ValueError, match="noise must be"):
        make_plane(10, -1.0)
