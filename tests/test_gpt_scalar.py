"""The GPT on Values: the same loss and every gradient as the tensor GPT, the bridge between
them, an attention score to draw and step through, and training it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from scratchgrad import Value, hessian
from scratchgrad.data import NamesData
from scratchgrad.nn import GPT, Module, ScalarGPT, to_scalar, to_tensor
from scratchgrad.nn.gpt import GPTConfig
from scratchgrad.optim import Adam, AdamW, clip_grad_norm
from scratchgrad.viz import backward_steps, draw_dot

MICROGPT = dict(vocab_size=27, block_size=16, n_layer=1, n_embd=16, n_head=4)


@pytest.fixture(scope="module")
def data() -> NamesData:
    return NamesData()


def _scalar_grads(model: ScalarGPT) -> dict[str, np.ndarray]:
    """Every weight's gradient, gathered into the tensor GPT's arrays."""
    grads = {name: p.grad for name, p in model.named_parameters()}
    out = {}
    for name, shape in model.weights().items():
        keys = [f"{name}.{'.'.join(map(str, index))}" for index in np.ndindex(*shape.shape)]
        out[name] = np.array([grads[key] for key in keys]).reshape(shape.shape)
    return out


@pytest.mark.parametrize(
    "config",
    [MICROGPT, dict(MICROGPT, n_layer=2, norm="layernorm", activation="gelu"), dict(vocab_size=27, block_size=8, n_layer=1, n_embd=8, n_head=1)],
    ids=["microgpt", "2-layers-layernorm-gelu", "one-head"],
)
@pytest.mark.parametrize("name", ["emma", "christopher", "yu"])
def test_the_same_loss_and_every_gradient_as_the_tensor_gpt(config: dict, name: str, data: NamesData) -> None:
    scalar = ScalarGPT(**config, seed=11)
    tensor = to_tensor(scalar)  # float64, the same weights
    batch = data.batch([name], length=min(len(name) + 1, config["block_size"]))
    loss = scalar.loss(batch.inputs[0], batch.targets[0])
    loss.backward()
    reference = tensor.loss(batch.inputs, batch.targets)
    reference.backward()
    assert abs(loss.data - float(reference.data)) <= 1e-10
    grads = _scalar_grads(scalar)
    for param_name, p in tensor.named_parameters():
        assert np.abs(grads[param_name] - p.grad).max() <= 1e-10, param_name


def test_padded_targets_are_skipped_on_both_engines(data: NamesData) -> None:
    scalar = ScalarGPT(seed=0)
    batch = data.batch(["ava"], length=6)  # two padded positions
    loss = scalar.loss(batch.inputs[0], batch.targets[0])
    assert loss.data == pytest.approx(float(to_tensor(scalar).loss(batch.inputs, batch.targets).data), abs=1e-12)
    assert loss.data == pytest.approx(scalar.loss(batch.inputs[0][:4], batch.targets[0][:4]).data, abs=1e-12)
    with pytest.raises(ValueError, match=r"every target is -100 \(padding\)"):
        scalar.loss([26], [-100])


def test_the_bridge_is_one_call_each_way_and_exact() -> None:
    tensor = GPT(n_layer=2, seed=5)  # float32
    scalar = to_scalar(tensor)
    assert isinstance(scalar, ScalarGPT) and scalar.config == tensor.config
    assert scalar.wte.weight[3][2].data == float(tensor.wte.weight.data[3, 2])
    back = to_tensor(scalar, dtype=np.float32)
    assert all(np.array_equal(back.state_dict()[k], v) for k, v in tensor.state_dict().items())
    assert to_tensor(scalar).dtype == np.float64
    assert ScalarGPT(seed=3).weights()["wpe.weight"].tolist() == GPT(seed=3, dtype=np.float64).wpe.weight.data.tolist()


def test_the_parameters_are_values_named_entry_by_entry() -> None:
    model = ScalarGPT(seed=0)
    named = model.named_parameters()
    assert len(named) == 4192 and all(type(p) is Value for _, p in named)
    assert named[0][0] == "wte.weight.0.0" and named[-1][0] == "blocks.0.mlp.fc2.weight.15.63"
    model.wte.weight[0][0].grad = 5.0
    model.zero_grad()
    assert all(p.grad == 0.0 for _, p in named)


def test_one_attention_score_can_be_drawn_and_stepped_through(data: NamesData) -> None:
    model = ScalarGPT(seed=2)
    tokens = data.batch(["emma"]).inputs[0]
    scores = model.attention_scores(tokens, layer=0, head=1)
    assert [len(row) for row in scores] == [1, 2, 3, 4, 5]  # position t sees 0..t
    score = scores[2][1]  # what position 2 thinks of position 1
    tensor = to_tensor(model)
    x = tensor.norm_in(tensor.wte(tokens[None]) + tensor.wpe.weight[: len(tokens)])
    h = tensor.blocks[0].attn_norm(x)
    q, k = tensor.blocks[0].attn.wq(h).data[0], tensor.blocks[0].attn.wk(h).data[0]
    assert score.data == pytest.approx(q[2, 4:8] @ k[1, 4:8] / 2.0, rel=1e-12)
    source = draw_dot(score, compact=False, max_nodes=10_000).source
    assert "w·x" in source and "1/rms" in source
    steps = list(backward_steps(score))
    assert steps[0].node is score and steps[-1].index == len(steps) - 1
    stepped = {id(p): p.grad for _, p in model.named_parameters()}
    model.zero_grad()
    score.backward()
    assert all(stepped[id(p)] == p.grad for _, p in model.named_parameters())


def test_second_derivatives_agree_between_the_engines() -> None:
    config = dict(vocab_size=5, block_size=4, n_layer=1, n_embd=4, n_head=2)
    scalar = ScalarGPT(**config, seed=1)
    tensor = to_tensor(scalar)
    tokens, targets = [4, 1, 2], [1, 2, 4]
    row = scalar.lm_head.weight[1]

    def scalar_loss(values: list[Value]) -> Value:
        saved = list(row)
        row[:] = values
        try:
            return scalar.loss(tokens, targets)
        finally:
            row[:] = saved

    point = [w.data for w in row]
    ours = np.array(hessian(scalar_loss)(point), dtype=float)

    def tensor_loss(weights: object) -> object:
        saved = tensor.lm_head.weight
        from scratchgrad.tensor import concatenate

        tensor.lm_head.weight = concatenate([saved[:1], weights.reshape(1, -1), saved[2:]], axis=0)
        try:
            return tensor.loss(np.array([tokens]), np.array([targets]))
        finally:
            tensor.lm_head.weight = saved

    theirs = hessian(tensor_loss)(np.array(point))
    assert np.allclose(ours, theirs, rtol=1e-9, atol=1e-12)


def test_optimizers_take_the_same_steps_on_both_engines(data: NamesData) -> None:
    scalar = ScalarGPT(seed=7)
    tensor = to_tensor(scalar)
    ours = AdamW(scalar.parameters(), lr=0.01, betas=(0.85, 0.99), weight_decay=0.1)
    theirs = AdamW(tensor.parameters(), lr=0.01, betas=(0.85, 0.99), weight_decay=0.1)
    for name in data.train[:3]:
        batch = data.batch([name])
        scalar.zero_grad()
        tensor.zero_grad()
        scalar.loss(batch.inputs[0], batch.targets[0]).backward()
        tensor.loss(batch.inputs, batch.targets).backward()
        assert clip_grad_norm(scalar.parameters(), 0.5) == pytest.approx(clip_grad_norm(tensor.parameters(), 0.5), rel=1e-12)
        ours.step()
        theirs.step()
    for name, array in scalar.weights().items():
        assert np.abs(array - tensor.state_dict()[name]).max() <= 1e-12, name


def test_the_scalar_gpt_learns_a_few_names_and_samples(data: NamesData) -> None:
    model = ScalarGPT(chars=data.tokenizer.chars, seed=0)
    optimizer = Adam(model.parameters(), lr=0.01, betas=(0.85, 0.99))
    batches = [data.batch([name]) for name in data.train[:40]]
    losses = []
    for epoch in range(3):
        for batch in batches:
            loss = model.loss(batch.inputs[0], batch.targets[0])
            model.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.data)
    assert np.mean(losses[-40:]) < np.mean(losses[:40]) - 0.3
    names = model.sample(4, temperature=0.5, seed=3)
    assert names == model.sample(4, temperature=0.5, seed=3) and all(set(n) <= set(data.tokenizer.chars) for n in names)


def test_a_scalar_gpt_file_round_trips(tmp_path: Path) -> None:
    model = ScalarGPT(n_embd=8, n_head=2, seed=1)
    model.save(tmp_path / "gpt.json")
    loaded = Module.load(tmp_path / "gpt.json")
    assert isinstance(loaded, ScalarGPT) and loaded.weights()["wte.weight"].tolist() == model.weights()["wte.weight"].tolist()


def test_the_scalar_engine_refuses_what_it_cannot_hold() -> None:
    with pytest.raises(ValueError, match="too many for the scalar engine"):
        ScalarGPT(n_layer=8, n_embd=128, n_head=4)
    model = ScalarGPT(seed=0)
    with pytest.raises(ValueError, match=r"token ids must be in 0..26"):
        model.loss([30], [1])
    with pytest.raises(ValueError, match="17 positions exceed block_size=16"):
        model([0] * 17)
    with pytest.raises(ValueError, match="3 tokens but 2 targets"):
        model.loss([0, 1, 2], [1, 2])
    assert GPTConfig.from_dict(model.architecture()) == model.config
