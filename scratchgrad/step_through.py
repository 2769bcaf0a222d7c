"""The backward pass of a `Value`, one step at a time, and the web page that plays it.

``backward_steps(root)`` replays ``root.backward()`` one node at a time, in the engine's own
order, and ``animate_backward(root, "steps.html")`` turns those steps into one
self-contained web page (a slider, play/pause, prev/next, arrow keys, zoom) in which the node
being processed is highlighted and gradients fill in as the chain rule reaches them: the
tutorial's manual ``_backward()`` cells, automated. The page draws the graph with the
tutorial's picture from scratchgrad.viz, where these names are found too.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, NamedTuple, Sequence

import graphviz

from scratchgrad._io import atomic_write_text
from scratchgrad.autograd import backward_order as _backward_order
from scratchgrad.autograd import topological_order as _topological_order
from scratchgrad.engine import Value
from scratchgrad.viz import (
    GraphvizMissingError,
    PathLike,
    _check_drawing_options,
    _check_root,
    _describe,
    _full_digraph,
    _write_source_beside,
    format_number,
)

__all__ = ["ANIMATION_MAX_NODES", "BackwardStep", "GradUpdate", "animate_backward", "backward_steps"]

# A step-through page is laid out by dot once; past this many values the layout takes too long.
ANIMATION_MAX_NODES = 1000


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
    partial gradients of that step, as after the tutorial's manual ``_backward()`` cells.
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
_PAD = "\u00a0"  # no-break space: pads grad texts to one width per node, so every step fits the layout


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


# Comments and <title>s name nodes v0, v1, ...: no use to a reader.
_SVG_NOISE = re.compile(r"<!--.*?-->\n?|<title>.*?</title>\n?|<\?xml[^>]*\?>\n?|<!DOCTYPE[^>]*>\n?", re.S)


def _step_records(order: Sequence[Value], steps: Sequence[BackwardStep]) -> tuple[list[dict[str, object]], dict[Value, int]]:
    """Per step, what the page's script needs: the node processed, its label, the caption, the
    gradients that changed (node index, text) and the nodes done after it. Its size grows with
    the graph's edges, not with nodes x steps as a picture per step would."""
    index = {node: i for i, node in enumerate(order)}
    uses_left = {node: 0 for node in order}
    for node in order:
        for child in node._prev:
            uses_left[child] += 1
    records = []
    for step in steps:
        changed = {u.child: step.grads[u.child] for u in step.updates}
        if step.index == 0:
            changed = {step.node: step.grad, **changed}
        done = [index[step.node]]
        for update in step.updates:
            uses_left[update.child] -= 1
            if not uses_left[update.child] and not update.child._prev:  # a leaf is done after its last use
                done.append(index[update.child])
        records.append(
            {
                "node": index[step.node],
                "label": step.node.label,
                "caption": _caption(step),
                "grads": [[index[n], format_number(g)] for n, g in changed.items()],
                "updated": sorted({index[u.child] for u in step.updates}),
                "done": done,
            }
        )
    return records, index


