"""The event contract (issue 13, acceptance 2): real tiny engine runs of NER and classification
with every strategy, and a stopped-then-resumed run; every event they emit — to a RecorderSink
and to ``events.jsonl`` — is checked against ``adaft_core.events.schema``, every event kind and
every declared field shows up, nothing undeclared is written, and a dropped or renamed field is
reported."""

from __future__ import annotations

import json
import threading

import pytest

from adaft_core import TrainConfig, train
from adaft_core.events.schema import COMMON, EVENT_NAMES, EVENTS, check_stream, validate_event
from adaft_core.events.emitter import RecorderSink
from adaft_core.store.runs import read_events

STRATEGIES = {"vanilla": {"telemetry": True}, "dps-dense": {"stage_steps": 1}, "dps-mix": {"stage_steps": 1},
              "childtuning-d": {}, "childtuning-f": {}}
TASKS = ("ner", "classification")


def _config(task, model, data, out, strategy, **kw):
    # adaptive with a 1-epoch warm-up over 2 epochs: warm-up and constant phases, a stop, a plan each
    base = dict(task=task, model=model, data=data, output_dir=str(out), batch_size=12, eval_batch_size=16,
                lr=1e-3, seed=0, mode="adaptive", max_epochs=2, warmup_epochs=1, strategy=strategy,
                strategy_options=STRATEGIES[strategy], save_model=False, max_seq_length=64)
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture(scope="module")
def runs(tiny_model_dir, conll_dir, pair_dir, tmp_path_factory):
    """{(task, strategy): (recorded events as dicts, the run log as read back)} of 10 real runs
    (the log is checked to be the recorded events' JSON form, event for event)."""
    out, found = tmp_path_factory.mktemp("contract-runs"), {}
    for task in TASKS:
        for strategy in STRATEGIES:
            rec = RecorderSink()
            data = conll_dir if task == "ner" else pair_dir
            result = train(_config(task, tiny_model_dir, data, out, strategy), sinks=[rec])
            assert result.status == "completed", (task, strategy, result.error)
            assert read_events(result.run_dir) == [json.loads(e.to_json()) for e in rec.events]
            found[task, strategy] = ([e.to_dict() for e in rec.events], read_events(result.run_dir))
    return found


@pytest.fixture(scope="module")
def resumed_run(tiny_model_dir, conll_dir, tmp_path_factory):
    """A run stopped mid-epoch 1 by a sink, then resumed: (log, events of the first part, of the resume)."""
    from adaft_core.run import engine

    if not hasattr(engine, "resume"):
        pytest.skip("adaft_core.run.engine.resume is not there yet")
    out, stop = tmp_path_factory.mktemp("contract-resume"), threading.Event()

    class StopAtStep6:
        def handle(self, event):
            if event.event == "step" and event["step"] == 6:
                stop.set()

    first, second = RecorderSink(), RecorderSink()
    cfg = _config("ner", tiny_model_dir, conll_dir, out, "dps-dense", max_epochs=3)
    result = train(cfg, sinks=[first, StopAtStep6()], stop_event=stop)
    assert result.status == "stopped"
    again = engine.resume(result.run_id, output_dir=out, sinks=[second])
    assert again.status == "completed", again.error
    return read_events(result.run_dir), [e.to_dict() for e in first.events], [e.to_dict() for e in second.events]


def _all_events(runs, resumed=None):
    events = [ev for recorded, _ in runs.values() for ev in recorded]
    return events + (resumed[0] if resumed else [])


# ------------------------------------------------------------------------------ every event valid

@pytest.mark.parametrize("task", TASKS)
@pytest.mark.parametrize("strategy", list(STRATEGIES))
def test_every_event_of_a_real_run_matches_the_schema(runs, task, strategy):
    recorded, logged = runs[task, strategy]
    assert check_stream(logged) == []
    assert [p for ev in recorded for p in validate_event(ev)] == []  # the in-process form too
    assert [e["event"] for e in logged] == [e["event"] for e in recorded]
    if strategy != "vanilla":
        assert "mask" in {e["event"] for e in logged}
    assert "telemetry" in {e["event"] for e in logged}


def test_every_kind_and_every_declared_field_shows_up(runs, resumed_run):
    """Each kind of the schema is emitted, each field it declares appears in a real event of it,
    and no real event carries a field the schema does not declare (declare it, with its version)."""
    events = _all_events(runs, resumed_run)
    assert {e["event"] for e in events} == set(EVENT_NAMES)
    common = {f.name for f in COMMON}
    for name, kind in EVENTS.items():
        real = [e for e in events if e["event"] == name]
        seen = set().union(*(set(e) for e in real)) - common
        declared = {f.name for f in kind.fields}
        assert declared - seen == set(), f"{name}: declared but never written"
        assert seen - declared == set(), f"{name}: written but not declared in event_schema"
        for f in kind.fields:
            if not f.keys:
                continue
            values = [e[f.name] for e in real if isinstance(e.get(f.name), (dict, list))]
            items = [i for v in values for i in (v if isinstance(v, list) else [v])]
            keys = set().union(*(set(i) for i in items))
            assert keys == {k.name for k in f.keys}, f"{name}.{f.name}: {sorted(keys)}"


