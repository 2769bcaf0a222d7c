"""``scratchgrad demo``: the tutorial end to end, its numbers printed and its pictures written."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Iterable

from scratchgrad import tutorial
from scratchgrad.extras import install_hint
from scratchgrad.cli.common import (
    EXIT_OK,
    CommandFailed,
    Subcommand,
    Written,
    check_targets,
    output_folder,
    say,
    warn,
)


# Every file the demo may write (the .dot files stand in for pictures without Graphviz).
OUTPUTS = [
    f"{stem}{suffix}"
    for stem in ("tutorial_L", "tutorial_L_grads", "tutorial_neuron", "tutorial_neuron_backward")
    for suffix in (".svg", ".png", ".dot")
] + ["tutorial_neuron_steps.html", "tutorial_neuron_steps.dot", "activations.png", "tutorial_mlp_loss.png",
     "tutorial_mlp.json"]  # fmt: skip


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out", default="out", metavar="DIR", help="folder for the pictures and the model (default: out)"
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=0,
        metavar="N",
        help="random.seed(N) before the MLP draws its initial weights, as the tutorial does (default: 0)",
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="no progress bar (there is one only when stderr is a terminal)"
    )


class Pictures:
    """Draws graphs into the output folder; without Graphviz, writes each .dot source once."""

    def __init__(self, out: Path, written: Written) -> None:
        self.out = out
        self.written = written
        self.missing: list[str] = []

    def draw(self, root: Any, stem: str, suffixes: Iterable[str] = (".svg", ".png")) -> None:
        from scratchgrad import viz

        for suffix in suffixes:
            path = self.out / f"{stem}{suffix}"
            try:
                self.written.add(viz.render(viz.draw_dot(root), path))
            except viz.GraphvizMissingError as error:
                self.written.add(error.source_path)
                self.missing.append(str(path))
                return  # the other formats would only write the same .dot again

    def steps(self, root: Any, stem: str, title: str) -> None:
        from scratchgrad import step_through, viz

        path = self.out / f"{stem}.html"
        try:
            self.written.add(step_through.animate_backward(root, path, title=title))
        except viz.GraphvizMissingError as error:
            self.written.add(error.source_path)
            self.missing.append(str(path))


def _expression(pictures: Pictures) -> None:
    say("== 1. An expression: L = (a*b + c) * f, the tutorial's first graph")
    nodes = tutorial.expression()
    L = nodes["L"]
    say(f"L = {L.data}")
    pictures.draw(L, "tutorial_L")
    manual = tutorial.manual_gradients(nodes)
    say("gradients by hand (the chain rule, node by node):")
    say("  " + "  ".join(f"{name} {grad}" for name, grad in manual.items()))
    pictures.draw(L, "tutorial_L_grads")
    for node in nodes.values():
        node.grad = 0.0
    L.backward()
    automatic = {name: node.grad for name, node in nodes.items()}
    if automatic != manual:
        raise CommandFailed(f"backward() disagrees with the hand-worked gradients: {automatic} vs {manual}")
    say("L.backward() gives the same gradients")


def _neuron(pictures: Pictures) -> dict[str, float]:
    say("")
    say("== 2. A neuron: o = tanh(x1*w1 + x2*w2 + b)")
    nodes = tutorial.neuron()
    o = nodes["o"]
    pictures.draw(o, "tutorial_neuron")
    pictures.steps(o, "tutorial_neuron_steps", "The tutorial's neuron: backward() step by step")
    o.backward()
    pictures.draw(o, "tutorial_neuron_backward")
    say(o.data)
    say("---")
    grads = {name: nodes[name].grad for name in ("x2", "w2", "x1", "w1")}
    for name, grad in grads.items():
        say(name, grad)
    return {"o": float(o.data), **grads}


def _torch_check(ours: dict[str, float]) -> bool | None:
    check = tutorial.torch_check(ours)
    if check is None:
        say(f"PyTorch check skipped: torch is not installed (install it with {install_hint('torch')})")
        return None
    verdict = "agrees" if check.agrees else f"DISAGREES (largest difference {check.largest_difference:.3g})"
    numbers = ", ".join(f"{name} {value}" for name, value in check.theirs.items())
    say(f"PyTorch {check.version} (float64) {verdict}: {numbers}")
    return check.agrees


def _mlp(out: Path, written: Written, seed: int, progress: bool | None) -> None:
    from scratchgrad import plots

    say("")
    say(
        f"== 3. The tutorial's MLP(3, [4, 4, 1]) on its 4 samples: {tutorial.MLP_STEPS} steps, "
        f"lr {tutorial.MLP_LR}, squared error"
    )
    run = tutorial.train_mlp(seed=seed, progress=progress)
    last = len(run.losses) - 1
    for k in sorted({0, 10, 20, 30, 40, last}):
        say(f"step {k:2d}  loss {run.losses[k]:.6f}")
    written.add(plots.plot_loss_curve(run.losses, out / "tutorial_mlp_loss.png", title="The tutorial's MLP(3, [4, 4, 1])"))
    model_path = out / "tutorial_mlp.json"
    run.model.save(model_path)
    written.add(model_path)
    say(f"prediction for {tutorial.QUERY}: {run.predict_query()}")


def run(args: argparse.Namespace) -> int:
    from scratchgrad import plots

    out = output_folder(args.out)
    check_targets(out, OUTPUTS)
    written = Written()
    pictures = Pictures(out, written)
    _expression(pictures)
    agrees = _torch_check(_neuron(pictures))
    written.add(plots.plot_activations(out / "activations.png"))
    _mlp(out, written, args.seed, progress=False if args.no_progress else None)  # a bar only on a terminal
    say("")
    written.report(f"wrote {len(written.paths)} files:")
    if pictures.missing:
        from scratchgrad.viz import INSTALL_HINT

        warn(
            f"{len(pictures.missing)} pictures could not be drawn because Graphviz's `dot` is missing; "
            f"their .dot sources were written instead. {INSTALL_HINT}"
        )
    if agrees is False:
        raise CommandFailed("scratchgrad and PyTorch disagree on the tutorial's neuron (a bug: please report it)")
    return EXIT_OK


DEMO = Subcommand(
    name="demo",
    summary="run the tutorial end to end and write its pictures",
    description=(
        "Run the tutorial Neural Network from Scratch (after Andrej Karpathy's micrograd lecture) end "
        "to end: the expression L = (a*b + c) * f with its gradients worked out by hand; the neuron "
        "tanh(x1*w1 + x2*w2 + b) before and after backward(), checked against PyTorch when it is "
        "installed; the tutorial's MLP(3, [4, 4, 1]) trained on its 4 samples (50 steps, lr 0.1, "
        "squared error) and its prediction for [4, 5, -3]. Writes the graph pictures (SVG and PNG), "
        "a step-through page of the neuron's backward pass (HTML), the activation functions, the loss "
        "curve and the trained model (JSON) into --out, and lists them."
    ),
    add_arguments=add_arguments,
    run=run,
)
