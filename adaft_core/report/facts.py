"""What a run log says about a run, gathered once: its start, decisions, resumes and end.

:class:`RunFacts` folds the events of ``events.jsonl`` (as ``run_log.read_events`` returns them)
into the few records every summary needs, and answers the questions a card or a page asks —
the settings, the scores per split, the scores per entity type, why the run ended — in the
events' own words (the last decision's ``reason``, ``run_ended``'s ``status`` and ``error``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from adaft_core.events.display import epoch_label


@dataclass
class RunFacts:
    """The records of one run log (later ``run_started`` / ``run_ended`` events win)."""

    run_id: str
    started: dict[str, Any] = field(default_factory=dict)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    evals: list[dict[str, Any]] = field(default_factory=list)
    resumed: list[dict[str, Any]] = field(default_factory=list)
    masks: int = 0
    ended: dict[str, Any] | None = None

    @classmethod
    def from_events(cls, events: list[dict[str, Any]], run_id: str = "") -> "RunFacts":
        facts = cls(run_id=run_id or (events[0].get("run_id", "") if events else ""))
        for ev in events:
            kind = ev.get("event")
            if kind == "run_started":
                facts.started = ev
            elif kind == "decision":
                facts.decisions = [d for d in facts.decisions if d.get("epoch") != ev.get("epoch")] + [ev]
            elif kind == "eval" and ev.get("split", "validation") == "validation":
                facts.evals = [e for e in facts.evals if e.get("epoch") != ev.get("epoch")] + [ev]
            elif kind == "resumed":
                facts.resumed.append(ev)
            elif kind == "mask":
                facts.masks += 1
            elif kind == "run_ended":
                facts.ended = ev
        return facts

    @classmethod
    def from_run_dir(cls, run_dir: str | Path) -> "RunFacts":
        from adaft_core.store.run_log import read_events
        from adaft_core.store.runs import EVENTS_FILE

        return cls.from_events(read_events(Path(run_dir) / EVENTS_FILE), Path(run_dir).name)

    # ------------------------------------------------------------------ what it was
    @property
    def config(self) -> dict[str, Any]:
        return dict(self.started.get("config") or {})

    @property
    def metric(self) -> str:
        return str(self.started.get("metric") or "score")

    @property
    def status(self) -> str:
        return str(self.ended.get("status")) if self.ended else "running"

    @property
    def epochs(self) -> int:
        return int(self.ended.get("epochs") or 0) if self.ended else len(self.decisions)

    def scores(self) -> dict[str, dict[str, Any]]:
        """Split → metrics of the model the run kept: ``validation`` and ``test`` from ``run_ended``,
        each ``--eval-data`` set as ``eval:NAME``; while no ``run_ended``, the newest validation."""
        if self.ended is None:
            return {"validation": self.evals[-1].get("metrics") or {}} if self.evals else {}
        out = {split: self.ended.get(key) for split, key in (("validation", "val"), ("test", "test"))}
        out.update({f"eval:{name}": m for name, m in (self.ended.get("eval_data") or {}).items()})
        return {split: dict(m) for split, m in out.items() if isinstance(m, dict)}

    def end_text(self) -> str:
        """Why the run ended, in the events' words."""
        if self.ended is None:
            return "the run has not ended (it is running, or its process was lost)"
        status, error = self.status, self.ended.get("error")
        last = self.decisions[-1] if self.decisions else None
        after = f"after {self.epochs} epoch{'s' if self.epochs != 1 else ''}"
        if status == "early_stopped" and last:
            return f"early stopped {after}: {last.get('reason', '')}"
        if status == "completed":
            return f"completed {after} (the mode's fixed length or its epoch cap)"
        return f"{status} {after}" + (f": {error}" if error else "")

    def decision_rows(self) -> list[tuple[Any, str, str, str]]:
        """(epoch counted from 1, phase, action, reason) of every decision."""
        return [(epoch_label(d.get("epoch")), str(d.get("phase", "")), str(d.get("action", "")),
                 str(d.get("reason", ""))) for d in self.decisions]


def per_type_rows(metrics: dict[str, Any] | None) -> list[tuple[str, dict[str, Any]]]:
    """(entity type, its f1 / precision / recall / support) from a metrics dict's ``per_type``
    (NER); empty for tasks without one."""
    per_type = (metrics or {}).get("per_type") or {}
    return sorted(((str(k), v) for k, v in per_type.items() if isinstance(v, dict)), key=lambda kv: kv[0])
