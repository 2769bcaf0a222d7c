"""Pictures of the graph behind a `Value`: the seed's ``draw_dot``, a compact view for big
graphs, and the backward pass played step by step.

``draw_dot(root)`` draws every `Value` as a record ``{ label | data | grad }`` with an op
node in front of each computed value, edges child -> op -> value, exactly the seed's
picture. It returns a ``graphviz.Digraph``: the last expression of a Jupyter cell shows it
inline, ``render(dot, "graph.png")`` saves it (.svg, .png, .pdf or .dot source).

``backward_steps(root)`` replays ``root.backward()`` one node at a time, in the engine's own
order, and ``animate_backward(root, "steps.html")`` turns those steps into one
self-contained web page (a slider, play/pause, prev/next, arrow keys) in which the node
being processed is highlighted and gradients fill in as the chain rule reaches them: the
seed's manual ``_backward()`` cells, automated.

Drawing needs Graphviz's ``dot`` program. When it is missing, the renderers write the
``.dot`` source next to the requested file and raise `GraphvizMissingError`, whose
message says how to install Graphviz.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Mapping, NamedTuple, Sequence, Union

import graphviz

from scratchgrad._io import atomic_write_bytes, atomic_write_text
from scratchgrad.autograd import backward_order as _backward_order
from scratchgrad.autograd import topological_order as _topological_order
from scratchgrad.engine import Value

PathLike = Union[str, "os.PathLike[str]"]
Drawing = Union[graphviz.Digraph, graphviz.Graph, graphviz.Source]

RANKDIRS = ("LR", "RL", "TB", "BT")
# Output formats chosen by `render` from the file name.
SUFFIX_FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot", ".gv": "dot"}
DEFAULT_MAX_NODES = 500
# A step-through page holds one full drawing per step, so its size grows as nodes^2.
ANIMATION_MAX_NODES = 150

INSTALL_HINT = (
    "Install Graphviz, which provides `dot`: Debian/Ubuntu `sudo apt-get install graphviz`, "
    "Fedora `sudo dnf install graphviz`, macOS `brew install graphviz`, "
    "conda `conda install -c conda-forge graphviz`, Windows `winget install graphviz` "
    "(or https://graphviz.org/download/), then make sure `dot` is on your PATH."
)


class GraphvizMissingError(RuntimeError):
    """Graphviz's ``dot`` program is not installed, so a picture could not be rendered.

    ``output`` is the file that was asked for; ``source_path`` is the ``.dot`` source
    written next to it instead (render it later with ``dot -Tsvg file.dot -o file.svg``).
    """

    def __init__(self, output: Path, source_path: Path) -> None:
        self.output = output
        self.source_path = source_path
        super().__init__(
            f"cannot render {output}: Graphviz's `dot` program was not found. "
            f"The graph's source was written to {source_path} instead. {INSTALL_HINT}"
        )


class LargeGraphWarning(UserWarning):
    """A graph has more values than ``max_nodes``: drawing all of them is slow and unreadable."""


# ---- walking the graph ---------------------------------------------------------------------


def _check_root(root: object, caller: str) -> Value:
    if not isinstance(root, Value):
        raise TypeError(f"{caller} expects a scratchgrad Value as its root, got {type(root).__name__}: {root!r}")
    return root


def trace(root: Value) -> tuple[set[Value], set[tuple[Value, Value]]]:
    """All nodes below ``root`` and all edges ``(child, parent)`` between them, as in the seed.

    root: a `Value` -> (set of Values, set of (child, parent) pairs).
    """
    _check_root(root, "trace")
    nodes = _topological_order(root)
    edges = {(child, node) for node in nodes for child in node._prev}
    return set(nodes), edges


# ---- text of the drawing -------------------------------------------------------------------

_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_RECORD_SPECIAL = re.compile(r'([{}|<>"])')


def format_number(x: float) -> str:
    """The seed's ``%.4f``; ``%.4e`` beyond 1e6 in magnitude so a huge number cannot stretch a node."""
    x = float(x)  # a grad recorded by backward(create_graph=True) is a Value: its number is shown
    if math.isfinite(x) and abs(x) >= 1e6:
        return "%.4e" % x
    return "%.4f" % x


