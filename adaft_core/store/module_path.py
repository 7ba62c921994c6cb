"""What adaft's processes import from: installed libraries, never a file in the working folder.

Python puts the working folder first on ``sys.path`` for ``python -m`` and ``python -c`` (and a
Jupyter kernel for its notebook's folder), so a file there named like a library — ``kernels.py``,
``datasets.py``, ``accelerate.py`` — replaces that library in every import, and a run dies inside
transformers with an ImportError that names neither file (issue 18). adaft never starts a
process that way:

- :func:`python_command` is how the launcher (the dashboard's Start, the local sweep executor)
  starts ``python -m adaft_core.cli``: with ``-P`` (Python ≥ 3.11), which leaves the working folder
  off the path; the working folder itself is kept, so relative paths in a config mean what they did;
- :func:`drop_working_folder` is the same for a process already running (``python -m
  adaft_core.cli`` typed by hand, a Ray worker, which puts its driver's folder on the path);
- :func:`explain_import_error` turns an ImportError of a library into one sentence: which module
  was found where, and what to do.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import sysconfig
from pathlib import Path

# Python 3.10 has no -P: the same in two lines (runpy puts no folder on the path of its own)
_NO_PATH_BOOT = ("import runpy, sys; sys.path[:] = [p for p in sys.path if p not in ('', '.')]; "
                 "runpy.run_module({module!r}, run_name='__main__', alter_sys=True)")


def python_command(module: str) -> list[str]:
    """``python -m MODULE`` without the working folder on the module path."""
    if sys.version_info >= (3, 11):
        return [sys.executable, "-P", "-m", module]
    return [sys.executable, "-c", _NO_PATH_BOOT.format(module=module)]


def _same(a: str, b: Path) -> bool:
    try:
        return Path(a or ".").resolve() == b
    except OSError:
        return False


def drop_working_folder(*folders: str | Path) -> list[str]:
    """Remove the working folder (``''``, ``.`` or its absolute path) and ``folders`` from
    ``sys.path``; returns what was removed. Call it before the first import of a library."""
    gone = [Path(os.getcwd()).resolve(), *(Path(f).resolve() for f in folders)]
    removed = [p for p in sys.path if any(_same(p, g) for g in gone)]
    sys.path[:] = [p for p in sys.path if p not in removed]
    return removed


def _installed_dirs() -> list[Path]:
    paths = sysconfig.get_paths()
    dirs = {Path(paths[k]).resolve() for k in ("purelib", "platlib", "stdlib", "platstdlib") if k in paths}
    dirs |= {Path(p).resolve() for p in sys.path if p.endswith(("site-packages", "dist-packages"))}
    return sorted(dirs)


def where_found(name: str) -> Path | None:
    """The file (or folder) the top-level module ``name`` is imported from; None if not found."""
    try:
        spec = importlib.util.find_spec(name.split(".")[0])
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.origin and spec.origin not in ("built-in", "frozen", "namespace"):
        return Path(spec.origin)
    locations = list(spec.submodule_search_locations or [])
    return Path(locations[0]) if locations else None


def _suspects(exc: ImportError) -> list[tuple[Path, bool]]:
    """(file, seen in the traceback?) for the files the failed import went through, likeliest first:
    the module Python names (``exc.path``, ``exc.name``), then the traceback's files, innermost first."""
    files = [Path(exc.path)] if getattr(exc, "path", None) else []
    if getattr(exc, "name", None):
        files += [f for f in [where_found(exc.name)] if f is not None]
    tb, frames = exc.__traceback__, []
    while tb is not None:
        frames.append(Path(tb.tb_frame.f_code.co_filename))
        tb = tb.tb_next
    return [(f, False) for f in files] + [(f, True) for f in frames[::-1]]


def explain_import_error(exc: ImportError) -> str:
    """One sentence for an ImportError of a library: the module, where it was found, what to do."""
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    installed, own = _installed_dirs(), Path(__file__).resolve().parents[2]
    for file, in_traceback in _suspects(exc):
        if not file.is_absolute() or not file.exists():  # <frozen ...>, <string>
            continue
        file = file.resolve()
        ours = file.is_relative_to(own / "adaft_core") or file.is_relative_to(own / "dashboard")
        if any(file.is_relative_to(d) for d in installed) or (ours and in_traceback):  # our callers: not it
            continue
        name = file.parent.name if file.name == "__init__.py" else file.stem
        return (f"{text}: the module {name!r} was imported from {file}, which is not the installed library; "
                "rename or move that file (or start adaft from another folder) and try again")
    return (f"{text}: a library is missing or broken in {sys.prefix}; reinstall the tested versions with "
            "bash scripts/install.sh (see the README's 'Installed versions')")