def animate_backward(
    root: Value,
    path: PathLike,
    title: str | None = None,
    rankdir: str = "LR",
    max_nodes: int = ANIMATION_MAX_NODES,
) -> Path:
    """Write one self-contained HTML page that plays ``root.backward()`` step by step.

    root: a `Value` -> the path written (suffix .html or .htm).

    The graph is laid out once by dot and drawn once; a small script replays the
    `backward_steps` on it, in ``backward()``'s order: the node being processed is yellow,
    the children that just got gradient green, nodes already done blue, gradients fill in,
    and a panel beside the graph spells out the chain rule each step applies. A slider,
    play/pause, prev/next buttons and the keys (arrows, Home/End, Space) move through the
    steps; zoom buttons (and + / - / 0) scale the graph, which scrolls inside its own pane
    and never moves as the explanation changes. No network is needed: styles, script and
    picture are all in the file, which opens from file://.

    The page shows one backward pass from zero gradients (as after ``zero_grad()``); the
    graph's own ``.grad`` values are left as they were. Its size grows with the graph (about
    25 KB for the tutorial's neuron); graphs of more than ``max_nodes`` values (default
    1,000) are refused with a ValueError, as dot's layout would take too long: draw those with
    ``draw_dot``, which summarises big graphs.
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
            f"the graph has {len(order)} values, more than max_nodes={max_nodes} for a step-through page; "
            f"use draw_dot for big graphs or pass a larger max_nodes"
        )
    saved = {node: node.grad for node in order}
    try:
        for node in order:
            node.grad = 0.0
        steps = list(_backward_steps(root, 1.0))
        if not steps:  # a lone leaf: backward() only sets its grad, one step shows that
            steps = [BackwardStep(0, 1, root, 1.0, (), {root: 1.0})]
    finally:
        for node, value in saved.items():
            node.grad = value
    records, index = _step_records(order, steps)
    # Each grad text is padded to its widest value over all steps, in a monospace font, so
    # the one layout fits every step.
    width = {node: len(format_number(0.0)) for node in order}
    for record in records:
        for i, text in record["grads"]:  # type: ignore[attr-defined]
            width[order[i]] = max(width[order[i]], len(text))
    edges: list[tuple[str, str, str]] = []
    dot = _full_digraph(
        order,
        format="svg",
        rankdir=rankdir,
        grad_text=lambda node: format_number(0.0).rjust(width[node], _PAD),
        node_attr={"fontname": _MONO_FONT, "style": "filled", "fillcolor": _WAITING},
        edge_ids=True,
        edge_log=edges,
        stacked=True,  # a narrower drawing: more of it fits the window at a readable size
        graph_attr={"ranksep": "0.3", "nodesep": "0.2"},
    )
    try:
        svg = graphviz.pipe("dot", "svg", dot.source.encode("utf-8"), quiet=True).decode("utf-8")
    except graphviz.ExecutableNotFound:
        raise GraphvizMissingError(target, _write_source_beside(target, dot.source)) from None
    svg = _SVG_NOISE.sub("", svg).strip()
    # For each value: the edges into its op node and the edge op -> value, lit while it is processed.
    names = {f"v{i}": i for i in range(len(order))}
    lit: list[list[str]] = [[] for _ in order]
    for edge_id, tail, head in edges:
        owner = head[: -len("_op")] if head.endswith("_op") else tail[: -len("_op")]
        lit[names[owner]].append(edge_id)
    data = {"steps": records, "edges": lit, "pad": _PAD, "width": [width[node] for node in order]}
    page_title = title if title is not None else f"Backward pass of {_describe(root)}"
    page = _PAGE.format(
        title=html.escape(page_title),
        count=len(records),
        last=len(records) - 1,
        current=_CURRENT,
        updated=_UPDATED,
        done=_DONE,
        active=_EDGE_ACTIVE,
        svg=svg,
        first=records[0]["caption"],
        data=json.dumps(data, ensure_ascii=True).replace("</", "<\\/"),
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
  html, body {{ margin: 0; height: 100%; }}
  body {{ font: 15px/1.45 system-ui, sans-serif; color: #222; display: flex; flex-direction: column; }}
  header {{ padding: .5em 1em .4em; border-bottom: 1px solid #ddd; background: #fafafa; }}
  h1 {{ font-size: 1.15em; margin: 0 0 .35em; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }}
  .controls {{ display: flex; align-items: center; gap: .4em; flex-wrap: wrap; }}
  .controls input[type=range] {{ flex: 1; min-width: 8em; }}
  button {{ font-size: 14px; padding: .2em .7em; min-height: 2em; }}
  #counter {{ min-width: 7.5em; font-variant-numeric: tabular-nums; }}
  .legend {{ display: flex; flex-wrap: wrap; gap: .2em 1.2em; margin: .35em 0 0; font-size: 14px; color: #444; }}
  .legend i {{ display: inline-block; width: 1em; height: 1em; border: 1px solid #555;
               vertical-align: -.15em; margin-right: .35em; }}
  .legend kbd {{ font: 13px monospace; }}
  #stage {{ flex: 1; min-height: 0; display: grid; grid-template-columns: minmax(0, 1fr) 20em; }}
  #viewport {{ overflow: auto; background: #fff; display: grid; }}
  #canvas {{ padding: 12px; width: max-content; height: max-content; margin: auto; }}
  #canvas svg {{ display: block; }}
  #canvas svg text {{ font-family: Courier, monospace; }}
  #explain {{ overflow: auto; border-left: 1px solid #ddd; padding: .7em 1em; background: #fcfcfc; font-size: 15px; }}
  #explain ul {{ margin: .4em 0; padding-left: 1.2em; }}
  #explain li {{ font-family: ui-monospace, monospace; font-size: 14px; margin: .15em 0; }}
  .node.done > polygon, .node.done > ellipse {{ fill: {done}; }}
  .node.updated > polygon {{ fill: {updated}; }}
  .node.current > polygon, .node.current > ellipse {{ fill: {current}; }}
  .node.current > ellipse {{ stroke: {active}; stroke-width: 2; }}
  .edge.active > path {{ stroke: {active}; stroke-width: 2.5; }}
  .edge.active > polygon {{ fill: {active}; stroke: {active}; }}
  @media (max-width: 900px) {{
    #stage {{ grid-template-columns: minmax(0, 1fr); grid-template-rows: minmax(0, 1fr) 11em; }}
    #explain {{ border-left: 0; border-top: 1px solid #ddd; }}
  }}
</style>
</head>
<body>
<header>
<h1 title="{title}">{title}</h1>
<div class="controls">
  <button id="prev" type="button" title="previous step (Left arrow)">&#9664; Prev</button>
  <button id="play" type="button" title="play / pause (Space)">&#9654; Play</button>
  <button id="next" type="button" title="next step (Right arrow)">Next &#9654;</button>
  <input id="slider" type="range" min="0" max="{last}" value="0" step="1" aria-label="step">
  <span id="counter">Step 1 / {count}</span>
  <button id="zoom-out" type="button" title="zoom out (-)" aria-label="zoom out">&minus;</button>
  <span id="zoom-level" title="zoom">100%</span>
  <button id="zoom-in" type="button" title="zoom in (+)" aria-label="zoom in">+</button>
  <button id="zoom-fit" type="button" title="fit the graph in the window (0)">Fit</button>
</div>
<p class="legend">
  <span><i style="background:{current}"></i>being processed</span>
  <span><i style="background:{updated}"></i>gradient just received</span>
  <span><i style="background:{done}"></i>done</span>
  <span><i style="background:#fff"></i>waiting</span>
  <span><kbd>&larr;</kbd> <kbd>&rarr;</kbd> step, <kbd>Home</kbd> <kbd>End</kbd>, <kbd>Space</kbd> play, <kbd>+</kbd> <kbd>-</kbd> <kbd>0</kbd> zoom</span>
</p>
</header>
<div id="stage" data-count="{count}">
<div id="viewport"><div id="canvas">
{svg}
</div></div>
<section id="explain" aria-live="polite">{first}</section>
</div>
<noscript><p style="padding:0 1em">The steps need JavaScript; the graph above shows the values before backward().</p></noscript>
<script type="application/json" id="steps">{data}</script>
<script>
{script}
</script>
</body>
</html>
"""

