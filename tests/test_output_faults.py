"""Output faults: a file where the output folder should be, a folder that cannot be created, a
disk that fills up mid-run, a run name already taken. One message naming the folder and the
problem; nothing written earlier is lost."""

from __future__ import annotations

import errno
import json
import subprocess
from pathlib import Path

import pytest

from adaft_core import TrainConfig, resume, train
from adaft_core.run import engine as engine_module
from adaft_core.run import checkpoints as run_checkpoints
from adaft_core.store import recorder as recorder_module
from adaft_core.cli import main
from adaft_core.errors import ConfigError, OutputError
from adaft_core.store.runs import read_events
from adaft_core.run.state import read_state


def tiny(model, data, out, **kw) -> TrainConfig:
    base = dict(model=model, data=data, output_dir=str(out), batch_size=12, lr=1e-3, eval_batch_size=16,
                seed=0, mode="original", max_epochs=3, save_model=False, evaluate_test=False)
    return TrainConfig(**{**base, **kw})


@pytest.fixture
def no_model_loading(monkeypatch):
    """Fail the test if a run gets as far as preparing its task (data, tokenizer, model)."""
    def refuse(*a, **k):
        raise AssertionError("the run went on to load data and model")

    monkeypatch.setattr(engine_module, "get_task", refuse)


def test_output_folder_that_is_a_file(tiny_model_dir, conll_dir, tmp_path, no_model_loading):
    out = tmp_path / "runs"
    out.write_text("not a folder")
    with pytest.raises(OutputError, match=f"output folder {out} is a file, not a folder"):
        train(tiny(tiny_model_dir, conll_dir, out))
    assert out.read_text() == "not a folder"


def test_output_folder_under_a_file(tiny_model_dir, conll_dir, tmp_path, no_model_loading):
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    out = blocker / "deeper" / "runs"
    with pytest.raises(OutputError, match=f"output folder {out} cannot be created: {blocker} is a file"):
        train(tiny(tiny_model_dir, conll_dir, out))


