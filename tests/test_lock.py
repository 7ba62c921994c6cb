"""The installed versions are the tested ones (issue 18): constraints.txt pins every dependency the
suite passed with, scripts/install.sh and environment.yml install through it, pyproject.toml keeps
ranges. scripts/check_latest.sh runs the suite on the newest versions with ADAFT_UNPINNED=1."""

from __future__ import annotations

import os
import re
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def lock() -> dict[str, str]:
    pins = {}
    for line in (REPO / "constraints.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, ver = line.partition("==")
            assert ver, f"constraints.txt: {line!r} is not NAME==VERSION"
            pins[name.strip()] = ver.strip()
    return pins


@pytest.mark.skipif(os.environ.get("ADAFT_UNPINNED") == "1", reason="newest versions on purpose (check_latest.sh)")
def test_every_locked_package_is_installed_at_its_locked_version():
    wrong = {}
    for name, ver in lock().items():
        try:
            have = version(name)
        except PackageNotFoundError:
            have = "missing"
        if have != ver:
            wrong[name] = f"{have} (lock: {ver})"
    assert not wrong, f"not the tested versions (rerun bash scripts/install.sh --test): {wrong}"


def test_the_lock_covers_the_dependencies_and_the_package_keeps_ranges():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    names = {re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0].lower().replace("_", "-") for r in requirements}
    names.discard("adaft")  # an extra naming others (adaft[mlflow,...])
    locked = {n.lower().replace("_", "-") for n in lock()}
    assert names - {"torch"} <= locked  # torch: installed on its own by scripts/install.sh
    assert "torch" not in locked and "transformers" in locked and "kernels" in locked
    assert not [r for r in requirements if "==" in r], "a library must not pin: ranges in pyproject.toml"
    assert "-c constraints.txt" in (REPO / "scripts" / "install.sh").read_text()
    assert "-c constraints.txt" in (REPO / "environment.yml").read_text()
