"""A training run's curves: the rows ``hone train`` writes to ``metrics.jsonl`` (one per
step, see :class:`hone.train.MetricsLogger`), drawn as small inline SVG line charts."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from hone.errors import ConfigError

__all__ = ["Curve", "TrainingRunView", "curve_svg", "read_metrics", "training_run_view"]

#: Curves shown first, in this order, when present; the others follow alphabetically.
PREFERRED = (
    "reward",
    "success",
    "eval_reward",
    "eval_success",
    "loss",
    "kl",
    "entropy",
    "grad_norm",
    "lr",
)
_W, _H = 300, 170
_LEFT, _RIGHT, _TOP, _BOTTOM = 58, 12, 26, 26


@dataclass(frozen=True, slots=True)
class Curve:
    """One metric over the steps: its finite points and its chart."""

    key: str
    points: list[tuple[float, float]]
    svg: str


@dataclass(frozen=True, slots=True)
class TrainingRunView:
    """The curves of one metrics log (an RL run, or its SFT phase)."""

    name: str
    path: str
    steps: int
    curves: list[Curve]


def read_metrics(path: str | Path) -> list[dict[str, float]]:
    """The rows of a ``metrics.jsonl`` file (``null`` cells become NaN).

    Raises:
        ConfigError: the file is missing, or a line is not a JSON object of numbers (the
            message names the line).
    """
    source = Path(path)
    if not source.is_file():
        raise ConfigError(f"no metrics file at {source}")
    rows: list[dict[str, float]] = []
    for number, line in enumerate(source.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if not isinstance(data, dict):
                raise TypeError(f"a JSON {type(data).__name__}, not an object")
            rows.append({str(k): math.nan if v is None else float(v) for k, v in data.items()})
        except (json.JSONDecodeError, TypeError, ValueError) as exc:
            raise ConfigError(f"{source}, line {number}: not a metrics row ({exc})") from exc
    return rows


def _ordered(keys: set[str]) -> list[str]:
    first = [k for k in PREFERRED if k in keys]
    return first + sorted(keys - set(first))


def _fmt(value: float) -> str:
    return f"{value:.3g}"


def curve_svg(key: str, points: Sequence[tuple[float, float]]) -> str:
    """One line chart: ``points`` as (step, value), with min/max ticks and the last value."""
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    if x1 == x0:
        x0, x1 = x0 - 1, x1 + 1
    if y1 == y0:
        pad = abs(y0) * 0.1 or 1.0
        y0, y1 = y0 - pad, y1 + pad
    width, height = _W - _LEFT - _RIGHT, _H - _TOP - _BOTTOM

    def at(x: float, y: float) -> tuple[float, float]:
        return (
            _LEFT + (x - x0) / (x1 - x0) * width,
            _TOP + (1 - (y - y0) / (y1 - y0)) * height,
        )

    placed = [(at(x, y), x, y) for x, y in points]
    line = " ".join(f"{px:.1f},{py:.1f}" for (px, py), _, _ in placed)
    dots = "".join(
        f'<circle cx="{px:.1f}" cy="{py:.1f}" r="2.5"><title>step {_fmt(x)}: {_fmt(y)}</title>'
        "</circle>"
        for (px, py), x, y in placed
    )
    grid = "".join(
        f'<line class="grid" x1="{_LEFT}" x2="{_W - _RIGHT}" y1="{_TOP + f * height:.1f}" '
        f'y2="{_TOP + f * height:.1f}"/><text class="tick" x="{_LEFT - 5}" '
        f'y="{_TOP + f * height + 4:.1f}" text-anchor="end">{_fmt(y1 - f * (y1 - y0))}</text>'
        for f in (0.0, 0.5, 1.0)
    )
    return (
        f'<svg class="curve" xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" '
        f'viewBox="0 0 {_W} {_H}" data-key="{escape(key)}">'
        f'<text class="ctitle" x="{_LEFT}" y="16">{escape(key)}</text>'
        f'<text class="clast" x="{_W - _RIGHT}" y="16" text-anchor="end">{_fmt(ys[-1])}</text>'
        f"{grid}"
        f'<text class="tick" x="{_LEFT}" y="{_H - 8}">{_fmt(xs[0])}</text>'
        f'<text class="tick" x="{_W - _RIGHT}" y="{_H - 8}" text-anchor="end">step '
        f"{_fmt(xs[-1])}</text>"
        f'<polyline class="cline" points="{line}"/>{dots}</svg>'
    )


def training_run_view(
    name: str, rows: Sequence[Mapping[str, float]], *, path: str = ""
) -> TrainingRunView:
    """The curves of ``rows`` (one per metric with at least one finite value), x = ``step``."""
    keys = {k for row in rows for k, v in row.items() if k != "step" and math.isfinite(v)}
    curves = []
    for key in _ordered(keys):
        points = [
            (float(row.get("step", i)), float(row[key]))
            for i, row in enumerate(rows)
            if key in row and math.isfinite(row[key])
        ]
        curves.append(Curve(key=key, points=points, svg=curve_svg(key, points)))
    return TrainingRunView(name=name, path=path, steps=len(rows), curves=curves)
