"""scratchgrad.plots: real PNG/SVG/PDF files from matplotlib's Agg canvas, checked by reading them back."""

from __future__ import annotations

import math
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
from matplotlib.contour import ContourSet

from scratchgrad import Value
from scratchgrad.plots import (
    activation_curves,
    activations_figure,
    confusion_matrix_figure,
    decision_boundary_figure,
    loss_curve_figure,
    plot_activations,
    plot_confusion_matrix,
    plot_decision_boundary,
    plot_loss_curve,
)

SEED_LOSSES = [3.6407, 3.6109, 3.7419, 3.2018, 3.2525, 1.9728, 1.3173, 1.0736, 0.8890, 0.1152, 0.0508, 0.0367]


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from the IHDR chunk, after checking the PNG signature; and the
    file must decode to pixels of that size."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    length, chunk = struct.unpack(">I4s", data[8:16])
    assert chunk == b"IHDR" and length == 13
    width, height = struct.unpack(">II", data[16:24])
    pixels = matplotlib.image.imread(path)
    assert pixels.shape[:2] == (height, width)
    assert pixels[..., :3].std() > 0.05, "the picture is blank"
    return width, height


# ---- loss curve ---------------------------------------------------------------------------------


def test_loss_curve_from_a_list(tmp_path: Path) -> None:
    out = plot_loss_curve(SEED_LOSSES, tmp_path / "loss.png")
    assert out == tmp_path / "loss.png"
    width, height = png_size(out)
    assert 500 < width < 1500 and 300 < height < 900


def test_loss_curve_from_a_history_with_accuracy_and_test_losses(tmp_path: Path) -> None:
    class History:  # what scratchgrad.train.fit returns: per-epoch lists
        loss = SEED_LOSSES
        accuracy = [0.5, 0.5, 0.5, 0.75, 0.75, 0.75, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]

    figure = loss_curve_figure(History(), test_losses=[x * 1.1 for x in SEED_LOSSES])
    main, right = figure.axes
    assert [line.get_label() for line in main.get_lines()] == ["training loss", "test loss"]
    assert list(right.get_lines()[0].get_ydata()) == History.accuracy
    assert list(main.get_lines()[0].get_xdata()) == list(range(1, 13))
    assert main.get_yscale() == "log"  # 3.6 down to 0.037: two decades
    assert "final 0.0367" in main.get_title()
    width, height = png_size(plot_loss_curve(History(), tmp_path / "history.png", title="seed MLP"))
    assert width > height


def test_loss_curve_with_scratchgrads_own_history(tmp_path: Path) -> None:
    train = pytest.importorskip("scratchgrad.train")
    history = train.History(loss=[1.0, 0.5, 0.25], accuracy=[0.5, 0.75, 1.0])
    figure = loss_curve_figure(history)
    assert len(figure.axes) == 2 and figure.axes[0].get_yscale() == "linear"
    png_size(plot_loss_curve(history, tmp_path / "h.png"))
    regression = train.History(loss=[1.0, 0.5])  # no accuracy for regression targets
    assert len(loss_curve_figure(regression).axes) == 1


def test_loss_curve_accepts_values_and_one_epoch(tmp_path: Path) -> None:
    png_size(plot_loss_curve([Value(2.0), Value(1.5)], tmp_path / "values.png"))
    png_size(plot_loss_curve([0.7], tmp_path / "one.png"))


def test_diverged_training_is_marked_not_hidden(tmp_path: Path) -> None:
    with pytest.warns(RuntimeWarning, match="nan from epoch 4"):
        figure = loss_curve_figure([1.0, 0.9, 0.8, float("nan"), float("nan")])
    (line,) = figure.axes[0].get_lines()[:1]
    assert list(line.get_ydata()) == [1.0, 0.9, 0.8]
    assert any("from epoch 4" in text.get_text() for text in figure.axes[0].texts)
    with pytest.warns(RuntimeWarning):
        png_size(plot_loss_curve([1.0, float("inf")], tmp_path / "diverged.png"))


