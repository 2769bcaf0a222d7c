"""scratchgrad.nn: the seed's Neuron / Layer / MLP, bit for bit, plus Module bookkeeping."""

from __future__ import annotations

import math
import random

import pytest

from scratchgrad import Value, no_grad
from scratchgrad.gradcheck import gradcheck
from scratchgrad.data import tutorial
from scratchgrad.nn import MLP, IncompatibleKeys, Layer, Module, Neuron

# The seed's own Neuron / Layer / MLP and its training cell, transcribed verbatim in
# test_engine_seed (they run on scratchgrad's Value).
from test_engine_seed import MLP as SeedMLP
from test_engine_seed import Layer as SeedLayer
from test_engine_seed import Neuron as SeedNeuron
from test_engine_seed import training_cell

XS, YS = tutorial()  # the tutorial's 4 samples and targets


def bits(values):
    return [float(v.data if isinstance(v, Value) else v).hex() for v in values]


@pytest.mark.parametrize("k", [0, 1, 42, 1234])
def test_mlp_matches_the_seeds_classes_bit_for_bit(k):
    random.seed(k)
    theirs = SeedMLP(3, [4, 4, 1])
    random.seed(k)
    ours = MLP(3, [4, 4, 1])
    assert bits(ours.parameters()) == bits(theirs.parameters())

    def loss_of(n):
        ypred = [n(x) for x in XS]
        return ypred, sum((yout - ygt) ** 2 for ygt, yout in zip(YS, ypred))

    their_pred, their_loss = loss_of(theirs)
    our_pred, our_loss = loss_of(ours)
    assert bits(our_pred) == bits(their_pred)
    assert our_loss.data.hex() == their_loss.data.hex()
    their_loss.backward()
    our_loss.backward()
    assert [p.grad.hex() for p in ours.parameters()] == [p.grad.hex() for p in theirs.parameters()]


def test_neuron_and_layer_match_the_seeds_classes():
    x = [1.0, 2.0, 3.0]
    random.seed(7)
    seed_neuron, seed_layer = SeedNeuron(3), SeedLayer(3, 4)
    random.seed(7)
    neuron, layer = Neuron(3), Layer(3, 4)
    assert neuron(x).data.hex() == seed_neuron(x).data.hex()
    assert bits(layer(x)) == bits(seed_layer(x))
    assert bits(layer.parameters()) == bits(seed_layer.parameters())


def test_seed_training_trajectory_is_the_seeds():
    """50 steps of the tutorial's loop: identical losses with the tutorial's classes and ours."""
    trajectories = []
    for make in (SeedMLP, MLP):
        random.seed(3)
        trajectories.append([loss.hex() for loss in training_cell(make(3, [4, 4, 1]), XS, YS)])
    assert trajectories[0] == trajectories[1]


def test_seed_training_loop_converges_for_most_seeds():
    """The tutorial's cells on scratchgrad.nn; the tutorial printed 0.0057 after 50 steps."""
    final = []
    for seed in range(10):
        random.seed(seed)
        n = MLP(3, [4, 4, 1])
        final.append(training_cell(n, XS, YS)[-1])
        # Inference cell
        ypred = [n(x) for x in [[4.0, 5.0, -3.0]]]
        assert isinstance(ypred[0], Value) and -1 < ypred[0].data < 1
    assert sum(f < 0.05 for f in final) >= 8, final


def test_seed_cells_shapes():
    # The seed's printed numbers came from an unseeded `random`; check the structure.
    x = [1.0, 2.0, 3.0]
    n = Neuron(3)
    out = n(x)
    assert isinstance(out, Value) and -1 < out.data < 1
    layer_out = Layer(3, 4)(x)
    assert isinstance(layer_out, list) and len(layer_out) == 4
    assert all(isinstance(v, Value) and -1 < v.data < 1 for v in layer_out)
    assert isinstance(MLP(3, [4, 4, 1])([2.0, 3.0, -1.0]), Value)
    assert len(MLP(3, [4, 4, 1]).parameters()) == 4 * 4 + 5 * 4 + 5 * 1
    assert all(-1 <= p.data <= 1 for p in MLP(3, [4, 4, 1]).parameters())


def test_neuron_forward_is_one_node_and_activations():
    neuron = Neuron(2, activation="linear", seed=0)
    out = neuron([0.5, -2.0])
    assert out._op == "w·x+b"
    expected = neuron.w[0].data * 0.5 + neuron.w[1].data * -2.0 + neuron.b.data
    assert out.data == expected
    for act, f in [
        ("tanh", math.tanh),
        ("relu", lambda z: max(0.0, z)),
        ("sigmoid", lambda z: 1 / (1 + math.exp(-z))),
        ("linear", lambda z: z),
    ]:
        n = Neuron(2, activation=act, seed=5)
        z = n.w[0].data * 3.0 + n.w[1].data * 1.0 + n.b.data
        assert n([3.0, 1.0]).data == pytest.approx(f(z), abs=1e-15)
        assert n.activation == act


