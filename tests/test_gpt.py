"""The tensor GPT: its configuration, its forward pass and gradients against PyTorch, float32,
sampling, files, export to PyTorch and ONNX, and training on the names."""

from __future__ import annotations

import math
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from scratchgrad.data import NamesData
from scratchgrad.export import onnx_predict, save_torch, to_onnx, to_torch
from scratchgrad.gpt_train import GPTHistory, evaluate, train_gpt
from scratchgrad.nn import GPT, GPTConfig, LayerNorm, Module, ModelFileError, RMSNorm
from scratchgrad.nn.gpt import Embedding, gaussian_weights, parameter_shapes
from scratchgrad.optim import AdamW, clip_grad_norm
from scratchgrad.train import TrainingDiverged

CONFIGS = [
    dict(),  # microgpt's: 1 layer, width 16, 4 heads, block 16, RMSNorm, ReLU
    dict(n_layer=2, n_embd=8, n_head=2, block_size=8, norm="layernorm", activation="gelu"),
]


@pytest.fixture(scope="module")
def data() -> NamesData:
    return NamesData()


def test_the_configuration_is_checked_with_clear_messages() -> None:
    for kwargs, pattern in [
        (dict(n_embd=10, n_head=4), r"n_embd=10 must be a multiple of n_head=4"),
        (dict(activation="tanh"), r"activation must be one of 'relu', 'gelu', got 'tanh'"),
        (dict(norm="batchnorm"), r"norm must be one of 'rmsnorm', 'layernorm'"),
        (dict(n_layer=0), r"n_layer must be a positive int, got 0"),
        (dict(chars="abc"), r"chars must be a string of vocab_size - 1 = 26 characters"),
        (dict(n_layer=200, n_embd=512, n_head=8), r"has 629,\d{3},\d{3} parameters; at most 50,000,000"),
    ]:
        with pytest.raises(ValueError, match=pattern):
            GPT(**kwargs)
    with pytest.raises(ValueError, match=r"unknown GPT configuration fields \['depth'\]"):
        GPTConfig.from_dict({"depth": 3})


def test_parameters_are_named_and_drawn_in_microgpts_order() -> None:
    model = GPT(seed=0)
    names = [name for name, _ in model.named_parameters()]
    assert names == list(parameter_shapes(model.config))
    assert names[:4] == ["wte.weight", "wpe.weight", "lm_head.weight", "blocks.0.attn.wq.weight"]
    assert model.num_parameters() == 4192 == model.config.num_parameters()  # microgpt's count
    first = random.Random(0)
    assert model.wte.weight.data[0, :3].tolist() == pytest.approx([first.gauss(0, 0.08) for _ in range(3)], rel=1e-6)
    assert all(np.array_equal(GPT(seed=0).state_dict()[k], v) for k, v in model.state_dict().items())
    assert not all(np.array_equal(GPT(seed=1).state_dict()[k], v) for k, v in model.state_dict().items())


@pytest.mark.parametrize("config", CONFIGS, ids=["microgpt", "layernorm-gelu"])
def test_logits_loss_and_every_gradient_match_pytorch(config: dict, data: NamesData) -> None:
    model = GPT(**config, seed=3, dtype=np.float64)
    reference = to_torch(model)
    batch = data.batch(["emma", "olivia", "christopher"][: 2 if config else 3], length=None)
    inputs, targets = batch.inputs[:, : model.config.block_size], batch.targets[:, : model.config.block_size]
    loss = model.loss(inputs, targets)
    loss.backward()
    logits = reference(torch.from_numpy(inputs))
    expected = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), torch.from_numpy(targets).reshape(-1))
    expected.backward()
    assert np.allclose(model(inputs).data, logits.detach().numpy(), rtol=1e-12, atol=1e-13)
    assert float(loss.data) == pytest.approx(expected.item(), rel=1e-12)
    theirs = dict(reference.named_parameters())
    for name, p in model.named_parameters():
        assert np.allclose(p.grad, theirs[name].grad.numpy(), rtol=1e-9, atol=1e-13), name