def test_loss_curve_rejects_bad_input(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="empty"):
        plot_loss_curve([], tmp_path / "x.png")
    with pytest.raises(TypeError, match=r"losses\[1\]"):
        plot_loss_curve([1.0, "low"], tmp_path / "x.png")
    with pytest.raises(TypeError, match="list of numbers"):
        plot_loss_curve(3.0, tmp_path / "x.png")
    with pytest.raises(ValueError, match="accuracy has 1 values but there are 2 losses"):
        plot_loss_curve([1.0, 0.5], tmp_path / "x.png", accuracy=[0.5])
    with pytest.raises(ValueError, match=r"fractions in \[0, 1\]"):
        plot_loss_curve([1.0, 0.5], tmp_path / "x.png", accuracy=[50, 95])
    with pytest.raises(ValueError, match=r"\.jpg"):
        plot_loss_curve([1.0], tmp_path / "x.jpg")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        plot_loss_curve([1.0], tmp_path / "no" / "x.png")
    with pytest.raises(ValueError, match="positive"):
        loss_curve_figure([1.0, -1.0], log_scale=True)
    assert not list(tmp_path.iterdir())


def test_svg_and_pdf_outputs_are_reproducible(tmp_path: Path) -> None:
    first = plot_loss_curve(SEED_LOSSES, tmp_path / "a.svg").read_bytes()
    second = plot_loss_curve(SEED_LOSSES, tmp_path / "b.svg").read_bytes()
    assert first == second and b"<svg" in first
    assert plot_loss_curve(SEED_LOSSES, tmp_path / "a.pdf").read_bytes()[:5] == b"%PDF-"


def test_plots_never_touch_pyplot_or_the_backend(tmp_path: Path) -> None:
    code = textwrap.dedent(
        """
        import sys, matplotlib
        before = matplotlib.rcParams._get_backend_or_none()
        from scratchgrad import plots
        plots.plot_loss_curve([1.0, 0.5], "loss.png")
        plots.plot_activations("act.png")
        plots.plot_decision_boundary(lambda p: p[:, 0], [[0, 0], [1, 1]], [-1, 1], "db.png", resolution=10)
        print("pyplot" if "matplotlib.pyplot" in sys.modules else "no pyplot")
        print(before == matplotlib.rcParams._get_backend_or_none())
        """
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}  # no DISPLAY, no MPLBACKEND
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["no", "pyplot", "True"]
    for name in ("loss.png", "act.png", "db.png"):
        png_size(tmp_path / name)


# ---- decision boundary --------------------------------------------------------------------------

RNG = np.random.default_rng(0)
POINTS = RNG.uniform(-2, 2, size=(60, 2))
LABELS = np.where(POINTS[:, 0] > 0, 1.0, -1.0)


def array_only(points: object) -> np.ndarray:
    assert isinstance(points, np.ndarray), "wants an array"
    return np.tanh(points[:, 0] * 3)


def list_only(points: object) -> list[float]:
    if not isinstance(points, list):
        raise TypeError("wants a list of [x0, x1] lists")
    return [math.tanh(x0 * 3) for x0, _ in points]


def zero_level(figure: object) -> np.ndarray:
    """The points of the drawn decision line."""
    ax = figure.axes[0]  # type: ignore[attr-defined]
    (line,) = [c for c in ax.collections if isinstance(c, ContourSet) and not c.filled]
    return np.concatenate(line.allsegs[0])