def _escape_text(text: str) -> str:
    """Make ``text`` literal inside a Graphviz escString: backslashes and line breaks."""
    text = text.replace("\\", "\\\\").replace("\r\n", "\n").replace("\r", "\n").replace("\t", " ")
    text = _CONTROL_CHARS.sub("\N{REPLACEMENT CHARACTER}", text)
    return text.replace("\n", "\\n")


def _escape_record(text: str) -> str:
    """Make ``text`` literal inside one field of a record label, where ``{ } | < >`` have meaning."""
    return _RECORD_SPECIAL.sub(r"\\\1", _escape_text(text))


def _escape_plain(text: str) -> str:
    """Make ``text`` literal as an ordinary label (quotes are escaped by the graphviz package)."""
    return graphviz.nohtml(_escape_text(text))


def _value_record(label: str, data_text: str, grad_text: str) -> str:
    return graphviz.nohtml("{ %s | data %s | grad %s }" % (_escape_record(label), data_text, grad_text))


def _describe(node: Value) -> str:
    """A node's name for captions: its label, else its op and data."""
    if node.label:
        return node.label
    kind = f"the {node._op} node" if node._op else "a leaf"
    return f"{kind} (data {format_number(node.data)})"


# ---- the seed's picture ----------------------------------------------------------------------

NodeStyle = Callable[[Value], Mapping[str, str]]


def _check_drawing_options(format: str, rankdir: str) -> None:
    if rankdir not in RANKDIRS:
        raise ValueError(f"rankdir must be one of {', '.join(RANKDIRS)}, got {rankdir!r}")
    if format not in graphviz.FORMATS:
        raise ValueError(f"format {format!r} is not a Graphviz output format (try 'svg', 'png' or 'pdf')")


@dataclass(frozen=True)
class _Layout:
    """Where dot put every node and edge of one drawing, to draw other frames exactly alike."""

    bb: str
    nodes: dict[str, dict[str, str]]  # name -> pos (pinned), width, height
    edges: dict[str, str]  # edge id -> spline


# Network simplex (dot's x-coordinate pass) can take minutes on long chains whose nodes share
# inputs; capping its iterations costs nothing visible on small graphs (the seed's pictures are
# byte-identical) and brings those down to a second.
_GRAPH_ATTR = {"nslimit": "5"}


def _full_digraph(
    order: Sequence[Value],
    *,
    format: str,
    rankdir: str,
    grad_text: Callable[[Value], str],
    value_style: NodeStyle | None = None,
    op_style: NodeStyle | None = None,
    edge_style: Callable[[Value, Value], Mapping[str, str]] | None = None,
    node_attr: Mapping[str, str] | None = None,
    edge_ids: bool = False,
    layout: _Layout | None = None,
) -> graphviz.Digraph:
    """The seed's drawing of ``order`` (children first); node names are positions in it.

    ``edge_ids`` names the edges e0, e1, ... (to find them in a layout); ``layout`` pins
    nodes and edges where an earlier layout put them (for ``neato -n2``)."""
    graph_attr = {"rankdir": rankdir, **_GRAPH_ATTR}
    if layout is not None:
        graph_attr["bb"] = layout.bb
    dot = graphviz.Digraph(format=format, graph_attr=graph_attr, node_attr=dict(node_attr or {}))
    names = {node: f"v{i}" for i, node in enumerate(order)}
    edge_count = 0

    def add_node(name: str, label: str, attrs: dict[str, str]) -> None:
        if edge_ids or layout is not None:
            attrs["id"] = name  # the SVG group of the node gets its name
        if layout is not None:
            attrs.update(layout.nodes[name])
        dot.node(name, label, **attrs)

    def add_edge(tail: str, head: str, attrs: dict[str, str]) -> None:
        nonlocal edge_count
        if edge_ids or layout is not None:
            attrs["id"] = f"e{edge_count}"
            if layout is not None:
                attrs["pos"] = layout.edges[attrs["id"]]
        edge_count += 1
        dot.edge(tail, head, **attrs)

    for node in order:
        uid = names[node]
        style = dict(value_style(node)) if value_style else {}
        add_node(uid, _value_record(node.label, format_number(node.data), grad_text(node)), {"shape": "record", **style})
        if node._op:
            op_attrs = dict(op_style(node)) if op_style else {}
            add_node(uid + "_op", _escape_plain(node._op), dict(op_attrs))
            add_edge(uid + "_op", uid, _op_edge_attrs(op_attrs))
    for node in order:
        # One edge per use: x*x shows x feeding the '*' twice.
        for child in node._prev:
            add_edge(names[child], names[node] + "_op", dict(edge_style(child, node)) if edge_style else {})
    return dot


