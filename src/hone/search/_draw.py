"""Pictures of a search tree: Mermaid text, and a PNG through matplotlib.

The path to the best node is highlighted in both. Large trees are cut at ``max_nodes`` (the
earliest nodes are kept, so every kept node's parent is kept too).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from hone.errors import ConfigError
from hone.search._state import Node, SearchState

__all__ = ["plot_tree", "to_mermaid"]

Label = Callable[[Node[Any]], str]


def _default_label(node: Node[Any]) -> str:
    if node.is_root:
        return "root"
    return f"#{node.id} {node.action} {node.score:.2f}"


def _best_path(state: SearchState[Any]) -> set[int]:
    best = state.best()
    return set(state.path(best.id)) | {0} if best else {0}


def to_mermaid(state: SearchState[Any], *, label: Label | None = None, max_nodes: int = 300) -> str:
    """The tree as a Mermaid flowchart (``graph TD``), the best node's path highlighted."""
    name = label or _default_label
    kept = state.nodes[: max_nodes + 1]
    best = _best_path(state)
    lines = ["graph TD"]
    for node in kept:
        text = name(node).replace('"', "'")
        lines.append(f'    n{node.id}["{text}"]')
    for node in kept[1:]:
        lines.append(f"    n{node.parent} --> n{node.id}")
    on_path = " ".join(f"n{i}" for i in sorted(best) if i < len(kept))
    lines.append("    classDef best fill:#fde68a,stroke:#b45309,stroke-width:2px")
    lines.append(f"    class {on_path.replace(' ', ',')} best")
    if len(state.nodes) > len(kept):
        lines.append(f'    more["... {len(state.nodes) - len(kept)} more nodes"]')
    return "\n".join(lines) + "\n"


def _layout(nodes: list[Node[Any]]) -> dict[int, tuple[float, float]]:
    """x: leaves in depth-first order, parents centred over their children; y: -depth."""
    kept = {n.id for n in nodes}
    x: dict[int, float] = {}
    next_leaf = 0.0
    # Iterative post-order walk (deep trees would overflow recursion).
    stack: list[tuple[int, bool]] = [(0, False)]
    while stack:
        node_id, expanded = stack.pop()
        children = [c for c in nodes[node_id].children if c in kept]
        if not children:
            x[node_id] = next_leaf
            next_leaf += 1.0
        elif expanded:
            x[node_id] = sum(x[c] for c in children) / len(children)
        else:
            stack.append((node_id, True))
            stack.extend((c, False) for c in reversed(children))
    return {n.id: (x[n.id], -float(n.depth)) for n in nodes}


def plot_tree(
    state: SearchState[Any],
    path: str | Path,
    *,
    label: Label | None = None,
    max_nodes: int = 300,
    title: str | None = None,
) -> Path:
    """Draw the tree to a PNG: nodes coloured by score, the best node's path highlighted.
    Needs matplotlib (``pip install 'hone[train]'``)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - matplotlib is in the train extra
        raise ConfigError("plot_tree needs matplotlib: pip install 'hone[train]'") from exc
    nodes = state.nodes[: max_nodes + 1]
    where = _layout(nodes)
    best = _best_path(state)
    leaves = sum(1 for n in nodes if not n.children) or 1
    depth = max(n.depth for n in nodes)
    fig, ax = plt.subplots(figsize=(min(40.0, 2.0 + 0.5 * leaves), 1.5 + 1.1 * depth))
    for node in nodes[1:]:
        assert node.parent is not None  # every node but the root has one
        (x0, y0), (x1, y1) = where[node.parent], where[node.id]
        on_best = node.id in best
        ax.plot(
            [x0, x1],
            [y0, y1],
            color="#b45309" if on_best else "#9ca3af",
            linewidth=2.2 if on_best else 0.8,
            zorder=1,
        )
    xs = [where[n.id][0] for n in nodes[1:]]
    ys = [where[n.id][1] for n in nodes[1:]]
    scores = [n.score for n in nodes[1:]]
    points = ax.scatter(
        xs,
        ys,
        c=scores,
        cmap="viridis",
        vmin=0.0,
        vmax=1.0,
        s=90,
        zorder=2,
        edgecolors=["#b45309" if n.id in best else "white" for n in nodes[1:]],
    )
    ax.scatter([where[0][0]], [0.0], c="black", s=60, zorder=2)
    if label is not None or len(nodes) <= 60:
        name = label or (lambda n: f"{n.score:.2f}")
        for node in nodes[1:]:
            x, y = where[node.id]
            ax.annotate(
                name(node),
                (x, y),
                textcoords="offset points",
                xytext=(0, 7),
                ha="center",
                fontsize=7,
            )
    fig.colorbar(points, ax=ax, label="score", shrink=0.8)
    ax.set_title(title or f"{state.algorithm}: {len(state)} nodes")
    ax.set_ylabel("depth")
    ax.set_yticks([-d for d in range(depth + 1)], [str(d) for d in range(depth + 1)])
    ax.set_xticks([])
    out = Path(path)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
