"""The report as one self-contained HTML page: inline CSS and SVG, no script, nothing fetched.

Pure functions from :class:`gitpar.core.report.Report` to text; every text from the
repository goes through :func:`html.escape`. Colour is never the only carrier of meaning:
each node, bar and row also says its status in words or a sign (see the legends).
The SVGs have a ``viewBox`` and scale to the page's width; the wide ones scroll
sideways on a phone rather than shrink their text away.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape

from gitpar.core.analysis import CRITICAL, STATUS_COLOURS
from gitpar.core.durations import format_duration
from gitpar.core.progress import parse_time
from gitpar.core.report import LockHold, Report, StreamReport

SIGNS = {"pending": "○", "in_progress": "▶", "blocked": "■", "completed": "✓", "failed": "✗"}
WORDS = {"pending": "pending", "in_progress": "in progress", "blocked": "blocked",
         "completed": "completed", "failed": "failed"}

# the dependency graph
NODE_W, NODE_H, COL_GAP, ROW_GAP, PAD = 190, 62, 70, 22, 16
# the timelines
WIDTH, LABEL_W, RIGHT, TOP, ROW_H = 1200, 190, 24, 66, 40


def render(report: Report) -> str:
    """The whole page."""
    title = f"gitpar report: {report.repo}"
    body = "\n".join([
        _header(report),
        _section("graph", "Dependency graph", _graph_legend() + _scroll(graph_svg(report))),
        _section("timeline", "Timeline: planned and actual",
                 _timeline_legend() + _scroll(timeline_svg(report))),
        _section("locks", "Locks", _locks(report)),
        _section("conflicts", "Forecast conflicts", _conflicts(report)),
        _section("queue", "Merge queue", _queue(report)),
        _section("resources", "Resources", _resources(report)),
        _section("streams", "Streams", _cards(report)),
        _footer(report),
    ])
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
            f"{body}\n</body>\n</html>\n")


# -- text helpers ---------------------------------------------------------------------------


def when(t: float | None, *, seconds: bool = True) -> str:
    """A moment for people: ``2026-11-22 12:40:05 UTC``."""
    if t is None:
        return "—"
    moment = dt.datetime.fromtimestamp(t, dt.timezone.utc)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC" if seconds else "%Y-%m-%d %H:%M UTC")


def _iso_text(text: str | None) -> str:
    moment = parse_time(text)
    return when(moment.timestamp()) if moment else (text or "—")


def _duration(seconds: float) -> str:
    return format_duration(max(0.0, seconds))


def status_words(status: str) -> str:
    return f"{SIGNS.get(status, '?')} {WORDS.get(status, status)}"


def _colours(status: str) -> tuple[str, str]:
    return STATUS_COLOURS.get(status, STATUS_COLOURS["pending"])


def stream_hue(name: str) -> str:
    """A stable colour per stream for the lock bars (its name is written beside it too)."""
    hue = zlib.crc32(name.encode("utf-8")) % 360
    return f"hsl({hue}, 55%, 62%)"


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _section(anchor: str, title: str, content: str) -> str:
    return f'<section id="{anchor}">\n<h2>{escape(title)}</h2>\n{content}\n</section>'


def _scroll(svg: str) -> str:
    return f'<div class="scroll">{svg}</div>'


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], cls: str = "") -> str:
    """A table; cells are HTML already (escape text before)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return (f'<div class="scroll"><table class="{cls}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table></div>")


def _badge(status: str) -> str:
    fill, border = _colours(status)
    return (f'<span class="badge" style="background:{fill};border-color:{border}">'
            f"{escape(status_words(status))}</span>")


# -- header and footer ----------------------------------------------------------------------


def _header(r: Report) -> str:
    counts: dict[str, int] = {}
    for s in r.streams:
        counts[s.status] = counts.get(s.status, 0) + 1
    summary = ", ".join(f"{n} {WORDS.get(st, st)}" for st, n in sorted(counts.items()))
    if r.eta_p50 is None:
        eta = "every stream is completed" if r.streams else "no streams in the plan"
    else:
        basis = "calibrated on finished streams" if r.eta_calibrated else "not calibrated yet"
        eta = (f"ETA P50 {escape(when(r.eta_p50, seconds=False))}, "
               f"P90 {escape(when(r.eta_p90, seconds=False))} ({basis})")
    path = (" → ".join(escape(n) for n in r.critical_path)) or "—"
    return (f"<header>\n<h1>gitpar report: {escape(r.repo)}</h1>\n"
            f'<p class="meta">generated {escape(when(r.now))} · base <code>{escape(r.base)}</code>'
            f" · schedule on {r.workers} worker{'s' if r.workers != 1 else ''}</p>\n"
            f"<p><strong>{len(r.streams)} streams</strong>: {escape(summary) or 'none'}</p>\n"
            f"<p><strong>{eta}</strong></p>\n"
            f"<p>critical path: {path}</p>\n"
            '<nav><a href="#graph">graph</a> <a href="#timeline">timeline</a> '
            '<a href="#locks">locks</a> <a href="#conflicts">conflicts</a> '
            '<a href="#streams">streams</a></nav>\n</header>')


def _footer(r: Report) -> str:
    notes = "".join(f"<li>{escape(n)}</li>" for n in r.notes)
    return (f"<footer>{f'<ul>{notes}</ul>' if notes else ''}"
            "<p>Made by <code>gitpar report --html</code>. Times in UTC.</p></footer>")


# -- the dependency graph -------------------------------------------------------------------


@dataclass(frozen=True)
class Box:
    x: float
    y: float


def graph_layout(r: Report) -> dict[str, Box]:
    """Nodes by wave, left to right; inside a wave, near the streams they depend on."""
    place: dict[str, Box] = {}
    deps = {s.name: s.depends_on for s in r.streams}
    for k, wave in enumerate(r.waves):
        def pull(name: str) -> tuple[float, str]:
            ys = [place[d].y for d in deps.get(name, ()) if d in place]
            return (sum(ys) / len(ys) if ys else 0.0, name)

        ordered = sorted(wave, key=pull) if k else wave
        for i, name in enumerate(ordered):
            place[name] = Box(PAD + k * (NODE_W + COL_GAP), PAD + i * (NODE_H + ROW_GAP))
    return place


def graph_svg(r: Report) -> str:
    place = graph_layout(r)
    if not place:
        return '<p class="empty">No streams in the plan.</p>'
    width = max(b.x for b in place.values()) + NODE_W + PAD
    height = max(b.y for b in place.values()) + NODE_H + PAD
    on_path = list(r.critical_path)
    hot = set(zip(on_path, on_path[1:], strict=False))
    parts = [f'<svg class="graph" viewBox="0 0 {width:.0f} {height:.0f}" width="100%" '
             f'style="max-width:{width:.0f}px" '
             f'role="img" aria-label="dependency graph of {len(place)} streams" '
             f'xmlns="http://www.w3.org/2000/svg">',
             "<defs>"
             '<marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
             'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker>'
             f'<marker id="arrow-hot" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" '
             f'markerHeight="6" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{CRITICAL}"/></marker>'
             "</defs>"]
    for dep, name in r.edges:
        if dep not in place or name not in place:
            continue
        a, b = place[dep], place[name]
        x1, y1, x2, y2 = a.x + NODE_W, a.y + NODE_H / 2, b.x, b.y + NODE_H / 2
        mid = (x1 + x2) / 2
        critical = (dep, name) in hot
        style = (f'stroke="{CRITICAL}" stroke-width="3.5" marker-end="url(#arrow-hot)"' if critical
                 else 'stroke="#777" stroke-width="1.5" marker-end="url(#arrow)"')
        parts.append(f'<path class="edge{" critical" if critical else ""}" '
                     f'data-from="{escape(dep)}" data-to="{escape(name)}" fill="none" {style} '
                     f'd="M{x1:.1f},{y1:.1f} C{mid:.1f},{y1:.1f} {mid:.1f},{y2:.1f} {x2:.1f},{y2:.1f}">'
                     f"<title>{escape(dep)} before {escape(name)}</title></path>")
    for s in r.streams:
        if s.name in place:
            parts.append(_node(s, place[s.name]))
    parts.append("</svg>")
    return "".join(parts)


def _node(s: StreamReport, box: Box) -> str:
    fill, border = _colours(s.status)
    stroke = (f'stroke="{CRITICAL}" stroke-width="4"' if s.critical
              else f'stroke="{border}" stroke-width="1.5"')
    second = status_words(s.status) + (f" {s.completion}%" if s.status not in ("pending", "completed") else "")
    third = f"est {_duration(s.estimate_s)}" + (" · ★ critical" if s.critical else "")
    x, y = box.x, box.y
    return (f'<g class="node{" critical" if s.critical else ""}" data-stream="{escape(s.name)}" '
            f'data-status="{escape(s.status)}">'
            f"<title>{escape(s.name)}: {escape(second)}; {escape(third)}</title>"
            f'<rect x="{x:.0f}" y="{y:.0f}" width="{NODE_W}" height="{NODE_H}" rx="8" '
            f'fill="{fill}" {stroke}/>'
            f'<text x="{x + 10:.0f}" y="{y + 20:.0f}" class="n">{escape(_short(s.name, 22))}</text>'
            f'<text x="{x + 10:.0f}" y="{y + 38:.0f}">{escape(second)}</text>'
            f'<text x="{x + 10:.0f}" y="{y + 54:.0f}" class="small">{escape(third)}</text></g>')


def _graph_legend() -> str:
    items = "".join(
        f'<li><span class="swatch" style="background:{f};border-color:{b}"></span>'
        f"{escape(status_words(st))}</li>" for st, (f, b) in STATUS_COLOURS.items())
    return (f'<ul class="legend">{items}<li><span class="swatch" style="border:3px solid {CRITICAL}">'
            "</span>★ critical path (thick red border and arrows)</li></ul>")


# -- the timelines --------------------------------------------------------------------------


@dataclass(frozen=True)
class Axis:
    """Time to x: ``t0`` at ``x0``, ``t1`` at ``x1``."""

    t0: float
    t1: float
    x0: float
    x1: float

    def x(self, t: float) -> float:
        span = self.t1 - self.t0
        return self.x0 + (t - self.t0) / span * (self.x1 - self.x0) if span > 0 else self.x0

    def bar(self, start: float, end: float, minimum: float = 3.0) -> tuple[float, float]:
        """x and width of ``start..end``, at least ``minimum`` wide so a short one shows."""
        x = self.x(start)
        return x, max(minimum, self.x(end) - x)


_STEPS = (1, 5, 15, 30, 60, 300, 900, 1800, 3600, 2 * 3600, 3 * 3600, 6 * 3600, 12 * 3600,
          86400, 2 * 86400, 7 * 86400, 14 * 86400, 30 * 86400)


def ticks(axis: Axis, most: int = 8) -> list[tuple[float, str]]:
    """Round moments along ``axis`` with their labels, at most ``most`` of them."""
    span = max(axis.t1 - axis.t0, 1.0)
    step = next((s for s in _STEPS if span / s <= most), _STEPS[-1])
    fmt = "%H:%M:%S" if step < 60 else ("%H:%M" if span < 86400 * 2 else "%m-%d %H:%M")
    if step >= 86400:
        fmt = "%Y-%m-%d"
    first = (axis.t0 // step + 1) * step
    out = []
    t = first
    while t <= axis.t1:
        out.append((t, dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime(fmt)))
        t += step
    return out


def timeline_axis(r: Report) -> Axis:
    moments = [r.now, r.origin]
    for s in r.streams:
        for span in (s.planned, s.forecast):
            if span:
                moments += [span.start, span.end]
        moments += [x for seg in s.actual for x in (seg.start, seg.end)]
    moments += [t for t in (r.eta_p50, r.eta_p90) if t is not None]
    t0, t1 = min(moments), max(moments)
    pad = (t1 - t0) * 0.02 or 60.0
    return Axis(t0 - pad, t1 + pad, LABEL_W, WIDTH - RIGHT)


@dataclass(frozen=True)
class Bar:
    stream: str
    kind: str  # planned | actual | forecast
    status: str
    x: float
    y: float
    w: float
    h: float
    start: float
    end: float


def timeline_bars(r: Report, axis: Axis | None = None) -> list[Bar]:
    """Every bar of the stream timeline, in stream order: planned above, actual and forecast
    below."""
    axis = axis or timeline_axis(r)
    bars: list[Bar] = []
    for i, s in enumerate(r.streams):
        top = TOP + i * ROW_H
        if s.planned:
            x, w = axis.bar(s.planned.start, s.planned.end)
            bars.append(Bar(s.name, "planned", s.status, x, top + 6, w, 12,
                            s.planned.start, s.planned.end))
        for seg in s.actual:
            x, w = axis.bar(seg.start, seg.end)
            bars.append(Bar(s.name, "actual", seg.status, x, top + 21, w, 14, seg.start, seg.end))
        if s.forecast and s.status != "completed":
            x, w = axis.bar(s.forecast.start, s.forecast.end)
            bars.append(Bar(s.name, "forecast", s.status, x, top + 21, w, 14,
                            s.forecast.start, s.forecast.end))
    return bars


def timeline_svg(r: Report) -> str:
    if not r.streams:
        return '<p class="empty">No streams in the plan.</p>'
    axis = timeline_axis(r)
    height = TOP + len(r.streams) * ROW_H + 12
    parts = [f'<svg class="timeline wide" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
             f'aria-label="timeline of {len(r.streams)} streams" xmlns="http://www.w3.org/2000/svg">',
             _patterns()]
    parts += _grid(axis, TOP - 8, height - 6)
    for i, s in enumerate(r.streams):
        top = TOP + i * ROW_H
        if i % 2:
            parts.append(f'<rect x="0" y="{top}" width="{WIDTH}" height="{ROW_H}" fill="#f6f6f6"/>')
        label = _short(s.name, 20) + (" ★" if s.critical else "")
        parts.append(f'<text x="6" y="{top + 16}" class="n">{escape(label)}</text>'
                     f'<text x="6" y="{top + 32}" class="small">{escape(status_words(s.status))}'
                     f"{escape(f' {s.completion}%' if s.status != 'pending' else '')}</text>")
        parts.append(f'<line x1="{LABEL_W}" x2="{WIDTH - RIGHT}" y1="{top + ROW_H}" y2="{top + ROW_H}" '
                     'stroke="#ddd"/>')
    for b in timeline_bars(r, axis):
        parts.append(_bar(b))
    parts += _marks(r, axis, height)
    parts.append("</svg>")
    return "".join(parts)


def _patterns() -> str:
    return ('<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
            'patternTransform="rotate(45)"><rect width="6" height="6" fill="#f4f4f4"/>'
            '<line x1="0" y1="0" x2="0" y2="6" stroke="#9e9e9e" stroke-width="2"/></pattern>'
            '<pattern id="stripes" width="8" height="8" patternUnits="userSpaceOnUse" '
            'patternTransform="rotate(-45)"><rect width="8" height="8" fill="#ffe0b2"/>'
            '<line x1="0" y1="0" x2="0" y2="8" stroke="#ef6c00" stroke-width="3"/></pattern></defs>')


def _grid(axis: Axis, y0: float, y1: float) -> list[str]:
    out = []
    for t, label in ticks(axis):
        x = axis.x(t)
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{y0}" y2="{y1}" stroke="#e3e3e3"/>'
                   f'<text x="{x:.1f}" y="{y0 - 4}" class="small tick" text-anchor="middle">{escape(label)}</text>')
    return out


def _bar(b: Bar) -> str:
    what = {"planned": "planned", "actual": WORDS.get(b.status, b.status), "forecast": "forecast"}[b.kind]
    tip = f"{b.stream}: {what} {when(b.start)} → {when(b.end)} ({_duration(b.end - b.start)})"
    if b.kind == "planned":
        look = 'fill="url(#hatch)" stroke="#757575" stroke-width="1"'
    elif b.kind == "forecast":
        look = 'fill="none" stroke="#424242" stroke-width="1.5" stroke-dasharray="5 3"'
    else:
        fill, border = _colours(b.status)
        fill = "url(#stripes)" if b.status == "blocked" else fill
        look = f'fill="{fill}" stroke="{border}" stroke-width="1.5"'
    mark = ""
    if b.kind == "actual" and b.status in ("completed", "failed"):
        mark = (f'<text x="{b.x + b.w + 3:.1f}" y="{b.y + b.h - 3:.1f}" class="small">'
                f"{escape(SIGNS[b.status])} {escape(WORDS[b.status])}</text>")
    return (f'<g class="bar" data-stream="{escape(b.stream)}" data-kind="{b.kind}" '
            f'data-status="{escape(b.status)}"><title>{escape(tip)}</title>'
            f'<rect x="{b.x:.1f}" y="{b.y:.1f}" width="{b.w:.1f}" height="{b.h:.1f}" rx="2" {look}/>'
            f"{mark}</g>")


def _marks(r: Report, axis: Axis, height: float) -> list[str]:
    out = []
    lines = [(r.now, "now", CRITICAL, "")]
    if r.eta_p50 is not None and r.eta_p90 is not None:
        lines += [(r.eta_p50, "ETA P50", "#1565c0", 'stroke-dasharray="6 3"'),
                  (r.eta_p90, "ETA P90", "#6a1b9a", 'stroke-dasharray="2 3"')]
    for k, (t, label, colour, dash) in enumerate(lines):
        x = axis.x(t)
        anchor = "end" if x > WIDTH - 120 else "start"
        dx = -4 if anchor == "end" else 4
        out.append(f'<g class="mark" data-mark="{escape(label)}"><line x1="{x:.1f}" x2="{x:.1f}" '
                   f'y1="{12 * k + 16}" y2="{height - 4}" stroke="{colour}" stroke-width="2" {dash}/>'
                   f'<text x="{x + dx:.1f}" y="{12 * k + 12}" class="small mark-label" '
                   f'text-anchor="{anchor}" fill="{colour}">{escape(label)} {escape(when(t, seconds=False)[11:])}'
                   "</text></g>")
    return out


def _timeline_legend() -> str:
    return ('<ul class="legend">'
            '<li><span class="swatch hatch"></span>upper bar: planned (the plan\'s schedule, '
            "every stream at its estimate)</li>"
            '<li><span class="swatch" style="background:#bbdefb;border-color:#1565c0"></span>'
            "lower bar: actual, from the state branch's history (striped: blocked; ✓ completed)</li>"
            '<li><span class="swatch dashed"></span>dashed: forecast (P50) of what remains, from now</li>'
            f'<li><span class="swatch line" style="border-color:{CRITICAL}"></span>now · '
            "blue dashed ETA P50 · purple dotted ETA P90 · ★ critical path</li></ul>")


# -- locks ----------------------------------------------------------------------------------


HOLDS_SHOWN = 100  # per file: the page shows its newest holds, whatever the state history's length


def shown_holds(r: Report) -> tuple[list[LockHold], int]:
    """The lock holds the page shows: each file's ``HOLDS_SHOWN`` newest, and every hold
    held now; how many older ones it leaves out (``gitpar report --json`` has them all),
    with those :func:`gitpar.core.report.gather` already left out. The page grows with
    new work, not with the length of the state history."""
    by_path: dict[str, list[LockHold]] = {}
    for h in r.lock_holds:
        by_path.setdefault(h.path, []).append(h)
    shown, hidden = [], r.lock_holds_left_out
    for holds in by_path.values():
        newest = sorted(holds, key=lambda h: h.start)
        cut = max(0, len(newest) - HOLDS_SHOWN)
        kept = [h for i, h in enumerate(newest) if i >= cut or h.live]
        hidden += len(newest) - len(kept)
        shown += kept
    return shown, hidden


def lock_rows(r: Report) -> list[str]:
    """The locked paths, one timeline row each, in path order."""
    return sorted({h.path for h in r.lock_holds} | {lk.path for lk in r.locks_now})


def locks_svg(r: Report, holds: Sequence[LockHold] | None = None) -> str:
    """The lock timeline of ``holds`` (default: :func:`shown_holds`)."""
    rows = lock_rows(r)
    if holds is None:
        holds = shown_holds(r)[0]
    if not holds:
        return ""
    moments = [r.now] + [t for h in holds for t in (h.start, h.end)]
    t0, t1 = min(moments), max(moments)
    pad = (t1 - t0) * 0.02 or 5.0
    axis = Axis(t0 - pad, t1 + pad, LABEL_W + 60, WIDTH - RIGHT)
    row_h = 34
    height = TOP + len(rows) * row_h + 10
    parts = [f'<svg class="locks wide" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" '
             f'aria-label="lock history of {len(rows)} files" xmlns="http://www.w3.org/2000/svg">']
    parts += _grid(axis, TOP - 8, height - 4)
    index = {p: i for i, p in enumerate(rows)}
    for path, i in index.items():
        top = TOP + i * row_h
        parts.append(f'<text x="6" y="{top + 21}" class="n">{escape(_short(path, 34))}</text>')
    for h in holds:
        top = TOP + index[h.path] * row_h
        x, w = axis.bar(h.start, h.end)
        tip = f"{h.path}: {h.stream} {when(h.start)} → {when(h.end)}" + (" (held now)" if h.live else "")
        label = h.stream + (" (held now)" if h.live else "")
        parts.append(f'<g class="hold" data-path="{escape(h.path)}" data-stream="{escape(h.stream)}">'
                     f"<title>{escape(tip)}</title>"
                     f'<rect x="{x:.1f}" y="{top + 16}" width="{w:.1f}" height="12" rx="2" '
                     f'fill="{stream_hue(h.stream)}" stroke="#333" stroke-width="{2 if h.live else 0.8}"/>'
                     f'<text x="{x:.1f}" y="{top + 12}" class="small">{escape(label)}</text></g>')
    x = axis.x(r.now)
    parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP - 20}" y2="{height - 4}" stroke="{CRITICAL}" '
                 f'stroke-width="2"/><text x="{x - 4:.1f}" y="{TOP - 24}" class="small" '
                 f'text-anchor="end" fill="{CRITICAL}">now</text>')
    parts.append("</svg>")
    return "".join(parts)