_SCRIPT = """(function () {
  var data = JSON.parse(document.getElementById('steps').textContent);
  var steps = data.steps;
  var svg = document.querySelector('#canvas svg');
  var viewport = document.getElementById('viewport');
  var slider = document.getElementById('slider');
  var counter = document.getElementById('counter');
  var explain = document.getElementById('explain');
  var play = document.getElementById('play');
  var prev = document.getElementById('prev');
  var next = document.getElementById('next');
  var zoomLevel = document.getElementById('zoom-level');
  var nodes = [], ops = [], gradTexts = [], edges = [];
  for (var i = 0; i < data.width.length; i++) {
    var g = document.getElementById('v' + i);
    nodes.push(g);
    ops.push(document.getElementById('v' + i + '_op'));
    var texts = g ? g.querySelectorAll('text') : [];
    var grad = null;
    for (var t = 0; t < texts.length; t++) { if (texts[t].textContent.indexOf('grad') === 0) { grad = texts[t]; } }
    gradTexts.push(grad);
    edges.push(data.edges[i].map(function (id) { return document.getElementById(id); }));
  }
  function pad(text, width) { while (text.length < width) { text = data.pad + text; } return text; }
  function setClass(el, name, on) { if (el) { el.classList.toggle(name, on); } }
  var current = 0, timer = null;
  function show(k) {
    k = Math.max(0, Math.min(steps.length - 1, k));
    var grads = [], done = [];
    for (var n = 0; n < nodes.length; n++) { grads.push('0.0000'); done.push(false); }
    for (var s = 0; s <= k; s++) {
      steps[s].grads.forEach(function (pair) { grads[pair[0]] = pair[1]; });
      if (s < k) { steps[s].done.forEach(function (n) { done[n] = true; }); }
    }
    var step = steps[k], updated = {};
    step.updated.forEach(function (n) { updated[n] = true; });
    for (n = 0; n < nodes.length; n++) {
      var isCurrent = n === step.node;
      setClass(nodes[n], 'current', isCurrent);
      setClass(nodes[n], 'updated', !isCurrent && !!updated[n]);
      setClass(nodes[n], 'done', !isCurrent && !updated[n] && done[n]);
      setClass(ops[n], 'current', isCurrent);
      setClass(ops[n], 'done', !isCurrent && done[n]);
      edges[n].forEach(function (e) { setClass(e, 'active', isCurrent); });
      if (gradTexts[n]) { gradTexts[n].textContent = 'grad ' + pad(grads[n], data.width[n]); }
    }
    current = k;
    slider.value = String(k);
    counter.textContent = 'Step ' + (k + 1) + ' / ' + steps.length;
    explain.innerHTML = step.caption;
    prev.disabled = k === 0;
    next.disabled = k === steps.length - 1;
    follow([nodes[step.node], ops[step.node]]);
  }
  function follow(els) {
    // keep the node being processed (and its op) in view when the graph is bigger than its pane
    var rects = els.filter(Boolean).map(function (el) { return el.getBoundingClientRect(); });
    if (!rects.length) { return; }
    var box = {
      left: Math.min.apply(null, rects.map(function (r) { return r.left; })),
      right: Math.max.apply(null, rects.map(function (r) { return r.right; })),
      top: Math.min.apply(null, rects.map(function (r) { return r.top; })),
      bottom: Math.max.apply(null, rects.map(function (r) { return r.bottom; }))
    };
    var pane = viewport.getBoundingClientRect();
    if (box.left < pane.left || box.right > pane.right) {
      viewport.scrollLeft += box.left - pane.left - (pane.width - (box.right - box.left)) / 2;
    }
    if (box.top < pane.top || box.bottom > pane.bottom) {
      viewport.scrollTop += box.top - pane.top - (pane.height - (box.bottom - box.top)) / 2;
    }
  }
  // zoom: the drawing's own size (in CSS px) times a factor
  var box = svg.viewBox.baseVal, natural = {w: box.width * 4 / 3, h: box.height * 4 / 3}, zoom = 1;
  function setZoom(z) {
    zoom = Math.max(0.2, Math.min(4, z));
    svg.setAttribute('width', (natural.w * zoom).toFixed(1) + 'px');
    svg.setAttribute('height', (natural.h * zoom).toFixed(1) + 'px');
    zoomLevel.textContent = Math.round(zoom * 100) + '%';
  }
  function fit() {
    var w = viewport.clientWidth - 24, h = viewport.clientHeight - 24;
    return Math.min(w / natural.w, h / natural.h);
  }
  document.getElementById('zoom-in').addEventListener('click', function () { setZoom(zoom * 1.25); });
  document.getElementById('zoom-out').addEventListener('click', function () { setZoom(zoom / 1.25); });
  document.getElementById('zoom-fit').addEventListener('click', function () { setZoom(fit()); });
  function stop() {
    if (timer !== null) { clearInterval(timer); timer = null; }
    play.innerHTML = '&#9654; Play';
  }
  function start() {
    if (current === steps.length - 1) { show(0); }
    play.innerHTML = '&#10074;&#10074; Pause';
    timer = setInterval(function () {
      show(current + 1);
      if (current >= steps.length - 1) { stop(); }
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
    if (e.ctrlKey || e.metaKey || e.altKey) { return; }
    if (e.key === 'ArrowRight') { stop(); show(current + 1); }
    else if (e.key === 'ArrowLeft') { stop(); show(current - 1); }
    else if (e.key === 'Home') { stop(); show(0); }
    else if (e.key === 'End') { stop(); show(steps.length - 1); }
    else if (e.key === ' ') { if (timer === null) { start(); } else { stop(); } }
    else if (e.key === '+' || e.key === '=') { setZoom(zoom * 1.25); }
    else if (e.key === '-') { setZoom(zoom / 1.25); }
    else if (e.key === '0') { setZoom(fit()); }
    else { return; }
    e.preventDefault();
  });
  // Start readable: fit the window, but never below 13 px text (14 pt at 70%) nor above 150%.
  setZoom(Math.max(0.7, Math.min(1.5, fit())));
  show(0);
})();"""