@pytest.mark.parametrize("predict", [array_only, list_only], ids=["array", "list"])
def test_decision_boundary_accepts_array_and_list_predicts(predict, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    figure = decision_boundary_figure(predict, POINTS.tolist(), LABELS.tolist(), resolution=41)
    boundary = zero_level(figure)
    assert np.abs(boundary[:, 0]).max() < 0.1  # the line x0 = 0
    assert np.ptp(boundary[:, 1]) > 3  # across the whole plot
    assert "accuracy 100.0% on these 60 points" in figure.axes[0].get_title()
    out = plot_decision_boundary(predict, POINTS, LABELS, tmp_path / "db.png", resolution=41)
    width, height = png_size(out)
    assert 400 < width < 1200 and 400 < height < 1000


def test_array_and_list_predicts_give_the_same_picture(tmp_path: Path) -> None:
    a = plot_decision_boundary(array_only, POINTS, LABELS, tmp_path / "a.png", resolution=30).read_bytes()
    b = plot_decision_boundary(list_only, POINTS, LABELS, tmp_path / "b.png", resolution=30).read_bytes()
    assert a == b


def test_decision_boundary_of_a_scratchgrad_model(tmp_path: Path) -> None:
    nn = pytest.importorskip("scratchgrad.nn")
    model = nn.MLP(2, [4, 1], seed=1)
    calls: list[type] = []

    def predict(points: list[list[float]]) -> list[Value]:
        calls.append(type(points))
        return [model(p) for p in points]  # Values, as the scalar engine gives them

    out = plot_decision_boundary(predict, POINTS, LABELS, tmp_path / "mlp.png", resolution=20, accepts="list")
    png_size(out)
    assert calls == [list, list]  # the data points, then the whole grid in one call


def test_scores_from_tensor_like_outputs_and_probabilities() -> None:
    class Scores:  # what a Tensor looks like from here: an array in .data
        def __init__(self, data: np.ndarray) -> None:
            self.data = data

    probability = lambda p: Scores(1 / (1 + np.exp(-5 * p[:, :1])))  # (n, 1) probabilities
    labels01 = (LABELS > 0).astype(int)
    figure = decision_boundary_figure(probability, POINTS, labels01, resolution=30, threshold=0.5)
    assert "accuracy 100.0%" in figure.axes[0].get_title()
    assert np.abs(zero_level(figure)[:, 0]).max() < 0.1
    legend = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert legend == ["class 0", "class 1"]


def test_multiclass_scores_draw_class_regions(tmp_path: Path) -> None:
    classes = np.digitize(POINTS[:, 0], [-0.7, 0.7])  # 0, 1, 2 in three vertical bands
    centers = np.array([-1.4, 0.0, 1.4])
    predict = lambda p: -np.abs(p[:, :1] - centers)  # (n, 3) class scores
    figure = decision_boundary_figure(predict, POINTS, classes, resolution=50)
    assert "accuracy 100.0%" in figure.axes[0].get_title()
    png_size(plot_decision_boundary(predict, POINTS, classes, tmp_path / "three.png", resolution=50))


def test_decision_boundary_rejects_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "x.png"
    with pytest.raises(ValueError, match=r"shape \(n, 2\); got shape \(3, 3\)"):
        plot_decision_boundary(array_only, np.zeros((3, 3)), [1, -1, 1], path)
    with pytest.raises(ValueError, match="2 labels but X has 3 points"):
        plot_decision_boundary(array_only, np.zeros((3, 2)), [1, -1], path)
    with pytest.raises(ValueError, match=r"X\[1\]"):
        plot_decision_boundary(array_only, [[0, 0], [float("nan"), 1]], [1, -1], path)
    with pytest.raises(ValueError, match="class labels"):
        plot_decision_boundary(array_only, POINTS, POINTS[:, 0], path)
    with pytest.raises(ValueError, match="non-finite scores"):
        plot_decision_boundary(lambda p: np.full(len(p), np.nan), POINTS, LABELS, path, resolution=5)
    with pytest.raises(ValueError, match=r"shape \(59,\) for 60 points"):
        plot_decision_boundary(lambda p: p[1:, 0], POINTS, LABELS, path, resolution=5)
    with pytest.raises(TypeError, match="both input kinds.*array.*list"):
        plot_decision_boundary(lambda p: 1 / 0, POINTS, LABELS, path, resolution=5)
    with pytest.raises(TypeError, match="callable"):
        plot_decision_boundary("model", POINTS, LABELS, path)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="resolution"):
        plot_decision_boundary(array_only, POINTS, LABELS, path, resolution=1)
    with pytest.raises(AssertionError, match="wants an array"):  # an explicit choice is not second-guessed
        plot_decision_boundary(array_only, POINTS, LABELS, path, resolution=5, accepts="list")
    assert not path.exists()


# ---- activations ----------------------------------------------------------------------------------


def test_activation_curves_match_the_formulas() -> None:
    xs = np.linspace(-6, 6, 121)
    tanh, d_tanh = activation_curves("tanh", xs.tolist())
    np.testing.assert_allclose(tanh, np.tanh(xs), rtol=0, atol=1e-15)
    np.testing.assert_allclose(d_tanh, 1 - np.tanh(xs) ** 2, rtol=0, atol=1e-15)
    sig, d_sig = activation_curves("sigmoid", xs.tolist())
    s = 1 / (1 + np.exp(-xs))
    np.testing.assert_allclose(sig, s, rtol=1e-13)
    np.testing.assert_allclose(d_sig, s * (1 - s), rtol=1e-12)
    relu, d_relu = activation_curves("relu", xs.tolist())
    assert relu == list(np.maximum(xs, 0)) and d_relu == list((xs > 0).astype(float))
    with pytest.raises(ValueError, match="activation"):
        activation_curves("softmax", [0.0])


