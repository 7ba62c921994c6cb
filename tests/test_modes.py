"""The training modes of docs/adaptive.md, step by step, through the pure functions."""

import pytest
from modes_driver import EXAMPLE_1, EXAMPLE_2, LR, expected_example_1, expected_example_2, run_script

from adaft_core.modes import AdaptiveSchedule, ModeSettings, adaptive_lr, linear_warmup_decay_lr

S = 4


def test_worked_example_1_every_step_and_stop_epoch():
    lrs, decisions = run_script(EXAMPLE_1, ModeSettings(), S)
    assert lrs == pytest.approx(expected_example_1(), rel=1e-12, abs=0)
    assert lrs[:3] == [0.0, 2.5e-6, 5e-6]
    assert lrs[7] == pytest.approx(1.75e-5)
    assert lrs[16] == LR  # epoch 4 starts the decay at lr_max
    assert lrs[-1] == pytest.approx(LR / 28)  # last step of epoch 10
    assert [d.epoch for d in decisions if d.action == "cooldown"] == [3]
    assert decisions[-1].epoch == 10 and decisions[-1].action == "stop" and decisions[-1].early_stop
    assert len(decisions) == 11


def test_worked_example_2_restart_and_second_cooldown():
    lrs, decisions = run_script(EXAMPLE_2, ModeSettings(), S)
    assert lrs == pytest.approx(expected_example_2(), rel=1e-12, abs=0)
    actions = {d.epoch: d.action for d in decisions if d.action != "continue"}
    assert actions == {3: "cooldown", 5: "restart", 6: "cooldown", 13: "stop"}
    assert decisions[-1].epoch == 13


@pytest.mark.parametrize("mode,epochs", [("original", 5), ("stable", 20)])
def test_fixed_modes_match_formula(mode, epochs):
    losses = [1.0 - 0.01 * e for e in range(epochs)]  # always improving: no effect on the LR
    lrs, decisions = run_script(losses, ModeSettings(mode=mode, max_epochs=epochs), S)
    W, N = 2 * S, epochs * S
    expected = [LR * s / W if s < W else LR * max(0.0, (N - s) / (N - W)) for s in range(N)]
    assert lrs == pytest.approx(expected, rel=1e-12, abs=0)
    assert len(decisions) == epochs and decisions[-1].action == "stop"
    assert not decisions[-1].early_stop
    assert all(d.action == "continue" for d in decisions[:-1])


def test_fixed_modes_never_stop_early_on_rising_loss():
    losses = [1.0 + 0.1 * e for e in range(5)]
    _, decisions = run_script(losses, ModeSettings(mode="original", max_epochs=5), S)
    assert [d.action for d in decisions] == ["continue"] * 4 + ["stop"]


def test_restarts_off_stops_exactly_cooldown_after_trigger():
    # improves inside the cooldown, but without restarts it stops C epochs after the trigger
    losses = [1.0, 0.8, 0.9, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05, 0.01]
    lrs, decisions = run_script(losses, ModeSettings(restarts=False), S)
    assert decisions[2].action == "cooldown"
    assert decisions[-1].epoch == 2 + 7 and decisions[-1].action == "stop"
    assert all(d.action != "restart" for d in decisions)
    assert lrs[12] == LR and lrs[-1] == pytest.approx(LR / 28)


def test_cooldown_zero_is_plain_early_stopping_with_patience():
    losses = [1.0, 0.9, 0.8, 0.85, 0.86, 0.87, 0.88]
    lrs, decisions = run_script(losses, ModeSettings(cooldown_epochs=0, patience=2), S)
    # patience 2: stop at the 3rd non-improving epoch (epoch 5), LR constant after warm-up
    assert decisions[-1].epoch == 5 and decisions[-1].action == "stop"
    assert lrs[8:] == [LR] * (len(lrs) - 8)


def test_patience_delays_cooldown():
    losses = [1.0, 0.9, 0.8, 0.85, 0.86] + [0.9] * 20
    _, decisions = run_script(losses, ModeSettings(patience=1), S)
    assert [d.epoch for d in decisions if d.action == "cooldown"] == [4]
    assert decisions[-1].epoch == 3 + 1 + 7 + 1 - 1  # p + C + 1 = 9 non-improving epochs: 3..11
    assert decisions[-1].action == "stop"


def test_trigger_during_warmup_starts_cooldown_from_lr_max():
    losses = [1.0, 1.1] + [1.2] * 20
    lrs, decisions = run_script(losses, ModeSettings(warmup_epochs=4), S)
    assert decisions[1].action == "cooldown"
    assert lrs[8] == LR  # epoch 2 would still be warm-up, but the cooldown starts at lr_max
    assert lrs[9] == pytest.approx(LR * 27 / 28)


def test_max_epochs_caps_adaptive():
    losses = [1.0 - 0.01 * e for e in range(50)]
    _, decisions = run_script(losses, ModeSettings(max_epochs=12), S)
    assert len(decisions) == 12 and decisions[-1].action == "stop" and not decisions[-1].early_stop


