"""``adaft dashboard``: the command line, the Voila arguments, a clear error without the extra."""

from __future__ import annotations

import pytest

from adaft_core import cli
from dashboard import serve


def test_voila_argv_binds_localhost_and_culls_idle_kernels():
    argv = serve.voila_argv(port=9999, cull_idle=600)
    assert argv[0].endswith("dashboard/app.ipynb") and serve.NOTEBOOK.exists()
    assert "--port=9999" in argv and "--Voila.ip=127.0.0.1" in argv and "--no-browser" in argv
    assert "--MappingKernelManager.cull_idle_timeout=600" in argv
    assert not any("cull" in a for a in serve.voila_argv(cull_idle=0))
    assert "--MappingKernelManager.cull_interval=1" in serve.voila_argv(cull_idle=2)  # short ones for tests
    assert f"--VoilaConfiguration.multi_kernel_manager_class={serve.KERNEL_MANAGER}" in argv
    assert "--PageKernelManager.max_kernels=3" in serve.voila_argv(max_kernels=3)


def test_cli_dashboard_passes_its_flags(monkeypatch, tmp_path):
    seen = {}
    monkeypatch.setattr(serve, "serve", lambda runs, **kw: seen.update(runs=runs, **kw) or 0)
    assert cli.main(["dashboard", "--runs", str(tmp_path), "--port", "8900"]) == 0
    assert seen == {"runs": str(tmp_path), "port": 8900, "ip": "127.0.0.1", "cull_idle": 900, "open_browser": False,
                    "token": None, "password": False, "allow_origins": (), "data_roots": (), "max_kernels": 10}


def test_missing_extra_is_a_clear_error(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(serve, "missing_dependencies", lambda: ["voila"])
    assert cli.main(["dashboard", "--runs", str(tmp_path)]) == 2
    assert "install the dashboard extra" in capsys.readouterr().err


def test_app_notebook_calls_the_app_from_env():
    nbformat = pytest.importorskip("nbformat")
    nb = nbformat.read(serve.NOTEBOOK, as_version=4)
    assert nb.metadata.kernelspec.name == "python3"
    assert "App.from_env()" in nb.cells[-1].source