def test_activation_plot(tmp_path: Path) -> None:
    figure = activations_figure()
    assert [ax.get_title() for ax in figure.axes] == ["tanh", "relu", "sigmoid"]
    assert all(len(ax.get_lines()) == 4 for ax in figure.axes)  # f, f', and the two axes
    width, height = png_size(plot_activations(tmp_path / "act.png"))
    assert width > 2 * height and 800 < width < 2000
    with pytest.raises(ValueError, match="x_range"):
        plot_activations(tmp_path / "bad.png", x_range=(1.0, -1.0))


# ---- confusion matrix -----------------------------------------------------------------------------

DIGITS = np.diag([50] * 10) + np.eye(10, k=1, dtype=int) * 3


def cell_texts(figure: object) -> list[str]:
    return [t.get_text() for t in figure.axes[0].texts]  # type: ignore[attr-defined]


def test_confusion_matrix_counts_and_fractions(tmp_path: Path) -> None:
    counts = confusion_matrix_figure(DIGITS)
    assert cell_texts(counts)[:3] == ["50", "3", "0"] and len(cell_texts(counts)) == 100
    assert "accuracy 94.9%" in counts.axes[0].get_title()  # 500 of 527
    fractions = confusion_matrix_figure(DIGITS, normalize=True)
    assert cell_texts(fractions)[:2] == ["0.94", "0.06"] and cell_texts(fractions)[99] == "1.00"
    width, height = png_size(plot_confusion_matrix(DIGITS, tmp_path / "cm.png", labels=list("0123456789")))
    assert 500 < width < 2000 and 500 < height < 2000


def test_confusion_matrix_with_an_empty_class_and_names(tmp_path: Path) -> None:
    matrix = [[5, 1, 0], [0, 0, 0], [2, 0, 7]]
    figure = confusion_matrix_figure(matrix, labels=["cat", "dog", "bird"], normalize=True)
    assert cell_texts(figure)[3:6] == ["0.00", "0.00", "0.00"]  # no samples of 'dog': zeros, not nan
    assert [t.get_text() for t in figure.axes[0].get_xticklabels()] == ["cat", "dog", "bird"]
    png_size(plot_confusion_matrix(matrix, tmp_path / "pets.png", labels=["cat", "dog", "bird"], normalize=True))
    assert "no samples" in confusion_matrix_figure(np.zeros((2, 2))).axes[0].get_title()


def test_confusion_matrix_rejects_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "cm.png"
    with pytest.raises(ValueError, match="square"):
        plot_confusion_matrix([[1, 2, 3], [4, 5, 6]], path)
    with pytest.raises(ValueError, match=">= 0"):
        plot_confusion_matrix([[1, -2], [0, 3]], path)
    with pytest.raises(ValueError, match="2 names for a 3 x 3"):
        plot_confusion_matrix(np.eye(3), path, labels=["a", "b"])
    with pytest.raises(TypeError, match="table of numbers"):
        plot_confusion_matrix([["a", "b"], ["c", "d"]], path)
    assert not path.exists()


def test_a_model_is_drawn_directly_and_scored_like_itself(tmp_path: Path) -> None:
    """plot_decision_boundary(model, ...) scores the grid on arrays: the same scores as the
    model's own forward pass, for the scalar MLP and a tensor model alike."""
    import numpy as np

    from scratchgrad import tensor_nn
    from scratchgrad.nn import MLP
    from scratchgrad.plots import model_predictor, plot_decision_boundary

    scalar = MLP(2, [5, 4, 1], activation="relu", output_activation="tanh", seed=3)
    points = np.array([[0.5, -0.25], [1.5, 2.0], [-1.0, 0.0]])
    fast = model_predictor(scalar)(points)
    assert np.allclose(fast, [scalar(p.tolist()).data for p in points], rtol=0, atol=1e-12)
    tensor = tensor_nn.mlp(2, [4], 3, seed=0)
    assert model_predictor(tensor)(points).shape == (3, 3)
    X = [[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]]
    y = [1.0, 1.0, -1.0, -1.0]
    assert plot_decision_boundary(scalar, X, y, tmp_path / "b.png", resolution=40).stat().st_size > 1000
    with pytest.raises(TypeError):
        model_predictor(object())
