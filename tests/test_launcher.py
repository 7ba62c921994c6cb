"""The launcher: runs as their own processes (issue 9, acceptance 1): five runs started at once into
one folder give five complete logs; ``kill -9`` during training shows ``interrupted`` in ``runs
list`` and the dashboard's source, and Stop of a launched run ends it. (A launch that fails is
reported by the dashboard test ``test_bad_model_folder_is_reported_in_the_form``.)"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
from polling import wait_for

from adaft_core import TrainConfig, cli
from adaft_core.errors import ConfigError
from adaft_core.store.launcher import LAUNCH_DIR, launch_run, running_launched
from adaft_core.store.run_log import read_log
from adaft_core.store.runs import list_runs, request_stop, summarize_run


def tiny(model: str, data: str, runs: Path, **kw) -> TrainConfig:
    """A tiny run: 4 steps per epoch, no model or checkpoint written."""
    base = dict(model=model, data=data, output_dir=str(runs), mode="original", max_epochs=2, batch_size=12,
                save_model=False, save_checkpoints=False)
    return TrainConfig(**{**base, **kw})


def steps_logged(run_dir: Path) -> int:
    return sum(ev["event"] == "step" for ev in read_log(run_dir / "events.jsonl").events)


@pytest.mark.slow  # five training processes at once
def test_five_runs_launched_at_once_write_five_complete_logs(tmp_path, tiny_model_dir, conll_dir):
    runs = tmp_path / "runs"
    cfg = tiny(tiny_model_dir, conll_dir, runs)
    t0 = time.perf_counter()
    launched = [launch_run(cfg, threads=1) for _ in range(5)]  # generated names, the same second
    assert all(r.process is not None for r in launched)  # launching returns at once: detached processes
    names = [r.run_id for r in launched]
    assert len(set(names)) == 5 and names[1] == names[0] + "-2"
    for r in launched:
        assert r.wait(180), f"{r.run_id} still running"
        assert r.returncode == 0 and r.failure() is None, r.log_path.read_text()[-2000:]
    seconds = time.perf_counter() - t0
    for r in launched:
        log = read_log(r.run_dir / "events.jsonl")
        assert log.problem is None and log.incomplete is None
        kinds = [ev["event"] for ev in log.events]
        assert kinds[0] == "run_started" and kinds[-1] == "run_ended" and kinds.count("step") == 8
        assert log.events[-1]["status"] == "completed" and {ev["run_id"] for ev in log.events} == {r.run_id}
        assert log.events[0]["config"]["run_name"] == r.run_id and r.log_path.parent == runs / LAUNCH_DIR
    assert sorted(s.run_id for s in list_runs(runs)) == sorted(names)  # .launch/ is not a run
    assert all(s.status == "completed" for s in list_runs(runs))
    with pytest.raises(ConfigError, match=f"'{names[0]}' in .* cannot be resumed: it has already completed"):
        launch_run(resume=names[0], output_dir=runs)
    print(f"five tiny runs launched at once: {seconds:.1f} s until all ended")


@pytest.mark.slow  # a training process killed and resumed
def test_kill_9_shows_interrupted_then_resume_and_stop(tmp_path, tiny_model_dir, conll_dir, capsys):
    """A long run is killed with SIGKILL (interrupted everywhere), resumed through the launcher (as
    the dashboard's Resume does) and then asked to stop."""
    from adaft_dashboard.live.source import EventSource

    runs = tmp_path / "runs"
    run = launch_run(tiny(tiny_model_dir, conll_dir, runs, max_epochs=500, save_checkpoints=True,
                          run_name="doomed"), threads=1)
    wait_for(lambda: steps_logged(run.run_dir) >= 6 or not run.alive, 120, "six steps")
    assert run.alive, run.log_path.read_text()[-2000:]
    assert summarize_run(run.run_dir).status == "running"
    assert [r.run_id for r in running_launched(runs)] == ["doomed"]  # a new page would follow it
    os.kill(run.pid, signal.SIGKILL)
    wait_for(lambda: not run.alive, 10, "the killed process to be gone")
    s = summarize_run(run.run_dir)
    assert s.status == "interrupted" and s.last_seen is not None and time.time() - s.last_seen < 60
    assert cli.main(["runs", "list", "--runs", str(runs)]) == 0
    row = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("doomed "))
    assert " interrupted " in row and "last seen" in row
    source = EventSource(runs)  # what a dashboard page reads
    events = source.poll(force_scan=True)
    assert any(ev["event"] == "step" for ev in events) and set(source.gone) == {"doomed"}
    asked, text = request_stop(run.run_dir)
    assert not asked and "interrupted" in text
    with pytest.raises(ConfigError, match="'doomed' already exists .*interrupted.*--resume doomed"):
        launch_run(tiny(tiny_model_dir, conll_dir, runs, run_name="doomed"))
    assert running_launched(runs) == []
    # resume it as its own process, then stop it
    again = launch_run(resume="doomed", output_dir=runs, threads=1)
    assert again.run_dir == run.run_dir and again.log_path == run.log_path
    resumed = lambda: [e for e in read_log(run.run_dir / "events.jsonl").events if e["event"] == "resumed"]  # noqa: E731
    wait_for(lambda: resumed() or not again.alive, 120, "the resumed event")
    assert again.alive, again.log_path.read_text()[-2000:]
    assert resumed()[0]["pid"] == again.pid and summarize_run(run.run_dir).status == "running"
    source.poll(force_scan=True)
    assert source.gone == {}  # alive again
    assert again.stop() == "asked doomed to stop after its current step"
    assert again.wait(60) and again.returncode == 1
    stopped = summarize_run(run.run_dir)
    assert stopped.status == "stopped" and stopped.error.startswith("stop requested during epoch")
    assert read_log(run.run_dir / "events.jsonl").problem is None
    assert "stop requested" in again.log_path.read_text()  # the run's console output went to its launch log
