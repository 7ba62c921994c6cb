"""No module of the project shadows a library, and no library file in a working folder breaks a run
(issue 18: transformers 5.25 imports the `kernels` package, and the page kernel's working folder,
`dashboard/`, held a `kernels.py`; every run started from the page died before its first event)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from tiny import write_shadowing_modules

from adaft_core import TrainConfig
from adaft_core.store.launcher import launch_run
from adaft_core.store.module_path import drop_working_folder, explain_import_error, python_command
from adaft_core.store.run_log import read_log

REPO = Path(__file__).resolve().parents[1]
OWN = {"adaft_core", "adaft_dashboard"}


def importable_names(folder: Path) -> set[str]:
    """Top-level names a folder on sys.path makes importable (modules and regular packages)."""
    names = set()
    for p in folder.iterdir():
        if p.suffix in (".py", ".so", ".pyd") and p.is_file():
            names.add(p.name.split(".")[0])
        elif p.is_dir() and (p / "__init__.py").is_file():
            names.add(p.name)
    return names


def project_paths() -> dict[str, Path]:
    """The folders the project's processes have on their module path beyond site-packages: the
    working folders of the kernels it starts (the served dashboard page, the notebooks)."""
    from adaft_dashboard.server.serve import NOTEBOOK, NOTEBOOKS_DIR

    return {"the dashboard page's kernel": NOTEBOOK.parent, "a notebook's kernel": NOTEBOOKS_DIR,
            "the tests (their helpers, tests/conftest.py)": Path(__file__).resolve().parent}


def test_packages_are_installed_under_their_own_names_only():
    """The import names are adaft_core and adaft_dashboard (the dashboard/ folder mapped to the
    latter), the list in pyproject.toml matches the package folders, and no other distribution
    installed here claims either name."""
    setup = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(setup["packages"])
    folders = {"adaft_core" + ".".join([""] + list(p.parent.relative_to(REPO / "adaft_core").parts))
               for p in (REPO / "adaft_core").rglob("__init__.py")}
    folders |= {"adaft_dashboard" + ".".join([""] + list(p.parent.relative_to(REPO / "dashboard").parts))
                for p in (REPO / "dashboard").rglob("__init__.py")}
    assert listed == folders
    assert setup["package-dir"] == {"adaft_dashboard": "dashboard"}
    owners = packages_distributions()
    for name in OWN:
        assert set(owners.get(name, ["adaft"])) <= {"adaft"}, f"{name} is also installed by {owners[name]}"
    import adaft_dashboard

    assert Path(adaft_dashboard.__file__).parent == REPO / "dashboard"


def test_no_folder_the_project_puts_on_a_path_holds_a_library_name():
    """Every top-level name importable from a kernel's working folder that the project chooses is
    checked against the import names of every installed distribution."""
    taken = {name for name, dists in packages_distributions().items() if set(dists) != {"adaft"}}
    assert "transformers" in taken and "datasets" in taken  # the check sees the installed libraries
    for who, folder in project_paths().items():
        clash = importable_names(folder) & taken
        assert not clash, f"{who} starts in {folder}, where {sorted(clash)} would replace installed libraries"
    assert importable_names(project_paths()["the dashboard page's kernel"]) == set()  # the page alone there


@pytest.fixture
def shadow_folder(tmp_path: Path) -> Path:
    """A working folder holding files named like the libraries a run imports, each failing loudly."""
    return write_shadowing_modules(tmp_path / "work")


def tiny(model: str, data: str, runs: Path) -> TrainConfig:
    return TrainConfig(model=model, data=data, output_dir=str(runs), mode="original", max_epochs=1, batch_size=12,
                       save_model=False, save_checkpoints=False)


def first_event(run_dir: Path) -> str | None:
    events = read_log(run_dir / "events.jsonl").events if (run_dir / "events.jsonl").exists() else []
    return events[0]["event"] if events else None


@pytest.mark.parametrize("where", ["page", "dashboard", "notebooks", "shadows"])
def test_a_run_launched_from_a_folder_of_shadowing_files_trains(where, shadow_folder, tmp_path, tiny_model_dir,
                                                                 conll_dir, monkeypatch):
    """The dashboard's Start (the launcher) from the page kernel's working folder, from dashboard/
    (whose kernels.py broke every run under transformers 5.25), notebooks/ and from a folder holding
    kernels.py, datasets.py, accelerate.py, ...: the run starts and completes."""
    from adaft_dashboard.server.serve import NOTEBOOK, NOTEBOOKS_DIR

    folders = {"page": NOTEBOOK.parent, "dashboard": REPO / "dashboard", "notebooks": NOTEBOOKS_DIR,
               "shadows": shadow_folder}
    monkeypatch.chdir(folders[where])
    run = launch_run(tiny(tiny_model_dir, conll_dir, tmp_path / "runs"), threads=1)
    assert run.wait(180), "the run is still going"
    assert run.returncode == 0 and run.failure() is None, run.log_path.read_text()[-2000:]
    assert first_event(run.run_dir) == "run_started"
    assert read_log(run.run_dir / "events.jsonl").events[-1]["status"] == "completed"


def test_python_m_cli_from_a_folder_of_shadowing_files_trains(shadow_folder, tmp_path, tiny_model_dir, conll_dir):
    """``python -m adaft_core.cli train`` typed by hand in such a folder (the issue's reproduction)."""
    runs = tmp_path / "runs"
    cmd = [sys.executable, "-m", "adaft_core.cli", "train", "--model", tiny_model_dir, "--data", conll_dir,
           "--output-dir", str(runs), "--mode", "original", "--max-epochs", "1", "--no-save-model",
           "--no-checkpoints", "--run-name", "here", "--no-progress"]
    out = subprocess.run(cmd, cwd=shadow_folder, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert first_event(runs / "here") == "run_started"


def test_a_shadowed_library_is_named_in_one_message(shadow_folder, tmp_path, tiny_model_dir, conll_dir, monkeypatch):
    """A library replaced by a file anyway (here through $PYTHONPATH): the launch fails with one
    sentence naming the module and the file, not a traceback."""
    monkeypatch.setenv("PYTHONPATH", str(shadow_folder))
    run = launch_run(tiny(tiny_model_dir, conll_dir, tmp_path / "runs"), threads=1)
    assert run.wait(120)
    message = run.failure()
    assert message is not None and "Traceback" not in message
    assert str(shadow_folder) in message and "which is not the installed library" in message
    assert not run.run_dir.exists()  # stopped before anything was written


def test_explain_import_error_names_the_file_or_the_reinstall(tmp_path, monkeypatch):
    (tmp_path / "kernels.py").write_text("X = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    exc = ImportError("cannot import name 'CUDAProperties' from 'kernels'", name="kernels",
                      path=str(tmp_path / "kernels.py"))  # as Python raises it
    text = explain_import_error(exc)
    assert str(tmp_path / "kernels.py") in text and "rename or move that file" in text
    text = explain_import_error(ImportError("No module named 'not_a_module_xyz'", name="not_a_module_xyz"))
    assert "reinstall the tested versions" in text and "\n" not in text


def test_drop_working_folder_and_the_launch_command(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", ["", str(tmp_path), "/elsewhere", str(tmp_path / "driver")])
    removed = drop_working_folder(tmp_path / "driver")
    assert sys.path == ["/elsewhere"] and len(removed) == 3
    cmd = python_command("adaft_core.cli")
    assert cmd[0] == sys.executable and ("-P" in cmd if sys.version_info >= (3, 11) else cmd[1] == "-c")


def test_a_project_file_named_like_a_library_is_named_too(monkeypatch):
    """The original break: transformers' ``from kernels import CUDAProperties`` finding the
    dashboard's own kernels.py (were dashboard/ on the path)."""
    path = REPO / "dashboard" / "server" / "kernels.py"
    exc = ImportError("cannot import name 'CUDAProperties' from 'kernels'", name="kernels", path=str(path))
    assert f"imported from {path}, which is not the installed library" in explain_import_error(exc)
