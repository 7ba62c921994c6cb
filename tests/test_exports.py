"""Runs and sweeps into TensorBoard, MLflow and trackio (issue 21, item 1), read back with each
library's own reader: TensorBoard's EventAccumulator, MlflowClient / mlflow.search_runs, trackio's
storage. A real tiny run and a 4-point tiny sweep report live (``report_to``) into one runs folder;
the same logs are then exported after the fact (``adaft export``) into other folders; a failing
tracker leaves its run whole."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import tempfile
import warnings
from pathlib import Path

import pytest

for _library in ("tensorboard", "mlflow", "trackio"):  # found, not imported: trackio reads TRACKIO_DIR on import
    if importlib.util.find_spec(_library) is None:
        pytest.skip(f"{_library} is not installed (pip install 'adaft[test]')", allow_module_level=True)

from adaft_core.cli import main  # noqa: E402
from adaft_core.events.schema import check_stream  # noqa: E402
from adaft_core.store.run_log import read_events  # noqa: E402

SETTINGS = {"max_epochs": 2, "batch_size": 16, "max_seq_length": 32, "save_model": False,
            "save_checkpoints": False, "lr": 1e-3, "mode": "original"}
ALL = "tensorboard,mlflow,trackio"


@pytest.fixture(scope="module", autouse=True)
def trackio_dir():
    """trackio reads TRACKIO_DIR once, on import: point it at a scratch folder before that."""
    folder = Path(tempfile.mkdtemp(prefix="adaft-trackio-"))
    if "trackio" in sys.modules:
        folder = Path(sys.modules["trackio"].utils.TRACKIO_DIR)
    old = os.environ.get("TRACKIO_DIR")
    os.environ["TRACKIO_DIR"] = str(folder)
    yield folder
    if old is None:
        os.environ.pop("TRACKIO_DIR", None)
    else:
        os.environ["TRACKIO_DIR"] = old


@pytest.fixture(scope="module")
def runs(tiny_model_dir, conll_dir, tmp_path_factory):
    """One runs folder: a DPS run and a 4-point sweep, both reporting live to all three trackers."""
    import adaft_core
    from adaft_core.sweep import make_grid, run_sweep

    folder = tmp_path_factory.mktemp("runs")
    base = dict(SETTINGS, model=tiny_model_dir, data=conll_dir, output_dir=str(folder), report_to=ALL)
    result = adaft_core.train(dict(base, run_name="one", strategy="dps-dense"))
    assert result.status == "completed"
    grid = make_grid({"mode": ["original", "adaptive"], "seed": [1, 2]}, {k: v for k, v in base.items()
                                                                          if k != "mode"}, name="sw")
    manifest = run_sweep(grid, output_dir=folder)
    assert [p.status for p in manifest.points] == ["completed"] * 4
    return folder


def _log(runs_dir: Path, run_id: str) -> list[dict]:
    return read_events(runs_dir / run_id / "events.jsonl")


def _expected(events: list[dict]) -> dict[str, dict[int, float]]:
    """tag -> {step: value} that every tracker must hold for this log."""
    out: dict[str, dict[int, float]] = {"train/loss": {}, "train/lr": {}, "val/loss": {}, "val/f1": {}}
    for ev in events:
        if ev["event"] == "step":
            out["train/loss"][ev["step"]] = ev["loss"]
            out["train/lr"][ev["step"]] = ev["lr"]
        elif ev["event"] == "eval" and ev["split"] == "validation":
            out["val/loss"][ev["step"]] = ev["loss"]
            out["val/f1"][ev["step"]] = ev["score"]
    assert all(out.values())
    return out


def _same(found: dict[int, float], wanted: dict[int, float]) -> None:
    assert sorted(found) == sorted(wanted)
    assert all(found[s] == pytest.approx(v, rel=1e-5, abs=1e-9) for s, v in wanted.items())


# ------------------------------------------------------------------ each library's reader
def check_tensorboard(folder: Path, events: list[dict]) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "tensors": 0, "histograms": 0})
    acc.Reload()
    for tag, wanted in _expected(events).items():
        _same({e.step: e.value for e in acc.Scalars(tag)}, wanted)
    decisions = [e for e in events if e["event"] == "decision"]
    assert len(acc.Tensors("decisions/text_summary")) == len(decisions)
    if any(e["event"] == "mask" for e in events):
        assert acc.Scalars("mask/kept_total") and acc.Histograms("mask/kept")


def mlflow_client(uri: str):
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=uri)


def check_mlflow_run(client, run, events: list[dict]) -> None:
    for tag, wanted in _expected(events).items():
        _same({m.step: m.value for m in client.get_metric_history(run.info.run_id, tag)}, wanted)
    started, ended = events[0], events[-1]
    assert run.data.params["lr"] == json.dumps(started["config"]["lr"])
    assert run.data.tags["adaft.status"] == ended["status"] and run.info.status == "FINISHED"
    assert {a.path for a in client.list_artifacts(run.info.run_id)} == {"decisions.md", "events.jsonl"}


def mlflow_runs(uri: str, where: str):
    import mlflow

    client = mlflow_client(uri)
    mlflow.set_tracking_uri(uri)
    table = mlflow.search_runs(experiment_names=["adaft"], filter_string=where)
    return client, [client.get_run(run_id) for run_id in table["run_id"]]


def check_trackio(run_id: str, events: list[dict], group: str | None = None) -> None:
    import trackio
    from trackio.sqlite_storage import SQLiteStorage

    rows = SQLiteStorage.get_logs("adaft", run_id)
    for tag, wanted in _expected(events).items():
        _same({r["step"]: r[tag] for r in rows if r.get(tag) is not None}, wanted)
    (run,) = [r for r in trackio.Api().runs("adaft") if r.name == run_id]
    assert run.config["adaft.run_id"] == run_id and run.config.get("_Group") == group


# ------------------------------------------------------------------ live (report_to)
def test_a_live_run_reaches_every_tracker(runs):
    events = _log(runs, "one")
    assert "sink_failures" not in events[-1] or not events[-1]["sink_failures"]
    check_tensorboard(runs / "exports" / "tensorboard" / "one", events)
    client, found = mlflow_runs(f"sqlite:///{runs / 'exports' / 'mlflow.db'}", "tags.`adaft.run_id` = 'one'")
    (run,) = found
    check_mlflow_run(client, run, events)
    assert run.data.params["strategy"] == "dps-dense" and "mlflow.parentRunId" not in run.data.tags
    check_trackio("one", events)


def test_a_live_sweep_is_one_folder_one_parent_run_one_group(runs):
    points = json.loads((runs / "sweeps" / "sw" / "sweep.json").read_text())["points"]
    ids = [p["run_id"] for p in points]
    assert sorted(p.name for p in (runs / "exports" / "tensorboard" / "sw").iterdir()) == sorted(ids)
    uri = f"sqlite:///{runs / 'exports' / 'mlflow.db'}"
    client, (parent,) = mlflow_runs(uri, "tags.`adaft.kind` = 'sweep'")
    _, children = mlflow_runs(uri, f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'")
    assert parent.data.tags["adaft.sweep"] == "sw"
    assert sorted(c.data.tags["adaft.run_id"] for c in children) == sorted(ids)
    for child in children:
        events = _log(runs, child.data.tags["adaft.run_id"])
        check_tensorboard(runs / "exports" / "tensorboard" / "sw" / child.data.tags["adaft.run_id"], events)
        check_mlflow_run(client, child, events)
        check_trackio(child.data.tags["adaft.run_id"], events, group="sw")


# ------------------------------------------------------------------ after the fact (adaft export)
def test_export_writes_a_run_and_a_sweep_again_through_each_library(runs, tmp_path, capsys):
    out = tmp_path / "elsewhere"
    for tracker in ("tensorboard", "mlflow"):
        for _ in range(2):  # exporting again replaces the earlier export
            assert main(["export", "one", "--to", tracker, "--output-dir", str(runs), "--logdir", str(out)]) == 0
        assert main(["export", "--sweep", "sw", "--to", tracker, "--output-dir", str(runs),
                     "--logdir", str(out)]) == 0
    assert "one: " in capsys.readouterr().out
    events = _log(runs, "one")
    check_tensorboard(out / "one", events)
    client, (run,) = mlflow_runs(f"sqlite:///{out / 'mlflow.db'}", "tags.`adaft.run_id` = 'one'")
    check_mlflow_run(client, run, events)
    _, (parent,) = mlflow_runs(f"sqlite:///{out / 'mlflow.db'}", "tags.`adaft.kind` = 'sweep'")
    _, children = mlflow_runs(f"sqlite:///{out / 'mlflow.db'}", f"tags.`mlflow.parentRunId` = '{parent.info.run_id}'")
    assert len(children) == 4
    for child in children:
        run_id = child.data.tags["adaft.run_id"]
        check_tensorboard(out / "sw" / run_id, _log(runs, run_id))
        check_mlflow_run(client, child, _log(runs, run_id))
    # trackio's store is fixed per process: the export replaces the live runs there
    assert main(["export", "--sweep", "sw", "--to", "trackio", "--output-dir", str(runs)]) == 0
    import trackio

    names = [r.name for r in trackio.Api().runs("adaft")]
    for run_id in [c.data.tags["adaft.run_id"] for c in children]:
        assert names.count(run_id) == 1
        check_trackio(run_id, _log(runs, run_id), group="sw")


# ------------------------------------------------------------------ failures
def test_a_failing_tracker_never_fails_the_run(tiny_model_dir, conll_dir, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the MLflow store's folder should be")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{blocker / 'mlflow.db'}")
    runs = tmp_path / "runs"
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in SETTINGS.items() if not isinstance(v, bool)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code = main(["train", "--model", tiny_model_dir, "--data", conll_dir, *flags, "--no-save-model",
                     "--no-checkpoints", "--output-dir", str(runs), "--run-name", "r", "--report-to", "mlflow",
                     "--no-progress"])
    assert code == 0
    events = _log(runs, "r")
    assert check_stream(events) == [] and events[-1]["event"] == "run_ended"
    assert events[-1]["status"] == "completed"
    assert events[-1]["sink_failures"]["MlflowSink"] == len(events) - 1  # every event before run_ended
    mine = [w for w in caught if "MlflowSink" in str(w.message)]
    assert len(mine) == 1 and "mlflow could not write the run" in str(mine[0].message)


def test_a_missing_library_is_one_message_naming_the_extra(tmp_path, monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "mlflow" else real(name, *a))
    runs = tmp_path / "runs"
    assert main(["train", "--report-to", "mlflow", "--output-dir", str(runs), "--run-name", "r"]) == 2
    assert "pip install 'adaft[mlflow]'" in capsys.readouterr().err
    assert not (runs / "r").exists()
    assert main(["export", "x", "--to", "mlflow", "--output-dir", str(runs)]) == 2
    assert "pip install 'adaft[mlflow]'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stopped:  # argparse: the flag's own check, exit 2
        main(["train", "--report-to", "wandb", "--output-dir", str(runs)])
    assert stopped.value.code == 2
    assert "valid: tensorboard, mlflow, trackio" in capsys.readouterr().err
