"""What a decision plans from the next optimizer step on (the ``decision`` event's plan fields).

A view reads these instead of re-deriving a mode's rules, so a new mode only has to fill them:

- ``next_phase``: the LR phase from the next optimizer step on (``warmup`` / ``constant`` /
  ``cooldown`` / ``decay``, or ``stopped``);
- ``lr_plan``: that phase as a JSON dict, ``{"kind", "from_step", "steps_left", "lr_next",
  "lr_end", "then"}`` (see :func:`lr_plan`) — every phase of these modes is a straight line of
  the LR over steps, so (from_step, lr_next) → (from_step + steps_left − 1, lr_end) draws it;
- ``wait_plan``: ``{"cooldown_at", "stop_at"}``, the numbers of consecutive non-improving epochs
  (the decision's ``wait``) at which a cooldown starts and training stops; null when the monitor
  never stops the run (fixed-length modes).

The plan is "if no later decision changes it": an adaptive warm-up or cooldown can still be cut
short by the next validation. Pure functions of the state *after* the decision; ``plan_text``
says a plan in words (for the dashboard and ``adaft runs show``).
"""

from __future__ import annotations

from typing import Any

from adaft_core.modes.registry import get_mode

STOPPED = "stopped"


def _plan(kind: str, start: int, end: int | None, then: str | None, lr_of, lr_max: float | None) -> dict[str, Any]:
    """``start``/``end``: 0-based first step and end (exclusive) of the phase; ``end`` None: open."""
    known = lr_max is not None
    return {"kind": kind, "from_step": start + 1,
            "steps_left": None if end is None else max(0, end - start),
            "lr_next": lr_of(start) if known else None,
            "lr_end": (lr_max if end is None else lr_of(max(start, end - 1))) if known else None,
            "then": then}


def lr_plan(epoch: int, schedule: Any, settings, steps_per_epoch: int, lr_max: float | None, *,
            stop: bool = False) -> dict[str, Any]:
    """The LR phase from the first step after epoch ``epoch`` on, under ``schedule`` (the mode's own
    state in the monitor state, after the decision; ``epoch=-1``: the plan before training).

    ``kind``: the phase (``stop`` when training ends here); ``from_step``: the 1-based step it starts
    at (the run log's numbering); ``steps_left``: its length in steps (null: open-ended, until a
    decision ends it); ``lr_next`` / ``lr_end``: the LR of its first / last step (null when
    ``lr_max`` is not given, or stopped); ``then``: the phase that follows (``stop``, or null when a
    later decision chooses). The phase itself comes from the mode's ``plan`` (``modes/registry.py``).
    """
    start = (epoch + 1) * steps_per_epoch
    if stop:
        return {"kind": "stop", "from_step": start + 1, "steps_left": 0, "lr_next": None, "lr_end": None,
                "then": None}
    mode = get_mode(settings.mode)

    def lr_of(step):
        return mode.lr(step, schedule, settings, steps_per_epoch, lr_max)

    kind, first, end, then = mode.plan(start, schedule, settings, steps_per_epoch, lr_of)
    return _plan(kind, first, end, then, lr_of, lr_max)


def start_plan(settings, steps_per_epoch: int, lr_max: float | None = None) -> dict[str, Any]:
    """The plan before the first step (``run_started``'s ``lr_plan``): what epoch 0 runs in."""
    return lr_plan(-1, get_mode(settings.mode).new_state(), settings, steps_per_epoch, lr_max)


def next_phase(plan: dict[str, Any]) -> str:
    """The decision's ``next_phase``: the plan's kind, ``stopped`` for a stop."""
    return STOPPED if plan["kind"] == "stop" else plan["kind"]


def wait_plan(settings) -> dict[str, int | None] | None:
    """``{"cooldown_at", "stop_at"}`` in non-improving epochs (the mode's), or None for fixed length."""
    return get_mode(settings.mode).wait_plan(settings)


def plan_text(plan: dict[str, Any] | None, steps_per_epoch: int | None = None) -> str:
    """An ``lr_plan`` in words (for views and ``runs show``), e.g. "cooldown from step 17: LR
    2e-05 → 7.14e-07 over 28 steps (7 epochs), then stop"; "" when there is no plan."""
    if not plan or not plan.get("kind"):
        return ""
    if plan["kind"] == "stop":
        return f"stop after step {plan.get('from_step', 1) - 1}"
    text = f"{plan['kind']} from step {plan.get('from_step')}"
    a, b, n = plan.get("lr_next"), plan.get("lr_end"), plan.get("steps_left")
    if a is not None:
        text += f": LR {a:.3g}" + (f" → {b:.3g}" if b is not None and f"{b:.3g}" != f"{a:.3g}" else "")
    if n is None:
        text += " until a decision ends it"
    else:
        epochs = f" ({n / steps_per_epoch:g} epoch{'' if n == steps_per_epoch else 's'})" if steps_per_epoch else ""
        text += f" over {n} step{'' if n == 1 else 's'}{epochs}"
    return text + (f", then {plan['then']}" if plan.get("then") else "")