def _op_edge_attrs(op_attrs: Mapping[str, str]) -> dict[str, str]:
    """The edge op -> value takes the op node's outline colour, so a highlight reads as one."""
    return {"color": op_attrs["color"]} if "color" in op_attrs else {}


def draw_dot(
    root: Value,
    format: str = "svg",
    rankdir: str = "LR",
    compact: bool | None = None,
    max_nodes: int = DEFAULT_MAX_NODES,
) -> graphviz.Digraph:
    """The graph below ``root`` as the seed draws it: ``{ label | data %.4f | grad %.4f }`` records,
    an op node in front of each computed value, edges child -> op -> value.

    root: a `Value` -> a ``graphviz.Digraph`` (shown inline by Jupyter; save it with `render`).

    ``format`` is used by the Digraph's own ``.render()``/``.pipe()``; ``rankdir`` is 'LR'
    (left to right, the seed's), 'RL', 'TB' or 'BT'. Node names are positions in a
    structural order, so drawing equal graphs gives byte-identical sources.

    Big graphs: with ``compact=None`` (default) a graph of more than ``max_nodes`` values
    is drawn compact, with a `LargeGraphWarning`; ``compact=True`` always draws the compact
    view (see `draw_compact`), ``compact=False`` never does (warning when large).
    """
    _check_root(root, "draw_dot")
    _check_drawing_options(format, rankdir)
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, int) or max_nodes < 1:
        raise ValueError(f"max_nodes must be a positive int, got {max_nodes!r}")
    order = _topological_order(root)
    if len(order) > max_nodes:
        if compact is None:
            warnings.warn(
                f"the graph has {len(order)} values, more than max_nodes={max_nodes}: drawing the "
                "compact view (draw_dot(..., compact=False) draws every value; raise max_nodes to "
                "change the limit)",
                LargeGraphWarning,
                stacklevel=2,
            )
            compact = True
        elif not compact:
            warnings.warn(
                f"drawing all {len(order)} values (more than max_nodes={max_nodes}): dot will be slow "
                "and the picture hard to read; draw_dot(..., compact=True) draws a summary",
                LargeGraphWarning,
                stacklevel=2,
            )
    if compact:
        return _compact_digraph(root, order, format=format, rankdir=rankdir)
    return _full_digraph(order, format=format, rankdir=rankdir, grad_text=lambda n: format_number(n.grad))


# ---- the compact view ----------------------------------------------------------------------


def draw_compact(root: Value, format: str = "svg", rankdir: str = "LR") -> graphviz.Digraph:
    """A summary of a big graph: one box per group of values computed the same way.

    root: a `Value` -> a ``graphviz.Digraph``.

    Two computed values share a box when they have the same op, the same number of leaf
    inputs and inputs from the same boxes (so the 16 neurons of a layer, over all samples,
    become one ``w·x+b`` box and one ``tanh`` box); the root always has its own box. Leaves
    (parameters, constants) are folded into the boxes that consume them and counted there.
    Each box shows how many values it holds, the range of their data and grads, and for
    its leaf inputs how many there are and the range of their grads. Edges say how many
    connections they stand for.
    """
    _check_root(root, "draw_compact")
    _check_drawing_options(format, rankdir)
    return _compact_digraph(root, _topological_order(root), format=format, rankdir=rankdir)


@dataclass
class _Group:
    op: str
    members: list[Value]
    leaves: dict[Value, None]  # distinct leaf inputs in first-use order


def _range_text(values: Sequence[float]) -> str:
    """``lo … hi`` of ``values``, NaNs counted apart (min and max cannot order them)."""
    numbers = [v for v in values if v == v]
    nans = len(values) - len(numbers)
    if not numbers:
        return "nan"
    lo, hi = min(numbers), max(numbers)
    text = format_number(lo) if lo == hi else f"{format_number(lo)} … {format_number(hi)}"
    return text + (f" ({nans} nan)" if nans else "")