def _locks(r: Report) -> str:
    if not r.lock_holds and not r.locks_now:
        return '<p class="empty">No lock has been taken yet.</p>'
    now_rows = [[f"<code>{escape(lk.path)}</code>", escape(lk.stream), escape(lk.agent or "—"),
                 escape(_iso_text(lk.acquired)), escape(_iso_text(lk.expires)),
                 escape(lk.reason or "—"),
                 escape(f"stale: {lk.stale}" if lk.stale else "live")] for lk in r.locks_now]
    held = (_table(["file", "stream", "agent", "since", "expires", "reason", "state"], now_rows, "locks-now")
            if now_rows else '<p class="empty">No lock is held now.</p>')
    holds, hidden = shown_holds(r)
    past = [[f"<code>{escape(h.path)}</code>", escape(h.stream), escape(when(h.start)),
             escape("held now" if h.live else when(h.end)), escape(_duration(h.end - h.start))]
            for h in sorted(holds, key=lambda h: (h.start, h.path))]
    older = (f'<p class="empty">{hidden} older holds not shown (each file\'s {HOLDS_SHOWN} newest are); '
             "<code>gitpar report --json</code> lists them all.</p>\n" if hidden else "")
    return (f"<h3>Held now</h3>\n{held}\n<h3>Who held which shared file when</h3>\n"
            f"{older}{_scroll(locks_svg(r, holds))}\n"
            f"{_table(['file', 'stream', 'from', 'to', 'for'], past, 'lock-history')}")


