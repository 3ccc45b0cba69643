"""A self-contained HTML report of a project and one of its runs: the graph drawn, the layer
table, the data and training settings, the learning curves, the confusion matrix and the
metrics on held-out data. No scripts, no external files: one page that opens anywhere."""
from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from ..diff import flatten
from ..project import Project
from ..summary import summarize
from ..validate import validate
from .report_svg import TRAIN, VAL, graph_svg, line_chart

EXTRA_METRICS = ["precision", "recall", "f1", "confusion_matrix"]


@dataclass
class ReportData:
    project: Project
    run_dir: Path | None = None
    history: list[dict] = field(default_factory=list)
    best: dict = field(default_factory=dict)
    split: str | None = None                 # where `metrics` were measured
    metrics: dict = field(default_factory=dict)
    confusion: list | None = None
    class_names: list | None = None
    weights_from: str = "untrained"
    files: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def latest_run(project: Project) -> Path | None:
    """The newest run folder of the project with a best checkpoint of this very model (a
    sweep's trials train other widths: their weights would not fit)."""
    from ..diff import DiffError, diff_graphs, load_side
    from ..train.run_folder import has_checkpoint, list_runs

    if project.path is None:
        return None
    for run in reversed(list_runs(project.runs_dir())):
        if not has_checkpoint(run, "best"):
            continue
        try:
            d = diff_graphs(load_side(run).graph, project.graph)
        except DiffError:
            continue
        if not d.wires and not any(n.params or n.kind != "changed" for n in d.nodes):
            return run
    return None


def read_history(run_dir: Path) -> list[dict]:
    from ..train.run_folder import read_metrics

    return [row for row in read_metrics(run_dir) if "epoch" in row]


def gather(project: Project, run_dir: Path | None, weights: dict | None) -> ReportData:
    """Curves of `run_dir` and the metrics of `weights` (the run's best, or the project's)
    on the test split (else validation)."""
    data = ReportData(project, run_dir)
    if run_dir is not None:
        data.history = read_history(run_dir)
        data.weights_from = f"run {run_dir.name} (best epoch)"
        from ..train.run_folder import read_best_metrics

        data.best = read_best_metrics(run_dir)
    elif weights:
        data.weights_from = "the project's saved weights"
    if not weights:
        data.notes.append("The model has no trained weights: the metrics are of an untrained "
                          "model.")
    _evaluate(data, weights)
    return data


def _evaluate(data: ReportData, weights: dict | None) -> None:
    from ..compile import apply_weights
    from ..train.trainer import Trainer

    try:
        trainer = Trainer(data.project, "cpu", run_dir=False)
        trainer.setup()
        if weights:
            apply_weights(trainer.model, weights)
        state = trainer.state
        split = "test" if state.test_data is not None and len(state.test_data) else "val"
        names = list(dict.fromkeys(state.metric_names + EXTRA_METRICS))
        result = trainer.evaluate(split, names)
    except Exception as exc:  # noqa: BLE001 - the report says why instead of failing
        data.notes.append(f"Metrics could not be computed: {type(exc).__name__}: {exc}")
        return
    data.split = split
    data.confusion = result.pop("confusion_matrix", None)
    data.metrics = result
    names = getattr(trainer.splits, "class_names", None) or [None]
    data.class_names = names[0] if names and names[0] else None


# -- rendering ---------------------------------------------------------------------------------

CSS = """
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#20242a;margin:0;
background:#f4f5f7}main{max-width:1160px;margin:0 auto;padding:24px 28px 60px}
h1{font-size:24px;margin:0 0 2px}h2{font-size:17px;margin:28px 0 10px;border-bottom:1px solid
#d6d9de;padding-bottom:4px}.muted{color:#5c6470}.card{background:#fff;border:1px solid #dde0e4;
border-radius:8px;padding:12px 14px;overflow-x:auto}table{border-collapse:collapse}
td,th{padding:3px 10px;border-bottom:1px solid #eceef1;text-align:left;vertical-align:top}
th{font-weight:600;background:#f7f8fa}td.num,th.num{text-align:right;font-variant-numeric:
tabular-nums}.kpis{display:flex;gap:12px;flex-wrap:wrap}.kpi{background:#fff;border:1px solid
#dde0e4;border-radius:8px;padding:8px 14px;min-width:120px}.kpi b{display:block;font-size:20px}
.charts{display:flex;flex-wrap:wrap;gap:10px}.grid2{display:grid;grid-template-columns:1fr 1fr;
gap:16px}svg text{font:11px system-ui,sans-serif;fill:#20242a}svg .type{fill:#fff;
font-weight:600}svg .name{font-weight:600}svg .sub,svg .shape,svg .tick{fill:#5c6470;
font-size:10px}svg .title{font-weight:600;font-size:12px}.cm td{text-align:center;
min-width:34px}.note{background:#fff4d6;border:1px solid #e8c46a;border-radius:6px;
padding:6px 10px;margin:6px 0}code{font-size:12px}
"""