def test_each_position_sees_only_itself_and_the_past() -> None:
    model = GPT(seed=1, dtype=np.float64)
    a = model(np.array([26, 4, 12, 12, 0])).data
    b = model(np.array([26, 4, 12, 3, 9])).data
    assert a.shape == (5, 27)
    assert np.array_equal(a[:3], b[:3]) and not np.allclose(a[3:], b[3:])


def test_bad_token_input_is_refused_by_name() -> None:
    model = GPT(seed=0)
    with pytest.raises(ValueError, match=r"17 positions exceed block_size=16"):
        model(np.zeros(17, dtype=int))
    with pytest.raises(IndexError, match=r"embedding: index 27 is out of range for weight of shape \(27, 16\)"):
        model(np.array([1, 27]))
    with pytest.raises(TypeError, match="tokens must be integer ids, got dtype float64"):
        model(np.array([0.5]))
    with pytest.raises(ValueError, match=r"tokens must be \(T,\) or \(batch, T\)"):
        model(np.zeros((1, 2, 3), dtype=int))


def test_float32_throughout_a_training_step(data: NamesData) -> None:
    model = GPT(seed=0)  # float32 unless asked otherwise
    assert model.dtype == np.float32
    optimizer = AdamW(model.parameters(), lr=1e-2)
    batch = data.batch(data.train[:4])
    loss = model.loss(batch.inputs, batch.targets)
    assert loss.dtype == np.float32
    loss.backward()
    clip_grad_norm(model.parameters(), 0.5)
    optimizer.step()
    assert all(p.data.dtype == np.float32 and p.grad.dtype == np.float32 for p in model.parameters())


def test_sampling_is_reproducible_and_decodes_names() -> None:
    model = GPT(chars="abcdefghijklmnopqrstuvwxyz", seed=0)
    names = model.sample(5, temperature=0.8, seed=7)
    assert names == model.sample(5, temperature=0.8, seed=7) and len(names) == 5
    assert all(set(name) <= set(model.config.chars) and len(name) <= 16 for name in names)
    ids = model.generate(3, seed=1)
    assert all(26 not in row for row in ids)
    with pytest.raises(ValueError, match="temperature must be a finite number > 0"):
        model.sample(2, temperature=0)
    with pytest.raises(ValueError, match="no chars to decode tokens with"):
        GPT(seed=0).sample(2)
    with pytest.raises(ValueError, match="max_length must be an int from 1 to block_size=16"):
        model.generate(1, max_length=17)


def test_a_gpt_file_is_the_one_model_format(tmp_path: Path, data: NamesData) -> None:
    model = GPT(n_layer=2, chars=data.tokenizer.chars, seed=4)
    path = tmp_path / "gpt.npz"
    model.save(path)
    loaded = Module.load(path)
    assert isinstance(loaded, GPT) and loaded.config == model.config and loaded.dtype == np.float32
    assert all(np.array_equal(loaded.state_dict()[k], v) for k, v in model.state_dict().items())
    assert loaded.sample(3, seed=2) == model.sample(3, seed=2)
    other = GPT(n_layer=1)
    with pytest.raises(ModelFileError, match="does not match this GPT"):
        other.load_weights(path)
    fresh = GPT(n_layer=2, chars=data.tokenizer.chars, seed=5)
    fresh.load_weights(path)
    assert np.array_equal(fresh.wte.weight.data, model.wte.weight.data)


@pytest.mark.parametrize("config", CONFIGS, ids=["microgpt", "layernorm-gelu"])
def test_onnx_runtime_agrees_on_the_logits(config: dict, tmp_path: Path, data: NamesData) -> None:
    pytest.importorskip("onnxruntime")
    batch = data.batch(["emma", "ava", "sophia"])
    inputs = batch.inputs[:, : config.get("block_size", 16)]
    for dtype in ("float32", "float64"):
        model = GPT(**config, seed=2, dtype=dtype)
        path = to_onnx(model, tmp_path / f"gpt_{dtype}.onnx", dtype=dtype)
        logits = onnx_predict(path, inputs)
        assert logits.shape == inputs.shape + (27,)
        assert np.abs(logits - model(inputs).data).max() <= 1e-6
        assert np.abs(onnx_predict(path, inputs[0, :2]) - model(inputs[:1, :2]).data).max() <= 1e-6  # any T