def _compact_digraph(root: Value, order: Sequence[Value], *, format: str, rankdir: str) -> graphviz.Digraph:
    if not root._prev:  # a lone leaf: nothing to summarise
        return _full_digraph(order, format=format, rankdir=rankdir, grad_text=lambda n: format_number(n.grad))
    group_of: dict[Value, int] = {}
    groups: list[_Group] = []
    index_of_key: dict[tuple[object, ...], int] = {}
    for node in order:  # children first, so every input's group is known
        if not node._prev:
            continue
        inputs = tuple(sorted({group_of[c] for c in node._prev if c._prev}))
        leaf_count = sum(1 for c in node._prev if not c._prev)
        key: tuple[object, ...] = ("root",) if node is root else (node._op, inputs, leaf_count)
        index = index_of_key.get(key)
        if index is None:
            index = index_of_key[key] = len(groups)
            groups.append(_Group(node._op, [], {}))
        group = groups[index]
        group.members.append(node)
        for child in node._prev:
            if not child._prev:
                group.leaves[child] = None
        group_of[node] = index
    dot = graphviz.Digraph(
        format=format,
        graph_attr={
            "rankdir": rankdir,
            **_GRAPH_ATTR,
            "labelloc": "b",
            "label": _escape_plain(
                f"compact view: {len(order)} values in {len(groups)} boxes. A box holds the values "
                "computed by the same op from the same boxes; leaf inputs are counted inside the box using them."
            ),
        },
    )
    for index, group in enumerate(groups):
        members = group.members
        if len(members) == 1:
            only = members[0]
            head = f"{only.label} = {group.op}" if only.label else group.op
        else:
            names = list(dict.fromkeys(m.label for m in members if m.label))
            head = f"{len(members)} × {group.op}" + (f" ({', '.join(names)})" if 0 < len(names) <= 3 else "")
        fields = [
            _escape_record(head),
            "data " + _escape_record(_range_text([m.data for m in members])),
            "grad " + _escape_record(_range_text([m.grad for m in members])),
        ]
        if group.leaves:
            leaves = list(group.leaves)
            named = [leaf.label for leaf in leaves if leaf.label]
            what = f"{len(leaves)} leaf input" + ("s" if len(leaves) > 1 else "")
            if named and len(named) <= 4:
                what += ": " + ", ".join(named)
            fields.append(_escape_record(what))
            fields.append("leaf grad " + _escape_record(_range_text([v.grad for v in leaves])))
        attrs = {"penwidth": "2"} if members[0] is root else {}
        # Fields stacked across the flow: a record's top level runs across LR ranks.
        record = " | ".join(fields) if rankdir in ("LR", "RL") else "{ " + " | ".join(fields) + " }"
        dot.node(f"g{index}", graphviz.nohtml(record), shape="record", **attrs)
    connections: dict[tuple[int, int], int] = {}
    for node in order:
        for child in node._prev:
            if child._prev:
                pair = (group_of[child], group_of[node])
                connections[pair] = connections.get(pair, 0) + 1
    for (source, target), count in sorted(connections.items()):
        attrs = {"label": f"×{count}"} if count > 1 else {}
        dot.edge(f"g{source}", f"g{target}", **attrs)
    return dot


# ---- saving ----------------------------------------------------------------------------------


def _source_of(drawing: Drawing) -> str:
    return str(drawing.source)


def _write_source_beside(target: Path, source: str) -> Path:
    source_path = target.with_suffix(".dot")
    atomic_write_text(source_path, source)
    return source_path


def render(drawing: Drawing | Value, path: PathLike) -> Path:
    """Save a drawing to ``path``, the format picked from its suffix: .svg, .png, .pdf, or
    .dot/.gv (the Graphviz source, which needs no Graphviz installed).

    drawing: a graphviz Digraph/Graph/Source, or a `Value` (drawn with `draw_dot`) -> the path written.

    Without Graphviz's ``dot``, writes the source to ``path`` with a ``.dot`` suffix and
    raises `GraphvizMissingError` naming both files and how to install Graphviz.
    """
    if isinstance(drawing, Value):
        drawing = draw_dot(drawing)
    if not isinstance(drawing, (graphviz.Digraph, graphviz.Graph, graphviz.Source)):
        raise TypeError(f"render expects a graphviz drawing or a Value, got {type(drawing).__name__}")
    target = Path(path)
    file_format = SUFFIX_FORMATS.get(target.suffix.lower())
    if file_format is None:
        raise ValueError(
            f"cannot tell the picture format of {target}: use one of the suffixes {', '.join(SUFFIX_FORMATS)}"
        )
    if not target.parent.is_dir():
        raise FileNotFoundError(f"cannot save to {target}: folder {target.parent} does not exist")
    source = _source_of(drawing)
    if file_format == "dot":
        return atomic_write_text(target, source)
    try:
        data = graphviz.pipe("dot", file_format, source.encode("utf-8"), quiet=True)
    except graphviz.ExecutableNotFound:
        raise GraphvizMissingError(target, _write_source_beside(target, source)) from None
    except graphviz.CalledProcessError as exc:
        stderr = exc.stderr.decode("utf-8", "replace").strip() if isinstance(exc.stderr, bytes) else exc.stderr
        raise RuntimeError(f"Graphviz's dot failed to render {target}: {stderr}") from exc
    return atomic_write_bytes(target, data)