def test_mlp_activations_per_layer():
    seed_net = MLP(3, [4, 4, 1])
    assert [layer.activation for layer in seed_net.layers] == ["tanh", "tanh", "tanh"]
    assert seed_net.output_activation == "tanh"
    net = MLP(2, [16, 16, 1], activation="relu", output_activation="linear")
    assert [layer.activation for layer in net.layers] == ["relu", "relu", "linear"]
    assert all(n.activation == "relu" for n in net.layers[0].neurons)
    assert net.architecture() == {"nin": 2, "nouts": [16, 16, 1], "activation": "relu", "output_activation": "linear"}
    assert isinstance(MLP(2, [3, 2])([1.0, 2.0]), list)


def test_mlp_matches_torch_forward_and_backward():
    torch = pytest.importorskip("torch")
    net = MLP(3, [5, 4, 2], activation="relu", output_activation="sigmoid", seed=11)
    hidden = MLP(3, [4, 1], activation="tanh", output_activation="linear", seed=12)
    x = [0.3, -1.2, 2.0]
    for model, acts in [(net, [torch.relu, torch.relu, torch.sigmoid]), (hidden, [torch.tanh, lambda t: t])]:
        out = model(x)
        outs = out if isinstance(out, list) else [out]
        total = sum(v * (i + 1) for i, v in enumerate(outs))
        total.backward()
        h = torch.tensor(x, dtype=torch.float64)
        weights = []
        for layer, act in zip(model.layers, acts):
            W = torch.tensor([[w.data for w in n.w] for n in layer.neurons], dtype=torch.float64, requires_grad=True)
            b = torch.tensor([n.b.data for n in layer.neurons], dtype=torch.float64, requires_grad=True)
            weights.append((W, b))
            h = act(W @ h + b)
        t_total = (h * torch.arange(1, h.numel() + 1, dtype=torch.float64)).sum()
        t_total.backward()
        assert total.data == pytest.approx(t_total.item(), abs=1e-12)
        for layer, (W, b) in zip(model.layers, weights):
            for i, n in enumerate(layer.neurons):
                assert [w.grad for w in n.w] == pytest.approx(W.grad[i].tolist(), abs=1e-12)
                assert n.b.grad == pytest.approx(b.grad[i].item(), abs=1e-12)


def test_neuron_gradients_match_finite_differences():
    def f(w0, w1, b, x0):
        n = Neuron(2, activation="sigmoid", seed=0)
        n.w = [w0, w1]
        n.b = b
        return n([x0, 0.7])

    assert gradcheck(f, [0.3, -0.8, 0.1, 1.5]).ok


def test_named_parameters_are_stable_dotted_names_in_parameters_order():
    net = MLP(3, [4, 4, 1], seed=0)
    named = net.named_parameters()
    assert [p for _, p in named] == net.parameters()
    names = [name for name, _ in named]
    assert names[:5] == [
        "layers.0.neurons.0.w.0",
        "layers.0.neurons.0.w.1",
        "layers.0.neurons.0.w.2",
        "layers.0.neurons.0.b",
        "layers.0.neurons.1.w.0",
    ]
    assert "layers.0.neurons.1.w.2" in names and names[-1] == "layers.2.neurons.0.b"
    assert len(set(names)) == len(names) == 41
    assert [n for n, _ in Layer(2, 2, seed=0).named_parameters()] == [
        "neurons.0.w.0", "neurons.0.w.1", "neurons.0.b", "neurons.1.w.0", "neurons.1.w.1", "neurons.1.b",
    ]
    assert [n for n, _ in Neuron(2, seed=0).named_parameters(prefix="cell.")] == ["cell.w.0", "cell.w.1", "cell.b"]


def test_custom_module_finds_its_parameters():
    class Affine(Module):
        def __init__(self):
            self.scale = Value(2.0)
            self.inner = Neuron(1, activation="linear", seed=0)
            self._cache = Value(99.0)  # private: not a parameter
            self.name = "affine"

        def __call__(self, x):
            return self.inner(x) * self.scale

    m = Affine()
    assert [n for n, _ in m.named_parameters()] == ["scale", "inner.w.0", "inner.b"]
    out = m([3.0])
    out.backward()
    m.zero_grad()
    assert all(p.grad == 0.0 for p in m.parameters())


def test_zero_grad():
    net = MLP(2, [3, 1], seed=1)
    net([1.0, 2.0]).backward()
    assert any(p.grad != 0.0 for p in net.parameters())
    net.zero_grad()
    assert all(p.grad == 0.0 for p in net.parameters())