# -- conflicts ------------------------------------------------------------------------------


def _conflicts(r: Report) -> str:
    if not r.conflicts:
        return ('<p class="empty">No conflicts forecast between the active streams '
                "(or with the base).</p>")
    rows = [[escape(c.a), escape(f"the base {c.b}" if c.with_base else c.b),
             "<br>".join(f"<code>{escape(f)}</code>" for f in c.files),
             escape(", ".join(c.overlapping))] for c in r.conflicts]
    return ("<p>Merging these would stop on a conflict (forecast in memory, no worktree touched; "
            "<code>gitpar conflicts</code> gives the detail).</p>"
            + _table(["stream", "conflicts with", "conflicting files", "paths both changed"], rows,
                     "conflicts"))


# -- the merge queue ------------------------------------------------------------------------


def _queue(r: Report) -> str:
    q = r.queue
    if not q:
        return '<p class="empty">Nothing waits to land: no completed stream is missing from the integration.</p>'
    rows = [[escape(n), "being tested", ""] for n in q.get("testing") or []]
    rows += [[escape(n), "waiting", ""] for n in q.get("waiting") or []]
    rows += [[escape(str(e.get("stream", ""))), escape(f"ejected: {e.get('outcome', '')}"),
              escape(str(e.get("why", ""))) + (f"<br>log <code>{escape(str(e['log']))}</code>" if e.get("log") else "")]
             for e in q.get("ejected") or []]
    eta = (f"<p>ETA: {escape(_duration(float(q['eta_seconds'])))} ({escape(str(q.get('eta_basis', '')))}).</p>"
           if q.get("eta_seconds") is not None else f"<p>{escape(str(q.get('eta_basis') or 'no ETA yet'))}.</p>")
    return eta + _table(["stream", "queue", "why"], rows, "queue")


