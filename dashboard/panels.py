"""The decision panel: the last decision in words, a patience/cooldown indicator, the history.

Everything shown comes from the ``decision`` events' fields (``reason``, ``wait``, ``wait_plan``,
``next_phase``, ``lr_plan``): the panel knows no training mode.

Rendered as one HTML widget from :class:`~dashboard.state.RunState` facts; ``render(run)`` is
pure (returns the HTML string) so tests can read exactly what a person sees.
"""

from __future__ import annotations

import html

import ipywidgets as W

from .plotting import fmt
from .state import RunState

ACTION_COLORS = {"continue": "#374151", "cooldown": "#2563eb", "restart": "#16a34a", "stop": "#dc2626"}
STATUS_COLORS = {"running": "#2563eb", "starting": "#6b7280", "completed": "#16a34a",
                 "early_stopped": "#16a34a", "stopped": "#b45309", "failed": "#dc2626",
                 "done": "#16a34a", "queued": "#9ca3af"}  # done / queued: sweep points


def status_badge(status: str) -> str:
    color = STATUS_COLORS.get(status, "#6b7280")
    return (f'<span class="adaft-status" style="background:{color};color:white;border-radius:4px;'
            f'padding:1px 6px;font-size:12px">{html.escape(status)}</span>')


def indicator_html(run: RunState) -> str:
    """What the monitor waits for, from the last decision's fields (no mode rules here): cells for
    the non-improving epochs of its ``wait_plan`` — before a cooldown (amber), of the cooldown
    (blue), the stopping one (red); filled = waited — and the LR plan in words."""
    ind = run.indicator()
    plan = f"<br>next: {html.escape(ind['plan'])}" if ind["plan"] else ""
    left = ind["epochs_left"]
    wait_plan = ind["wait_plan"]
    if wait_plan is None:  # the monitor never stops this run
        return (f"<div class='adaft-indicator'>fixed schedule ({html.escape(str(ind['mode']))}): "
                f"{fmt(left, 'd')} epochs left{plan}</div>")
    if not isinstance(wait_plan, dict):  # an older log, or no decision yet: only what the events say
        phase = ind["next_phase"] or ind["phase"]
        head = f"next phase: {html.escape(str(phase))}" if phase else "no decision yet"
        tail = f", {left} epoch{'s' if left != 1 else ''} left" if left is not None else ""
        return f"<div class='adaft-indicator'>{head}{tail}{plan}</div>"
    wait, stop_at = ind["wait"], int(wait_plan["stop_at"])
    cooldown_at = wait_plan.get("cooldown_at") or stop_at
    p, c = cooldown_at - 1, stop_at - cooldown_at
    cells = []
    for i in range(stop_at):
        kind, color = (("patience", "#f59e0b") if i < p else ("cooldown", "#3b82f6") if i < p + c
                       else ("stop", "#dc2626"))
        filled = i < wait
        cells.append(f'<span title="{kind}" style="display:inline-block;width:16px;height:14px;margin:1px;'
                     f'border:1px solid {color};background:{color if filled else "transparent"}"></span>')
    tail = f", {left} epoch{'s' if left != 1 else ''} left" if left is not None and ind["action"] != "stop" else ""
    return (f'<div class="adaft-indicator">non-improving epochs: <b>{wait}</b> of {stop_at} '
            f"(patience {p} + cooldown {c} + 1){tail}<br>{''.join(cells)}{plan}</div>")


def render(run: RunState | None, history: int = 50) -> str:
    if run is None:
        return "<i>No run selected. Start one with the form, or pick runs in the Runs tab.</i>"
    parts = [f"<div><b>{html.escape(run.run_id)}</b> {status_badge(run.status)}</div>"]
    if run.decisions:
        d = run.decisions[-1]
        color = ACTION_COLORS.get(d.get("action"), "#374151")
        parts.append(f'<div class="adaft-decision" style="margin:6px 0;font-size:15px;color:{color}">'
                     f"after epoch {d['epoch']}: {html.escape(str(d.get('reason', '')))}</div>")
    elif run.started and run.live:
        parts.append(f"<div style='margin:6px 0'>epoch {int(run.series['epoch'].view[-1]) if run.n_steps else 0}"
                     " running; the first decision comes after its validation</div>")
    if run.ended is not None and run.ended.get("error"):
        parts.append(f"<div style='color:#b45309'>{html.escape(str(run.ended['error']))}</div>")
    if run.started:
        parts.append(indicator_html(run))
    rows = []
    for d in reversed(run.decisions[-history:]):
        color = ACTION_COLORS.get(d.get("action"), "#374151")
        rows.append(f"<tr><td>{d['epoch']}</td><td>{html.escape(str(d.get('phase', '')))}</td>"
                    f"<td style='color:{color}'>{html.escape(str(d.get('action', '')))}</td>"
                    f"<td>{html.escape(str(d.get('next_phase', '')))}</td>"
                    f"<td>{fmt(d.get('value'))}</td><td>{html.escape(str(d.get('reason', '')))}</td></tr>")
    if rows:
        parts.append("<div style='max-height:132px;overflow-y:auto;margin-top:6px'>"
                     "<table class='adaft-decisions' style='font-size:12px;line-height:1.2'>"
                     "<tr><th>epoch</th><th>phase</th><th>action</th><th>next</th><th>val loss</th><th>reason</th></tr>"
                     + "".join(rows) + "</table></div>")
    return "".join(parts)


class DecisionPanel:
    def __init__(self):
        self.widget = W.HTML(value=render(None), layout=W.Layout(width="100%"))
        self._drawn: tuple | None = None

    def update(self, run: RunState | None) -> bool:
        key = (run.run_id, run.version) if run is not None else None
        if key == self._drawn:
            return False
        self.widget.value = render(run)
        self._drawn = key
        return True