def test_decision_reason_is_readable():
    _, decisions = run_script(EXAMPLE_1, ModeSettings(), S)
    assert decisions[3].reason.endswith("cooldown starts, 7 epochs left")
    assert "no improvement for 1 epoch" in decisions[3].reason
    assert decisions[3].phase == "constant" and decisions[4].phase == "cooldown"
    assert decisions[0].phase == "warmup"


def test_pure_schedules_directly():
    assert linear_warmup_decay_lr(0, lr_max=1.0, warmup_steps=2, total_steps=6) == 0.0
    assert linear_warmup_decay_lr(4, lr_max=1.0, warmup_steps=2, total_steps=6) == 0.5
    assert linear_warmup_decay_lr(9, lr_max=1.0, warmup_steps=2, total_steps=6) == 0.0
    sched = AdaptiveSchedule(cooldown_start=10)
    assert adaptive_lr(10, sched, lr_max=1.0, warmup_steps=4, cooldown_steps=5) == 1.0
    assert adaptive_lr(14, sched, lr_max=1.0, warmup_steps=4, cooldown_steps=5) == pytest.approx(0.2)
    assert adaptive_lr(2, AdaptiveSchedule(), lr_max=1.0, warmup_steps=4, cooldown_steps=5) == 0.5


# --- decisions carry their plan (next_phase, lr_plan, wait_plan) ---------------------------------

PLAN_SCRIPTS = [
    (EXAMPLE_1, ModeSettings()), (EXAMPLE_2, ModeSettings()),
    ([1.0, 0.8, 0.9, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05, 0.01], ModeSettings(restarts=False)),
    ([1.0, 0.9, 0.8, 0.85, 0.86] + [0.9] * 20, ModeSettings(patience=1)),
    ([1.0, 1.1] + [1.2] * 20, ModeSettings(warmup_epochs=4)),
    ([1.0, 0.9, 0.8, 0.85, 0.86, 0.87, 0.88], ModeSettings(cooldown_epochs=0, patience=2)),
    ([1.0 - 0.01 * e for e in range(50)], ModeSettings(max_epochs=12)),
    ([1.0 + 0.1 * e for e in range(5)], ModeSettings(mode="original", max_epochs=5)),
    ([1.0] * 20, ModeSettings(mode="stable", max_epochs=20)),
]