# ---- the backward pass, one step at a time ---------------------------------------------------


class GradUpdate(NamedTuple):
    """One use of the chain rule: ``child.grad += local * node.grad``, then ``child.grad == grad``."""

    child: Value
    local: float
    grad: float


@dataclass(frozen=True, eq=False)
class BackwardStep:
    """What one step of ``backward()`` did.

    ``index`` counts from 0 (the root) to ``total - 1``; ``node`` is the value whose
    gradient ``grad`` was just passed to its children (``updates``, in ``_prev`` order);
    ``grads`` maps every value of the graph to its gradient after this step.
    """

    index: int
    total: int
    node: Value
    grad: float
    updates: tuple[GradUpdate, ...]
    grads: dict[Value, float]


def backward_steps(root: Value, grad: float = 1.0) -> Iterator[BackwardStep]:
    """``root.backward(grad)`` one node at a time, yielding a `BackwardStep` after each node.

    root: a `Value` -> an iterator of `BackwardStep`, one per computed value (none when the
    root is a leaf, as ``backward()`` then only sets its grad).

    The order is ``backward()``'s own: the engine's ordering function gives it (resetting
    interior gradients to 0, as ``backward()`` does), and each step is the engine's own
    ``_backward()`` of that node. Gradients are written into the graph as the steps go,
    exactly as ``backward()`` writes them: interior gradients start from 0 when the first
    step is taken, leaves accumulate. After the iterator is exhausted every ``.grad``
    equals what one ``root.backward(grad)`` call gives; stop early and the graph holds the
    partial gradients of that step, as after the seed's manual ``_backward()`` cells.
    """
    _check_root(root, "backward_steps")
    if isinstance(grad, bool) or not isinstance(grad, (int, float)):
        raise TypeError(f"grad must be a number, got {type(grad).__name__}: {grad!r}")
    return _backward_steps(root, float(grad))


def _backward_steps(root: Value, grad: float) -> Iterator[BackwardStep]:
    order = _backward_order(root)  # consumers first; interior grads now 0.0
    grads = {node: node.grad for node in _topological_order(root)}
    root.grad = grad
    grads[root] = grad
    total = len(order)
    for index, node in enumerate(order):
        g = node.grad
        children, locals_ = node._prev, node._local
        running = {child: child.grad for child in children}
        node._backward()  # the engine's chain rule for this node, as backward() calls it
        updates = []
        for child, local in zip(children, locals_):
            running[child] += local * g  # for the record; the graph holds the engine's result
            updates.append(GradUpdate(child, local, running[child]))
        for child in children:
            grads[child] = child.grad
        yield BackwardStep(index, total, node, g, tuple(updates), dict(grads))


# ---- the step-through page -------------------------------------------------------------------

# Colours of the step-through page (fill of records and op nodes).
_CURRENT = "#ffca28"  # the node whose chain rule is applied in this step
_UPDATED = "#a5d6a7"  # children that just received gradient
_DONE = "#bbdefb"  # nodes already processed
_WAITING = "#ffffff"
_EDGE_ACTIVE = "#d84315"
_MONO_FONT = "Courier"
_PAD = "\u00a0"  # no-break space: pads grad texts to one width per node, so every frame has the same layout


