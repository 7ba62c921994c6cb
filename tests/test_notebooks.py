"""The notebooks in notebooks/: committed without outputs, and each executes top to bottom with its
own (small) defaults, in a scratch folder (runs and Trainer output land there)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
nbformat = pytest.importorskip("nbformat")


def test_the_hf_trainer_notebook_is_there():
    assert "05_with_hf_trainer.ipynb" in [p.name for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_notebook_has_no_outputs(path):
    nb = nbformat.read(path, as_version=4)
    dirty = [i for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count") is not None)]
    assert dirty == [], f"{path.name}: clear the outputs of cells {dirty} before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_first_code_cell_is_the_parameter_cell(path):
    first = next(c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    assert "parameters" in first.metadata.get("tags", []), f"{path.name}: tag its first code cell 'parameters'"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_executes(path, tmp_path, monkeypatch):
    nbclient = pytest.importorskip("nbclient")
    monkeypatch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", "1"))
    for var in ("ADAFT_RUNS_DIR", "ADAFT_NOTEBOOK_SCALE", "ADAFT_DATA_ROOTS"):  # the small defaults, runs in tmp_path
        monkeypatch.delenv(var, raising=False)
    nb = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []
    if path.name == "05_with_hf_trainer.ipynb":  # the Trainer run was logged as an adaft run
        from adaft_core.store.runs import list_runs

        [run] = list_runs(tmp_path / "runs")
        assert run.status in ("completed", "early_stopped") and run.strategy == "dps-dense"
    if path.name == "01_quickstart.ipynb":  # the run finished and its saved model tagged the sentences
        from adaft_core.store.runs import list_runs

        [run] = list_runs(tmp_path / "runs")
        assert run.status in ("completed", "early_stopped") and run.mode == "adaptive"
        tagged = nb.cells[-2].outputs[-1]["data"]["text/plain"]
        assert "PER" in tagged or "LOC" in tagged or "ORG" in tagged
    studies = {"02_adaptive_vs_original.ipynb": (("wikigold-modes-small", "wnut17-modes-small"), 1),
               "03_dps_masks.ipynb": (("snli-strategies-small",), 3)}
    if path.name in studies:  # every point of the small sweeps finished; the figures were drawn
        from adaft_core.sweep import DONE, sweep_status

        names, figures = studies[path.name]
        for name in names:
            assert {p.status for p in sweep_status(name, tmp_path / "runs").points} <= set(DONE)
        drawn = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs
                 if "application/vnd.plotly.v1+json" in o.get("data", {})]
        assert len(drawn) == figures
