"""What ``scratchgrad train`` says and writes after training: scores, pictures, the model file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scratchgrad.cli.common import Written, say


def model_file(model: Any, stem: str) -> str:
    """``STEM_model.json`` for a model of Values, ``STEM_model.npz`` for a tensor model."""
    return f"{stem}_model{'.json' if model.model_engine() == 'scalar' else '.npz'}"


def report(model: Any, history: Any, data: Any, stem: str, out: Path, written: Written) -> None:
    """Print the final loss and the accuracies; write the loss curve, the pictures and the model."""
    import numpy as np

    from scratchgrad import plots
    from scratchgrad.train import accuracy, confusion_matrix, predict

    if history.loss:
        curve = out / f"{stem}_loss.png"
        written.add(plots.plot_loss_curve(history, curve, title=f"{stem}: training loss", test_losses=history.test_loss or None))
        say(f"final training loss {history.loss[-1]:.6g}")
    if data.kind != "regression":
        say(f"training accuracy {accuracy(model, data.X, data.y):.1%}")
        if data.has_test:
            test = accuracy(model, data.X_test, data.y_test)
            say(f"test accuracy {test:.1%} (on {len(data.X_test)} samples not trained on)")
    if data.kind == "classes":
        X, y, which = (data.X_test, data.y_test, "test") if data.has_test else (data.X, data.y, "training")
        predicted = np.asarray(predict(model, X)).argmax(axis=1)
        matrix = confusion_matrix(y, predicted, data.classes)
        written.add(plots.plot_confusion_matrix(matrix, out / f"{stem}_confusion.png", title=f"{stem}: {which} set"))
    if data.num_features == 2 and data.kind != "regression":
        picture = out / f"{stem}_boundary.png"  # the model's own scores, on its tensor twin for speed
        written.add(plots.plot_decision_boundary(model, data.X, data.y, picture, title=f"{stem}: decision boundary"))
    elif data.kind == "binary":
        say(f"no decision boundary picture: the data has {data.num_features} features, not 2")
    path = out / model_file(model, stem)
    model.save(path)
    written.add(path)
