"""scratchgrad.viz: real rendering with Graphviz's dot (no mocks), the backward step-through."""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import sys
import textwrap
import warnings
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scratchgrad import Value
from scratchgrad.engine import sum_values, weighted_sum
from scratchgrad.viz import (
    BackwardStep,
    GraphvizMissingError,
    LargeGraphWarning,
    animate_backward,
    backward_steps,
    draw_compact,
    draw_dot,
    format_number,
    render,
    trace,
)

needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot is not installed")
SVG_NS = "{http://www.w3.org/2000/svg}"


# ---- graphs of the tutorial ------------------------------------------------------------------------


def tutorial_L() -> dict[str, Value]:
    a = Value(2.0, label="a")
    b = Value(-3.0, label="b")
    c = Value(10.0, label="c")
    e = a * b; e.label = "e"
    d = e + c; d.label = "d"
    f = Value(-2.0, label="f")
    L = d * f; L.label = "L"
    return dict(a=a, b=b, c=c, e=e, d=d, f=f, L=L)


def tutorial_neuron() -> dict[str, Value]:
    x1 = Value(2.0, label="x1"); x2 = Value(0.0, label="x2")
    w1 = Value(-3.0, label="w1"); w2 = Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    x1w1 = x1 * w1; x1w1.label = "x1*w1"
    x2w2 = x2 * w2; x2w2.label = "x2*w2"
    x1w1x2w2 = x1w1 + x2w2; x1w1x2w2.label = "x1*w1 + x2*w2"
    n = x1w1x2w2 + b; n.label = "n"
    o = n.tanh(); o.label = "o"
    return dict(x1=x1, x2=x2, w1=w1, w2=w2, b=b, x1w1=x1w1, x2w2=x2w2, x1w1x2w2=x1w1x2w2, n=n, o=o)


def mlp_loss(samples: int = 4, sizes: tuple[int, ...] = (2, 16, 16, 1)) -> tuple[Value, list[Value]]:
    """The training loss of an MLP(2, [16, 16, 1]) with tanh, built from the engine's ops the
    way scratchgrad.nn builds it (one weighted_sum node per neuron), on a few samples."""
    import random

    rng = random.Random(0)
    layers = [
        [([Value(rng.uniform(-1, 1)) for _ in range(nin)], Value(rng.uniform(-1, 1))) for _ in range(nout)]
        for nin, nout in zip(sizes, sizes[1:])
    ]
    params = [p for layer in layers for w, b in layer for p in w + [b]]
    squares = []
    for s in range(samples):
        x: list = [rng.uniform(-2, 2) for _ in range(sizes[0])]
        for layer in layers:
            x = [weighted_sum(w, x, b).tanh() for w, b in layer]
        y = 1.0 if s % 2 else -1.0
        squares.append((x[0] - y) ** 2)
    loss = sum_values(squares)
    loss.label = "loss"
    return loss, params


def svg_texts(svg: str) -> list[str]:
    """Every <text> of an SVG document (which must parse as XML)."""
    tree = ET.fromstring(svg)
    return ["".join(t.itertext()) for t in tree.iter(f"{SVG_NS}text")]


# ---- trace and the tutorial's picture --------------------------------------------------------------


def test_trace_returns_the_seeds_nodes_and_edges() -> None:
    g = tutorial_L()
    nodes, edges = trace(g["L"])
    assert nodes == set(g.values())
    expected = {("a", "e"), ("b", "e"), ("e", "d"), ("c", "d"), ("d", "L"), ("f", "L")}
    assert {(c.label, p.label) for c, p in edges} == expected


def test_trace_of_a_leaf_and_of_a_deep_chain() -> None:
    leaf = Value(1.0)
    assert trace(leaf) == ({leaf}, set())
    x = Value(0.5)
    y = x
    for _ in range(20000):  # far past Python's recursion limit
        y = y * 1.0
    nodes, edges = trace(y)
    assert len(nodes) == 40001 and len(edges) == 40000


