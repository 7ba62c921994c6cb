"""``adaft dashboard``: the command line, the Voila arguments, a clear error without the extra."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from adaft_core import cli
from adaft_core.errors import ConfigError
from adaft_dashboard.server import serve


def test_voila_argv_binds_localhost_and_culls_idle_kernels():
    argv = serve.voila_argv(port=9999, cull_idle=600)
    assert argv[0].endswith("dashboard/page/app.ipynb") and serve.NOTEBOOK.exists()
    assert "--port=9999" in argv and "--Voila.ip=127.0.0.1" in argv and "--no-browser" in argv
    assert "--MappingKernelManager.cull_idle_timeout=600" in argv
    assert not any("cull" in a for a in serve.voila_argv(cull_idle=0))
    assert "--MappingKernelManager.cull_interval=1" in serve.voila_argv(cull_idle=2)  # short ones for tests
    assert f"--VoilaConfiguration.multi_kernel_manager_class={serve.KERNEL_MANAGER}" in argv
    assert "--PageKernelManager.max_kernels=3" in serve.voila_argv(max_kernels=3)
    assert not any("preheat" in a for a in argv)  # voila_argv's default: no pool
    pooled = serve.voila_argv(preheat=2)
    assert "--VoilaConfiguration.preheat_kernel=True" in pooled and "--VoilaConfiguration.default_pool_size=2" in pooled
    bundle = [a for a in argv if a.startswith("--VoilaConfiguration.extra_labextensions_path=")]
    assert len(bundle) == 1 and (Path(bundle[0].split("=", 1)[1]) / "widgetbundle.js").is_file()


def test_serve_preheats_the_dashboard_only_and_hands_the_kernels_their_settings(monkeypatch, tmp_path):
    pytest.importorskip("voila")
    from voila.app import Voila

    launched = []
    monkeypatch.setattr(Voila, "launch_instance", lambda argv, config: launched.append(argv))
    for var in ("ADAFT_RUNS_DIR", "ADAFT_DATA_ROOTS", "ADAFT_PLOTLY_BUNDLE", "VOILA_APP_IP"):
        monkeypatch.setenv(var, "")  # recorded, so the values serve() sets are undone after the test
        monkeypatch.delenv(var)  # serve() sets them for the kernels (pooled ones too)
    page = write_notebook(tmp_path / "page.ipynb", "1")
    assert serve.serve(tmp_path / "runs", port=9990) == 0
    assert serve.serve(tmp_path / "runs", port=9991, notebook=str(page)) == 0
    assert serve.serve(tmp_path / "runs", port=9992, notebook=str(page), preheat=1) == 0
    pool = ["--VoilaConfiguration.default_pool_size=1" in argv for argv in launched]
    assert pool == [True, False, True]  # a notebook runs before anyone asks only if told to
    import os

    assert os.environ["ADAFT_RUNS_DIR"] == str((tmp_path / "runs").resolve())
    assert os.environ["ADAFT_PLOTLY_BUNDLE"] == "voila/labextensions/widgetbundle.js"
    assert os.environ["VOILA_APP_IP"] == "127.0.0.1"  # where a pre-heated kernel asks for its page request


def test_cli_dashboard_passes_its_flags(monkeypatch, tmp_path):
    seen = {}
    monkeypatch.setattr(serve, "serve", lambda runs, **kw: seen.update(runs=runs, **kw) or 0)
    assert cli.main(["dashboard", "--runs", str(tmp_path), "--port", "8900"]) == 0
    assert seen == {"runs": str(tmp_path), "port": 8900, "ip": "127.0.0.1", "cull_idle": 60, "open_browser": False,
                    "token": None, "password": False, "allow_origins": (), "data_roots": (), "max_kernels": 10,
                    "notebook": None, "preheat": None}
    assert cli.main(["dashboard", "--notebook", "04_teaching", "--preheat", "2"]) == 0
    assert seen["notebook"] == "04_teaching" and seen["preheat"] == 2
    assert cli.main(["dashboard", "--no-preheat"]) == 0 and seen["preheat"] == 0


@pytest.mark.parametrize("flags, named, valid", [
    (["--port", "-1"], "--port -1", "from 1 to 65535"),
    (["--port", "70000"], "--port 70000", "from 1 to 65535"),
    (["--ip", "not-a-host"], "'not-a-host'", "give an IP address"),
    (["--runs", "FILE"], "is a file", "give a folder"),
    (["--cull-idle", "-1"], "--cull-idle -1", "0 or more (0: never)"),
    (["--max-kernels", "-1"], "--max-kernels -1", "0 or more (0: no bound)"),
    (["--preheat", "-1"], "--preheat -1", f"from 0 to {serve.MAX_PREHEAT}"),
])
def test_a_flag_out_of_range_is_one_message_before_anything_is_bound_or_written(flags, named, valid, tmp_path,
                                                                                   capsys, monkeypatch):
    """Issue 22 (the dashboard's cases) and issue 24 item 6: the value and its valid range, exit code 2."""
    pytest.importorskip("voila")
    from adaft_dashboard.server.door import DashboardVoila

    monkeypatch.setattr(DashboardVoila, "launch_instance", lambda **kw: pytest.fail("the server was started"))
    (tmp_path / "FILE").write_text("a file, not a runs folder\n")
    runs = ["--runs", str(tmp_path / "runs")] if "--runs" not in flags else ["--runs", str(tmp_path / "FILE")]
    assert cli.main(["dashboard", *runs, *[f for f in flags if f != "--runs" and f != "FILE"]]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err  # one message
    assert named in err and valid in err, err
    assert not (tmp_path / "runs").exists() and (tmp_path / "FILE").read_text().startswith("a file")


def test_missing_extra_is_a_clear_error(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(serve, "missing_dependencies", lambda: ["voila"])
    assert cli.main(["dashboard", "--runs", str(tmp_path)]) == 2
    assert "install the dashboard extra" in capsys.readouterr().err


def test_app_notebook_calls_the_app_from_env():
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(serve.NOTEBOOK, as_version=4)
    assert nb.metadata.kernelspec.name == "python3"
    assert "App.from_env()" in nb.cells[-1].source


# ------------------------------------------------------------------ --notebook NAME
def write_notebook(path: Path, code: str, markdown: str = "# A page") -> Path:
    """A minimal nbformat-4 notebook: one markdown cell, one code cell."""
    nb = {"cells": [{"cell_type": "markdown", "id": "md", "metadata": {}, "source": markdown},
                    {"cell_type": "code", "id": "code", "metadata": {}, "execution_count": None, "outputs": [],
                     "source": code}],
          "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                       "language_info": {"name": "python"}}, "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(nb))
    return path


def test_notebook_names_resolve_in_the_notebooks_folder_or_as_paths(tmp_path, monkeypatch):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    teaching = write_notebook(folder / "04_teaching.ipynb", "1")
    write_notebook(folder / "01_quickstart.ipynb", "1")
    assert serve.resolve_notebook(None, folder) == serve.NOTEBOOK  # no --notebook: the dashboard
    assert serve.resolve_notebook("04_teaching", folder) == teaching
    assert serve.resolve_notebook("04_teaching.ipynb", folder) == teaching
    mine = write_notebook(tmp_path / "mine.ipynb", "1")
    monkeypatch.chdir(tmp_path)
    assert serve.resolve_notebook(str(mine), folder) == mine  # a path, absolute ...
    assert serve.resolve_notebook("mine.ipynb", folder) == mine  # ... or relative to where the server starts
    assert serve.resolve_notebook("notebooks/04_teaching", folder) == teaching  # the suffix is optional
    with pytest.raises(ConfigError) as info:
        serve.resolve_notebook("05_nope", folder)
    assert "01_quickstart, 04_teaching" in str(info.value) and "05_nope" in str(info.value)
    with pytest.raises(ConfigError):
        serve.resolve_notebook(str(tmp_path), folder)  # a folder is not a notebook
    assert serve.NOTEBOOKS_DIR == Path(serve.__file__).resolve().parents[2] / "notebooks"
    argv = serve.voila_argv(notebook=teaching)
    assert argv[0] == str(teaching) and not any("strip_sources" in a for a in argv)  # code cells hidden


def test_an_unknown_notebook_is_one_clear_error_before_anything_is_set_up(tmp_path, capsys):
    pytest.importorskip("voila")
    assert cli.main(["dashboard", "--runs", str(tmp_path / "runs"), "--notebook", "no_such_notebook"]) == 2
    err = capsys.readouterr().err
    assert "no_such_notebook" in err and err.count("\n") == 1 and not (tmp_path / "runs").exists()
    for name in serve.available_notebooks():
        assert name in err


def test_a_notebook_is_served_as_a_page_without_its_code(tmp_path):
    pytest.importorskip("voila")
    import http.client

    from dashboard_server import start_dashboard, stop_dashboard

    code = "import os\nprint('page-output', os.environ['ADAFT_RUNS_DIR'])"
    page = write_notebook(tmp_path / "tiny page.ipynb", code, "# Tiny page heading")
    runs = tmp_path / "runs"
    proc, port, log = start_dashboard(tmp_path, runs, "--notebook", str(page))
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        conn.request("GET", "/")
        resp = conn.getresponse()
        body = resp.read().decode()
        conn.close()
        assert resp.status == 200
        assert "Tiny page heading" in body and f"page-output {runs.resolve()}" in body  # same $ADAFT_RUNS_DIR
        assert "print(" not in body  # Voila's default template shows outputs, not code cells
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)  # the same door: Host checked
        conn.request("GET", "/", headers={"Host": f"evil.example.com:{port}"})
        assert conn.getresponse().status in (400, 403)
        conn.close()
    finally:
        stop_dashboard(proc, log)
