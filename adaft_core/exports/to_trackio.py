"""Runs into trackio (local-first; ``trackio show --project adaft`` opens its dashboard, and
``trackio.show()`` shows it inline in a notebook), through its own API: ``trackio.init`` /
``trackio.log`` / ``trackio.finish``.

Its store is trackio's own (``TRACKIO_DIR``, by default ``~/.cache/huggingface/trackio``) unless
``--logdir`` names a folder. The project is ``adaft`` (``--project``); each adaft run is a trackio
run of the same name, its settings and tags as the run's config, and a sweep's runs share the
sweep's name as their trackio ``group``. Metrics as named in :mod:`.base`; the decisions are
logged at the end as a ``trackio.Markdown`` (``decisions``). A live, resumed run continues its
trackio run (``resume="allow"``); an after-the-fact export replaces an earlier one.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from adaft_core.errors import ConfigError
from adaft_core.exports.base import RunInfo, Writer
from adaft_core.exports.names import PROJECT


def use_folder(logdir: Path | None) -> None:
    """Point trackio at ``logdir``: trackio reads ``TRACKIO_DIR`` once, when first imported."""
    if logdir is None:
        return
    wanted = Path(logdir).resolve()
    if "trackio" in sys.modules:
        current = Path(sys.modules["trackio"].utils.TRACKIO_DIR).resolve()
        if current != wanted:
            raise ConfigError(f"trackio already writes to {current} in this process; to write to {wanted} "
                              f"set TRACKIO_DIR={wanted} before trackio is imported (or run adaft export there)")
        return
    wanted.mkdir(parents=True, exist_ok=True)
    os.environ["TRACKIO_DIR"] = str(wanted)


class TrackioWriter(Writer):
    tracker = "trackio"
    active = False

    def open(self, info: RunInfo, resumed: bool) -> None:
        use_folder(self.target.logdir)
        import trackio

        self.project = self.target.project or PROJECT
        if self.target.replace:
            self._drop_earlier(trackio, info.run_id)
        trackio.init(project=self.project, name=info.run_id, group=info.sweep, config={**info.tags, **info.params},
                     resume="allow", embed=False, auto_log_cpu=False, auto_log_gpu=False)
        self.active = True

    def _drop_earlier(self, trackio, name: str) -> None:
        if self.project not in trackio.SQLiteStorage.get_projects():
            return
        for run in trackio.Api().runs(self.project):
            if run.name == name:
                run.delete()

    def scalars(self, values: dict[str, float], step: int) -> None:
        if values:
            import trackio

            trackio.log(values, step=step)

    def finish(self, info: RunInfo, status: str, decisions: str) -> None:
        import trackio

        trackio.log({"decisions": trackio.Markdown(decisions)}, step=self.step)
        self.close()

    def close(self) -> None:
        if self.active:
            import trackio

            self.active = False
            trackio.finish()

    def where(self) -> str:
        folder = sys.modules["trackio"].utils.TRACKIO_DIR if "trackio" in sys.modules else "trackio's store"
        return f"project {getattr(self, 'project', PROJECT)} in {folder}"
