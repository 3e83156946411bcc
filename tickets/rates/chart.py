"""Charts as inline SVG drawn on the server (the 12-week trend, counts by unit): no CDN, no JavaScript."""
from __future__ import annotations

from markupsafe import Markup, escape

from ..services.rates import Measure

WIDTH, HEIGHT = 340, 170
LEFT, RIGHT, TOP, BOTTOM = 40, 10, 12, 26
COLOURS = {"on_time_handling": "#1a4fa0", "resolution": "#1f7a3a", "satisfaction": "#b4232a",
           "first_time_satisfaction": "#8a5a00"}


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def line_chart(weeks: list[dict], measure: Measure, title: str) -> Markup:
    """One measure's weekly percentage: a line through the weeks that have a denominator."""
    n = len(weeks)
    pw, ph = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(i: int) -> float:
        return LEFT + (pw * i / (n - 1) if n > 1 else pw / 2)

    def y(pct: float) -> float:
        return TOP + ph * (1 - pct / 100)

    colour = COLOURS.get(measure.key, "#1d2433")
    chart_id = f"trend-{measure.key}"
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
             f'height="{HEIGHT}" role="img" aria-labelledby="{chart_id}-title" class="trend" '
             f'data-testid="{chart_id}"><title id="{chart_id}-title">{escape(title)}</title>']
    for pct in (0, 50, 100):
        parts.append(f'<line x1="{LEFT}" y1="{y(pct):.1f}" x2="{WIDTH - RIGHT}" y2="{y(pct):.1f}" '
                     f'stroke="#d9dee7" stroke-width="1"/>'
                     f'<text x="{LEFT - 4}" y="{y(pct) + 4:.1f}" text-anchor="end" font-size="10" '
                     f'fill="#5b6475">{pct} %</text>')
    for i, week in enumerate(weeks):
        # Every other week is labelled, counting back from the last one.
        if (n - 1 - i) % 2 == 0:
            parts.append(f'<text x="{x(i):.1f}" y="{HEIGHT - 8}" text-anchor="middle" font-size="10" '
                         f'fill="#5b6475">{escape(week["unit"].split("-")[-1])}</text>')
    # The line breaks at a week without a denominator: nothing to measure is not 0 %.
    segment: list[str] = []
    segments = [segment]
    points = []
    for i, week in enumerate(weeks):
        num, den = week[measure.numerator], week[measure.denominator]
        if not den:
            segment = []
            segments.append(segment)
            continue
        pct = 100 * num / den
        segment.append(f"{x(i):.1f},{y(pct):.1f}")
        label = f"{week['unit']}: {num} / {den} = {_fmt(pct)} %"
        points.append(f'<circle cx="{x(i):.1f}" cy="{y(pct):.1f}" r="3" fill="{colour}" '
                      f'data-week="{escape(week["unit"])}" data-value="{_fmt(pct)}">'
                      f'<title>{escape(label)}</title></circle>')
    for seg in segments:
        if len(seg) > 1:
            parts.append(f'<polyline points="{" ".join(seg)}" fill="none" stroke="{colour}" stroke-width="2"/>')
    parts += points
    parts.append("</svg>")
    return Markup("".join(parts))  # nosec B704  # every value above is a number we format or passed through escape()


BAR_ROW, BAR_WIDTH = 34, 360


def bar_chart(rows: list[tuple[str, int]], title: str, key: str, empty: str = "", colour: str = "#1a4fa0") -> Markup:
    """Counts by unit as horizontal bars: the unit's name above its bar, the count at the bar's end."""
    most = max((v for _label, v in rows), default=0) or 1
    bar_max = BAR_WIDTH - 40
    height = BAR_ROW * max(len(rows), 1) + 4
    chart_id = f"bars-{key}"
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {BAR_WIDTH} {height}" width="{BAR_WIDTH}" '
             f'height="{height}" role="img" aria-labelledby="{chart_id}-title" class="bars" '
             f'data-testid="{chart_id}"><title id="{chart_id}-title">{escape(title)}</title>']
    for i, (label, value) in enumerate(rows):
        y = BAR_ROW * i
        w = bar_max * value / most
        parts.append(f'<text x="0" y="{y + 13}" font-size="12" fill="#1d2433">{escape(label)}</text>'
                     f'<rect x="0" y="{y + 17}" width="{w:.1f}" height="12" fill="{colour}" '
                     f'data-unit="{escape(label)}" data-value="{int(value)}"><title>{escape(label)}: {int(value)}'
                     f'</title></rect>'
                     f'<text x="{w + 4:.1f}" y="{y + 28}" font-size="12" fill="#5b6475">{int(value)}</text>')
    if not rows:
        parts.append(f'<text x="0" y="13" font-size="12" fill="#5b6475">{escape(empty)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # nosec B704  # every value above is a number we format or passed through escape()