@pytest.mark.parametrize("losses,settings", PLAN_SCRIPTS)
def test_every_plan_is_what_the_following_steps_do(losses, settings):
    """Each decision's plan is checked against the LRs the pure schedule then gives, step by step."""
    lrs, decisions = run_script(losses, settings, S)
    for d in decisions:
        plan, start = d.lr_plan, (d.epoch + 1) * S  # 0-based index of the next step
        assert plan["from_step"] == start + 1
        assert d.wait_plan == ({"cooldown_at": settings.patience + 1 if settings.cooldown_epochs else None,
                                "stop_at": settings.patience + settings.cooldown_epochs + 1}
                               if settings.mode == "adaptive" else None)
        if d.action == "stop":
            assert d.next_phase == "stopped" and plan == {"kind": "stop", "from_step": start + 1, "steps_left": 0,
                                                         "lr_next": None, "lr_end": None, "then": None}
            continue
        nxt = decisions[d.epoch + 1]
        assert d.next_phase == plan["kind"] == nxt.phase  # the phase the next epoch then ran in
        assert plan["lr_next"] == pytest.approx(lrs[start], rel=1e-12, abs=0)
        n = plan["steps_left"]
        if n is None:  # open-ended: constant at lr_max until a later decision
            assert plan["kind"] == "constant" and plan["lr_end"] == LR == lrs[start]
            continue
        # the phase runs its course unless a later decision (cooldown / restart / stop) changes it
        changed = next((e.epoch for e in decisions[d.epoch + 1:] if e.action != "continue"), None)
        span = n if changed is None else min(n, (changed + 1) * S - start)
        if span == n and start + n <= len(lrs):
            assert lrs[start + n - 1] == pytest.approx(plan["lr_end"], rel=1e-12, abs=0)
        if changed is None or decisions[changed].action == "stop":  # it ran its course: what came next
            assert decisions[(start + n - 1) // S].phase == plan["kind"]  # its last step is still in it
            if plan["then"] == "stop":
                assert start + n == len(lrs)
            elif (start + n) // S < len(decisions):
                assert decisions[(start + n) // S].phase == plan["then"]
        seg = lrs[start:start + span]  # a straight line from lr_next towards lr_end
        slope = (plan["lr_end"] - plan["lr_next"]) / max(1, n - 1)
        assert seg == pytest.approx([plan["lr_next"] + slope * k for k in range(len(seg))], rel=1e-9, abs=1e-18)


def test_plan_of_the_worked_example():
    _, decisions = run_script(EXAMPLE_1, ModeSettings(), S)
    assert decisions[0].lr_plan == {"kind": "warmup", "from_step": 5, "steps_left": 4, "lr_next": pytest.approx(1e-5),
                                    "lr_end": pytest.approx(1.75e-5), "then": "constant"}
    assert decisions[1].next_phase == "constant" and decisions[1].phase == "warmup"
    assert decisions[1].lr_plan == {"kind": "constant", "from_step": 9, "steps_left": None, "lr_next": LR,
                                    "lr_end": LR, "then": "cooldown"}
    assert decisions[3].lr_plan == {"kind": "cooldown", "from_step": 17, "steps_left": 28, "lr_next": LR,
                                    "lr_end": pytest.approx(LR / 28), "then": "stop"}
    assert decisions[5].lr_plan["steps_left"] == 20 and decisions[5].next_phase == "cooldown"
    assert decisions[10].next_phase == "stopped"


def test_plan_without_lr_max_and_before_training():
    from adaft_core.modes import MonitorState, decide, start_plan

    _, d = decide(MonitorState(), epoch=0, value=1.0, settings=ModeSettings(), steps_per_epoch=S)
    assert d.lr_plan["kind"] == "warmup" and d.lr_plan["lr_next"] is None and d.lr_plan["lr_end"] is None
    assert start_plan(ModeSettings(), S, LR) == {"kind": "warmup", "from_step": 1, "steps_left": 8, "lr_next": 0.0,
                                                 "lr_end": pytest.approx(1.75e-5), "then": "constant"}
    assert start_plan(ModeSettings(warmup_epochs=0), S)["kind"] == "constant"
    fixed = start_plan(ModeSettings(mode="original", max_epochs=5, warmup_epochs=0), S, LR)
    assert fixed == {"kind": "decay", "from_step": 1, "steps_left": 20, "lr_next": LR, "lr_end": LR / 20,
                     "then": "stop"}


def test_reasons_at_the_end_of_warmup_and_with_patience():
    _, decisions = run_script(EXAMPLE_1, ModeSettings(), S)
    assert decisions[0].reason.endswith(": warm-up continues")
    assert decisions[1].reason.endswith(": warm-up ends, the LR is constant from the next step")
    assert decisions[2].reason.endswith(": LR stays constant")
    _, decisions = run_script([1.0, 1.1, 0.9, 0.95] + [1.0] * 20, ModeSettings(patience=2, warmup_epochs=3), S)
    assert decisions[1].reason.endswith("warm-up continues, cooldown after 2 epochs more without improvement")
    assert decisions[2].reason.endswith("warm-up ends, the LR is constant from the next step")
    assert decisions[3].reason.endswith("LR stays constant, cooldown after 2 epochs more without improvement")
    _, decisions = run_script([1.0, 0.9, 0.8, 0.85] + [0.9] * 5, ModeSettings(patience=2, cooldown_epochs=0), S)
    assert decisions[3].reason.endswith("LR stays constant, stop after 2 epochs more without improvement")


def test_a_new_mode_is_one_registry_entry(monkeypatch):
    """A mode added to the registry works through lr_at, decide and the plan with nothing else changed."""
    from adaft_core.modes import MODES, Mode, ModeSettings, MonitorState, decide, lr_at

    def lr(step, schedule, settings, steps_per_epoch, lr_max):
        return lr_max if (step // steps_per_epoch) % 2 == 0 else lr_max / 10

    def rule(new, make, epoch, settings, steps_per_epoch, improved):
        if epoch + 1 >= settings.max_epochs:
            return make("stop", "stop, done", 0)
        return make("continue", "the next half-cycle", None)

    def plan(start, schedule, settings, steps_per_epoch, lr_of):
        kind = "rise" if (start // steps_per_epoch) % 2 == 0 else "fall"
        return kind, start, start + steps_per_epoch, "fall" if kind == "rise" else "rise"

    monkeypatch.setitem(MODES, "cyclic", Mode("cyclic", default_epochs=4, fixed_length=True, lr=lr, rule=rule,
                                              plan=plan))
    settings = ModeSettings(mode="cyclic", max_epochs=2)
    assert [lr_at(s, MonitorState(), settings, 3, 1.0) for s in range(6)] == [1, 1, 1, .1, .1, .1]
    state, d = decide(MonitorState(), epoch=0, value=1.0, settings=settings, steps_per_epoch=3, lr_max=1.0)
    assert (d.phase, d.action, d.next_phase) == ("rise", "continue", "fall")
    assert d.lr_plan == {"kind": "fall", "from_step": 4, "steps_left": 3, "lr_next": 0.1, "lr_end": 0.1,
                         "then": "rise"}
    _, d = decide(state, epoch=1, value=2.0, settings=settings, steps_per_epoch=3, lr_max=1.0)
    assert (d.phase, d.action, d.next_phase, d.wait_plan) == ("fall", "stop", "stopped", None)
