"""The run store survives folders it may not read and damaged checkpoints (issue 24, items 4-6;
issue 22, folders without ``run.json``): ``runs list`` names the folder ``unreadable`` with the
reason, ``runs show`` prints what it can, ``--resume`` refuses with one message naming the file
before any work, and a damaged checkpoint falls back to a whole ``checkpoint.old``."""

from __future__ import annotations

import builtins
import io
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from adaft_core import cli
from adaft_core.run import engine
from adaft_core.store.runs import read_events, resumes, summarize_run

from run_folders import make_run


# ------------------------------------------------------------------ a folder this user may not read
@pytest.fixture
def store(tmp_path) -> Path:
    """A runs folder with a good run and ``locked/``, a run whose files cannot be read."""
    root = tmp_path / "runs"
    make_run(root, "good")
    make_run(root, "locked", ended=False)
    return root


def lock(monkeypatch, folder: Path) -> None:
    """Make every file under ``folder`` fail as under mode 000 for a non-root user (tests run as
    root, for whom permission bits do not hold): stat and open raise PermissionError."""
    inside = str(folder) + os.sep

    def denied(path) -> bool:
        return os.path.abspath(os.fspath(path)).startswith(inside)

    def guard(real):
        def call(path, *args, **kwargs):
            if isinstance(path, (str, os.PathLike)) and denied(path):
                raise PermissionError(13, "Permission denied", os.fspath(path))
            return real(path, *args, **kwargs)
        return call

    real_stat = pathlib.Path.stat
    monkeypatch.setattr(builtins, "open", guard(builtins.open))
    monkeypatch.setattr(io, "open", guard(io.open))
    monkeypatch.setattr(pathlib.Path, "stat", lambda self, **kw: guard(real_stat)(self, **kw))


def test_an_unreadable_run_is_listed_shown_and_refused_with_one_message(store, monkeypatch, capsys):
    lock(monkeypatch, store / "locked")
    assert cli.main(["runs", "list", "--runs", str(store)]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:]}
    assert "completed" in rows["good"]
    assert " unreadable " in rows["locked"] and "run.json cannot be read (Permission denied)" in rows["locked"]

    assert cli.main(["runs", "show", "locked", "--runs", str(store)]) == 0
    shown = capsys.readouterr().out
    assert "unreadable: run.json cannot be read (Permission denied)" in shown
    assert "note: events.jsonl cannot be read (Permission denied)" in shown
    assert cli.main(["runs", "show", str(store / "locked")]) == 0  # named by its path too
    capsys.readouterr()

    assert cli.main(["train", "--resume", "locked", "--output-dir", str(store)]) == 2
    out, err = capsys.readouterr()
    assert not out and len(err.strip().splitlines()) == 1
    assert "run.json cannot be read (Permission denied)" in err and "start the run over" in err


NOBODY = 65534
AS_NOBODY = """
import json, os, sys, locale, gettext, traceback, contextlib, io
from adaft_core import cli
from adaft_core.cli import runs as cli_runs
from adaft_core.events import display
from adaft_core.events import schema as event_schema
from adaft_core.store import liveness
from adaft_core.store import retention
from adaft_core.store import run_log
from adaft_core.store import runs
cli.build_parser()
os.setgid({uid}); os.setuid({uid})
out = []
for argv in ([*"runs list --runs".split(), sys.argv[1]], ["runs", "show", "locked", "--runs", sys.argv[1]]):
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        rc = cli.main(argv)
    out.append([rc, text.getvalue()])
print(json.dumps(out))
"""


@pytest.mark.skipif(not hasattr(os, "setuid") or os.geteuid() != 0, reason="needs root to become another user")
def test_a_mode_000_folder_as_a_non_root_user():
    """The real permission failure: a user who may not enter the run folder (Python < 3.12 raises
    PermissionError from ``Path.is_dir`` there)."""
    base = Path(tempfile.mkdtemp(prefix="adaft-mode000-"))
    try:
        os.chmod(base, 0o755)
        root = base / "runs"
        make_run(root, "good")
        make_run(root, "locked", ended=False)
        for path in (root, root / "good", *(root / "good").iterdir()):
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
        os.chmod(root / "locked", 0o000)
        proc = subprocess.run([sys.executable, "-c", AS_NOBODY.format(uid=NOBODY), str(root)],
                              capture_output=True, text=True, timeout=120)
        if proc.returncode != 0 and "ModuleNotFoundError" in proc.stderr:
            pytest.skip(f"this Python's library cannot be read as user {NOBODY}: {proc.stderr.strip()[-200:]}")
        assert proc.returncode == 0, proc.stderr
        (list_rc, table), (show_rc, shown) = json.loads(proc.stdout)
        assert list_rc == show_rc == 0
        rows = {line.split()[0]: line for line in table.splitlines()[1:]}
        assert "completed" in rows["good"] and " unreadable " in rows["locked"]
        assert "cannot be read (Permission denied)" in rows["locked"]
        assert "unreadable:" in shown and "Permission denied" in shown
    finally:
        os.chmod(base / "runs" / "locked", 0o755)
        shutil.rmtree(base)


# ------------------------------------------------------------------ folders without run.json
def test_a_folder_without_run_json_is_starting_for_a_minute_then_unreadable(tmp_path, capsys):
    root = tmp_path / "runs"
    for name in ("claimed", "trainer_output", "fresh"):
        (root / name).mkdir(parents=True)
    (root / "trainer_output" / "trainer_state.json").write_text("{}")  # a Trainer output_dir placed there
    old = time.time() - 61
    for name in ("claimed", "trainer_output"):
        os.utime(root / name, (old, old))
    assert cli.main(["runs", "list", "--runs", str(root)]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:]}
    assert rows["fresh"].split()[1] == "starting"
    for name in ("claimed", "trainer_output"):  # no longer "starting" for 15 minutes (a recent mtime)
        assert rows[name].split()[1] == "unreadable" and "not a run: no run.json or events.jsonl" in rows[name]