@pytest.mark.parametrize("bad", [1.0, "x", None, [Value(1.0)]])
def test_functions_refuse_a_root_that_is_not_a_value(bad: object, tmp_path: Path) -> None:
    for call in (trace, draw_dot, draw_compact, backward_steps):
        with pytest.raises(TypeError, match="Value"):
            call(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Value"):
        animate_backward(bad, tmp_path / "x.html")  # type: ignore[arg-type]


def test_draw_dot_options_are_checked() -> None:
    o = tutorial_neuron()["o"]
    with pytest.raises(ValueError, match="rankdir"):
        draw_dot(o, rankdir="up")
    with pytest.raises(ValueError, match="format"):
        draw_dot(o, format="docx")
    with pytest.raises(ValueError, match="max_nodes"):
        draw_dot(o, max_nodes=0)
    assert draw_dot(o, format="png", rankdir="TB").format == "png"
    assert "rankdir=TB" in draw_dot(o, rankdir="TB").source


def test_draw_dot_source_is_the_seeds_picture() -> None:
    g = tutorial_neuron()
    g["o"].backward()
    source = draw_dot(g["o"]).source
    # one record per value, one op node per computed value, edges child -> op -> value
    assert source.count("shape=record") == 10
    assert len(re.findall(r"^\s*v\d+_op \[label=", source, re.M)) == 5
    assert "{ o | data 0.7071 | grad 1.0000 }" in source
    assert "{ x1 | data 2.0000 | grad -1.5000 }" in source
    edges = re.findall(r"^\s*(v\d+(?:_op)?) -> (v\d+(?:_op)?)", source, re.M)
    assert len(edges) == 5 + 9  # op -> value, and one edge per child
    assert all(src.endswith("_op") != dst.endswith("_op") for src, dst in edges)


def test_drawing_is_deterministic_and_not_based_on_memory_addresses() -> None:
    first, second = tutorial_neuron(), tutorial_neuron()
    first["o"].backward(); second["o"].backward()
    a, b = draw_dot(first["o"]).source, draw_dot(second["o"]).source
    assert a == b
    for node in first.values():
        assert str(id(node)) not in a
    # and stable within one graph: drawing twice gives the same text
    assert draw_dot(first["o"]).source == a


@needs_dot
def test_svg_of_the_tutorial_neuron_holds_every_label_and_number(tmp_path: Path) -> None:
    g = tutorial_neuron()
    g["o"].backward()
    out = render(draw_dot(g["o"]), tmp_path / "neuron.svg")
    assert out == tmp_path / "neuron.svg"
    texts = svg_texts(out.read_text(encoding="utf-8"))
    for node in g.values():
        assert node.label in texts
        assert "data %.4f" % node.data in texts
        assert "grad %.4f" % node.grad in texts
    for op in ("*", "+", "tanh"):
        assert op in texts
    # the tutorial's numbers
    assert "grad -1.5000" in texts and "grad 1.0000" in texts and "data 0.7071" in texts


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG signature"
    length, chunk = struct.unpack(">I4s", data[8:16])
    assert chunk == b"IHDR" and length == 13
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@needs_dot
def test_png_decodes_with_a_plausible_size(tmp_path: Path) -> None:
    import matplotlib.image

    g = tutorial_neuron()
    g["o"].backward()
    out = render(draw_dot(g["o"]), tmp_path / "neuron.png")
    width, height = png_size(out.read_bytes())
    assert 800 < width < 6000 and 100 < height < 1000 and width > 3 * height  # left to right
    pixels = matplotlib.image.imread(out)
    assert pixels.shape[:2] == (height, width)
    assert pixels.min() < 0.2 and pixels.max() > 0.9  # dark text on a light background


@needs_dot
def test_pdf_and_dot_source_outputs(tmp_path: Path) -> None:
    L = tutorial_L()["L"]
    assert render(draw_dot(L), tmp_path / "L.pdf").read_bytes()[:5] == b"%PDF-"
    source = render(draw_dot(L), tmp_path / "L.dot").read_text(encoding="utf-8")
    assert source == draw_dot(L).source
    # a Value is drawn with draw_dot, and the Digraph's own render/pipe work too
    assert render(L, tmp_path / "L.svg").read_text(encoding="utf-8").lstrip().startswith("<?xml")
    assert draw_dot(L, format="png").pipe()[:8] == b"\x89PNG\r\n\x1a\n"


def test_render_refuses_unknown_suffix_missing_folder_and_non_drawings(tmp_path: Path) -> None:
    L = tutorial_L()["L"]
    with pytest.raises(ValueError, match=r"\.jpeg"):
        render(draw_dot(L), tmp_path / "L.jpeg")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        render(draw_dot(L), tmp_path / "missing" / "L.svg")
    with pytest.raises(TypeError, match="graphviz drawing"):
        render("digraph {}", tmp_path / "L.svg")  # type: ignore[arg-type]


@needs_dot
def test_draw_dot_displays_inline_in_jupyter() -> None:
    g = tutorial_L()
    bundle = draw_dot(g["L"])._repr_mimebundle_()
    svg = bundle["image/svg+xml"]
    assert "data -8.0000" in svg_texts(svg)


NASTY_LABELS = ["{a}", "b|c", "<d>", 'say "hi"', "back\\slash", "two\nlines", "<<html>>", "\\", '\\"', "end\\", "}{|<>", "tab\there"]


@needs_dot
def test_any_label_renders_literally(tmp_path: Path) -> None:
    leaves = [Value(float(i), label=label) for i, label in enumerate(NASTY_LABELS)]
    total = sum_values(leaves)
    total.label = '<b>"total"</b>'
    odd_op = Value(1.0, _op="<x|y>")  # a hand-made node with an op full of record syntax
    root = total * odd_op
    root.label = "{root}"
    texts = svg_texts(render(draw_dot(root), tmp_path / "labels.svg").read_text(encoding="utf-8"))
    for label in NASTY_LABELS + ['<b>"total"</b>', "{root}", "<x|y>"]:
        if "\n" in label:
            assert all(part in texts for part in label.split("\n"))
        else:
            assert label.replace("\t", " ") in texts, label
    # the compact view escapes too
    compact = svg_texts(render(draw_compact(root), tmp_path / "compact.svg").read_text(encoding="utf-8"))
    assert any("{root}" in t for t in compact)


@needs_dot
def test_nary_nodes_and_repeated_children_draw(tmp_path: Path) -> None:
    w = [Value(0.5, label="w0"), Value(-1.5, label="w1")]
    x = [Value(2.0, label="x0"), Value(3.0, label="x1")]
    b = Value(0.25, label="b")
    s = weighted_sum(w, x, b)
    s.label = "s"
    sq = s * s  # s feeds '*' twice
    sq.label = "sq"
    total = sum_values([sq, b])
    total.label = "total"
    total.backward()
    source = draw_dot(total).source
    names = {line.split()[0]: line for line in source.splitlines() if "shape=record" in line}
    (s_name,) = [n for n, line in names.items() if "{ s |" in line]
    (sq_name,) = [n for n, line in names.items() if "{ sq |" in line]
    assert source.count(f"{s_name} -> {sq_name}_op") == 2
    assert len(re.findall(rf"-> {s_name}_op$", source, re.M)) == 5  # w0 x0 w1 x1 b
    texts = svg_texts(render(draw_dot(total), tmp_path / "nary.svg").read_text(encoding="utf-8"))
    assert "w·x+b" in texts and "sum" in texts
    assert "grad %.4f" % b.grad in texts


def test_number_format() -> None:
    assert format_number(2) == "2.0000"
    assert format_number(-0.70710678) == "-0.7071"
    assert format_number(1.5e300) == "1.5000e+300"
    assert format_number(float("nan")) == "nan"
    assert format_number(float("-inf")) == "-inf"


# ---- big graphs ---------------------------------------------------------------------------------


def record_count(source: str) -> int:
    return source.count("shape=record")


@needs_dot
def test_big_training_graph_is_drawn_compact_with_a_warning(tmp_path: Path) -> None:
    loss, params = mlp_loss()
    loss.backward()
    nodes, _ = trace(loss)
    assert len(nodes) > 500
    with pytest.warns(LargeGraphWarning, match=rf"{len(nodes)} values.*compact=False"):
        dot = draw_dot(loss)
    source = dot.source
    assert record_count(source) <= 12  # 618 values tell their story in a dozen boxes
    # the story: 16 neurons x 4 samples per hidden layer, each layer's parameter count
    assert "64 × w·x+b" in source and "64 × tanh" in source and "4 × **2" in source
    for count in (48, 272, 17):  # (2+1)*16, (16+1)*16, (16+1)*1 parameters
        assert f"{count} leaf inputs" in source
    assert "{ loss = sum" in source or "loss = sum |" in source
    assert sum(1 for _ in re.finditer(r"\d+ leaf inputs", source)) == 4  # 3 layers + the targets
    assert f"{len(nodes)} values in" in source
    texts = svg_texts(render(dot, tmp_path / "big.svg").read_text(encoding="utf-8"))
    assert "data %.4f" % loss.data in texts
    grads = [p.grad for p in params[:48]]
    assert "leaf grad %s … %s" % (format_number(min(grads)), format_number(max(grads))) in texts


def test_compact_false_draws_every_value_with_a_warning() -> None:
    loss, _ = mlp_loss(samples=1)
    nodes, _ = trace(loss)
    with pytest.warns(LargeGraphWarning, match="compact=True"):
        dot = draw_dot(loss, compact=False, max_nodes=100)
    assert record_count(dot.source) == len(nodes)


def test_small_graphs_are_drawn_in_full_without_warning_unless_asked() -> None:
    o = tutorial_neuron()["o"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert record_count(draw_dot(o).source) == 10
        compact = draw_dot(o, compact=True).source
    # the two products share a box; leaves are folded into their users
    assert record_count(compact) == 4
    assert "2 × * (x1*w1, x2*w2)" in compact and "4 leaf inputs: x1, w1, x2, w2" in compact
    assert "o = tanh" in compact and "n = +" in compact
    leaf = Value(3.0, label="alone")
    assert "alone" in draw_compact(leaf).source


def test_compact_view_counts_nans_instead_of_hiding_them() -> None:
    x = Value(float("nan"), label="x")
    parts = [x * 1.0, Value(2.0) * 3.0, Value(-1.0) * 2.0]
    root = sum_values(parts)
    source = draw_compact(root).source
    assert "3 × *" in source and "data -2.0000 … 6.0000 (1 nan)" in source


def test_a_long_chain_of_one_op_is_one_box() -> None:
    """x*x*...*x with 40,000 factors: each product feeds the next, so the compact view used to
    give each its own box and dot ran for minutes before failing; now the chain is one box."""
    x = Value(1.0001, label="x")
    product = x
    for _ in range(39_999):
        product = product * x
    product.label = "p"
    with pytest.warns(LargeGraphWarning, match="40000 values"):
        source = draw_dot(product).source
    assert record_count(source) == 2  # the chain and the root
    assert "39998 × *" in source and "40,000 values in 2 boxes" in source
    # short chains keep their own boxes (the tutorial's neuron: n = (x1*w1 + x2*w2) + b)
    assert "n = +" in draw_dot(tutorial_neuron()["o"], compact=True).source


def test_a_compact_view_with_too_many_boxes_groups_by_op_and_says_so() -> None:
    from scratchgrad.viz import MAX_COMPACT_BOXES

    x = Value(0.5, label="x")
    node = x
    ops = [Value.tanh, Value.exp, Value.sigmoid]
    for i in range(3 * MAX_COMPACT_BOXES):  # no two neighbours share an op: no chains, all different
        node = ops[i % 3](node * 0.5)
    with pytest.warns(LargeGraphWarning) as caught:
        source = draw_dot(node).source
    assert any("one box per operation" in str(w.message) for w in caught)
    assert record_count(source) <= 6 and "a box holds every value computed by the same op" in source


# ---- backward, step by step ---------------------------------------------------------------------


def engine_order(root: Value) -> list[Value]:
    """The order in which the engine's real ``backward()`` applies the chain rule: the list
    its graph walk (``backward_order``) hands to backward()'s loop, captured for one call."""
    from scratchgrad import engine

    log: list[Value] = []
    original = engine.backward_order

    def recording(node: Value) -> list[Value]:
        order = original(node)
        log.extend(order)
        return order

    engine.backward_order = recording  # type: ignore[assignment]
    try:
        root.backward()
    finally:
        engine.backward_order = original
    assert root._prev == () or log, "backward() no longer walks with engine.backward_order: update this instrument"
    return log


def test_steps_follow_the_engines_real_order_and_end_with_its_gradients() -> None:
    twin_a, twin_b = tutorial_neuron(), tutorial_neuron()
    order = engine_order(twin_a["o"])
    assert [n.label for n in order] == ["o", "n", "x1*w1 + x2*w2", "x2*w2", "x1*w1"]
    steps = list(backward_steps(twin_b["o"]))
    assert [s.node.label for s in steps] == [n.label for n in order]
    assert [s.index for s in steps] == list(range(5)) and {s.total for s in steps} == {5}
    for name in twin_a:
        assert twin_b[name].grad == twin_a[name].grad  # bit-identical to backward()
    assert twin_b["x1"].grad == pytest.approx(-1.5) and twin_b["w1"].grad == pytest.approx(1.0)


def test_each_step_records_the_chain_rule_and_a_snapshot() -> None:
    g = tutorial_neuron()
    steps = list(backward_steps(g["o"]))
    first = steps[0]
    assert isinstance(first, BackwardStep) and first.node is g["o"] and first.grad == 1.0
    (update,) = first.updates
    assert update.child is g["n"] and update.local == pytest.approx(0.5) and update.grad == pytest.approx(0.5)
    # before the x1*w1 step, x1 and w1 still have no gradient; after it they do
    assert steps[3].grads[g["x1"]] == 0.0 and steps[3].grads[g["w1"]] == 0.0
    assert steps[4].grads[g["x1"]] == pytest.approx(-1.5)
    assert set(steps[0].grads) == set(g.values())
    # snapshots are copies: later steps do not change earlier records
    assert steps[0].grads[g["n"]] == pytest.approx(0.5) and steps[0].grads[g["x1"]] == 0.0


def test_steps_are_lazy_and_write_gradients_as_they_go() -> None:
    g = tutorial_neuron()
    for node in g.values():
        node.grad = 7.0
    steps = backward_steps(g["o"])
    assert g["n"].grad == 7.0  # nothing happens before the first step is taken
    next(steps)
    assert g["o"].grad == 1.0 and g["n"].grad == pytest.approx(0.5)
    assert g["x1w1"].grad == 0.0  # interior gradients start from zero, as in backward()
    assert g["x1"].grad == 7.0  # leaves accumulate, as in backward()
    list(steps)
    assert g["x1"].grad == pytest.approx(7.0 - 1.5)


def test_steps_accumulate_into_leaves_like_backward_and_accept_a_seed_gradient() -> None:
    a, b = tutorial_L(), tutorial_L()
    a["L"].backward(2.0); a["L"].backward(2.0)
    list(backward_steps(b["L"], 2.0)); list(backward_steps(b["L"], 2.0))
    for name in a:
        assert b[name].grad == a[name].grad
    with pytest.raises(TypeError, match="grad"):
        backward_steps(b["L"], "1")  # type: ignore[arg-type]


def test_steps_of_a_leaf_and_of_shared_nodes() -> None:
    leaf = Value(4.0)
    assert list(backward_steps(leaf)) == [] and leaf.grad == 1.0  # backward() only sets it
    x = Value(3.0, label="x")
    y = x * x; y.label = "y"
    z = y + y; z.label = "z"  # y is used twice: processed once, after both uses
    steps = list(backward_steps(z))
    assert [s.node.label for s in steps] == ["z", "y"]
    assert [u.grad for u in steps[0].updates] == [1.0, 2.0]
    assert [u.grad for u in steps[1].updates] == [6.0, 12.0]
    assert x.grad == 12.0


# How each node of a random graph is made from the five nodes it picked (most use one or two).
GRAPH_OPS: dict[str, Callable[[list[Value]], Value]] = {
    "+": lambda args: args[0] + args[1],
    "-": lambda args: args[0] - args[1],
    "*": lambda args: args[0] * args[1],
    "tanh": lambda args: args[0].tanh(),
    "sigmoid": lambda args: args[0].sigmoid(),
    "relu": lambda args: args[0].relu(),
    "sq": lambda args: args[0] ** 2,
    "sum": sum_values,
    "wsum": lambda args: weighted_sum(args[:2], args[2:4], args[4]),
    "exp_small": lambda args: args[0].tanh().exp(),
}
OPS = list(GRAPH_OPS)


def build_random_graph(spec: list[tuple[str, list[int]]], leaves: list[float]) -> list[Value]:
    nodes = [Value(v, label=f"leaf{i}") for i, v in enumerate(leaves)]
    for k, (op, picks) in enumerate(spec):
        out = GRAPH_OPS[op]([nodes[p % len(nodes)] for p in picks])
        out.label = f"n{k}"
        nodes.append(out)
    return nodes


graph_specs = st.tuples(
    st.lists(
        st.tuples(st.sampled_from(OPS), st.lists(st.integers(0, 10_000), min_size=5, max_size=5)),
        min_size=1,
        max_size=25,
    ),
    st.lists(st.floats(-2, 2), min_size=1, max_size=5),
)


@settings(max_examples=60, deadline=None)
@given(graph_specs)
def test_steps_match_backward_on_random_graphs(spec_and_leaves: tuple) -> None:
    spec, leaves = spec_and_leaves
    reference = build_random_graph(spec, leaves)
    replay = build_random_graph(spec, leaves)
    order = engine_order(reference[-1])
    steps = list(backward_steps(replay[-1]))
    assert [s.node.label for s in steps] == [n.label for n in order]
    assert [n.grad for n in replay] == [n.grad for n in reference]
    last = steps[-1].grads
    assert all(last[n] == n.grad for n in trace(replay[-1])[0])


# ---- the step-through page ------------------------------------------------------------------------

STEPS = re.compile(r'<script type="application/json" id="steps">(.*?)</script>', re.S)


def page_data(page: str) -> dict:
    """The steps a page's script plays: per step the node, its label, the caption, the
    gradients that changed and the nodes done after it."""
    import json

    match = STEPS.search(page)
    assert match is not None, "no step data in the page"
    return json.loads(match.group(1))


def replayed_grads(page: str, upto: int) -> dict[int, str]:
    """The gradient text of every node after step ``upto``, as the page's script shows it."""
    grads: dict[int, str] = {}
    for step in page_data(page)["steps"][: upto + 1]:
        grads.update({index: text for index, text in step["grads"]})
    return grads


@needs_dot
def test_page_has_one_step_per_node_in_backwards_order(tmp_path: Path) -> None:
    twin_a, twin_b = tutorial_neuron(), tutorial_neuron()
    order = [n.label for n in engine_order(twin_a["o"])]
    out = animate_backward(twin_b["o"], tmp_path / "steps.html", title="The tutorial's neuron")
    page = out.read_text(encoding="utf-8")
    steps = page_data(page)["steps"]
    assert [step["label"] for step in steps] == order
    assert 'data-count="5"' in page and "Step 1 / 5" in page
    assert "<title>The tutorial&#x27;s neuron</title>" in page
    # captions spell out the chain rule; the first one is in the page before any script runs
    assert any("x1.grad += -3.0000 × 0.5000 → -1.5000" in step["caption"] for step in steps)
    assert steps[0]["caption"] in page.split('<section id="explain"', 1)[1]
    # the node processed in each step is the one drawn with that label
    svg = re.search(r"<svg.*?</svg>", page, re.S).group(0)
    for step in steps:
        group = re.search(rf'<g id="v{step["node"]}" class="node">(.*?)</g>', svg, re.S)
        assert group and step["label"] in svg_texts(f'<svg xmlns="http://www.w3.org/2000/svg">{group.group(1)}</svg>')
    # the user's gradients are left as they were
    assert all(node.grad == 0.0 for node in twin_b.values())


@needs_dot
def test_one_drawing_serves_every_step_and_the_last_holds_all_gradients(tmp_path: Path) -> None:
    g = tutorial_neuron()
    page = animate_backward(g["o"], tmp_path / "steps.html").read_text(encoding="utf-8")
    assert page.count("<svg") == 1  # one layout: nothing can move between steps
    svg = re.search(r"<svg.*?</svg>", page, re.S).group(0)
    drawn = [t.replace("\u00a0", " ") for t in svg_texts(svg)]
    assert sum(1 for t in drawn if t.startswith("grad") and t.split()[-1] == "0.0000") == 10  # before backward
    g["o"].backward()
    order = sorted(g.values(), key=lambda node: int(re.search(
        rf'<g id="v(\d+)" class="node">\s*<polygon[^>]*/>\s*<text[^>]*>{re.escape(node.label)}</text>', svg
    ).group(1)))  # fmt: skip
    last = replayed_grads(page, len(page_data(page)["steps"]) - 1)
    index_of = {node: int(re.search(
        rf'<g id="v(\d+)" class="node">\s*<polygon[^>]*/>\s*<text[^>]*>{re.escape(node.label)}</text>', svg
    ).group(1)) for node in order}  # fmt: skip
    for node, index in index_of.items():
        assert last[index] == "%.4f" % node.grad, node.label
    # each grad text is padded to its widest value over all steps, so one layout fits them all
    widths = page_data(page)["width"]
    assert all(len(text) <= widths[i] for step in page_data(page)["steps"] for i, text in step["grads"])


@needs_dot
def test_page_of_a_lone_leaf_has_one_step(tmp_path: Path) -> None:
    leaf = Value(3.0, label="x")
    page = animate_backward(leaf, tmp_path / "leaf.html").read_text(encoding="utf-8")
    steps = page_data(page)["steps"]
    assert [(s["node"], s["label"]) for s in steps] == [(0, "x")]
    assert steps[0]["grads"] == [[0, "1.0000"]]
    assert "no inputs, so nothing flows further" in page
    assert leaf.grad == 0.0


@needs_dot
def test_page_is_self_contained(tmp_path: Path) -> None:
    page = animate_backward(tutorial_L()["L"], tmp_path / "L.html").read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<link" not in page and "@import" not in page and "url(" not in page
    assert "<script src" not in page
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))


@needs_dot
def test_page_size_grows_with_the_graph_not_its_square(tmp_path: Path) -> None:
    """One drawing and per-step changes: the 130 values of the tutorial MLP's loss on 4 samples
    took 16 MB as one picture per step; now far below a megabyte, and bigger graphs are allowed."""
    small, _ = mlp_loss(samples=1, sizes=(3, 4, 4, 1))
    big, _ = mlp_loss(samples=6, sizes=(3, 4, 4, 1))
    small_size = animate_backward(small, tmp_path / "small.html").stat().st_size
    big_size = animate_backward(big, tmp_path / "big.html").stat().st_size
    values = len(trace(big)[0])
    assert values > 150  # above the old limit of one-picture-per-step pages
    assert big_size < 1_000_000
    assert big_size / small_size < 2 * values / len(trace(small)[0])  # linear, not quadratic


def test_page_refuses_big_graphs_and_wrong_suffix(tmp_path: Path) -> None:
    loss, _ = mlp_loss(samples=1)
    with pytest.raises(ValueError, match=r"\d+ values, more than max_nodes=100"):
        animate_backward(loss, tmp_path / "big.html", max_nodes=100)
    with pytest.raises(ValueError, match=r"\.html"):
        animate_backward(tutorial_L()["L"], tmp_path / "L.svg")
    with pytest.raises(FileNotFoundError):
        animate_backward(tutorial_L()["L"], tmp_path / "nope" / "L.html")
    assert not list(tmp_path.iterdir())


def open_in_chromium(path: Path, width: int, height: int):  # type: ignore[no-untyped-def]
    """A headless Chromium page showing ``path`` (a context manager), or a skip without one."""
    import contextlib

    playwright = pytest.importorskip("playwright.sync_api")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("no chromium to drive")

    @contextlib.contextmanager
    def session():  # type: ignore[no-untyped-def]
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            try:
                page = browser.new_page(viewport={"width": width, "height": height})
                errors: list[str] = []
                page.on("pageerror", lambda e: errors.append(str(e)))
                page.goto(path.as_uri())
                yield page
                assert errors == []
            finally:
                browser.close()

    return session()


CURRENT_NODE = "() => [...document.querySelectorAll('g.node.current')].map(g => g.id).filter(id => !id.endsWith('_op'))"
GRAD_OF = "id => [...document.getElementById(id).querySelectorAll('text')].pop().textContent"


@needs_dot
def test_page_works_in_a_browser(tmp_path: Path) -> None:
    """Slider, buttons and keys in a real headless Chromium: the highlight and the gradients follow."""
    out = animate_backward(tutorial_neuron()["o"], tmp_path / "steps.html")
    steps = page_data(out.read_text(encoding="utf-8"))["steps"]
    node = [f"v{step['node']}" for step in steps]
    with open_in_chromium(out, 1280, 800) as page:
        def current() -> list[str]:
            return page.evaluate(CURRENT_NODE)

        assert current() == [node[0]] and page.inner_text("#counter") == "Step 1 / 5"
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")
        assert current() == [node[2]] and page.input_value("#slider") == "2"
        page.click("#prev")
        assert current() == [node[1]]
        page.keyboard.press("End")
        assert current() == [node[4]] and page.is_disabled("#next")
        # the last step shows backward()'s gradients, e.g. x1's -1.5
        x1 = next(i for i, t in replayed_grads(out.read_text(encoding="utf-8"), 4).items() if t == "-1.5000")
        assert page.evaluate(GRAD_OF, f"v{x1}").replace("\u00a0", " ").split() == ["grad", "-1.5000"]
        page.keyboard.press("Home")
        assert page.evaluate(GRAD_OF, f"v{x1}").replace("\u00a0", " ").split() == ["grad", "0.0000"]
        page.fill("#slider", "3")  # dragging the slider
        assert current() == [node[3]] and page.inner_text("#counter") == "Step 4 / 5"
        assert "Chain rule" in page.inner_text("#explain")
        page.click("#play")
        page.wait_for_function("document.getElementById('counter').textContent === 'Step 5 / 5'", timeout=5000)
        page.wait_for_function("document.getElementById('play').textContent.includes('Play')", timeout=5000)


@needs_dot
@pytest.mark.parametrize("width, height", [(1280, 800), (800, 600)])
def test_page_is_readable_with_zoom_and_a_fixed_layout(width: int, height: int, tmp_path: Path) -> None:
    """Text of at least 13 px, a graph that fills its pane, zoom buttons, no page-wide scrolling,
    and a graph that stays put while the explanation beside it changes length."""
    out = animate_backward(tutorial_neuron()["o"], tmp_path / "steps.html", title="The tutorial's neuron")
    with open_in_chromium(out, width, height) as page:
        font = "() => Math.min(...[...document.querySelectorAll('#canvas svg text')].map(t => " \
               "parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a))"  # fmt: skip
        assert page.evaluate(font) >= 13
        geometry = "() => { const s = document.querySelector('#canvas svg').getBoundingClientRect(), " \
                   "v = document.getElementById('viewport').getBoundingClientRect(); " \
                   "return [s.width, s.height, v.left, v.top, v.width, v.height]; }"  # fmt: skip
        svg_w, svg_h, *pane = page.evaluate(geometry)
        assert svg_w >= 0.6 * pane[2] or svg_h >= 0.6 * pane[3]  # no mostly empty page
        assert page.evaluate("document.scrollingElement.scrollWidth") <= width  # the page itself never scrolls
        assert page.evaluate("document.scrollingElement.scrollHeight") <= height
        for k in range(5):  # captions of different lengths: the graph's pane does not move
            page.fill("#slider", str(k))
            assert page.evaluate(geometry)[2:] == pane
        page.click("#zoom-in")
        bigger = page.evaluate(geometry)[0]
        assert bigger > svg_w * 1.2 and page.evaluate(font) > 13
        page.keyboard.press("-")
        page.keyboard.press("-")
        assert page.evaluate(geometry)[0] < svg_w
        page.click("#zoom-fit")
        fitted = page.evaluate(geometry)
        assert fitted[0] <= pane[2] and fitted[1] <= pane[3]
        page.screenshot(path=str(tmp_path / f"steps-{width}.png"))


# ---- without Graphviz -----------------------------------------------------------------------------


def run_without_dot(tmp_path: Path, code: str) -> subprocess.CompletedProcess[str]:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    env = dict(os.environ, PATH=str(empty))
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )


def test_without_dot_the_source_is_written_and_the_error_says_how_to_install(tmp_path: Path) -> None:
    result = run_without_dot(
        tmp_path,
        """
        from scratchgrad import Value
        from scratchgrad.viz import GraphvizMissingError, animate_backward, draw_dot, render
        x = Value(2.0, label="x"); y = (x * x).tanh(); y.label = "y"
        for call in (lambda: render(draw_dot(y), "pic.png"), lambda: animate_backward(y, "steps.html")):
            try:
                call()
            except GraphvizMissingError as exc:
                print("ERROR:", exc)
                print("SOURCE:", exc.source_path)
        """,
    )
    assert result.returncode == 0, result.stderr
    assert "SOURCE: pic.dot" in result.stdout and "SOURCE: steps.dot" in result.stdout
    assert "apt-get install graphviz" in result.stdout and "not found" in result.stdout
    assert not (tmp_path / "pic.png").exists() and not (tmp_path / "steps.html").exists()
    assert "{ y | data" in (tmp_path / "pic.dot").read_text(encoding="utf-8")
    assert (tmp_path / "steps.dot").read_text(encoding="utf-8").startswith("digraph")
    assert isinstance(GraphvizMissingError(Path("a.png"), Path("a.dot")), RuntimeError)