def _frame_sources(
    order: Sequence[Value], steps: Sequence[BackwardStep], rankdir: str, layout: _Layout | None = None
) -> list[str]:
    """One dot source per step, pinned to ``layout`` when given. Every frame has the same
    geometry: a monospace font and each node's grad text padded to its widest value over all
    frames, so one layout fits every frame."""
    texts = [{node: format_number(step.grads[node]) for node in order} for step in steps]
    width = {node: max(len(t[node]) for t in texts) for node in order}
    # A leaf is done once every use of it has passed gradient into it.
    uses_left = {node: 0 for node in order}
    for node in order:
        for child in node._prev:
            uses_left[child] += 1
    sources = []
    done: set[Value] = set()
    for step, text in zip(steps, texts):
        current = step.node
        updated = {u.child for u in step.updates}

        def fill(node: Value, current: Value = current, updated: set[Value] = updated) -> str:
            if node is current:
                return _CURRENT
            if node in updated:
                return _UPDATED
            return _DONE if node in done else _WAITING

        def value_style(node: Value, fill: Callable[[Value], str] = fill) -> dict[str, str]:
            return {"fillcolor": fill(node)}

        def op_style(node: Value, current: Value = current) -> dict[str, str]:
            if node is current:
                return {"fillcolor": _CURRENT, "color": _EDGE_ACTIVE}
            return {"fillcolor": _DONE if node in done else _WAITING}

        def edge_style(child: Value, parent: Value, current: Value = current) -> dict[str, str]:
            return {"color": _EDGE_ACTIVE, "penwidth": "2.5"} if parent is current else {}

        def grad_text(node: Value, text: dict[Value, str] = text) -> str:
            return text[node].rjust(width[node], _PAD)

        dot = _full_digraph(
            order,
            format="svg",
            rankdir=rankdir,
            grad_text=grad_text,
            value_style=value_style,
            op_style=op_style,
            edge_style=edge_style,
            node_attr={"fontname": _MONO_FONT, "style": "filled", "fillcolor": _WAITING},
            edge_ids=True,
            layout=layout,
        )
        sources.append(dot.source)
        done.add(current)
        for update in step.updates:
            uses_left[update.child] -= 1
            if not uses_left[update.child] and not update.child._prev:
                done.add(update.child)
    return sources


def _layout_of(source: str) -> _Layout:
    """Lay ``source`` out once with dot and read back where everything went."""
    laid_out = json.loads(graphviz.pipe("dot", "json0", source.encode("utf-8"), quiet=True))
    nodes = {
        obj["name"]: {"pos": obj["pos"] + "!", "width": obj["width"], "height": obj["height"], "fixedsize": "true"}
        for obj in laid_out.get("objects", [])
    }
    edges = {edge["id"]: edge["pos"] for edge in laid_out.get("edges", [])}
    return _Layout(laid_out["bb"], nodes, edges)


def _caption(step: BackwardStep) -> str:
    """What happened in this step, in words and numbers (HTML)."""
    node = step.node
    head = f"Step {step.index + 1} of {step.total}: "
    if step.index == 0:
        head += f"start at the root {_describe(node)}, grad = {format_number(step.grad)}. "
    else:
        head += f"{_describe(node)} has received all its gradient, {format_number(step.grad)}. "
    if not step.updates:
        return html.escape(head + "It has no inputs, so nothing flows further.")
    head += f"Chain rule through '{node._op}': child.grad += local derivative × {format_number(step.grad)}"
    lines = [
        f"{_describe(u.child)}.grad += {format_number(u.local)} × {format_number(step.grad)} → {format_number(u.grad)}"
        for u in step.updates
    ]
    shown = lines[:12] + ([f"… and {len(lines) - 12} more"] if len(lines) > 12 else [])
    return html.escape(head) + "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in shown) + "</ul>"


_SVG_START = re.compile(r"<svg\b", re.S)
_SVG_ID = re.compile(r'\bid="([^"]*)"')
# Comments and <title>s name nodes v0, v1, ...: no use to a reader, and a tenth of each frame.
_TEXT_FONT = ' font-family="Courier,monospace" font-size="14.00"'
_SVG_NOISE = re.compile(r"<!--.*?-->\n?|<title>.*?</title>\n?", re.S)