# -- resources ------------------------------------------------------------------------------


def _resources(r: Report) -> str:
    if not r.resources:
        return ('<p class="empty">No resource is held or needed (<code>gitpar lock --resource NAME</code>; '
                "<code>resources:</code> in a stream file).</p>")
    rows = [[f"<code>{escape(x.name)}</code>", escape(x.stream or "—"), escape(x.agent or "—"),
             escape(_iso_text(x.acquired) if x.stream else "—"), escape(_iso_text(x.expires) if x.stream else "—"),
             escape(str(x.fence) if x.fence else "—"), escape(x.reason or "—"),
             escape(("stale: " + x.stale) if x.stale else ("live" if x.stream else "free")),
             escape(", ".join(x.needed_by) or "—")] for x in r.resources]
    return ("<p>Locks on things that are not files; the scheduler never runs two streams needing one "
            "at once.</p>"
            + _table(["resource", "held by", "agent", "since", "expires", "fence", "reason", "state", "needed by"],
                     rows, "resources"))


# -- per stream -----------------------------------------------------------------------------


def _cards(r: Report) -> str:
    return '<div class="cards">' + "".join(_card(s) for s in r.streams) + "</div>"


def _codes(items: Sequence[str]) -> str:
    return ", ".join(f"<code>{escape(i)}</code>" for i in items) or "—"