def test_reproducible_initialisation():
    random.seed(5)
    a = MLP(2, [3, 1])
    random.seed(5)
    b = MLP(2, [3, 1])
    assert bits(a.parameters()) == bits(b.parameters())
    # seed= and rng= are independent of (and leave alone) the global generator.
    random.seed(1)
    state = random.getstate()
    c = MLP(2, [3, 1], seed=5)
    assert random.getstate() == state
    d = MLP(2, [3, 1], rng=random.Random(5))
    assert bits(c.parameters()) == bits(d.parameters())
    assert bits(c.parameters()) != bits(MLP(2, [3, 1], seed=6).parameters())
    with pytest.raises(ValueError, match="either seed= or rng="):
        MLP(2, [3, 1], seed=1, rng=random.Random(1))
    with pytest.raises(TypeError, match="seed must be an int"):
        MLP(2, [3, 1], seed="1")


def test_kaiming_init():
    net = MLP(50, [40, 1], activation="relu", init="kaiming", seed=0)
    first = net.layers[0]
    bound = math.sqrt(6 / 50)
    weights = [w.data for n in first.neurons for w in n.w]
    assert all(-bound <= w <= bound for w in weights)
    assert max(abs(w) for w in weights) > 0.9 * bound
    assert all(n.b.data == 0.0 for n in first.neurons)
    with pytest.raises(ValueError, match="init must be one of"):
        MLP(2, [1], init="xavier")


def test_bad_inputs_have_clear_errors():
    with pytest.raises(ValueError, match="Neuron expected 3 inputs, got 2"):
        Neuron(3, seed=0)([1.0, 2.0])
    with pytest.raises(ValueError, match="MLP expected 3 inputs, got 4"):
        MLP(3, [4, 1], seed=0)([1.0, 2.0, 3.0, 4.0])
    with pytest.raises(TypeError, match="str"):
        Neuron(2, seed=0)([1.0, "a"])
    with pytest.raises(ValueError, match="activation must be one of"):
        Neuron(2, activation="softmax")
    with pytest.raises(ValueError, match="output_activation must be one of"):
        MLP(2, [1], output_activation="gelu")
    with pytest.raises(ValueError, match="nin must be a positive int"):
        Neuron(0)
    with pytest.raises(ValueError, match="nouts must be a non-empty list"):
        MLP(2, [])
    with pytest.raises(ValueError, match=r"nouts\[1\] must be a positive int"):
        MLP(2, [3, 0])
    with pytest.raises(ValueError, match="nout must be a positive int"):
        Layer(2, 2.5)


def test_one_wide_hidden_layer_and_tuple_sizes():
    net = MLP(2, (1, 3, 1), seed=0)
    assert isinstance(net([0.5, 0.5]), Value)
    assert Neuron(1, seed=0)(Value(2.0)).data == Neuron(1, seed=0)([2.0]).data


def test_state_dict_round_trip_and_errors_leave_model_untouched():
    a, b = MLP(2, [3, 1], seed=1), MLP(2, [3, 1], seed=2)
    state = a.state_dict()
    assert list(state) == [n for n, _ in a.named_parameters()]
    assert all(isinstance(v, float) for v in state.values())
    assert b.load_state_dict(state) == IncompatibleKeys([], [])
    assert bits(b.parameters()) == bits(a.parameters())

    before = bits(b.parameters())
    broken = dict(MLP(2, [3, 1], seed=3).state_dict())
    broken["layers.1.neurons.0.b"] = float("nan")  # the last entry: nothing may be written first
    with pytest.raises(ValueError, match=r"layers\.1\.neurons\.0\.b.*nan"):
        b.load_state_dict(broken)
    broken["layers.1.neurons.0.b"] = "0.5"
    with pytest.raises(TypeError, match="must be a number"):
        b.load_state_dict(broken)
    missing = dict(state)
    del missing["layers.0.neurons.2.w.1"]
    missing["layers.0.neurons.3.w.0"] = 0.0
    with pytest.raises(ValueError, match=r"missing keys \(1\): layers\.0\.neurons\.2\.w\.1.*unexpected keys \(1\)"):
        b.load_state_dict(missing)
    with pytest.raises(ValueError, match="missing keys"):
        b.load_state_dict(MLP(2, [2, 1], seed=0).state_dict())  # wrong size: 2 hidden neurons, not 3
    with pytest.raises(TypeError, match="mapping"):
        b.load_state_dict([1.0, 2.0])
    assert bits(b.parameters()) == before

    result = b.load_state_dict(missing, strict=False)
    assert result.missing_keys == ["layers.0.neurons.2.w.1"]
    assert result.unexpected_keys == ["layers.0.neurons.3.w.0"]


def test_no_grad_forward_records_nothing():
    net = MLP(2, [3, 1], seed=0)
    with no_grad():
        out = net([1.0, -1.0])
    assert out._prev == ()


def test_reprs():
    assert repr(MLP(3, [4, 4, 1], seed=0)) == "MLP(3, [4, 4, 1], activation='tanh')"
    assert "output_activation='linear'" in repr(MLP(2, [1], activation="relu", output_activation="linear", seed=0))
    assert repr(Layer(2, 3, seed=0)) == "Layer(2, 3, activation='tanh')"
    assert repr(Neuron(2, "relu", seed=0)) == "Neuron(2, activation='relu')"