def test_cli_prints_one_line_without_traceback(tiny_model_dir, conll_dir, tmp_path, capsys):
    out = tmp_path / "runs"
    out.write_text("")
    assert main(["train", "--model", tiny_model_dir, "--data", conll_dir, "--output-dir", str(out)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and str(out) in err and "is a file" in err
    assert len(err.strip().splitlines()) == 1


def test_run_name_taken_is_refused_before_the_model_loads(tiny_model_dir, conll_dir, tmp_path, monkeypatch):
    first = train(tiny(tiny_model_dir, conll_dir, tmp_path / "runs", max_epochs=1, run_name="taken",
                       save_checkpoints=False))
    before = (first.run_dir / "events.jsonl").read_bytes()

    def refuse(*a, **k):
        raise AssertionError("the run went on to load data and model")

    monkeypatch.setattr(engine_module, "get_task", refuse)
    with pytest.raises(ConfigError, match="'taken' already exists"):
        train(tiny(tiny_model_dir, conll_dir, tmp_path / "runs", run_name="taken"))
    assert (first.run_dir / "events.jsonl").read_bytes() == before


def test_disk_full_mid_run_keeps_the_last_checkpoint_and_ends_the_log(tiny_model_dir, conll_dir, tmp_path,
                                                                      monkeypatch):
    real_write = run_checkpoints.write_state
    calls = {"n": 0}

    def fills_up(folder, state):
        calls["n"] += 1
        if calls["n"] == 2:  # epoch 1's checkpoint: the disk is full half-way through
            (folder / "partial.bin").write_bytes(b"\0" * 100)
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(folder, state)

    monkeypatch.setattr(run_checkpoints, "write_state", fills_up)
    cfg = tiny(tiny_model_dir, conll_dir, tmp_path / "runs", run_name="full")
    run_dir = tmp_path / "runs" / "full"
    with pytest.raises(OutputError) as raised:
        train(cfg)
    message = str(raised.value)
    assert f"output folder {run_dir}" in message and "No space left on device" in message
    assert "save the checkpoint" in message
    # the previous checkpoint is intact and complete; no half-written folder is left beside it
    assert read_state(run_dir / "checkpoint")["step"] == 4
    assert (run_dir / "checkpoint" / "model.safetensors").exists()
    assert sorted(p.name for p in run_dir.iterdir() if p.name.startswith("checkpoint")) == ["checkpoint"]
    ended = read_events(run_dir)[-1]
    assert ended["event"] == "run_ended" and ended["status"] == "failed" and ended["error"] == message
    assert json.loads((run_dir / "run.json").read_text())["status"] == "failed"
    # space freed: the failed run resumes from its last checkpoint and completes as if never cut
    monkeypatch.setattr(run_checkpoints, "write_state", real_write)
    result = resume("full", output_dir=tmp_path / "runs")
    reference = train(tiny(tiny_model_dir, conll_dir, tmp_path / "runs", run_name="reference"))
    assert result.status == "completed" and result.val == reference.val
    losses = {e["step"]: e["loss"] for e in read_events(run_dir) if e["event"] == "step"}
    assert losses == {e["step"]: e["loss"] for e in read_events(reference.run_dir) if e["event"] == "step"}


def test_disk_full_while_saving_the_final_model(tiny_model_dir, conll_dir, tmp_path, monkeypatch):
    real_save = engine_module.save_model_dir

    def save(path, *a, **k):
        if path.name == "model":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(path, *a, **k)

    monkeypatch.setattr(engine_module, "save_model_dir", save)
    with pytest.raises(OutputError, match="cannot save the final model in output folder .*No space left"):
        train(tiny(tiny_model_dir, conll_dir, tmp_path / "runs", max_epochs=1, save_model=True, run_name="m"))
    ended = read_events(tmp_path / "runs" / "m")[-1]
    assert ended["status"] == "failed" and "No space left on device" in ended["error"]


def test_output_folder_without_permission(tiny_model_dir, conll_dir, tmp_path, monkeypatch, no_model_loading):
    import adaft_core.store.atomic as checkpoints

    # tests run as root, for whom every folder is writable: pretend tmp_path is read-only
    monkeypatch.setattr(checkpoints.os, "access", lambda p, mode: Path(p) != tmp_path)
    out = tmp_path / "runs"
    with pytest.raises(OutputError, match=f"output folder {out} cannot be created: no permission to write "
                                          f"in {tmp_path}"):
        train(tiny(tiny_model_dir, conll_dir, out))
    assert not out.exists()


def test_run_folder_that_cannot_be_created_mid_setup(tiny_model_dir, conll_dir, tmp_path, monkeypatch):
    def denied(root, run_id, explicit_name):
        raise PermissionError(errno.EACCES, "Permission denied", str(root))

    monkeypatch.setattr(recorder_module, "claim_run_dir", denied)
    out = tmp_path / "runs"
    with pytest.raises(OutputError, match=f"cannot create the run's files in output folder {out}: Permission denied"):
        train(tiny(tiny_model_dir, conll_dir, out))


@pytest.fixture
def small_disk(tmp_path):
    """A real 8 MB filesystem (a tmpfs: the tiny model's first checkpoint does not fit in it);
    skipped where one cannot be mounted (not root, no mount in the container)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(disk)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=False)


def test_real_full_disk_during_the_safetensors_write_is_one_message(tiny_model_dir, conll_dir, small_disk, capsys,
                                                                     monkeypatch):
    from safetensors import SafetensorError

    raised = []
    real_output_error = run_checkpoints.output_error  # the checkpoint's write (the loop's resume seam)
    monkeypatch.setattr(run_checkpoints, "output_error",
                        lambda exc, *a: raised.append(exc) or real_output_error(exc, *a))
    runs = small_disk / "runs"
    code = main(["train", "--model", tiny_model_dir, "--data", conll_dir, "--output-dir", str(runs),
                 "--run-name", "full", "--batch-size", "12", "--lr", "1e-3", "--mode", "original",
                 "--max-epochs", "2", "--no-save-model", "--evaluate-test", "false"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and "SafetensorError" not in err
    errors = [line for line in err.splitlines() if line.startswith("adaft: error:")]
    assert errors == [f"adaft: error: cannot save the checkpoint in output folder {runs / 'full'}: "
                      "No space left on device (free space there, then resume the run)"]
    assert isinstance(raised[0].__cause__, SafetensorError)  # the real writer's own error type, converted
    ended = read_events(runs / "full")[-1]
    assert ended["event"] == "run_ended" and ended["status"] == "failed" and "No space left" in ended["error"]
    assert [p.name for p in (runs / "full").iterdir() if p.name.startswith("checkpoint")] == []  # no half folder
    # space freed: the run resumes (from step 0: no checkpoint was complete) and completes
    subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
    result = resume("full", output_dir=runs)
    assert result.status == "completed" and result.steps == 8
