"""Which datasets a served dashboard page may read: the data roots (torch-free).

``adaft dashboard --data-root DIR`` (repeatable; default: the folder it was started in and the
runs folder) fixes, at start-up, the folders whose files a page may train on. The page's dataset
field (and its out-of-domain ``eval_data``) then accepts only:

- the shipped names (``wikigold``),
- Hugging Face names (``hf:NAME[:CONFIG]``, ``glue/TASK``, ``super_glue/TASK``) that are hub ids:
  ``NAME`` is ``[OWNER/]DATASET`` of letters, digits, ``_``, ``-`` and ``.``, never a path (no ``/``
  at its start, no ``..``, ``~`` or ``.``-led part). ``datasets.load_dataset`` reads a local folder
  of that name first, so a name that is also a folder (from the working folder) must lie under a
  data root like any path;
- paths that resolve (symbolic links followed) to somewhere under a data root; a relative path
  is taken from the first root (the folder ``adaft dashboard`` started in, by default).

Anything else is refused with one message that does not depend on whether the path exists, and
before anything is read, so no error can echo the content of a file outside the roots. The
server hands the roots to the page's kernel in ``$ADAFT_DATA_ROOTS`` (``os.pathsep``-separated,
absolute); without it (the dashboard used from a notebook by its owner) nothing is restricted.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from adaft_core.errors import ConfigError

ROOTS_ENV = "ADAFT_DATA_ROOTS"
SHIPPED_DATA = ("wikigold",)
_HUB = re.compile(r"(hf:.+|(super_)?glue/\w+)", re.IGNORECASE)
_HUB_PART = r"[A-Za-z0-9](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?"  # a hub owner or dataset name
_HUB_ID = re.compile(rf"{_HUB_PART}(?:/{_HUB_PART})?(?::[A-Za-z0-9_.-]+)?")  # NAME[:CONFIG]


def resolve_roots(roots=(), runs_dir: str | Path | None = None, cwd: str | Path | None = None) -> list[Path]:
    """The roots as absolute, resolved folders: ``roots`` if any, else the current folder and
    ``runs_dir``; duplicates dropped, the order kept (the first is the base of relative paths)."""
    chosen = [Path(r) for r in roots] if roots else [Path(cwd or os.getcwd())] + ([Path(runs_dir)] if runs_dir else [])
    out: list[Path] = []
    for root in chosen:
        path = root.expanduser().resolve()
        if not path.is_dir():
            raise ConfigError(f"data root {str(root)!r} is not a folder")
        if path not in out:
            out.append(path)
    return out


def roots_to_env(roots: list[Path]) -> str:
    return os.pathsep.join(str(r) for r in roots)


def roots_from_env(environ=None) -> list[Path] | None:
    """The roots the server set in ``$ADAFT_DATA_ROOTS``; None (no restriction) when unset."""
    text = (os.environ if environ is None else environ).get(ROOTS_ENV)
    if text is None:
        return None
    return [Path(p) for p in text.split(os.pathsep) if p]


def is_named_dataset(source: str) -> bool:
    """A shipped or Hugging Face name rather than a path."""
    s = source.strip()
    return s.lower() in SHIPPED_DATA or bool(_HUB.fullmatch(s))


def check_source(source: str, roots: list[Path] | None, setting: str = "data") -> str:
    """``source`` as the training process should read it: a name unchanged, a path made absolute
    once it is known to lie under a root; a ConfigError naming ``setting`` otherwise. The message
    is the same whether the path exists or not, and nothing is read."""
    if roots is None:
        return source
    text = source.strip()
    if is_named_dataset(text):
        name = text[3:] if text.lower().startswith("hf:") else text
        hub_id = _HUB_ID.fullmatch(name) and ".." not in name
        local = Path(name.partition(":")[0])  # what load_dataset (or the glue/ reader) would open first
        if hub_id and (text.lower() in SHIPPED_DATA or not local.exists()):
            return source
        if hub_id and _under_roots(local.resolve(), roots):
            return str(local.resolve()) if not text.lower().startswith("hf:") else source
        raise _refused(text, roots, setting)
    path = Path(text).expanduser()
    if not path.is_absolute():
        path = (roots[0] if roots else Path.cwd()) / path
    resolved = path.resolve()
    if _under_roots(resolved, roots):
        return str(resolved)
    raise _refused(text, roots, setting)


def _under_roots(path: Path, roots: list[Path]) -> bool:
    return any(path == root or path.is_relative_to(root) for root in roots)


def _refused(text: str, roots: list[Path], setting: str) -> ConfigError:
    """The one message for every refused source: it says nothing about what is at that path."""
    error = ConfigError(f"{setting} {text!r}: this dashboard reads only the shipped datasets "
                        f"({', '.join(SHIPPED_DATA)}), Hugging Face hub ids (hf:NAME or hf:OWNER/NAME, "
                        f"glue/TASK) and folders under its data roots ({', '.join(map(str, roots))})")
    error.setting = setting
    return error


def check_eval_source(item: str, roots: list[Path] | None) -> str:
    """One ``[NAME=]SOURCE[@SPLIT]`` eval_data entry, its SOURCE checked like :func:`check_source`."""
    if roots is None:
        return item
    name, eq, rest = item.partition("=")
    if not eq or "/" in name or os.sep in name:
        name, eq, rest = "", "", item
    source, at, split = rest.rpartition("@") if "@" in rest else (rest, "", "")
    checked = check_source(source, roots, setting="eval_data")
    return f"{name}{eq}{checked}{at}{split}"
