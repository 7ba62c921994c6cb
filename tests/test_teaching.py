"""The teaching demo (notebooks/04_teaching.ipynb): its pure part (adaft_core/modes/teaching.py) drives the
engine's own mode functions with a scripted curve; its views (dashboard/teaching/demo.py, replay.py)
redraw from those results when a setting or the curve changes, and replay the shipped run log."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from modes_driver import run_script

from adaft_core.errors import ConfigError
from adaft_core.events.schema import check_stream
from adaft_core.examples import example_events, example_log
from adaft_core.modes.teaching import COMPARED, PRESETS, Knobs, compare, parse_curve, preset_curve, simulate

REPO = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------- the pure part
@pytest.mark.parametrize("preset", list(PRESETS))
@pytest.mark.parametrize("mode", COMPARED)
def test_simulate_is_the_engine_functions_step_by_step(preset, mode):
    knobs = Knobs(lr=3e-5, warmup_epochs=1, cooldown_epochs=3, patience=1, steps_per_epoch=4)
    sim = simulate(preset_curve(preset), mode, knobs)
    lrs, decisions = run_script(preset_curve(preset), knobs.settings(mode), 4, lr_max=3e-5)
    assert sim.lrs == lrs and sim.decisions == decisions


def test_the_spec_worked_example():
    """docs/adaptive.md §7: S = 4, defaults, 1.0, 0.8, 0.7, 0.75, then rising by 0.01."""
    curve = [1.0, 0.8, 0.7, 0.75] + [0.75 + 0.01 * k for k in range(1, 20)]
    sim = simulate(curve, "adaptive", Knobs(steps_per_epoch=4))
    assert sim.actions("cooldown") == [3] and sim.actions("stop") == [10] and sim.epochs == 11
    assert sim.lrs[:2] == [0.0, 2.5e-6] and sim.lrs[8:16] == [2e-5] * 8
    assert sim.lrs[16] == 2e-5 and sim.lrs[-1] == pytest.approx(2e-5 / 28)


def test_fixed_modes_train_their_fixed_length_on_every_preset():
    for preset in PRESETS:
        sims = compare(preset_curve(preset))
        assert (sims["original"].epochs, sims["stable"].epochs) == (5, 20)
        assert sims["original"].stopped and not sims["original"].decisions[-1].early_stop


def test_keeps_improving_holds_the_lr_constant_after_warm_up():
    knobs = Knobs(warmup_epochs=2, steps_per_epoch=5)
    sim = simulate(preset_curve("keeps improving"), "adaptive", knobs)
    assert not sim.stopped and sim.epochs == len(preset_curve("keeps improving"))
    assert {d.action for d in sim.decisions} == {"continue"}
    assert set(sim.lrs[10:]) == {knobs.lr} and sim.lrs[:10] == sorted(sim.lrs[:10])


def test_overfits_stops_adaptive_early_after_one_cooldown():
    curve = preset_curve("overfits")
    best = curve.index(min(curve))
    for cooldown in (0, 3, 7):
        sim = simulate(curve, "adaptive", Knobs(cooldown_epochs=cooldown))
        assert sim.stopped and sim.decisions[-1].early_stop
        assert sim.epochs < len(curve)  # stopped before the curve's last epoch
        assert sim.actions("stop") == [best + cooldown + 1]  # patience 0 + C + 1 non-improving epochs
        assert sim.actions("cooldown") == ([best + 1] if cooldown else [])


def test_plateau_cools_down_then_stops_and_patience_delays_it():
    curve = preset_curve("plateau")
    last_improvement = max(e for e in range(len(curve)) if curve[e] < min(curve[:e], default=float("inf")))
    for patience in (0, 2):
        sim = simulate(curve, "adaptive", Knobs(patience=patience))
        assert sim.actions("cooldown") == [last_improvement + patience + 1]
        assert sim.actions("stop") == [last_improvement + patience + 7 + 1]


def test_noisy_restarts_and_without_restarts_stops():
    curve = preset_curve("noisy")
    with_restarts = simulate(curve, "adaptive", Knobs(restarts=True))
    assert with_restarts.actions("restart") and with_restarts.actions("cooldown")
    without = simulate(curve, "adaptive", Knobs(restarts=False))
    assert not without.actions("restart") and without.stopped
    assert without.actions("stop") == [without.actions("cooldown")[0] + 7]


def test_parse_curve_reads_commas_and_names_the_bad_epoch():
    assert parse_curve("1, 0.8 0.7,,0.75") == [1.0, 0.8, 0.7, 0.75]
    with pytest.raises(ConfigError, match="epoch 3: 'x' is not a number"):
        parse_curve("1, 0.8, x")
    with pytest.raises(ConfigError, match="epoch 2"):
        parse_curve("1, -0.5")
    with pytest.raises(ConfigError, match="type the validation loss"):
        parse_curve(" , ")
    with pytest.raises(ConfigError, match="unknown curve preset 'wavy'"):
        preset_curve("wavy")


# ---------------------------------------------------------------------- the widgets
W = pytest.importorskip("ipywidgets")


def test_moving_a_slider_redraws_the_lr_and_the_decisions():
    from adaft_dashboard.teaching.demo import TeachingView

    view = TeachingView(preset="overfits")
    adaptive_lr = lambda: list(view.fig.data[2].y)  # noqa: E731
    assert max(adaptive_lr()) == pytest.approx(2e-5)
    assert len(view.fig._widget_data[2]["y"]) == len(adaptive_lr())  # a late browser view gets the drawing
    view.lr.value = 1e-4
    assert max(adaptive_lr()) == pytest.approx(1e-4) and max(view.fig.data[0].y) == pytest.approx(1e-4)
    before_table = view.table.value
    assert list(view.fig.data[6].x) == [14] and "adaptive</b>: 14 epochs" in view.summary.value
    view.cooldown.value = 2  # adaptive stops 5 epochs sooner
    assert list(view.fig.data[6].x) == [9] and "adaptive</b>: 9 epochs" in view.summary.value
    assert view.table.value != before_table
    view.steps.value = 3
    assert len(view.fig.data[0].x) == 5 * 3 + 1  # original: 5 epochs of 3 steps (and the line's end)


def test_presets_text_and_point_edits_change_the_curve():
    from adaft_dashboard.teaching.demo import EDITED, TeachingView

    view = TeachingView(preset="overfits")
    assert "early stop" in view.summary.value
    view.preset.value = "keeps improving"
    assert list(view.fig.data[3].y) == preset_curve("keeps improving")
    assert "would go on" in view.summary.value and "cooldown" not in view.table.value
    view.text.value = "1, 0.8, oops"
    assert "epoch 3" in view.message.value and view.curve == preset_curve("keeps improving")  # kept
    view.text.value = "1.0, 0.8, 0.7, 0.75, 0.76, 0.77, 0.78, 0.79, 0.8, 0.81, 0.82, 0.83"
    assert view.preset.value == EDITED and view.message.value == ""
    assert list(view.fig.data[7].x) == [4] and list(view.fig.data[6].x) == [11]  # cooldown after epoch 4, stop 11
    view.edit_epoch.value = 5
    assert view.edit_value.value == pytest.approx(0.76)
    view.edit_value.value = 0.6  # epoch 5 improves now: the cooldown starts later
    assert view.curve[4] == 0.6 and "0.6" in view.text.value
    assert list(view.fig.data[7].x) != [4]


def test_replay_feeds_the_shipped_run_to_the_dashboard_views():
    from adaft_dashboard.teaching.replay import ReplayView, frame_ends

    events = example_events()
    steps = sum(e["event"] == "step" for e in events)
    assert frame_ends(events)[0] == 1 and len(frame_ends(events)) == steps + 1
    view = ReplayView(events)
    assert view.curves is None and "press play" in view.caption.value  # the figure comes with the first frame
    view.slider.value = 8 * 3  # three epochs of 8 steps: their decisions are in
    lr_trace = view.curves.fig.data[2]
    assert len(lr_trace.x) == 24 and "after epoch 3" in view.decisions.value
    assert view.figure_box.children == (view.curves.widget,)
    assert len(view.curves.fig._widget_data[2]["x"]) == 24  # a view created now starts from this frame
    view.show(len(view.ends) - 1)  # the end: early stopping fired
    assert len(lr_trace.x) == steps and "early_stopped" in view.caption.value
    stop = next(t for t in view.curves.fig.data if t.name == "stop")
    assert stop.visible and len(stop.x) == 1
    late = ReplayView(events)
    late.caption._view_count = 1  # the page has shown the replay: the figure follows (at once without a loop)
    assert late.figure_box.children == (late.curves.widget,) and late.curves.fig.data[2].visible
    view.show(10)  # going back rebuilds the run from its start
    assert len(lr_trace.x) == 10 and view.run.ended is None and "stop" not in view.caption.value


def test_the_shipped_run_log_is_a_valid_small_early_stopped_run():
    events = example_events()
    assert check_stream(events) == []
    assert events[-1]["event"] == "run_ended" and events[-1]["status"] == "early_stopped"
    actions = [e["action"] for e in events if e["event"] == "decision"]
    assert {"cooldown", "restart", "stop"} <= set(actions)
    assert example_log().stat().st_size < 300_000
    data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    rel = example_log().relative_to(REPO / "adaft_core" / "examples").as_posix()
    assert any(Path(rel).match(glob) for glob in data["adaft_core.examples"])  # installed with the package
