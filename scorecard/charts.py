"""SVG charts written directly: a line, a target, markers and axis labels are all a scorecard chart has.
Measured against matplotlib (the first choice): 50-90 ms a chart there, ~9 s for an LA's two editions and
~40 min for all 153 LAs; under 1 ms here. Each chart is an <img> beside its data table and a text
alternative, so its own markup carries no meaning the page does not give in words."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from html import escape

from scorecard.data import Kpi, Point

INK, MUTED, GRID, TARGET, GAP = "#0b0c0c", "#505a5f", "#e6e6e6", "#1d70b8", "#c8c8c8"
FONT = 'font-family="DejaVu Sans, Arial, sans-serif"'
LEGEND = {"feed": "Automated feed", "aggregate_feed": "Aggregate feed", "manual": "Manual scorecard"}


@dataclass(frozen=True)
class _Frame:
    """Plot area inside the image, and the value range it shows."""

    left: float
    top: float
    width: float
    height: float
    months: int
    top_value: float

    def x(self, index: int) -> float:
        return self.left + (index + 0.5) * self.width / self.months

    def y(self, value: float) -> float:
        return self.top + self.height * (1 - value / self.top_value)


def trend(kpi: Kpi) -> str:
    """24 months: the line, the target (dashed), manual months as diamonds, aggregate-feed months as
    squares, months without a value as hatched bands."""
    return _line_chart(
        kpi.series, kpi.unit, kpi.target, f"Target {_number(kpi.target)}" if kpi.target is not None else ""
    )


def automation(coverage: list[dict], goal: float = 80.0) -> str:
    points = [Point(c["period_start"], c["pct_automated"], None, None, "feed", None, None, False) for c in coverage]
    return _line_chart(points, "percent", goal, f"Partnership goal {goal:.0f}%", legend=False)


def sparkline(points: list[Point], width: int = 154, height: int = 38) -> str:
    frame = _Frame(2, 4, width - 8, height - 8, len(points), _top_value([p.value for p in points], None, "count"))
    low = min((p.value for p in points if p.value is not None), default=0.0)
    if frame.top_value > 0 and low > 0:  # a sparkline shows the shape: spread the values over its height
        span = max(frame.top_value - low, 1e-9)
        frame = _Frame(2, 4, width - 8, height - 8, len(points), span)
        values = [None if p.value is None else p.value - low for p in points]
    else:
        values = [p.value for p in points]
    body = [f'<path d="{_path(frame, values)}" fill="none" stroke="{INK}" stroke-width="1.5"/>']
    if values and values[-1] is not None:
        body.append(
            f'<circle cx="{frame.x(len(values) - 1):.1f}" cy="{frame.y(values[-1]):.1f}" r="2.5" fill="{INK}"/>'
        )
    return _svg(width, height, body)


def _line_chart(points: list[Point], unit: str, target: float | None, target_label: str, legend: bool = True) -> str:
    width, height = 640, 240
    values = [p.value for p in points]
    frame = _Frame(46, 10, 430, height - 44, len(points), _top_value(values, target, unit))
    body = [
        '<defs><pattern id="gap" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
        '<rect width="6" height="6" fill="#f3f2f1"/>'
        f'<line x1="0" y1="0" x2="0" y2="6" stroke="{GAP}" stroke-width="3"/>'
        "</pattern></defs>"
    ]
    for index, value in enumerate(values):
        if value is None:
            left = frame.x(index) - frame.width / frame.months / 2
            body.append(f'<rect x="{left:.1f}" y="{frame.top}" width="{frame.width / frame.months:.1f}" '
                        f'height="{frame.height}" fill="url(#gap)"/>')  # fmt: skip
    body += _y_axis(frame, unit)
    body += _x_axis(frame, [p.period_start for p in points])
    if target is not None:
        y = frame.y(min(target, frame.top_value))
        body.append(f'<line x1="{frame.left}" y1="{y:.1f}" x2="{frame.left + frame.width}" y2="{y:.1f}" '
                    f'stroke="{TARGET}" stroke-width="1.5" stroke-dasharray="6 4"/>')  # fmt: skip
    body.append(f'<path d="{_path(frame, values)}" fill="none" stroke="{INK}" stroke-width="1.8"/>')
    for index, point in enumerate(points):
        if point.value is not None:
            body.append(_marker(point.provenance, frame.x(index), frame.y(point.value)))
    entries = [(_marker(p, 0, 0), label) for p, label in LEGEND.items() if any(q.provenance == p for q in points)]
    if not legend:
        entries = []
    if any(v is None for v in values):
        entries.append(('<rect x="-5" y="-5" width="10" height="10" fill="url(#gap)" stroke="#b1b4b6"/>', "No value"))
    if target is not None:
        dash = f'<line x1="-9" y1="0" x2="9" y2="0" stroke="{TARGET}" stroke-width="1.5" stroke-dasharray="6 4"/>'
        entries.append((dash, target_label))
    for row, (symbol, label) in enumerate(entries):
        y = frame.top + 8 + row * 18
        body.append(f'<g transform="translate({frame.left + frame.width + 22},{y})">{symbol}</g>')
        body.append(f'<text x="{frame.left + frame.width + 36}" y="{y + 4}" font-size="11" fill="{INK}">'
                    f"{escape(label)}</text>")  # fmt: skip
    return _svg(width, height, body)


def _marker(provenance: str, x: float, y: float) -> str:
    if provenance == "manual":
        return (f'<path d="M{x:.1f} {y - 5:.1f} L{x + 5:.1f} {y:.1f} L{x:.1f} {y + 5:.1f} L{x - 5:.1f} {y:.1f} Z" '
                f'fill="#fff" stroke="{INK}" stroke-width="1.5"/>')  # fmt: skip
    if provenance == "aggregate_feed":
        return (f'<rect x="{x - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" fill="#fff" stroke="{INK}" '
                'stroke-width="1.5"/>')  # fmt: skip
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{INK}"/>'


def _y_axis(frame: _Frame, unit: str) -> list[str]:
    lines = []
    for step in range(5):
        value = frame.top_value * step / 4
        y = frame.y(value)
        lines.append(f'<line x1="{frame.left}" y1="{y:.1f}" x2="{frame.left + frame.width}" y2="{y:.1f}" '
                     f'stroke="{GRID if step else MUTED}" stroke-width="1"/>')  # fmt: skip
        lines.append(f'<text x="{frame.left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end" fill="{MUTED}">'
                     f"{_number(value)}{'%' if unit == 'percent' else ''}</text>")  # fmt: skip
    return lines


def _x_axis(frame: _Frame, months: list[dt.date]) -> list[str]:
    bottom = frame.top + frame.height
    lines = []
    for index, month in enumerate(months):
        if month.month in (1, 4, 7, 10):
            x = frame.x(index)
            lines.append(f'<line x1="{x:.1f}" y1="{bottom}" x2="{x:.1f}" y2="{bottom + 4}" stroke="{MUTED}"/>')
            lines.append(f'<text x="{x:.1f}" y="{bottom + 17}" font-size="11" text-anchor="middle" fill="{MUTED}">'
                         f"{month:%b %y}</text>")  # fmt: skip
    return lines


def _path(frame: _Frame, values: list[float | None]) -> str:
    """The line through the known values, broken where a month has none."""
    parts, pen_down = [], False
    for index, value in enumerate(values):
        if value is None:
            pen_down = False
            continue
        parts.append(f"{'L' if pen_down else 'M'}{frame.x(index):.1f} {frame.y(value):.1f}")
        pen_down = True
    return " ".join(parts) or "M0 0"


def _top_value(values: list[float | None], target: float | None, unit: str) -> float:
    if unit == "percent":
        return 100.0
    highest = max([v for v in values if v is not None] + ([target] if target is not None else []), default=0.0)
    if highest <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(highest))
    return next(m * magnitude for m in (1, 1.2, 1.6, 2, 2.5, 3, 4, 5, 6, 8, 10) if m * magnitude >= highest)


def _number(value: float) -> str:
    return f"{value:,.1f}".removesuffix(".0")


def _svg(width: int, height: int, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" {FONT}>' + "".join(body) + "</svg>\n"
    )
