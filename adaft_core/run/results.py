"""What a run returns: the result record (the same facts as ``run_ended``) and library versions."""

from __future__ import annotations

import platform
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any


@dataclass
class RunResult:
    """What ``train`` returns (the same facts as the ``run_ended`` event)."""

    run_id: str
    run_dir: Path | None
    status: str  # completed / early_stopped / stopped / failed
    epochs: int
    steps: int
    best_epoch: int | None
    final_model: str | None
    val: dict | None
    test: dict | None
    wall_time: float
    error: str | None
    model_dir: Path | None = None
    eval_data: dict | None = None  # --eval-data set name -> metrics of the final model

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["run_dir"] = str(self.run_dir) if self.run_dir else None
        d["model_dir"] = str(self.model_dir) if self.model_dir else None
        return d


def run_versions() -> dict[str, str]:
    """Library versions recorded in ``run_started`` (for reproducing a run)."""
    import accelerate
    import torch
    import transformers

    return {"adaft": version("adaft"), "python": platform.python_version(), "torch": torch.__version__,
            "transformers": transformers.__version__, "accelerate": accelerate.__version__}
