"""Every public name of the old modules still imports from its old path (the code moved into
scratchgrad.nn and scratchgrad.data, tensor_functions / tensor_backward and step_through; the
old modules re-export it)."""

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
    "tensor": ["Tensor", "causal_mask", "concatenate", "cross_entropy", "embedding", "layer_norm", "linear", "matmul", "rms_norm",
               "stack", "where"],
    "viz": ["ANIMATION_MAX_NODES", "BackwardStep", "DEFAULT_MAX_NODES", "GradUpdate", "GraphvizMissingError", "INSTALL_HINT",
            "LargeGraphWarning", "MAX_COMPACT_BOXES", "MIN_CHAIN", "RANKDIRS", "SUFFIX_FORMATS", "animate_backward", "backward_steps",
            "draw_compact", "draw_dot", "format_number", "render", "trace"],
    "export": ["ACTIVATIONS", "ONNX_IR_VERSION", "ONNX_OPSET", "TORCH_EXPORT_FORMAT", "TORCH_EXPORT_VERSION", "from_torch", "load_model",
               "load_torch", "model_steps", "onnx_predict", "save_torch", "to_onnx", "to_onnx_model", "to_torch"],
}  # fmt: skip


@pytest.mark.parametrize("module", list(OLD_NAMES))
def test_old_public_names_still_import(module: str) -> None:
    loaded = importlib.import_module(f"scratchgrad.{module}")
    missing = [name for name in OLD_NAMES[module] if not hasattr(loaded, name)]
    assert not missing, f"scratchgrad.{module} lost {missing}"


def test_old_paths_are_the_new_objects_and_old_idioms_work() -> None:
    from scratchgrad import data, digits, losses, nn, step_through, tensor_functions, tensor_nn, tensor_train, train, viz
    from scratchgrad.tensor import Tensor, linear, where
    from scratchgrad.viz import animate_backward

    assert linear is tensor_functions.linear and where is tensor_functions.where
    assert animate_backward is step_through.animate_backward and viz.backward_steps is step_through.backward_steps

    assert tensor_train.fit is train.fit and tensor_train.History is train.History
    assert digits.minibatches is data.minibatches and digits.load_digits is data.load_digits
    assert tensor_nn.Module is nn.Module and tensor_nn.ModelFileError is nn.ModelFileError
    assert losses.hinge_loss is tensor_nn.hinge_loss  # one function: Values or Tensors
    assert "hinge" in train.LOSSES and "relu" in nn.ACTIVATIONS
    assert type(tensor_nn.ACTIVATIONS["relu"]()) is tensor_nn.ReLU  # the old name -> module class idiom
    scores, labels = Tensor(np.array([[0.5], [-2.0]]), requires_grad=True), np.array([1.0, -1.0])
    assert tensor_nn.LOSSES["hinge"](scores, labels).item() == pytest.approx(0.25)
    assert tensor_nn.LOSSES["ce"](Tensor(np.zeros((2, 3))), np.array([0, 2])).item() == pytest.approx(np.log(3))


@pytest.mark.parametrize("first", ["scratchgrad.tensor_functions", "scratchgrad.tensor_backward", "scratchgrad.step_through"])
def test_the_new_modules_import_first_without_a_cycle(first: str) -> None:
    """tensor_functions, tensor_backward and step_through import the modules they moved out of,
    which load them back on first use: any of them imported first, in a fresh interpreter, works."""
    import subprocess
    import sys

    code = f"""
import {first}
from scratchgrad.tensor import Tensor, linear
from scratchgrad.viz import animate_backward, draw_dot
x = Tensor([[1.0, 2.0]], requires_grad=True)
(linear(x, Tensor([[3.0, 4.0]])) + (x @ x.T).softmax().sum()).sum().backward()
print(x.grad.tolist(), animate_backward.__module__, draw_dot.__module__)
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["[[3.0,", "4.0]]", "scratchgrad.step_through", "scratchgrad.viz"]
