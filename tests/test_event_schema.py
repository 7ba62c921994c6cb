"""The event schema module on its own (no engine run): types, nesting, versions, stream rules,
the Markdown it prints; the contract against real runs is tests/test_event_contract.py."""

from __future__ import annotations

import subprocess
import sys

import pytest

from adaft_core.events.schema import COMMON, EVENT_NAMES, EVENTS, check_stream, describe, log_version, validate_event
from adaft_core.modes import ModeSettings, plan_text, start_plan

PLAN = {"kind": "cooldown", "from_step": 17, "steps_left": 28, "lr_next": 2e-5, "lr_end": 2e-5 / 28, "then": "stop"}


def decision(**kw):
    base = {"event": "decision", "run_id": "r", "seq": 5, "time": 1.0, "epoch": 3, "monitor": "val_loss",
            "value": 0.75, "best": 0.7, "improved": False, "wait": 1, "phase": "constant", "action": "cooldown",
            "reason": "…", "epochs_left": 7, "early_stop": False, "next_phase": "cooldown", "lr_plan": PLAN,
            "wait_plan": {"cooldown_at": 1, "stop_at": 8}}
    return {**base, **kw}


def test_a_valid_decision_and_what_is_wrong_with_broken_ones():
    assert validate_event(decision()) == []
    assert validate_event(decision(value=None, best=None, epochs_left=None, wait_plan=None)) == []  # nullable
    assert validate_event(decision(extra_field="kept")) == []  # readers ignore fields they do not know
    assert validate_event(decision(wait=True)) == ["decision (seq 5): field 'wait' is bool True, expected int"]
    assert validate_event(decision(improved=1)) == ["decision (seq 5): field 'improved' is int 1, expected bool"]
    assert validate_event(decision(value="0.7"))[0].endswith("expected number or null")
    assert validate_event(decision(lr_plan={**PLAN, "steps_left": 2.5})) == [
        "decision (seq 5).lr_plan: field 'steps_left' is float 2.5, expected int or null"]
    assert validate_event(decision(lr_plan=[PLAN]))[0].endswith("expected dict")
    module = {"name": "w", "layer": None, "kind": "head", "kept": 0.5, "overlap_prev": None}
    mask = {"event": "mask", "run_id": "r", "seq": 1, "time": 1.0, "step": 3, "stage": "II", "strategy": "dps-dense",
            "keep_fraction": 0.3, "modules": [module, module | {"layer": 0, "per_head": [0.5, 0.5]}]}
    assert validate_event(mask) == []  # a list of objects: each is checked
    assert validate_event(mask | {"modules": [module, 3]}) == ["mask (seq 1).modules[1]: expected an object, got int"]
    assert validate_event(mask | {"modules": [module | {"layer": "0"}]}) == [
        "mask (seq 1).modules[0]: field 'layer' is str '0', expected int or null"]
    assert validate_event({"event": "decision"}) == [
        f"decision (seq ?): required field {f!r} is missing" for f in ("run_id", "seq", "time")] + [
        f"decision (seq ?): required field {f.name!r} is missing" for f in EVENTS["decision"].fields]
    assert validate_event({"seq": 0}) [-1] == "? (seq 0): unknown event kind None (known: " + ", ".join(EVENT_NAMES) + ")"


def test_fields_since_a_later_version_are_required_only_of_logs_that_version_wrote():
    old = {k: v for k, v in decision().items() if k not in ("next_phase", "lr_plan", "wait_plan")}
    assert validate_event(old, "0.1.0") == []
    assert validate_event(old, "0.1.9") == []
    assert [p.split(": ")[1] for p in validate_event(old)] == [
        "required field 'next_phase' is missing", "required field 'lr_plan' is missing",
        "required field 'wait_plan' is missing"]
    assert validate_event(old, "0.3.0") != []
    assert log_version([{"event": "step"}, {"event": "run_started", "versions": {"adaft": "0.1.0"}}]) == "0.1.0"
    assert EVENTS["resumed"].since == "0.2.0" and all(f.since == "0.2.0" for f in EVENTS["resumed"].fields)
    assert {f.name for f in EVENTS["run_started"].fields if f.since == "0.2.0"} == {
        "host", "pid", "empty_tokens", "lr_plan", "packed"}


def _started(seq=0):
    return {"event": "run_started", "run_id": "r", "seq": seq, "time": 0.0, "config": {}, "task": "ner",
            "mode": "cyclic", "strategy": "vanilla", "model": "m", "seed": 0, "train_size": 1, "val_size": 1,
            "steps_per_epoch": 1, "max_epochs": 1, "labels": [], "device": "cpu", "versions": {"adaft": "0.2.0"},
            "host": "h", "pid": 1}


def _ended(seq):
    return {"event": "run_ended", "run_id": "r", "seq": seq, "time": 1.0, "status": "stopped", "epochs": 0,
            "steps": 0, "best_epoch": None, "final_model": None, "val": None, "test": None, "wall_time": 1.0,
            "error": "stop requested"}


def test_stream_rules_with_a_resume():
    resumed = {"event": "resumed", "run_id": "r", "seq": 2, "time": 2.0, "step": 0, "epoch": 0,
               "checkpoint": None, "host": "h", "pid": 2, "steps_per_epoch": 1, "max_epochs": 1, "metric": "f1"}
    stream = [_started(), _ended(1), resumed, _ended(3)]
    assert check_stream(stream) == []
    assert check_stream([_started(), resumed | {"seq": 1}, _ended(2)]) == []  # a killed run: no run_ended before
    assert check_stream(stream[:3]) == ["the last event is 'resumed', not 'run_ended'"]
    assert check_stream(stream[:3], complete=False) == []
    assert check_stream([]) == ["no events"]
    other = _ended(3) | {"run_id": "s"}
    assert "several run_ids in one stream" in check_stream(stream[:3] + [other])[-1]


def test_describe_lists_every_kind_and_field_and_imports_no_torch():
    text = describe()
    for kind in EVENTS.values():
        assert f"### `{kind.name}`" in text
        for f in kind.fields:
            assert f"| `{f.name}` |" in text
    assert "| `lr_plan.steps_left` | int or null | yes | 0.2.0 |" in text
    assert all(f"`{f.name}`" in text.splitlines()[0] for f in COMMON)
    code = "import sys, adaft_core.events.schema, adaft_core.modes; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    from adaft_core.events import emitter as events

    assert events.EVENT_NAMES == EVENT_NAMES and "resumed" in EVENT_NAMES


@pytest.mark.parametrize("plan,text", [
    (PLAN, "cooldown from step 17: LR 2e-05 → 7.14e-07 over 28 steps (7 epochs), then stop"),
    ({**PLAN, "kind": "constant", "steps_left": None, "lr_end": 2e-5, "then": "cooldown"},
     "constant from step 17: LR 2e-05 until a decision ends it, then cooldown"),
    ({**PLAN, "lr_next": None, "lr_end": None, "steps_left": 4}, "cooldown from step 17 over 4 steps (1 epoch), then stop"),
    ({"kind": "stop", "from_step": 45, "steps_left": 0, "lr_next": None, "lr_end": None, "then": None},
     "stop after step 44"),
    (None, ""),
])
def test_plan_in_words(plan, text):
    assert plan_text(plan, 4) == text


def test_start_plan_validates_as_run_started_field():
    ev = _started() | {"lr_plan": start_plan(ModeSettings(), 4, 2e-5)}
    assert validate_event(ev) == []
    assert validate_event(ev | {"lr_plan": {"kind": "warmup"}})[0].endswith("'from_step' is missing")