def test_decision_plans_are_what_the_engine_then_does(runs):
    """Each real decision's lr_plan names the step and LR the engine used next."""
    for recorded, _ in runs.values():
        steps = {e["step"]: e for e in recorded if e["event"] == "step"}
        decisions = [e for e in recorded if e["event"] == "decision"]
        started = recorded[0]
        assert started["lr_plan"]["from_step"] == 1 and started["lr_plan"]["lr_next"] == steps[1]["lr"]
        assert started["lr_plan"]["kind"] == decisions[0]["phase"] == "warmup"
        for d in decisions:
            plan = d["lr_plan"]
            if d["action"] == "stop":
                assert d["next_phase"] == "stopped" and plan["from_step"] - 1 == max(steps)
                continue
            nxt = steps[plan["from_step"]]
            assert nxt["epoch"] == d["epoch"] + 1 and nxt["lr"] == pytest.approx(plan["lr_next"], rel=1e-12)
            assert d["next_phase"] == plan["kind"] == "constant"  # warm-up ends after epoch 0
        assert decisions[0]["wait_plan"] == {"cooldown_at": 1, "stop_at": 8}


def test_resumed_run_log(resumed_run):
    log, first, second = resumed_run
    assert check_stream(log) == []
    assert [p for ev in first + second for p in validate_event(ev)] == []
    resumed = [e for e in log if e["event"] == "resumed"]
    assert len(resumed) == 1 and second[0]["event"] == "resumed" and first[-1]["event"] == "run_ended"
    assert resumed[0]["seq"] == first[-1]["seq"] + 1  # the numbering goes on
    assert resumed[0]["step"] <= 6 and resumed[0]["epoch"] in (0, 1)


# ------------------------------------------------------------------------------ the schema bites

def test_dropping_or_renaming_a_field_of_a_real_event_is_reported(runs, resumed_run):
    """Mutate real events: every required field dropped or renamed, a wrong type, an unknown kind."""
    events = _all_events(runs, resumed_run)
    by_kind = {e["event"]: e for e in events}  # one real event of each kind
    checked = 0
    for name, ev in by_kind.items():
        assert validate_event(ev) == []
        for f in COMMON + EVENTS[name].fields:
            if not f.required or f.name not in ev:
                continue
            dropped = {k: v for k, v in ev.items() if k != f.name}
            renamed = {**dropped, f"{f.name}_renamed": ev[f.name]}
            for broken in (dropped, renamed):
                problems = validate_event(broken)
                assert any(f"'{f.name}' is missing" in p for p in problems), (name, f.name, problems)
            checked += 1
    assert checked >= 60
    decision = by_kind["decision"]
    assert any("'lr_next' is missing" in p for p in validate_event(
        {**decision, "lr_plan": {k: v for k, v in decision["lr_plan"].items() if k != "lr_next"}}))
    assert any("'improved' is str" in p for p in validate_event({**decision, "improved": "yes"}))
    assert any("'seq' is" in p for p in validate_event({**decision, "seq": 1.5}))
    mask = by_kind["mask"]
    broken = {**mask, "modules": [{k: v for k, v in m.items() if k != "kept"} for m in mask["modules"]]}
    assert any("modules[0]: required field 'kept'" in p for p in validate_event(broken))
    assert any("unknown event kind 'stepp'" in p for p in validate_event({**by_kind["step"], "event": "stepp"}))


def test_fields_added_later_are_not_required_of_older_logs(runs):
    recorded, _ = runs["ner", "vanilla"]
    old = [{k: v for k, v in e.items() if k not in ("next_phase", "lr_plan", "wait_plan", "host", "pid")}
           for e in recorded]
    assert check_stream(old) != []  # written by 0.2.0: the new fields are required
    old[0] = {**old[0], "versions": {**old[0]["versions"], "adaft": "0.1.0"}}
    assert check_stream(old) == []


def test_check_stream_order_rules(runs):
    recorded, _ = runs["ner", "vanilla"]
    assert any("seq is not 0, 1, 2" in p for p in check_stream(recorded[:3] + recorded[4:]))
    assert any("not 'run_started'" in p for p in check_stream(recorded[1:]))
    assert any("not 'run_ended'" in p for p in check_stream(recorded[:-1]))
    assert check_stream(recorded[:-1], complete=False) == []
    tail = {**recorded[1], "seq": len(recorded)}
    assert any("follows run_ended" in p for p in check_stream(recorded + [tail]))
