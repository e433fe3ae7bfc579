"""One self-contained HTML page for one run or many: no server, no network, no script.

Figures are matplotlib PNGs embedded as data URIs (matplotlib is already a dependency, works
offline and draws the same figures the run folder holds; a JavaScript charting library would add a
bundle to the wheel for interactivity a report does not need). Every section of a run has a fixed
class (`summary`, `samples`, `losses`, `discriminator`, `knobs`, `metrics`); a section whose file
is missing or damaged says so (class `missing`) instead of failing the page.
"""
from __future__ import annotations

import base64
import html
import io
import json
import math
import statistics
import time
from collections import Counter
from pathlib import Path
from typing import Any, Callable

from mspgsen.config import dotted_items
from mspgsen.evaluation.registry import METRICS, metric
from mspgsen.report.anchors import anchors_for, protocol_of
from mspgsen.report.run_record import RunRecord

RUN_SECTIONS = ("summary", "samples", "losses", "discriminator", "knobs", "metrics")
MAX_PREVIEWS = 8  # sample grids shown per run (evenly spaced over its previews, the last always)
STYLE = """body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #bbb;padding:3px 8px;text-align:left}
th{background:#eee}figure{display:inline-block;margin:4px}figure img{max-width:520px}
.strip figure img{max-width:250px}.missing{color:#a00;font-style:italic}section.run{border-top:2px solid #444}
.anchor td{color:#555}"""


def build_page(records: list[RunRecord], title: str, labels: dict[Path, str] | None = None, intro: str = "") -> str:
    labels = labels or {}
    parts = [f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{_e(title)}</title>",
             f"<style>{STYLE}</style></head><body><h1>{_e(title)}</h1>",
             f"<p>Written by mspgsen report on {time.strftime('%Y-%m-%d %H:%M')}; {len(records)} run(s).</p>"]
    if intro:
        parts.append(f"<p>{_e(intro)}</p>")
    if len(records) > 1:
        parts.append(comparison_section(records, labels))
    for i, record in enumerate(records):
        label = labels.get(record.path)
        parts.append(run_section(record, i, f"{label}: {record.name}" if label else record.name))
    parts.append("</body></html>")
    return "\n".join(parts)


def run_section(record: RunRecord, index: int, label: str) -> str:
    builders: dict[str, Callable[[RunRecord], str]] = {
        "summary": _summary, "samples": _samples, "losses": _losses, "discriminator": _discriminator,
        "knobs": _knobs, "metrics": _metrics}
    body = [f"<section class='run' id='run-{index}'><h2>{_e(label)}</h2><p>{_e(str(record.path))}</p>"]
    for name in RUN_SECTIONS:
        problem = record.problems.get(name)
        note = f"<p class='missing'>{_e(problem)}</p>" if problem else ""
        try:
            content = builders[name](record)
        except Exception as err:  # a report never fails on one run's odd file: the section says so
            content, note = "", f"<p class='missing'>could not draw this section: {_e(type(err).__name__)}: {_e(str(err)[:200])}</p>"
        css = f"{name} missing" if note and not content else name
        body.append(f"<section class='{css}'><h3>{name}</h3>{note}{content}</section>")
    body.append("</section>")
    return "\n".join(body)


