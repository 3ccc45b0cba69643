"""Inline SVG for the HTML report: the graph as drawn on the canvas, and line charts."""
from __future__ import annotations

import math
from html import escape

from ..graph import Graph
from ..layers import CATEGORY_COLORS
from ..validate import Report

NODE_W, NODE_H = 112.0, 58.0
TRAIN, VAL = "#3478dc", "#e6781e"


def graph_svg(graph: Graph, report: Report) -> str:
    """Nodes at their canvas positions (header coloured by category), wires as curves with
    the tensor shape they carry."""
    if not graph.nodes:
        return "<p>(empty graph)</p>"
    xs = [n.pos[0] for n in graph.nodes.values()]
    ys = [n.pos[1] for n in graph.nodes.values()]
    x0, y0 = min(xs) - 30, min(ys) - 30
    w, h = max(xs) - x0 + NODE_W + 30, max(ys) - y0 + NODE_H + 40
    parts = [f'<svg class="graph" xmlns="http://www.w3.org/2000/svg" viewBox="{x0:.0f} '
             f'{y0:.0f} {w:.0f} {h:.0f}" width="{min(w, 1100):.0f}" role="img" '
             f'aria-label="model graph">']
    for e in graph.edges:
        parts.append(_wire(graph, report, e))
    for node in graph.nodes.values():
        parts.append(_node(node, report))
    parts.append("</svg>")
    return "".join(parts)


def _port_y(ports: list[str], port: str, y: float) -> float:
    i = ports.index(port) if port in ports else 0
    return y + 42 + 18 * i - (18 * (len(ports) - 1) / 2 if len(ports) > 1 else 0)


def _wire(graph: Graph, report: Report, e) -> str:
    src, dst = graph.nodes[e.src], graph.nodes[e.dst]
    x1 = src.pos[0] + NODE_W
    y1 = _port_y(src.output_ports(), e.src_port, src.pos[1])
    x2, y2 = dst.pos[0], _port_y(dst.input_ports(), e.dst_port, dst.pos[1])
    dx = max(40.0, abs(x2 - x1) / 2)
    t = report.edge_type(e, graph)
    label = escape(str(t)) if t is not None else "?"
    colour = "#7b8592" if t is not None else "#d93b3b"
    mx, my = (x1 + x2) / 2, (y1 + y2) / 2
    return (f'<path d="M{x1:.1f},{y1:.1f} C{x1 + dx:.1f},{y1:.1f} {x2 - dx:.1f},{y2:.1f} '
            f'{x2:.1f},{y2:.1f}" fill="none" stroke="{colour}" stroke-width="1.6"/>'
            f'<text x="{mx:.1f}" y="{my - 5:.1f}" class="shape" text-anchor="middle">'
            f'{label}</text>')


def _node(node, report: Report) -> str:
    x, y = node.pos
    colour = CATEGORY_COLORS.get(node.spec.category, "#6f7f8f")
    count = report.param_counts.get(node.id)
    sub = f"{count:,} params" if count else escape(node.spec.category)
    return (f'<g><title>{escape(node.name)} ({escape(node.spec.name)})</title>'
            f'<rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="7" fill="#fff" '
            f'stroke="#b9bec6"/>'
            f'<path d="M{x},{y + 7} a7,7 0 0 1 7,-7 h{NODE_W - 14} a7,7 0 0 1 7,7 v15 '
            f'h-{NODE_W} z" fill="{colour}"/>'
            f'<text x="{x + 8}" y="{y + 15}" class="type">{escape(node.spec.name)}</text>'
            f'<text x="{x + 8}" y="{y + 36}" class="name">{escape(_short(node.name))}</text>'
            f'<text x="{x + 8}" y="{y + 50}" class="sub">{sub}</text></g>')


def _short(text: str, n: int = 16) -> str:
    return text if len(text) <= n else text[:n - 1] + "…"


def line_chart(title: str, series: list[tuple[str, str, list[tuple[float, float]]]],
               width: int = 360, height: int = 220, log: bool = False) -> str:
    """A small line chart: series of (label, colour, [(x, y), ...]) with axes and a legend."""
    pts = [(x, y) for _, _, s in series for x, y in s if _finite(y) and (not log or y > 0)]
    if not pts:
        return ""
    left, right, top, bottom = 48, 12, 26, 30
    xs, ys = [p[0] for p in pts], [math.log10(p[1]) if log else p[1] for p in pts]
    xmin, xmax = min(xs), max(xs)
    ymin, ymax = min(ys), max(ys)
    if xmax == xmin:
        xmax = xmin + 1
    if ymax - ymin <= 1e-9 * max(abs(ymax), 1e-12):   # a constant (a fixed learning rate)
        half = 0.15 if log else (abs(ymax) * 0.5 or 1.0)
        ymin, ymax = ymin - half, ymax + half
    pad = (ymax - ymin) * 0.06
    ymin, ymax = ymin - pad, ymax + pad
    pw, ph = width - left - right, height - top - bottom

    def sx(x):
        return left + (x - xmin) / (xmax - xmin) * pw

    def sy(y):
        return top + (1 - ((math.log10(y) if log else y) - ymin) / (ymax - ymin)) * ph

    out = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" '
           f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
           f'aria-label="{escape(title)}">',
           f'<text x="{left}" y="16" class="title">{escape(title)}</text>',
           f'<rect x="{left}" y="{top}" width="{pw}" height="{ph}" fill="none" '
           f'stroke="#c8ccd2"/>']
    for i in range(5):
        v = ymin + (ymax - ymin) * i / 4
        y = top + (1 - i / 4) * ph
        shown = 10 ** v if log else v
        out.append(f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" '
                   f'stroke="#eceef1"/><text x="{left - 4}" y="{y + 3:.1f}" class="tick" '
                   f'text-anchor="end">{shown:.3g}</text>')
    for x in _ticks(xmin, xmax):
        out.append(f'<text x="{sx(x):.1f}" y="{top + ph + 14}" class="tick" '
                   f'text-anchor="middle">{x:g}</text>')
    out.append(f'<text x="{left + pw / 2}" y="{height - 3}" class="tick" '
               f'text-anchor="middle">epoch</text>')
    for i, (label, colour, s) in enumerate(series):
        good = [(x, y) for x, y in s if _finite(y) and (not log or y > 0)]
        if not good:
            continue
        path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in good)
        out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" '
                   f'stroke-width="2"/>')
        for x, y in good if len(good) <= 60 else []:
            out.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="2.2" fill="{colour}"/>')
        lx = width - right - 84 * (len(series) - i)
        ly = 16
        out.append(f'<line x1="{lx}" x2="{lx + 14}" y1="{ly - 4}" y2="{ly - 4}" '
                   f'stroke="{colour}" stroke-width="2"/><text x="{lx + 18}" y="{ly}" '
                   f'class="tick">{escape(label)}</text>')
    out.append("</svg>")
    return "".join(out)


def _ticks(lo: float, hi: float) -> list[float]:
    span = hi - lo
    step = 10 ** math.floor(math.log10(span / 4)) if span > 0 else 1
    for m in (1, 2, 5, 10):
        if span / (step * m) <= 6:
            step *= m
            break
    start = math.ceil(lo / step) * step
    return [start + i * step for i in range(int((hi - start) / step + 1e-9) + 1)]


def _finite(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