def render_html(data: ReportData) -> str:
    p = data.project
    report = validate(p.graph)
    s = summarize(p.graph, report)
    when = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    body = [f"<h1>{escape(p.name)}</h1><p class='muted'>Studio hand-off report · {when} · "
            f"weights: {escape(data.weights_from)}</p>"]
    body += [f"<p class='note'>{escape(n)}</p>" for n in data.notes]
    body.append(_kpis(data, s))
    body.append(f"<h2>Model</h2><div class='card'>{graph_svg(p.graph, report)}</div>")
    body.append("<h2>Layers</h2><div class='card'>" + _layers(s) + "</div>")
    body.append("<h2>Learning curves</h2>" + _curves(data))
    body.append("<h2>Results</h2><div class='grid2'>" + _metrics(data) + _confusion(data) +
                "</div>")
    body.append("<h2>Data and training settings</h2><div class='grid2'>"
                f"<div class='card'><h3>Data</h3>{_settings(p.dataset)}</div>"
                f"<div class='card'><h3>Training</h3>{_settings(_training(p))}</div></div>")
    if data.files:
        body.append("<h2>In this bundle</h2><div class='card'><ul>" + "".join(
            f"<li><code>{escape(f)}</code></li>" for f in data.files) + "</ul></div>")
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            f"<meta name='viewport' content='width=device-width'><title>{escape(p.name)} — "
            f"Studio report</title><style>{CSS}</style></head><body><main>"
            + "".join(body) + "</main></body></html>\n")


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}" if math.isfinite(v) else str(v)
    if isinstance(v, int) and not isinstance(v, bool):
        return f"{v:,}"
    return escape(json.dumps(v) if not isinstance(v, str) else v)


def _kpis(data: ReportData, s) -> str:
    items = [("parameters", f"{s.total_params:,}"), ("MACs / sample", f"{s.total_flops:,}")]
    if data.history:
        items.append(("epochs", str(len(data.history))))
    for k, v in list(data.metrics.items())[:4]:
        if isinstance(v, (int, float)):
            items.append((f"{data.split} {k}", _fmt(v)))
    return "<div class='kpis'>" + "".join(f"<div class='kpi'><span class='muted'>"
                                          f"{escape(k)}</span><b>{v}</b></div>"
                                          for k, v in items) + "</div>"


def _layers(s) -> str:
    rows = "".join(f"<tr><td>{escape(r.name)}</td><td>{escape(r.type)}</td>"
                   f"<td><code>{escape(r.output)}</code></td><td class='num'>{r.params:,}</td>"
                   f"<td class='num'>{r.flops:,}</td><td>{'yes' if r.trainable else 'no'}</td>"
                   "</tr>" for r in s.rows)
    return ("<table><tr><th>Node</th><th>Type</th><th>Output shape</th><th class='num'>"
            "Params</th><th class='num'>MACs</th><th>Trainable</th></tr>" + rows +
            f"<tr><th colspan='3'>Total</th><th class='num'>{s.total_params:,}</th>"
            f"<th class='num'>{s.total_flops:,}</th><th></th></tr></table>")


def _curves(data: ReportData) -> str:
    rows = data.history
    if not rows:
        return "<p class='muted'>No training run: no learning curves.</p>"
    names = [k for k in rows[-1] if isinstance(rows[-1][k], (int, float)) and k not in
             ("epoch", "elapsed_s", "samples_per_s", "lr") and not k.startswith("val_")]
    charts = []
    for name in names:
        series = [("train", TRAIN, [(r["epoch"], r.get(name)) for r in rows])]
        if any(f"val_{name}" in r for r in rows):
            series.append(("validation", VAL, [(r["epoch"], r.get(f"val_{name}"))
                                               for r in rows]))
        charts.append(line_chart(name, series))
    if any("lr" in r for r in rows):
        charts.append(line_chart("learning rate", [("lr", "#6f7f8f", [(r["epoch"], r.get("lr"))
                                                                      for r in rows])]))
    return "<div class='card charts'>" + "".join(charts) + "</div>"


def _metrics(data: ReportData) -> str:
    if not data.metrics:
        return "<div class='card'><p class='muted'>No metrics.</p></div>"
    rows = "".join(f"<tr><td>{escape(k)}</td><td class='num'>{_fmt(v)}</td></tr>"
                   for k, v in data.metrics.items() if not isinstance(v, list))
    best = "".join(f"<tr><td>{escape(k)}</td><td class='num'>{_fmt(v)}</td></tr>"
                   for k, v in data.best.items() if isinstance(v, (int, float)) and
                   k.startswith("val_") or k == "epoch")
    out = f"<div class='card'><h3>Metrics on the {data.split} split</h3><table>{rows}</table>"
    if best:
        out += f"<h3>Best epoch (validation)</h3><table>{best}</table>"
    return out + "</div>"


def _confusion(data: ReportData) -> str:
    cm = data.confusion
    if not cm or not isinstance(cm, list) or not isinstance(cm[0], list):
        return "<div class='card'><p class='muted'>No confusion matrix (not a " \
               "classification output).</p></div>"
    n = len(cm)
    names = data.class_names if data.class_names and len(data.class_names) == n else \
        [str(i) for i in range(n)]
    top = max(max(row) for row in cm) or 1
    head = "".join(f"<th>{escape(str(c))}</th>" for c in names)
    rows = []
    for i, row in enumerate(cm):
        cells = []
        for j, v in enumerate(row):
            a = v / top
            bg = f"rgba(52,120,220,{a:.2f})" if i == j else f"rgba(217,59,59,{a:.2f})"
            fg = "#fff" if a > 0.55 else "#20242a"
            cells.append(f"<td style='background:{bg};color:{fg}'>{v}</td>")
        rows.append(f"<tr><th>{escape(str(names[i]))}</th>{''.join(cells)}</tr>")
    return (f"<div class='card'><h3>Confusion matrix ({data.split})</h3><table class='cm'>"
            f"<tr><th>true \\ predicted</th>{head}</tr>{''.join(rows)}</table></div>")


def _training(project: Project) -> dict:
    from ..train.config import ConfigError, resolve_config

    try:
        return resolve_config(json.loads(json.dumps(project.training)))
    except (ConfigError, TypeError, ValueError):
        return project.training


def _settings(section: dict) -> str:
    flat = flatten(section)
    if not flat:
        return "<p class='muted'>(defaults)</p>"
    return "<table>" + "".join(f"<tr><td>{escape(k)}</td><td>{_fmt(v)}</td></tr>"
                               for k, v in flat.items()) + "</table>"