# ------------------------------------------------------------------ damaged checkpoints
@pytest.fixture(scope="module")
def stopped_run(tiny_model_dir, conll_dir, tmp_path_factory) -> Path:
    """A run stopped by a STOP request after step 5 (of 2 epochs x 4): its checkpoint is mid-epoch 1."""
    from adaft_core import train

    stop = threading.Event()

    class StopAfterStep5:
        def handle(self, event):
            if event.event == "step" and event["step"] == 5:
                stop.set()

    root = tmp_path_factory.mktemp("stopped") / "runs"
    result = train(dict(model=tiny_model_dir, data=conll_dir, output_dir=str(root), run_name="cut", batch_size=12,
                        eval_batch_size=16, lr=1e-3, seed=0, mode="original", max_epochs=2, warmup_epochs=1,
                        save_model=False, evaluate_test=False), sinks=[StopAfterStep5()], stop_event=stop)
    assert result.status == "stopped" and (result.run_dir / "checkpoint" / "train_state.json").is_file()
    return result.run_dir


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:100])


def bad_step(path: Path) -> None:
    state = json.loads(path.read_text())
    path.write_text(json.dumps({**state, "step": "abc"}))


def a_file(path: Path) -> None:
    shutil.rmtree(path)
    path.write_text("not a folder")


DAMAGE = {  # name -> (file or folder damaged, how, a piece of the message)
    "truncated state": ("checkpoint/train_state.safetensors", truncate, "train_state.safetensors is unreadable"),
    "truncated weights": ("checkpoint/model.safetensors", truncate, "model.safetensors is unreadable"),
    "non-number step": ("checkpoint/train_state.json", bad_step, "step is 'abc', not a whole number"),
    "checkpoint is a file": ("checkpoint", a_file, "is a file, not a checkpoint folder"),
}


@pytest.mark.parametrize("case", list(DAMAGE))
def test_a_damaged_checkpoint_is_refused_before_any_work(stopped_run, tmp_path, monkeypatch, capsys, case):
    root = tmp_path / "runs"
    run = shutil.copytree(stopped_run, root / "cut")
    where, damage, said = DAMAGE[case]
    damage(run / where)
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    monkeypatch.setattr(engine, "_prepare", lambda *a, **k: pytest.fail("data and model loaded"))
    started = time.monotonic()
    assert cli.main(["train", "--resume", "cut", "--output-dir", str(root)]) == 2
    out, err = capsys.readouterr()
    assert time.monotonic() - started < 30 and not out
    assert len(err.strip().splitlines()) == 1 and err.startswith("adaft: error: run 'cut' cannot be resumed: ")
    assert said in err and str(run / where.split("/")[0]) in err
    assert "from step 0" in err and "start a new run" in err  # how to start over
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()} == before  # nothing written


@pytest.mark.parametrize("case", ["truncated state", "non-number step"])
def test_a_damaged_checkpoint_falls_back_to_a_whole_checkpoint_old(stopped_run, tmp_path, case):
    root = tmp_path / "runs"
    run = shutil.copytree(stopped_run, root / "cut")
    shutil.copytree(run / "checkpoint", run / "checkpoint.old")  # the one before (here: the same state)
    where, damage, said = DAMAGE[case]
    damage(run / where)
    with pytest.warns(UserWarning, match=f"adaft: .*{said}.*resuming from the older checkpoint.old/"):
        result = engine.resume("cut", output_dir=root)
    assert result.status == "completed" and result.steps == 8
    events = read_events(run)
    (resumed, replayed, gap), = resumes(events)
    assert resumed["checkpoint"].endswith("checkpoint.old") and resumed["step"] == 5 and replayed == 0


# ------------------------------------------------------------------ replayed steps and wall time
def test_runs_show_counts_replayed_steps_and_leaves_the_time_not_running_out(tmp_path, capsys):
    root = tmp_path / "runs"
    run = make_run(root, "r", ended=False)
    evs = read_events(run)
    t = evs[-1]["time"]
    more = [dict(event="step", step=3, epoch=0, loss=0.8, lr=1e-3, grad_norm=1.0, stage=None, time=t + 1),
            dict(event="resumed", step=1, epoch=0, checkpoint="checkpoint", pid=1, host="h", time=t + 101),
            dict(event="step", step=2, epoch=0, loss=0.8, lr=1e-3, grad_norm=1.0, stage=None, time=t + 102)]
    with open(run / "events.jsonl", "a") as f:
        for i, ev in enumerate(more):
            f.write(json.dumps({**ev, "run_id": "r", "seq": evs[-1]["seq"] + 1 + i}) + "\n")
    (resumed, replayed, gap), = resumes(read_events(run))
    assert (replayed, gap) == (2, 100.0)  # steps 2 and 3 are trained again; 100 s between the kill and it
    s = summarize_run(run)
    assert s.status == "interrupted" and s.wall_time == pytest.approx(t + 102 - s.started - 100)
    assert cli.main(["runs", "show", "r", "--runs", str(root)]) == 0
    shown = capsys.readouterr().out
    assert "resumed at step 1 (epoch 1) by process 1 on h after 100 s not running; 2 logged steps replayed" in shown
    assert f"wall time {s.wall_time:.1f} s (+ 100.0 s not running, before its resumes)" in shown