def _card(s: StreamReport) -> str:
    g = s.git
    rows = [
        ("agent", escape(s.agent or "—")),
        ("depends on", escape(", ".join(s.depends_on) or "—")),
        ("wave", str(s.wave + 1)),
        ("owns", _codes(s.owns)),
        ("shares", _codes(s.shares)),
        ("estimate", escape(f"{_duration(s.estimate_s)} ({s.estimate_source})")),
        ("planned", escape(f"{when(s.planned.start, seconds=False)} → {when(s.planned.end, seconds=False)}"
                           if s.planned else "—")),
        ("started", escape(when(s.started))),
        ("completed", escape(when(s.completed))),
        ("forecast finish", escape(when(s.forecast.end, seconds=False) if s.forecast else "—")),
    ]
    if g.get("branch_exists"):
        dirty = {None: "not scanned", True: f"{g.get('dirty_files')} uncommitted files",
                 False: "clean"}[g.get("dirty")]
        rows += [("branch", f"<code>{escape(str(g.get('branch')))}</code>"),
                 ("commits ahead", escape(f"{g.get('ahead', 0)} (behind {g.get('behind', 0)})")),
                 ("files changed", escape(str(g.get("files_changed", 0)))),
                 ("last commit", escape(_iso_text(g.get("last_commit")))),
                 ("worktree", escape(dirty if g.get("worktree") else "none"))]
    else:
        rows.append(("branch", escape(f"{g.get('branch', 'gitpar/' + s.name)} does not exist yet")))
    rows.append(("last activity", escape(_iso_text(s.last_activity))))
    facts = "".join(f"<dt>{escape(k)}</dt><dd>{v}</dd>" for k, v in rows)
    attention = ("<ul>" + "".join(f"<li><strong>{escape(k)}</strong>: {escape(m)}</li>"
                                  for k, m in s.attention) + "</ul>"
                 if s.attention else '<p class="ok">nothing</p>')
    if s.violations_error:
        violations = f'<p class="warn">check could not run: {escape(s.violations_error)}</p>'
    elif not s.checked:
        violations = '<p class="empty">not checked (no commits on a started branch)</p>'
    elif s.violations:
        violations = "<ul>" + "".join(
            f"<li><code>{escape(str(v.get('path')))}</code> ({escape(str(v.get('rule')))}"
            f"{escape(', commit ' + str(v['commit'])) if v.get('commit') else ''}): "
            f"{escape(str(v.get('message')))}</li>" for v in s.violations) + "</ul>"
    else:
        violations = '<p class="ok">✓ none (gitpar check of the branch against the base)</p>'
    border = _colours(s.status)[1]
    critical = ' <span class="crit">★ critical path</span>' if s.critical else ""
    bar = (f'<div class="progress" role="img" aria-label="{s.completion}% done">'
           f'<div style="width:{s.completion}%;background:{border}"></div></div>')
    return (f'<article class="card{" critical" if s.critical else ""}" id="stream-{escape(s.name)}" '
            f'data-stream="{escape(s.name)}" style="border-top-color:{border}">'
            f"<h3>{escape(s.name)}{critical}</h3>"
            f"<p>{_badge(s.status)} {s.completion}% done</p>{bar}"
            + (f'<p class="desc">{escape(s.description)}</p>' if s.description else "")
            + f"<dl>{facts}</dl>"
            f'<h4>Needs attention ({len(s.attention)})</h4>{attention}'
            f"<h4>Violations ({len(s.violations)})</h4>{violations}</article>")


