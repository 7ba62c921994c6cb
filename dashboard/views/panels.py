"""The decision panel: the last decision in words, a patience/cooldown indicator, the history.

Everything shown comes from the ``decision`` events' fields (``reason``, ``wait``, ``wait_plan``,
``next_phase``, ``lr_plan``): the panel knows no training mode.

Rendered as one HTML widget from :class:`~adaft_dashboard.live.state.RunState` facts; ``render(run)`` is
pure (returns the HTML string) so tests can read exactly what a person sees.
"""

from __future__ import annotations

import html

import ipywidgets as W

from adaft_core.events.display import epoch_label

from adaft_dashboard.views.plotting import fmt
from adaft_dashboard.live.state import RunState

# Only failures are red: a stop decided by the monitor (early stop, max_epochs) is the normal end
# of a run, a stop asked for by a person is neutral.
ERROR_RED = "#dc2626"
NEUTRAL = "#6b7280"
ACTION_COLORS = {"continue": "#374151", "cooldown": "#2563eb", "restart": "#16a34a", "stop": "#1f2937"}
STATUS_COLORS = {"running": "#2563eb", "starting": NEUTRAL, "preparing": NEUTRAL, "completed": "#16a34a",
                 "early_stopped": "#16a34a", "stopped": NEUTRAL, "interrupted": "#b45309", "failed": ERROR_RED,
                 "invalid": ERROR_RED, "unreadable": ERROR_RED, "done": "#16a34a", "queued": "#9ca3af"}
FAILED = ("failed", "invalid", "unreadable")  # the statuses shown as errors (done / queued: sweep points)
STATUS_TIPS = {"completed": "ended normally (all epochs, or max_epochs)", "early_stopped":
               "ended normally: the monitor stopped it (validation loss stopped improving)",
               "stopped": "stopped by a person (Stop / STOP file); resumable", "interrupted":
               "its process is gone before it ended; resumable", "failed": "ended with an error"}


def status_color(status: str) -> str:
    """The colour of a status: green for a normal end, red only for failures, grey otherwise."""
    return STATUS_COLORS.get(status, NEUTRAL)


def status_badge(status: str) -> str:
    error = " adaft-error" if status in FAILED else ""
    tip = html.escape(STATUS_TIPS.get(status, status))
    return (f'<span class="adaft-status{error}" title="{tip}" style="background:{status_color(status)};color:white;'
            f'border-radius:4px;padding:1px 6px;font-size:12px">{html.escape(status)}</span>')


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
                       else ("stop", "#1f2937"))
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
                     f"after epoch {epoch_label(d['epoch'])}: {html.escape(str(d.get('reason', '')))}</div>")
    elif run.started and run.live:
        parts.append(f"<div style='margin:6px 0'>{html.escape(run.progress_text() or 'epoch 1')} running; "
                     "the first decision comes after its validation</div>")
    if run.ended is not None and run.ended.get("error"):
        failed = run.status in FAILED
        parts.append(f"<div class='adaft-run-error{' adaft-error' if failed else ''}' "
                     f"style='color:{ERROR_RED if failed else NEUTRAL}'>{html.escape(str(run.ended['error']))}</div>")
    if run.started:
        parts.append(indicator_html(run))
    rows = [decision_row(d) for d in reversed(run.decisions[-history:])]
    if rows:  # the newest rows whole; the older ones folded (no scroll box that cuts a row in half)
        head = ("<tr><th>epoch</th><th>phase</th><th>action</th><th>next</th><th>val loss</th>"
                "<th style='text-align:left'>reason</th></tr>")
        table = "<table class='adaft-decisions' style='font-size:12px;line-height:1.3;border-collapse:collapse'>"
        parts.append(f"<div style='margin-top:6px'>{table}{head}{''.join(rows[:SHOWN_ROWS])}</table>")
        if rows[SHOWN_ROWS:]:
            parts.append(f"<details><summary style='font-size:12px;cursor:pointer'>{len(rows) - SHOWN_ROWS} "
                         f"earlier decisions</summary>{table}{''.join(rows[SHOWN_ROWS:])}</table></details>")
        parts.append("</div>")
    return "".join(parts)


SHOWN_ROWS = 5  # decisions shown unfolded, newest first


def decision_row(d: dict) -> str:
    """One row of the decisions table (the epoch counted from 1, as everywhere)."""
    color = ACTION_COLORS.get(d.get("action"), "#374151")
    cell = "<td style='padding:1px 6px;vertical-align:top;white-space:nowrap'>"
    return (f"<tr class='adaft-decision-row'><td class='adaft-epoch' style='padding:1px 6px;vertical-align:top'>"
            f"{epoch_label(d['epoch'])}</td>{cell}{html.escape(str(d.get('phase', '')))}</td>"
            f"<td style='padding:1px 6px;vertical-align:top;color:{color}'>{html.escape(str(d.get('action', '')))}</td>"
            f"{cell}{html.escape(str(d.get('next_phase', '')))}</td>{cell}{fmt(d.get('value'))}</td>"
            f"<td style='padding:1px 6px;vertical-align:top'>{html.escape(str(d.get('reason', '')))}</td></tr>")


def others_html(runs: list[RunState]) -> str:
    """The other overlaid runs: each one's status and last decision, in one line each."""
    lines = []
    for run in runs:
        last = run.decisions[-1] if run.decisions else None
        said = (f"after epoch {epoch_label(last['epoch'])}: {html.escape(str(last.get('reason', '')))}" if last
                else html.escape(run.progress_text() or "no decision yet"))
        lines.append(f"<div class='adaft-other-run' style='font-size:12px;margin:2px 0'><b>{html.escape(run.run_id)}"
                     f"</b> {status_badge(run.status)} {said}</div>")
    return ("<div style='margin-top:6px;border-top:1px solid #e5e7eb'>" + "".join(lines) + "</div>") if lines else ""


class DecisionPanel:
    def __init__(self):
        self.widget = W.HTML(value=render(None), layout=W.Layout(width="100%"))
        self._drawn: tuple | None = None

    def update(self, run: RunState | None, others: list[RunState] = (), note: str | None = None) -> bool:
        """Show ``run`` (with one line per other overlaid run), or ``note`` when no run is shown
        (e.g. why the run just started failed before it began)."""
        key = ((run.run_id, run.version) if run is not None else note,
               tuple((r.run_id, r.version) for r in others))
        if key == self._drawn:
            return False
        if run is None and note:
            self.widget.value = f"<div class='adaft-panel-note'>{html.escape(note)}</div>"
        else:
            self.widget.value = render(run) + others_html(list(others))
        self._drawn = key
        return True
