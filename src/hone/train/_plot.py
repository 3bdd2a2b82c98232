"""Training curves as a PNG (matplotlib's Agg canvas; no display, no global backend change)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["DEFAULT_PLOT_KEYS", "plot_metrics"]

#: The curves drawn by default, each in its own panel when present.
DEFAULT_PLOT_KEYS: tuple[str, ...] = ("reward", "success", "loss")


def plot_metrics(
    rows: Sequence[Mapping[str, float]],
    path: str | Path,
    *,
    keys: Sequence[str] = DEFAULT_PLOT_KEYS,
    x_key: str = "step",
) -> Path | None:
    """Draw one panel per metric in ``keys`` that appears in ``rows``; write a PNG to ``path``.

    Returns the path, or ``None`` when no row holds any of ``keys``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    present = [key for key in keys if any(key in row for row in rows)]
    if not present:
        return None
    figure = Figure(figsize=(4.0 * len(present), 3.2), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(present), squeeze=False)[0]
    for ax, key in zip(axes, present, strict=True):
        points = [(row.get(x_key, float(i)), row[key]) for i, row in enumerate(rows) if key in row]
        ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", markersize=2)
        ax.set_title(key)
        ax.set_xlabel(x_key)
        ax.grid(alpha=0.3)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=100)
    return out