def _split_svgs(output: str, count: int) -> list[str]:
    """dot's output for several graphs is their SVG documents one after the other."""
    starts = [m.start() for m in _SVG_START.finditer(output)]
    if len(starts) != count:
        raise RuntimeError(f"dot returned {len(starts)} SVG frames for {count} graphs")
    svgs = []
    for i, start in enumerate(starts):
        end = output.find("</svg>", start)
        svg = _SVG_NOISE.sub("", output[start : end + len("</svg>")])
        svg = svg.replace(_TEXT_FONT, "")  # the page's style sheet sets it once
        # Ids must be unique in the page: prefix them with the frame number.
        svgs.append(_SVG_ID.sub(f'id="f{i}-\\1"', svg))
    return svgs


def animate_backward(
    root: Value,
    path: PathLike,
    title: str | None = None,
    rankdir: str = "LR",
    max_nodes: int = ANIMATION_MAX_NODES,
) -> Path:
    """Write one self-contained HTML page that plays ``root.backward()`` step by step.

    root: a `Value` -> the path written (suffix .html or .htm).

    One SVG frame per `backward_steps` step, in ``backward()``'s order, all rendered by dot
    with the same layout: the node being processed is yellow, the children that just got
    gradient green, nodes already done blue, and each frame's caption spells out the chain
    rule it applied. A slider, play/pause, prev/next buttons and the arrow keys (Home/End,
    space to play) move through the frames. No network is needed: styles, script and
    pictures are all in the file, which opens from file://.

    The page shows one backward pass from zero gradients (as after ``zero_grad()``); the
    graph's own ``.grad`` values are left as they were. The page grows as nodes² (one full
    drawing per step): about 1 MB for the 59 values of the seed's MLP(3, [4, 4, 1]) on one
    sample, 16 MB for the 130 of its loss on 4 samples. Graphs of more than ``max_nodes`` values (default 150) are
    refused with a ValueError; draw those with ``draw_dot``.
    """
    _check_root(root, "animate_backward")
    _check_drawing_options("svg", rankdir)
    target = Path(path)
    if target.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"animate_backward writes an HTML page: give a path ending in .html, got {target}")
    if not target.parent.is_dir():
        raise FileNotFoundError(f"cannot save to {target}: folder {target.parent} does not exist")
    order = _topological_order(root)
    if len(order) > max_nodes:
        raise ValueError(
            f"the graph has {len(order)} values, more than max_nodes={max_nodes} for a step-through page "
            f"(one full drawing per step); use draw_dot for big graphs or pass a larger max_nodes"
        )
    saved = {node: node.grad for node in order}
    try:
        for node in order:
            node.grad = 0.0
        steps = list(_backward_steps(root, 1.0))
        if not steps:  # a lone leaf: backward() only sets its grad, one frame shows that
            steps = [BackwardStep(0, 1, root, 1.0, (), {root: 1.0})]
    finally:
        for node, value in saved.items():
            node.grad = value
    # dot lays the graph out once; every frame is then drawn at those very coordinates by
    # `neato -n2` (no layout at all), so frames cannot shift and big pages stay quick.
    sources = _frame_sources(order, steps, rankdir)
    try:
        layout = _layout_of(sources[0])
        pinned = _frame_sources(order, steps, rankdir, layout)
        output = graphviz.pipe("neato", "svg", "\n".join(pinned).encode("utf-8"), neato_no_op=2, quiet=True)
    except graphviz.ExecutableNotFound:
        raise GraphvizMissingError(target, _write_source_beside(target, sources[-1])) from None
    svgs = _split_svgs(output.decode("utf-8"), len(sources))
    names = {node: f"v{i}" for i, node in enumerate(order)}
    page_title = title if title is not None else f"Backward pass of {_describe(root)}"
    frames = []
    for step, svg in zip(steps, svgs):
        frames.append(
            f'<figure class="frame" id="frame-{step.index}" data-step="{step.index}" '
            f'data-node="{names[step.node]}" data-label="{html.escape(step.node.label, quote=True)}"'
            f'{" hidden" if step.index else ""}>\n'
            f"<figcaption>{_caption(step)}</figcaption>\n{svg}\n</figure>"
        )
    page = _PAGE.format(
        title=html.escape(page_title),
        count=len(frames),
        last=len(frames) - 1,
        current=_CURRENT,
        updated=_UPDATED,
        done=_DONE,
        frames="\n".join(frames),
        script=_SCRIPT,
    )
    return atomic_write_text(target, page)


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="scratchgrad.viz.animate_backward">
<title>{title}</title>
<style>
  body {{ font-family: system-ui, sans-serif; margin: 1em 2em; color: #222; }}
  h1 {{ font-size: 1.3em; margin: 0 0 .5em; }}
  .controls {{ display: flex; align-items: center; gap: .5em; flex-wrap: wrap; }}
  .controls input[type=range] {{ flex: 1; min-width: 12em; }}
  button {{ font-size: 1em; padding: .2em .8em; }}
  .legend span {{ display: inline-block; margin-right: 1.2em; font-size: .9em; }}
  .legend i {{ display: inline-block; width: 1em; height: 1em; border: 1px solid #555;
               vertical-align: middle; margin-right: .3em; }}
  figure {{ margin: 1em 0; }}
  figcaption {{ min-height: 4em; font-size: .95em; }}
  figcaption ul {{ margin: .3em 0; }}
  svg {{ max-width: 100%; height: auto; }}
  .frame svg text {{ font-family: Courier, monospace; font-size: 14px; }}
  .help {{ color: #666; font-size: .85em; }}
</style>
<noscript><style>.frame[hidden] {{ display: block; }}</style></noscript>
</head>
<body>
<h1>{title}</h1>
<div class="controls">
  <button id="prev" type="button" title="previous step (Left arrow)">&#9664; Prev</button>
  <button id="play" type="button" title="play / pause (Space)">&#9654; Play</button>
  <button id="next" type="button" title="next step (Right arrow)">Next &#9654;</button>
  <input id="slider" type="range" min="0" max="{last}" value="0" step="1" aria-label="step">
  <span id="counter">Step 1 / {count}</span>
</div>
<p class="legend">
  <span><i style="background:{current}"></i>being processed</span>
  <span><i style="background:{updated}"></i>gradient just received</span>
  <span><i style="background:{done}"></i>done</span>
  <span><i style="background:#fff"></i>waiting</span>
</p>
<p class="help">Keys: &larr; / &rarr; step, Home / End jump, Space play / pause.</p>
<main id="frames" data-count="{count}">
{frames}
</main>
<script>
{script}
</script>
</body>
</html>
"""

_SCRIPT = """(function () {
  var frames = document.querySelectorAll('.frame');
  var slider = document.getElementById('slider');
  var counter = document.getElementById('counter');
  var play = document.getElementById('play');
  var prev = document.getElementById('prev');
  var next = document.getElementById('next');
  var current = 0, timer = null;
  function show(k) {
    k = Math.max(0, Math.min(frames.length - 1, k));
    frames[current].hidden = true;
    frames[k].hidden = false;
    current = k;
    slider.value = String(k);
    counter.textContent = 'Step ' + (k + 1) + ' / ' + frames.length;
    prev.disabled = k === 0;
    next.disabled = k === frames.length - 1;
  }
  function stop() {
    if (timer !== null) { clearInterval(timer); timer = null; }
    play.innerHTML = '&#9654; Play';
  }
  function start() {
    if (current === frames.length - 1) { show(0); }
    play.innerHTML = '&#10074;&#10074; Pause';
    timer = setInterval(function () {
      show(current + 1);
      if (current >= frames.length - 1) { stop(); }
    }, 900);
  }
  play.addEventListener('click', function () { if (timer === null) { start(); } else { stop(); } });
  prev.addEventListener('click', function () { stop(); show(current - 1); });
  next.addEventListener('click', function () { stop(); show(current + 1); });
  slider.addEventListener('input', function () { stop(); show(parseInt(slider.value, 10)); });
  document.addEventListener('keydown', function (e) {
    // The slider moves itself with the arrows and a focused button clicks itself with
    // Space: handling those keys here too would take two steps at once.
    if (e.target === slider && (e.key === 'ArrowLeft' || e.key === 'ArrowRight')) { return; }
    if (e.target.tagName === 'BUTTON' && (e.key === ' ' || e.key === 'Enter')) { return; }
    if (e.key === 'ArrowRight') { stop(); show(current + 1); e.preventDefault(); }
    else if (e.key === 'ArrowLeft') { stop(); show(current - 1); e.preventDefault(); }
    else if (e.key === 'Home') { stop(); show(0); e.preventDefault(); }
    else if (e.key === 'End') { stop(); show(frames.length - 1); e.preventDefault(); }
    else if (e.key === ' ') { if (timer === null) { start(); } else { stop(); } e.preventDefault(); }
  });
  show(0);
})();"""
