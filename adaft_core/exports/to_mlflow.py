"""Runs into MLflow, through ``MlflowClient`` (``mlflow`` or ``mlflow-skinny``).

The store: ``--tracking-uri`` (a server, or any store URI), else ``MLFLOW_TRACKING_URI``, else a
SQLite store ``<runs>/exports/mlflow.db`` with its artifacts beside it (``mlflow-artifacts/``);
``mlflow ui --backend-store-uri sqlite:///runs/exports/mlflow.db`` shows it. The experiment is
``adaft`` (``--project NAME`` or MLflow's ``MLFLOW_EXPERIMENT_NAME`` to change it).

Each adaft run is one MLflow run named after it: params from its config, metrics at their
optimizer step (sent in batches), tags ``adaft.run_id`` / ``adaft.status`` / ``adaft.mode`` …,
and at the end ``decisions.md`` and the run log ``events.jsonl`` as artifacts and the MLflow
status (FINISHED / KILLED / FAILED). A sweep is a parent run (tags ``adaft.kind = sweep``,
``adaft.sweep``) with one child run per point (MLflow's ``mlflow.parentRunId`` tag). An adaft run
is found again by its ``adaft.run_id`` tag: a live, resumed run continues its MLflow run; an
after-the-fact export replaces an earlier export of it.
"""

from __future__ import annotations

import os
import re
import time
from contextlib import contextmanager
from pathlib import Path

from adaft_core.exports.base import RunInfo, Writer
from adaft_core.exports.names import PROJECT, mlflow_uri, sqlite_folder

MLFLOW_STATUS = {"completed": "FINISHED", "early_stopped": "FINISHED", "stopped": "KILLED", "failed": "FAILED"}
BATCH = 500  # metrics per log_batch (MLflow takes up to 1000)
FLUSH_SECONDS = 10.0


def _key(name: str) -> str:
    """A metric name MLflow accepts (letters, digits, _ - . / and spaces)."""
    return re.sub(r"[^\w\-./ ]", "_", name)


@contextmanager
def _sweep_lock(runs_dir: Path, sweep: str):
    """Workers of one sweep create its parent run once (a lock file beside the sweep's manifest)."""
    folder = Path(runs_dir) / "sweeps" / sweep
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock (two parents at worst, both holding the sweep's tag)
        fcntl = None
    if fcntl is None or not folder.is_dir():
        yield
        return
    with open(folder / ".mlflow.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


class MlflowWriter(Writer):
    tracker = "mlflow"
    run_id = None

    def open(self, info: RunInfo, resumed: bool) -> None:
        from mlflow import MlflowClient
        from mlflow.entities import Param

        self.uri = mlflow_uri(self.target.runs_dir, self.target.tracking_uri, self.target.logdir)
        folder = sqlite_folder(self.uri)
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
        self.client = MlflowClient(tracking_uri=self.uri)
        self.experiment_id = self._experiment(folder)
        self.parent = self._sweep_parent(info.sweep) if info.sweep else None
        earlier = self._find(f"tags.`adaft.run_id` = '{info.run_id}'")
        if earlier and self.target.replace:
            for run in earlier:
                self.client.delete_run(run.info.run_id)
            earlier = []
        self.buffer, self.flushed_at, self.done = [], time.monotonic(), False
        if earlier:  # a resumed run goes on in the same MLflow run
            self.run_id = earlier[0].info.run_id
            self.client.update_run(self.run_id, status="RUNNING")
            return
        tags = dict(info.tags, **({"mlflow.parentRunId": self.parent} if self.parent else {}))
        self.run_id = self.client.create_run(self.experiment_id, start_time=self._ms(), tags=tags,
                                             run_name=info.run_id).info.run_id
        params = [Param(k[:250], v[:6000]) for k, v in info.params.items()]
        for i in range(0, len(params), 100):  # MLflow takes 100 params per batch
            self.client.log_batch(self.run_id, params=params[i:i + 100])

    def _ms(self) -> int:
        return int((self.time or time.time()) * 1000)

    def _find(self, where: str) -> list:
        return self.client.search_runs([self.experiment_id], filter_string=where)

    def _experiment(self, folder: Path | None) -> str:
        name = self.target.project or os.environ.get("MLFLOW_EXPERIMENT_NAME") or PROJECT
        found = self.client.get_experiment_by_name(name)
        if found is not None:
            return found.experiment_id
        location = (folder / "mlflow-artifacts").resolve().as_uri() if folder is not None else None
        try:
            return self.client.create_experiment(name, artifact_location=location)
        except Exception:  # noqa: BLE001 - another process created it meanwhile
            found = self.client.get_experiment_by_name(name)
            if found is None:
                raise
            return found.experiment_id

    def _sweep_parent(self, sweep: str) -> str:
        with _sweep_lock(self.target.runs_dir, sweep):
            found = self._find(f"tags.`adaft.sweep` = '{sweep}' and tags.`adaft.kind` = 'sweep'")
            if found:
                return found[0].info.run_id
            tags = {"adaft.sweep": sweep, "adaft.kind": "sweep"}
            return self.client.create_run(self.experiment_id, run_name=sweep, tags=tags).info.run_id

    def scalars(self, values: dict[str, float], step: int) -> None:
        from mlflow.entities import Metric

        ms = self._ms()
        self.buffer += [Metric(_key(k), v, ms, step) for k, v in values.items()]
        if len(self.buffer) >= BATCH or time.monotonic() - self.flushed_at > FLUSH_SECONDS:
            self.flush()

    def text(self, tag: str, text: str, step: int) -> None:
        self.flush()  # once an epoch: the MLflow view is current after each decision

    def flush(self) -> None:
        while self.buffer:
            batch, self.buffer = self.buffer[:BATCH], self.buffer[BATCH:]
            self.client.log_batch(self.run_id, metrics=batch)
        self.flushed_at = time.monotonic()

    def finish(self, info: RunInfo, status: str, decisions: str) -> None:
        self.flush()
        self.client.set_tag(self.run_id, "adaft.status", status)
        self.client.log_text(self.run_id, decisions, "decisions.md")
        log = info.run_dir / "events.jsonl"
        if log.is_file():
            self.client.log_artifact(self.run_id, str(log))
        self.client.set_terminated(self.run_id, MLFLOW_STATUS.get(status, "FAILED"), end_time=self._ms())
        if self.parent:  # the sweep's run ends with its last point
            self.client.set_terminated(self.parent, "FINISHED", end_time=self._ms())
        self.done = True

    def close(self) -> None:
        if self.run_id is not None and not self.done:
            self.flush()

    def where(self) -> str:
        return getattr(self, "uri", "mlflow")