def comparison_section(records: list[RunRecord], labels: dict[Path, str]) -> str:
    """One row per setting (runs that differ only in their seed), mean ± std of each final metric."""
    groups: dict[str, list[RunRecord]] = {}
    for record in records:
        groups.setdefault(record.setting(), []).append(record)
    keys = _metric_keys(records)
    rows = ["<tr><th>setting</th><th>seeds</th>" + "".join(f"<th>{_e(_label(k))}</th>" for k in keys) + "</tr>"]
    names = _setting_names([runs[0].config for runs in groups.values()])
    for runs, own in zip(groups.values(), names):
        name = labels.get(runs[0].path) or own or f"{runs[0].family} on {runs[0].data.get('name', '?')}"
        cells = []
        for key in keys:
            scale = metric(key).display_scale if metric(key) else 1.0
            values = [float(scale * r.final[key]) for r in runs if isinstance(r.final.get(key), (int, float))]
            cells.append(_mean_std(values))
        seeds = ", ".join(str(r.seed) for r in runs)
        rows.append(f"<tr><td>{_e(name)}</td><td>{_e(seeds)}</td>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    overlay = _figure(lambda axes: _overlay(axes, records, labels), "G's adversarial loss of every run")
    return (f"<section class='comparison'><h2>comparison</h2><table>{''.join(rows)}</table>"
            f"<p>mean ± std over the runs of a setting (runs that differ only in their seed).</p>{overlay}</section>")


def _summary(record: RunRecord) -> str:
    if not record.config:
        return ""
    train, model = record.config.get("train", {}), record.config.get("model", {})
    last = record.stats[-1] if record.stats else {}
    rows = [("family", record.family), ("data", record.data.get("name")), ("seed", record.seed),
            ("steps trained", record.steps_trained()),
            ("length", f"{train['time_limit']:g} s of training" if train.get("time_limit") else f"{train.get('steps')} steps"),
            ("batch", train.get("batch_size")),
            ("device", train.get("device")), ("images/s at the last tick", _fmt(last.get("img/s"))),
            ("EMA decay", model.get("ema_decay")), ("controllers", ", ".join(train.get("controllers") or []) or "none")]
    rows += [("machine", note) for note in record.notes]
    return _table(rows)


def _samples(record: RunRecord) -> str:
    shown = record.previews
    if len(shown) > MAX_PREVIEWS:
        stride = (len(shown) - 1) / (MAX_PREVIEWS - 1)
        shown = [shown[round(i * stride)] for i in range(MAX_PREVIEWS)]
    figures = [_image(path, f"step {step}") for step, path in shown]
    final = record.path / "samples.png"
    if final.is_file():
        figures.append(_image(final, "final samples"))
    return f"<div class='strip'>{''.join(figures)}</div>" if figures else ""


def _losses(record: RunRecord) -> str:
    names = sorted({k for row in record.stats for k in row if k[:2] in ("G/", "D/")})
    return _figure(lambda axes: _curves(axes, record.stats, names, "loss terms"), "G's and D's loss terms") if names else ""


def _discriminator(record: RunRecord) -> str:
    names = [k for k in ("D(x)", "D(G(z))", "acc/real", "acc/fake") if any(k in row for row in record.stats)]
    return _figure(lambda axes: _curves(axes, record.stats, names, "D's outputs"), "D(x), D(G(z)) and D's accuracy") \
        if names else ""


def _knobs(record: RunRecord) -> str:
    names = sorted({k for row in record.stats for k in row if k.startswith("lr/")})
    if not names and not record.actions:
        return "<p>no learning rates logged and no controller acted</p>"

    def draw(axes):
        _curves(axes, record.stats, names, "learning rates")
        controllers = sorted({a["controller"] for a in record.actions})
        for i, name in enumerate(controllers):  # each controller's actions as ticks on the time axis
            steps = [a["step"] for a in record.actions if a["controller"] == name]
            axes.scatter(steps, [axes.get_ylim()[0]] * len(steps), marker="|", s=200, label=f"{name} acted",
                         color=f"C{(i + len(names)) % 10}")
        axes.legend(fontsize=7)

    counts = Counter(action["controller"] for action in record.actions)
    listed = "".join(f"<li>{_e(k)}: acted at {v} tick(s)</li>" for k, v in counts.items())
    knobs = "".join(_figure(lambda axes, name=name: _controller_values(axes, record.actions, name),
                            f"what {name} set, tick by tick") for name in counts)
    return _figure(draw, "learning rates, with each controller's actions marked on the step axis") + \
        (f"<ul>{listed}</ul>" if listed else "<p>no controller acted</p>") + knobs


def _controller_values(axes, actions: list[dict[str, Any]], name: str) -> None:
    """One controller's numeric outputs over steps (its knob settings, rewards, phases)."""
    rows = [a for a in actions if a["controller"] == name]
    keys = sorted({k for row in rows for k, v in row.items() if k not in ("step", "controller")
                   and isinstance(v, (int, float))})
    _curves(axes, rows, keys, name)


def _metrics(record: RunRecord) -> str:
    parts = []
    if record.final:
        parts.append(f"<p class='protocol'>Protocol: {_e(protocol_of(record.data, record.final))}</p>")
        keys = [k for k in record.final if metric(k) is not None]
        header = "<tr><th>run</th>" + "".join(f"<th>{_e(_label(k))}</th>" for k in keys) + "</tr>"
        ours = "<tr class='ours'><td>this run</td>" + "".join(
            f"<td>{_fmt(metric(k).display_scale * record.final[k])}</td>" for k in keys) + "</tr>"
        anchors = "".join("<tr class='anchor'><td>" + _e(who) + "</td>" + "".join(
            f"<td>{_fmt(metric(k).display_scale * v[k]) if k in v else ''}</td>" for k in keys) + "</tr>"
            for who, v in anchors_for(record.data))
        parts.append(f"<table class='final'>{header}{ours}{anchors}</table>")
    if record.history:
        names = [k for k in record.history[0] if metric(k) is not None]
        parts.append(_figure(lambda axes: _curves(axes, record.history, names, "periodic evaluation"),
                             "the metrics over training (periodic evaluations)"))
    return "".join(parts)


def _setting_names(configs: list[dict[str, Any]]) -> list[str]:
    """Each setting named by where it departs from the most common value of a key that varies
    (seed and folder aside), e.g. `model.dema=False`; "" for a setting that departs nowhere."""
    flats = [{k: json.dumps(v, sort_keys=True) for k, v in dotted_items(c).items()} for c in configs]
    keys = sorted({k for f in flats for k in f} - {"train.seed", "train.out"}, key=lambda k: (k != "model.name", k))
    common = {k: Counter(f.get(k) for f in flats).most_common(1)[0][0] for k in keys}
    return [", ".join(f"{k}={json.loads(f[k]) if k in f else None}" for k in keys if f.get(k) != common[k])[:200]
            for f in flats]


def _metric_keys(records: list[RunRecord]) -> list[str]:
    seen: dict[str, None] = {}
    for record in records:
        for key in record.final:
            if metric(key) is not None:
                seen[key] = None
    order = list(METRICS)
    return sorted(seen, key=lambda k: order.index(metric(k).name))


def _curves(axes, rows: list[dict[str, Any]], names: list[str], ylabel: str) -> None:
    for name in names:
        points = [(row["step"], row[name]) for row in rows if isinstance(row.get(name), (int, float))]
        axes.plot([p[0] for p in points], [p[1] for p in points], label=name)
    axes.set_xlabel("step")
    axes.set_ylabel(ylabel)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=7)


