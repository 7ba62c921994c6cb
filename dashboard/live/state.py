"""Pure event → series reducer: what the dashboard knows about each run (no widget, no torch).

:class:`Store` routes event dicts (the contract of ``docs/events.md``) to one :class:`RunState` per
``run_id``. A run's events may arrive twice (its in-process queue *and* the tail of its
``events.jsonl``): an event whose ``seq`` is not above the last one applied is dropped, so each
source only has to deliver its events in order. Every applied event bumps ``version``, which is how
the views know what to redraw. The views read derived facts from here — phase spans, markers,
decision lines, the patience/cooldown indicator, a table row — so all of it is testable without
widgets.
Nothing here knows a training mode's rules: phases, plans and limits are read from the events
(``decision``'s ``phase`` / ``next_phase`` / ``lr_plan`` / ``wait_plan``), so a new mode needs no
change here.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np

from adaft_core.events.display import epoch_label
from adaft_core.modes.plan import plan_text

from adaft_dashboard.live.series import Series, to_float

STEP_FIELDS = ("step", "epoch", "loss", "lr", "grad_norm", "time")
STOPPED = "stopped"  # a decision's next_phase when training ends
MISSING = "missing"  # a field an older run log does not have


class RunState:
    """Everything the views need about one run, built event by event."""

    def __init__(self, run_id: str):
        self.run_id = run_id
        self.started: dict[str, Any] = {}
        self.series = {name: Series() for name in STEP_FIELDS}
        self.stages: list[str | None] = []
        self.evals: dict[int, dict[str, Any]] = {}  # validation, by epoch
        self.test: dict[str, Any] | None = None
        self.extra_evals: dict[str, dict[str, Any]] = {}  # --eval-data name -> its eval event
        self.decisions: list[dict[str, Any]] = []
        self.masks: list[dict[str, Any]] = []
        self.checkpoints: list[dict[str, Any]] = []
        self.ended: dict[str, Any] | None = None
        self.other: dict[str, list[dict[str, Any]]] = {}  # event kinds added later to the contract
        self.last_seq = -1
        self.last_time: float | None = None
        self.version = 0
        self.path = None  # the run folder, when known
        self.gone = False  # not ended and its process is gone (the source's liveness check)
        self.last_seen: float | None = None  # when a gone run was last seen alive

    # ------------------------------------------------------------------ reducing
    def apply(self, ev: dict[str, Any]) -> bool:
        """Fold one event in; False (and no change) for a duplicate or out-of-order ``seq``."""
        seq = ev.get("seq")
        if isinstance(seq, int):
            if seq <= self.last_seq:
                return False
            self.last_seq = seq
        kind = ev.get("event")
        if kind == "step":
            for name in STEP_FIELDS:
                self.series[name].append(ev.get(name))
            self.stages.append(ev.get("stage"))
        elif kind == "run_started":
            self.started = dict(ev)
        elif kind == "eval":
            split = ev.get("split", "validation")
            if split == "validation":
                self.evals[int(ev["epoch"])] = dict(ev)
            elif split == "test":
                self.test = dict(ev)
            else:  # out-of-domain sets: "eval:<name>"
                self.extra_evals[split.split(":", 1)[-1]] = dict(ev)
        elif kind == "decision":
            self.decisions.append(dict(ev))
        elif kind == "mask":
            self.masks.append(dict(ev))
        elif kind == "checkpoint":
            self.checkpoints.append(dict(ev))
        elif kind == "run_ended":
            self.ended = dict(ev)
        elif kind == "resumed":
            self._resume(ev)
        else:
            self.other.setdefault(str(kind), []).append(dict(ev))
        self.last_time = ev.get("time", self.last_time)
        self.gone = False  # it writes again (resumed)
        self.version += 1
        return True

    def mark_gone(self, last_seen: float | None) -> bool:
        """The run has not ended but its process is gone: it shows as ``interrupted``."""
        if self.ended is not None or self.gone:
            return False
        self.gone, self.last_seen = True, last_seen
        self.version += 1
        return True

    def _resume(self, ev: dict[str, Any]) -> None:
        """A resumed run goes on from its checkpoint: forget what came after it (it is redone)."""
        step, epoch = int(ev.get("step") or 0), int(ev.get("epoch") or 0)
        keep = int(np.searchsorted(self.series["step"].view, step, side="right"))
        for series in self.series.values():
            series.truncate(keep)
        del self.stages[keep:]
        self.evals = {e: v for e, v in self.evals.items() if e < epoch}
        self.decisions = [d for d in self.decisions if int(d.get("epoch", -1)) < epoch]
        self.masks = [m for m in self.masks if int(m.get("step", 0) or 0) <= step]
        self.test, self.extra_evals, self.ended = None, {}, None
        self.other.setdefault("resumed", []).append(dict(ev))

    # ------------------------------------------------------------------ facts
    @property
    def config(self) -> dict[str, Any]:
        return self.started.get("config") or {}

    @property
    def status(self) -> str:
        if self.ended is not None:
            return str(self.ended.get("status", "ended"))
        if self.gone:
            return "interrupted"
        return "running" if self.started else "starting"

    @property
    def live(self) -> bool:
        return self.ended is None and not self.gone

    @property
    def steps_per_epoch(self) -> int:
        return max(1, int(self.started.get("steps_per_epoch") or 1))

    @property
    def metric(self) -> str:
        return str(self.started.get("metric") or next(
            (e.get("metric") for e in self.evals.values() if e.get("metric")), "f1"))

    @property
    def n_steps(self) -> int:
        return self.series["step"].n

    def current_epoch(self) -> int | None:
        """The 0-based epoch of the last step seen (else of the last validation); None before any."""
        if self.n_steps:
            return int(self.series["epoch"].view[-1])
        return max(self.evals) if self.evals else None

    def progress_text(self) -> str:
        """The progress line, e.g. ``epoch 3/30 · step 45`` (epochs counted from 1, as everywhere
        a person reads them); '' before the first step."""
        epoch = self.current_epoch()
        if epoch is None:
            return ""
        cap = self.started.get("max_epochs") or self.config.get("max_epochs")
        return f"epoch {epoch_label(epoch)}{f'/{cap}' if cap else ''} · step {self.n_steps}"

    def eval_arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(epoch, step, val loss, headline score), by epoch."""
        epochs = sorted(self.evals)
        ev = [self.evals[e] for e in epochs]
        return (np.array(epochs, dtype=float), np.array([to_float(e.get("step")) for e in ev]),
                np.array([to_float(e.get("loss")) for e in ev]), np.array([to_float(e.get("score")) for e in ev]))

    def best_epoch(self) -> int | None:
        if self.ended is not None and self.ended.get("best_epoch") is not None:
            return int(self.ended["best_epoch"])
        improved = [d["epoch"] for d in self.decisions if d.get("improved")]
        return int(improved[-1]) if improved else None

    def markers(self) -> list[dict[str, Any]]:
        """Best epoch, each cooldown trigger, each restart and the stop, at their epochs."""
        out = []
        best = self.best_epoch()
        if best is not None:
            out.append(self._marker("best", best, f"best epoch {epoch_label(best)}"))
        for d in self.decisions:
            if d.get("action") in ("cooldown", "restart", "stop"):
                out.append(self._marker(d["action"], int(d["epoch"]), d.get("reason", "")))
        if self.ended is not None and self.ended.get("status") in ("stopped", "failed"):
            epoch = max(self.evals, default=None)
            why = self.ended.get("error") or self.ended["status"]
            out.append(self._marker(self.ended["status"], epoch, f"{self.ended['status']}: {why}",
                                    step=self.series["step"].view[-1] if self.n_steps else 0))
        return out

    def _marker(self, kind: str, epoch: int | None, text: str, step: float | None = None) -> dict:
        ev = self.evals.get(epoch) if epoch is not None else None
        spe = self.steps_per_epoch
        if step is None:
            step = ev.get("step") if ev and ev.get("step") is not None else ((epoch or 0) + 1) * spe
        return {"kind": kind, "epoch": epoch, "step": float(step),
                "value": to_float(ev.get("loss")) if ev else math.nan, "text": text}

    def phase_of_next_epoch(self) -> str | None:
        """The LR phase of the epoch after the last decision, as the events say (no mode rules here):
        the decision's ``next_phase``; an older log's decision: the phase it recorded; before any
        decision: the phase in ``run_started``'s ``lr_plan``; None when nothing says."""
        if self.decisions:
            d = self.decisions[-1]
            return d.get("next_phase") or d.get("phase")
        return (self.started.get("lr_plan") or {}).get("kind")

    def plan(self) -> dict[str, Any] | None:
        """The LR plan in force: the last decision's ``lr_plan``, else ``run_started``'s."""
        if self.decisions:
            return self.decisions[-1].get("lr_plan")
        return self.started.get("lr_plan")

    def phase_spans(self) -> list[tuple[float, float, str]]:
        """(first step − 1, last step, phase) of each run of epochs in one LR phase."""
        spe, spans = self.steps_per_epoch, []
        phases = [(int(d["epoch"]), str(d.get("phase"))) for d in self.decisions]
        last_epoch = int(self.series["epoch"].view[-1]) if self.n_steps else -1
        undecided = last_epoch > (phases[-1][0] if phases else -1)
        foreseen = self.phase_of_next_epoch()
        if undecided and foreseen not in (None, STOPPED):  # the epoch running now: its phase as planned
            phases.append((last_epoch, foreseen))
        else:
            undecided = False
        for epoch, phase in phases:
            x0, x1 = epoch * spe, (epoch + 1) * spe
            if undecided and epoch == last_epoch:
                x1 = min(x1, self.n_steps)
            if spans and spans[-1][2] == phase and spans[-1][1] == x0:
                spans[-1] = (spans[-1][0], x1, phase)
            else:
                spans.append((x0, x1, phase))
        return spans

    def stage_spans(self) -> list[tuple[float, float, str]]:
        """(first step − 1, last step, stage) of each run of steps in one DPS stage."""
        spans: list[tuple[float, float, str]] = []
        for i, stage in enumerate(self.stages):
            if stage is None:
                continue
            if spans and spans[-1][2] == stage and spans[-1][1] == i:
                spans[-1] = (spans[-1][0], i + 1, stage)
            else:
                spans.append((i, i + 1, str(stage)))
        return spans

    def indicator(self) -> dict[str, Any]:
        """The monitor after the last decision, from its fields: ``wait``, ``wait_plan`` (when
        waiting starts a cooldown / stops; None: the run has a fixed length; ``MISSING``: the log
        does not say), ``epochs_left``, phases and the plan in words."""
        d = self.decisions[-1] if self.decisions else {}
        return {"mode": self.started.get("mode", self.config.get("mode")), "wait": int(d.get("wait", 0) or 0),
                "wait_plan": d.get("wait_plan", MISSING) if d else MISSING, "epochs_left": d.get("epochs_left"),
                "phase": d.get("phase"), "action": d.get("action"), "next_phase": self.phase_of_next_epoch(),
                "plan": plan_text(self.plan(), self.steps_per_epoch)}

    def decision_lines(self) -> list[str]:
        """One readable line per epoch: what was decided and why."""
        return [f"epoch {epoch_label(d['epoch'])} ({d.get('phase', '?')}): {d.get('reason', d.get('action', ''))}"
                for d in self.decisions]

    def summary(self) -> dict[str, Any]:
        """One row of the runs table (and of its CSV export)."""
        cfg, metric = self.config, self.metric
        best = self.best_epoch()
        best_eval = self.evals.get(best) if best is not None else None
        last_eval = self.evals[max(self.evals)] if self.evals else None
        ended = self.ended or {}
        val = (ended.get("val") or {}).get(metric) if ended.get("val") else None
        t0 = self.started.get("time")
        wall = ended.get("wall_time") if ended else ((self.last_time - t0) if (t0 and self.last_time) else None)
        return {
            "name": self.run_id, "status": self.status, "task": self.started.get("task", cfg.get("task")),
            "mode": self.started.get("mode", cfg.get("mode")), "strategy": self.started.get("strategy", cfg.get("strategy")),
            "model": self.started.get("model", cfg.get("model")), "seed": self.started.get("seed", cfg.get("seed")),
            "train_size": self.started.get("train_size"), "epochs": len(self.evals), "steps": self.n_steps,
            "best_epoch": best, "metric": metric,
            "best_val_loss": best_eval.get("loss") if best_eval else None,
            "best_val_score": best_eval.get("score") if best_eval else None,
            "final_val_score": val if val is not None else (last_eval.get("score") if last_eval else None),
            "test_score": (self.test or {}).get("score") if self.test else (ended.get("test") or {}).get(metric),
            "wall_time": wall, "started": t0,
        }


class Store:
    """All runs seen, by ``run_id``; ``apply_all`` returns the ids that changed."""

    def __init__(self):
        self.runs: dict[str, RunState] = {}
        self.version = 0

    def apply_all(self, events: Iterable[dict[str, Any]]) -> set[str]:
        changed = set()
        for ev in events:
            run_id = ev.get("run_id")
            if not run_id:
                continue
            run = self.runs.get(run_id)
            if run is None:
                run = self.runs[run_id] = RunState(run_id)
            if run.apply(ev):
                changed.add(run_id)
        if changed:
            self.version += 1
        return changed

    def ordered(self) -> list[RunState]:
        """Newest first (by start time; runs not started yet first)."""
        return sorted(self.runs.values(), key=lambda r: -(r.started.get("time") or math.inf))
