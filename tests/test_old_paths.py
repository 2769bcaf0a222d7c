"""Every public name of the old modules still imports from its old path (the code moved into
scratchgrad.nn and scratchgrad.data; the old modules re-export it)."""

from __future__ import annotations

import importlib

import numpy as np
import pytest

OLD_NAMES = {
    "nn": ["ACTIVATIONS", "FORMAT_NAME", "FORMAT_VERSION", "INITS", "IncompatibleKeys", "Layer", "MLP", "ModelFileError", "Module", "Neuron", "RandomSource"],
    "tensor_nn": ["ACTIVATIONS", "Identity", "LOSSES", "Linear", "ModelFileError", "Module", "ReLU", "Sequential", "Sigmoid", "Tanh",
                  "binary_cross_entropy_with_logits", "cross_entropy", "from_architecture", "hinge_loss", "load", "mlp", "mse_loss"],
    "losses": ["binary_cross_entropy_with_logits", "hinge_loss", "l2_penalty", "mean_squared_error", "softmax_cross_entropy", "squared_error"],
    "data": ["DataFileError", "RandomSource", "binary_labels", "load_csv", "make_circles", "make_moons", "make_spirals", "make_xor",
             "minibatches", "train_test_split", "tutorial"],
    "digits": ["Digits", "NUM_CLASSES", "SCALES", "TOY_DATASETS", "load_digits", "minibatches", "stratified_split", "toy_dataset"],
    "train": ["History", "LOSSES", "TrainingDiverged", "accuracy", "check_fit_settings", "default_threshold", "fit", "predict"],
    "tensor_train": ["DigitsResult", "History", "ToyResult", "TrainingDiverged", "accuracy", "blas_threads", "confusion_matrix", "fit",
                     "predict", "train_digits", "train_toy"],
    "optim": ["Adam", "CosineDecay", "LRScheduler", "LinearDecay", "Optimizer", "SGD", "StepDecay"],
    "export": ["ACTIVATIONS", "ONNX_IR_VERSION", "ONNX_OPSET", "TORCH_EXPORT_FORMAT", "TORCH_EXPORT_VERSION", "from_torch", "load_model",
               "load_torch", "model_steps", "onnx_predict", "save_torch", "to_onnx", "to_onnx_model", "to_torch"],
}  # fmt: skip


@pytest.mark.parametrize("module", list(OLD_NAMES))
def test_old_public_names_still_import(module: str) -> None:
    loaded = importlib.import_module(f"scratchgrad.{module}")
    missing = [name for name in OLD_NAMES[module] if not hasattr(loaded, name)]
    assert not missing, f"scratchgrad.{module} lost {missing}"


def test_old_paths_are_the_new_objects_and_old_idioms_work() -> None:
    from scratchgrad import data, digits, losses, nn, tensor_nn, tensor_train, train
    from scratchgrad.tensor import Tensor

    assert tensor_train.fit is train.fit and tensor_train.History is train.History
    assert digits.minibatches is data.minibatches and digits.load_digits is data.load_digits
    assert tensor_nn.Module is nn.Module and tensor_nn.ModelFileError is nn.ModelFileError
    assert losses.hinge_loss is tensor_nn.hinge_loss  # one function: Values or Tensors
    assert "hinge" in train.LOSSES and "relu" in nn.ACTIVATIONS
    assert type(tensor_nn.ACTIVATIONS["relu"]()) is tensor_nn.ReLU  # the old name -> module class idiom
    scores, labels = Tensor(np.array([[0.5], [-2.0]]), requires_grad=True), np.array([1.0, -1.0])
    assert tensor_nn.LOSSES["hinge"](scores, labels).item() == pytest.approx(0.25)
    assert tensor_nn.LOSSES["ce"](Tensor(np.zeros((2, 3))), np.array([0, 2])).item() == pytest.approx(np.log(3))