CSS = """
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1d1d1d;
 background:#fff;margin:0 auto;max-width:1280px;padding:12px 20px 40px}
h1{font-size:1.6em;margin:.3em 0}h2{font-size:1.3em;border-bottom:2px solid #ddd;padding-bottom:4px;margin-top:1.6em}
h3{font-size:1.05em;margin:1em 0 .4em}h4{font-size:.95em;margin:.8em 0 .2em}
header p{margin:.2em 0}.meta{color:#555}
nav a{display:inline-block;margin:6px 10px 0 0;padding:2px 10px;border:1px solid #bbb;border-radius:12px;
 color:#0b57d0;text-decoration:none}
code{font:.9em ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#f2f2f2;padding:0 3px;border-radius:3px}
.scroll{overflow-x:auto;max-width:100%}
svg{display:block;height:auto;font:13px system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif}
svg.wide{min-width:720px}svg.graph{max-width:100%}
svg text{fill:#1d1d1d}svg text.n{font-weight:600}svg text.small{font-size:11px}
svg text.mark-label{font-weight:600}
.legend{list-style:none;padding:0;margin:.3em 0 .6em;display:flex;flex-wrap:wrap;gap:4px 18px;font-size:.9em}
.swatch{display:inline-block;width:22px;height:12px;border:1.5px solid #777;border-radius:2px;
 vertical-align:middle;margin-right:5px}
.swatch.hatch{background:repeating-linear-gradient(45deg,#f4f4f4 0 3px,#9e9e9e 3px 5px)}
.swatch.dashed{border:1.5px dashed #424242}.swatch.line{width:0;height:14px;border-width:0 0 0 2px}
table{border-collapse:collapse;width:100%;font-size:.92em;margin:.3em 0 1em}
th,td{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f4f4f4}
.empty{color:#666;font-style:italic}.ok{color:#1b5e20}.warn{color:#b71c1c}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:14px}
.card{border:1px solid #ccc;border-top:6px solid #999;border-radius:6px;padding:8px 14px;min-width:0}
.card.critical{box-shadow:0 0 0 2px #d32f2f inset}
.card h3{margin-top:.2em;overflow-wrap:anywhere}.crit{color:#b71c1c;font-size:.85em;font-weight:600}
.card dl{display:grid;grid-template-columns:max-content 1fr;gap:1px 10px;margin:.4em 0;font-size:.9em}
.card dt{color:#555}.card dd{margin:0;overflow-wrap:anywhere}.card ul{margin:.2em 0;padding-left:1.2em}
.desc{margin:.3em 0}
.badge{display:inline-block;border:1.5px solid;border-radius:10px;padding:0 8px;font-size:.9em}
.progress{height:6px;background:#eee;border-radius:3px;overflow:hidden}.progress div{height:6px}
footer{margin-top:2em;color:#555;font-size:.9em;border-top:1px solid #ddd}
@media (max-width:640px){body{padding:8px 10px 30px;font-size:14px}.cards{grid-template-columns:1fr}
 h1{font-size:1.3em}}
@media print{nav{display:none}.scroll{overflow:visible}}
"""