def test_to_torch_keeps_the_dtype_and_names_and_save_torch_says_what_to_do(tmp_path: Path) -> None:
    module = to_torch(GPT(seed=0))
    assert next(module.parameters()).dtype == torch.float32
    assert [n for n, _ in module.named_parameters()] == [n for n, _ in GPT(seed=0).named_parameters()]
    with pytest.raises(TypeError, match=r"for a GPT, torch.save\(to_torch\(model\).state_dict\(\), path\)"):
        save_torch(GPT(seed=0), tmp_path / "x.pt")


def test_norm_and_embedding_modules_match_pytorchs() -> None:
    x = np.random.default_rng(0).normal(size=(2, 3, 5))
    ln = LayerNorm(5)
    ln.weight.data[:] = [1, 2, 3, 4, 5]
    torch_ln = torch.nn.LayerNorm(5, dtype=torch.float64)
    with torch.no_grad():
        torch_ln.weight.copy_(torch.tensor([1.0, 2, 3, 4, 5]))
    assert np.allclose(ln(x).data, torch_ln(torch.from_numpy(x)).detach().numpy(), atol=1e-12)
    rms = RMSNorm(5, elementwise_affine=True)
    assert np.allclose(rms(x).data, torch.nn.RMSNorm(5, eps=1e-5, dtype=torch.float64)(torch.from_numpy(x)).detach().numpy(), atol=1e-12)
    emb = Embedding(4, 3, std=1.0, seed=0)
    assert emb(np.array([[0, 3]])).shape == (1, 2, 3) and [n for n, _ in emb.named_parameters()] == ["weight"]


def test_a_short_run_learns_the_names(data: NamesData) -> None:
    model = GPT(n_layer=1, n_embd=32, n_head=4, chars=data.tokenizer.chars, seed=0)
    before = evaluate(model, data)
    assert before == pytest.approx(math.log(27), abs=0.3)  # a fresh model: about uniform over 27 tokens
    seen: list[int] = []
    history = train_gpt(model, data, steps=200, batch_size=32, lr=1e-2, evaluations=4, seed=0, progress=False,
                        callback=lambda step, h: seen.append(step))  # fmt: skip
    assert isinstance(history, GPTHistory) and history.steps == [50, 100, 150, 200] == seen
    assert history.test_loss[-1] < 2.6 < before and history.test_loss[-1] == pytest.approx(evaluate(model, data))
    assert history.lr[0] == pytest.approx(1e-2 * (1 + math.cos(math.pi * 49 / 200)) / 2 * 0.99 + 1e-4, rel=1e-6)
    assert not history.stopped_early and len(history.seconds) == 4
    stopped = train_gpt(GPT(chars=data.tokenizer.chars, seed=0), data, steps=10_000, time_limit=0.2, progress=False)
    assert stopped.stopped_early and stopped.steps[-1] < 10_000
    early = train_gpt(GPT(chars=data.tokenizer.chars, seed=0), data, steps=100, evaluations=10, progress=False, callback=lambda s, h: True)
    assert early.steps == [10] and early.stopped_early


def test_training_refuses_a_mismatch_and_reports_divergence(data: NamesData) -> None:
    with pytest.raises(ValueError, match="the data has 27 tokens but the model's vocab_size is 30"):
        train_gpt(GPT(vocab_size=30), data, steps=1)
    with pytest.raises(ValueError, match="steps must be an int >= 1"):
        train_gpt(GPT(), data, steps=0)
    model = GPT(chars=data.tokenizer.chars, seed=0, dtype=np.float64)
    model.lm_head.weight.data[0, 0] = np.nan  # a weight gone bad
    with pytest.raises(TrainingDiverged, match="the loss became nan at step 1"):
        train_gpt(model, data, steps=3, progress=False, clip=None)


def test_gaussian_weights_are_shared_by_both_engines() -> None:
    config = GPTConfig(n_layer=1, n_embd=8, n_head=2, norm="layernorm")
    weights = gaussian_weights(config, 5)
    assert set(weights) == set(parameter_shapes(config))
    assert weights["norm_in.weight"].tolist() == [1.0] * 8 and weights["norm_in.bias"].tolist() == [0.0] * 8
    assert np.std(weights["blocks.0.mlp.fc1.weight"]) == pytest.approx(0.08, rel=0.2)
