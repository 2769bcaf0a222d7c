"""Pictures of the graph behind a `Value`: the tutorial's ``draw_dot``, a compact view for big
graphs, and the backward pass played step by step.

``draw_dot(root)`` draws every `Value` as a record ``{ label | data | grad }`` with an op
node in front of each computed value, edges child -> op -> value, exactly the tutorial's
picture. It returns a ``graphviz.Digraph``: the last expression of a Jupyter cell shows it
inline, ``render(dot, "graph.png")`` saves it (.svg, .png, .pdf or .dot source).

``backward_steps(root)`` replays ``root.backward()`` one node at a time, in the engine's own
order, and ``animate_backward(root, "steps.html")`` turns those steps into one
self-contained web page (a slider, play/pause, prev/next, arrow keys, zoom) in which the node
being processed is highlighted and gradients fill in as the chain rule reaches them: the
tutorial's manual ``_backward()`` cells, automated. Both live in scratchgrad.step_through
(which draws with this module) and are found here too.

Drawing needs Graphviz's ``dot`` program. When it is missing, the renderers write the
``.dot`` source next to the requested file and raise `GraphvizMissingError`, whose
message says how to install Graphviz.
"""

from __future__ import annotations

import math
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence, Union

import graphviz

from scratchgrad._io import atomic_write_bytes, atomic_write_text
from scratchgrad.autograd import topological_order as _topological_order
from scratchgrad.engine import Value

PathLike = Union[str, "os.PathLike[str]"]
Drawing = Union[graphviz.Digraph, graphviz.Graph, graphviz.Source]

RANKDIRS = ("LR", "RL", "TB", "BT")
# Output formats chosen by `render` from the file name.
SUFFIX_FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf", ".dot": "dot", ".gv": "dot"}
DEFAULT_MAX_NODES = 500

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
    """All nodes below ``root`` and all edges ``(child, parent)`` between them, as in the tutorial.

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
    """The tutorial's ``%.4f``; ``%.4e`` beyond 1e6 in magnitude so a huge number cannot stretch a node."""
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


def _value_record(label: str, data_text: str, grad_text: str, stacked: bool = False) -> str:
    """The tutorial's record ``{ label | data | grad }``: its fields side by side in a
    left-to-right drawing; with ``stacked``, the fields one above the other (for
    rankdir LR/RL, where a record's top-level fields run vertically)."""
    fields = "%s | data %s | grad %s" % (_escape_record(label), data_text, grad_text)
    return graphviz.nohtml(fields if stacked else "{ %s }" % fields)


def _describe(node: Value) -> str:
    """A node's name for captions: its label, else its op and data."""
    if node.label:
        return node.label
    kind = f"the {node._op} node" if node._op else "a leaf"
    return f"{kind} (data {format_number(node.data)})"


# ---- the tutorial's picture ----------------------------------------------------------------------

def _check_drawing_options(format: str, rankdir: str) -> None:
    if rankdir not in RANKDIRS:
        raise ValueError(f"rankdir must be one of {', '.join(RANKDIRS)}, got {rankdir!r}")
    if format not in graphviz.FORMATS:
        raise ValueError(f"format {format!r} is not a Graphviz output format (try 'svg', 'png' or 'pdf')")


# Network simplex (dot's x-coordinate pass) can take minutes on long chains whose nodes share
# inputs; capping its iterations costs nothing visible on small graphs (the tutorial's pictures are
# byte-identical) and brings those down to a second.
_GRAPH_ATTR = {"nslimit": "5"}


def _full_digraph(
    order: Sequence[Value],
    *,
    format: str,
    rankdir: str,
    grad_text: Callable[[Value], str],
    node_attr: Mapping[str, str] | None = None,
    edge_ids: bool = False,
    edge_log: list[tuple[str, str, str]] | None = None,
    stacked: bool = False,
    graph_attr: Mapping[str, str] | None = None,
) -> graphviz.Digraph:
    """The tutorial's drawing of ``order`` (children first); node names are positions in it.

    ``edge_ids`` gives every node and edge an SVG id (its name; e0, e1, ... for edges), to
    find them in the drawing; ``edge_log`` collects (edge id, tail, head) of every edge;
    ``stacked`` puts each record's fields one above the other (a narrower drawing)."""
    across = rankdir in ("LR", "RL")
    attrs = {"rankdir": rankdir, **_GRAPH_ATTR, **(graph_attr or {})}
    dot = graphviz.Digraph(format=format, graph_attr=attrs, node_attr=dict(node_attr or {}))
    names = {node: f"v{i}" for i, node in enumerate(order)}
    edge_count = 0

    def add_node(name: str, label: str, attrs: dict[str, str]) -> None:
        if edge_ids:
            attrs["id"] = name  # the SVG group of the node gets its name
        dot.node(name, label, **attrs)

    def add_edge(tail: str, head: str) -> None:
        nonlocal edge_count
        attrs = {}
        if edge_ids:
            attrs["id"] = f"e{edge_count}"
        if edge_log is not None:
            edge_log.append((f"e{edge_count}", tail, head))
        edge_count += 1
        dot.edge(tail, head, **attrs)

    for node in order:
        uid = names[node]
        record = _value_record(node.label, format_number(node.data), grad_text(node), stacked=stacked and across)
        if stacked and not across:
            record = graphviz.nohtml("{ %s }" % record)
        add_node(uid, record, {"shape": "record"})
        if node._op:
            add_node(uid + "_op", _escape_plain(node._op), {})
            add_edge(uid + "_op", uid)
    for node in order:
        # One edge per use: x*x shows x feeding the '*' twice.
        for child in node._prev:
            add_edge(names[child], names[node] + "_op")
    return dot