def _overlay(axes, records: list[RunRecord], labels: dict[Path, str]) -> None:
    for record in records:
        points = [(row["step"], row["G/adv"]) for row in record.stats if isinstance(row.get("G/adv"), (int, float))]
        axes.plot([p[0] for p in points], [p[1] for p in points], label=labels.get(record.path, record.name))
    axes.set_xlabel("step")
    axes.set_ylabel("G/adv")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=6)


def _figure(draw: Callable[[Any], None], caption: str) -> str:
    from mspgsen.report.plots import _pyplot

    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(7, 3.4))
    draw(axes)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    return _img(buffer.getvalue(), caption)


def _image(path: Path, caption: str) -> str:
    return _img(path.read_bytes(), caption)


def _img(png: bytes, caption: str) -> str:
    data = base64.b64encode(png).decode()
    return f"<figure><img alt='{_e(caption)}' src='data:image/png;base64,{data}'><figcaption>{_e(caption)}</figcaption></figure>"


def _table(rows: list[tuple[str, Any]]) -> str:
    return "<table>" + "".join(f"<tr><th>{_e(k)}</th><td>{_e(str(v))}</td></tr>" for k, v in rows) + "</table>"


def _label(key: str) -> str:
    found = metric(key)
    return found.label + (key[key.index("["):] if "[" in key else "") if found else key


def _mean_std(values: list[float]) -> str:
    finite = [v for v in values if math.isfinite(v)]
    note = f" ({len(values) - len(finite)} not finite)" if len(finite) < len(values) else ""
    if not finite:
        return "not finite" if values else ""
    if len(finite) == 1:
        return _fmt(finite[0]) + note
    return f"{_fmt(statistics.mean(finite))} ± {_fmt(statistics.stdev(finite))}{note}"


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1000 else f"{value:,.0f}"
    return "" if value is None else str(value)


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def write_page(records: list[RunRecord], out: Path, title: str, labels: dict[Path, str] | None = None,
               intro: str = "") -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(build_page(records, title, labels, intro), encoding="utf-8")
    return out