def draw_dot(
    root: Value,
    format: str = "svg",
    rankdir: str = "LR",
    compact: bool | None = None,
    max_nodes: int = DEFAULT_MAX_NODES,
) -> graphviz.Digraph:
    """The graph below ``root`` as the tutorial draws it: ``{ label | data %.4f | grad %.4f }`` records,
    an op node in front of each computed value, edges child -> op -> value.

    root: a `Value` -> a ``graphviz.Digraph`` (shown inline by Jupyter; save it with `render`).

    ``format`` is used by the Digraph's own ``.render()``/``.pipe()``; ``rankdir`` is 'LR'
    (left to right, the tutorial's), 'RL', 'TB' or 'BT'. Node names are positions in a
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


# A run of at least this many values, each the only use of the one before and computed by the
# same op (x*x*...*x, a sum built term by term), is drawn as one box.
MIN_CHAIN = 8
# Most boxes the compact view lays out; past it, values are grouped by their op alone.
MAX_COMPACT_BOXES = 200


def _chain_links(order: Sequence[Value], root: Value) -> dict[Value, Value]:
    """node -> the value before it in a long chain of one op (see `MIN_CHAIN`)."""
    uses: dict[Value, int] = {}
    for node in order:
        for child in node._prev:
            uses[child] = uses.get(child, 0) + 1
    link: dict[Value, Value] = {}
    start: dict[Value, Value] = {}
    size: dict[Value, int] = {}
    for node in order:
        if not node._prev:
            continue
        same = [c for c in node._prev if c._prev and c._op == node._op]
        if node is not root and len(same) == 1 and uses.get(same[0]) == 1:
            link[node] = same[0]
            start[node] = start[same[0]]
        else:
            start[node] = node
        size[start[node]] = size.get(start[node], 0) + 1
    return {node: before for node, before in link.items() if size[start[node]] >= MIN_CHAIN}


def _group_values(root: Value, order: Sequence[Value], by_op_only: bool) -> tuple[list[_Group], dict[Value, int]]:
    """Computed values in boxes: same op, same input boxes, same number of leaf inputs (or,
    with ``by_op_only``, the same op); long chains of one op in one box; the root alone."""
    links = {} if by_op_only else _chain_links(order, root)
    group_of: dict[Value, int] = {}
    groups: list[_Group] = []
    index_of_key: dict[tuple[object, ...], int] = {}
    for node in order:  # children first, so every input's group is known
        if not node._prev:
            continue
        if node in links:
            index = group_of[links[node]]
        else:
            if node is root:
                key: tuple[object, ...] = ("root",)
            elif by_op_only:
                key = (node._op,)
            else:
                inputs = tuple(sorted({group_of[c] for c in node._prev if c._prev}))
                key = (node._op, inputs, sum(1 for c in node._prev if not c._prev))
            if key not in index_of_key:
                index_of_key[key] = len(groups)
                groups.append(_Group(node._op, [], {}))
            index = index_of_key[key]
        group = groups[index]
        group.members.append(node)
        for child in node._prev:
            if not child._prev:
                group.leaves[child] = None
        group_of[node] = index
    return groups, group_of


def _compact_digraph(root: Value, order: Sequence[Value], *, format: str, rankdir: str) -> graphviz.Digraph:
    if not root._prev:  # a lone leaf: nothing to summarise
        return _full_digraph(order, format=format, rankdir=rankdir, grad_text=lambda n: format_number(n.grad))
    groups, group_of = _group_values(root, order, by_op_only=False)
    how = "A box holds the values computed by the same op from the same boxes"
    if len(groups) > MAX_COMPACT_BOXES:
        warnings.warn(
            f"the compact view would still have {len(groups):,} boxes (more than {MAX_COMPACT_BOXES} to lay out): "
            "drawing one box per operation instead",
            LargeGraphWarning,
            stacklevel=3,
        )
        groups, group_of = _group_values(root, order, by_op_only=True)
        how = "Too varied for a box per kind of value: a box holds every value computed by the same op"
    dot = graphviz.Digraph(
        format=format,
        graph_attr={
            "rankdir": rankdir,
            **_GRAPH_ATTR,
            "labelloc": "b",
            "label": _escape_plain(
                f"compact view: {len(order):,} values in {len(groups)} boxes. {how} (long chains of one op "
                "in one box); leaf inputs are counted inside the box using them."
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
            if child._prev and group_of[child] != group_of[node]:  # not within a chain's box
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


# ---- the step-through page: scratchgrad.step_through, found here too ---------------------------

# step_through imports this module, so this one loads it on first use (no import cycle).
if TYPE_CHECKING:
    from scratchgrad.step_through import *  # noqa: F403  (for type checkers: the same names, typed)

_STEP_THROUGH = ("ANIMATION_MAX_NODES", "BackwardStep", "GradUpdate", "animate_backward", "backward_steps")

__all__ = [
    "DEFAULT_MAX_NODES",
    "Drawing",
    "GraphvizMissingError",
    "INSTALL_HINT",
    "LargeGraphWarning",
    "MAX_COMPACT_BOXES",
    "MIN_CHAIN",
    "PathLike",
    "RANKDIRS",
    "SUFFIX_FORMATS",
    "draw_compact",
    "draw_dot",
    "format_number",
    "render",
    "trace",
    *_STEP_THROUGH,
]


def __getattr__(name: str) -> Any:
    if name in _STEP_THROUGH:
        from scratchgrad import step_through

        value = getattr(step_through, name)
        globals()[name] = value  # found directly from now on
        return value
    raise AttributeError(f"module 'scratchgrad.viz' has no attribute {name!r}")
