"""Run by ``torchrun --nproc_per_node 2`` from test_strategies_distributed.py: one tiny run per
strategy (vanilla with telemetry, dps-dense, dps-mix, childtuning-d, childtuning-f), one after the
other in the same process group. Every rank writes ``REPORTS/rank{R}.json`` (per strategy: status,
steps, selections and a SHA-256 checksum of its final weights) and, for dps-dense, each mask it
selected to ``REPORTS/rank{R}-step{T}.safetensors``."""

import hashlib
import json
import os
import sys

import torch

from adaft_core import TrainConfig, train
from adaft_core.strategies.base import UpdateStrategy
from adaft_core.strategies.masks import save_masks
from adaft_core.strategies.scope import unwrap

RUNS = {"vanilla": {"telemetry": True}, "dps-dense": {"stage_steps": 1}, "dps-mix": {"stage_steps": 1},
        "childtuning-d": {}, "childtuning-f": {}}


def weights_checksum(model) -> str:
    """SHA-256 over every parameter's bytes in name order (equal iff the weights are bit-equal)."""
    digest = hashlib.sha256()
    for name, p in sorted(unwrap(model).named_parameters(), key=lambda item: item[0]):
        digest.update(name.encode())
        digest.update(p.detach().to("cpu", torch.float32).contiguous().numpy().tobytes())
    return digest.hexdigest()


def capture_strategies(rank: int, report_dir: str) -> list:
    """Record every strategy the engine sets up; dps-dense also dumps each mask it selects."""
    captured = []
    real_setup = UpdateStrategy.setup

    def setup_and_capture(self, model, **kw):  # every strategy's setup reaches the base class
        real_setup(self, model, **kw)
        if self in captured:
            return
        captured.append(self)
        if self.name == "dps-dense":
            before_step = self.before_step

            def before_step_and_dump(step):
                before_step(step)
                if step > 1 and self.stage(step) == "II" and self.stage(step - 1) == "I":  # a selection
                    params = {n: {"shape": list(m.shape)} for n, m in self.masks.items()}
                    save_masks(os.path.join(report_dir, f"rank{rank}-step{step}.safetensors"), self.masks,
                               params, {"step": step, "rank": rank})

            self.before_step = before_step_and_dump

    UpdateStrategy.setup = setup_and_capture
    return captured


def main(model: str, data: str, output_dir: str, report_dir: str) -> None:
    rank = int(os.environ.get("RANK", "0"))
    captured = capture_strategies(rank, report_dir)
    report = {"rank": rank}
    for name, options in RUNS.items():
        cfg = TrainConfig(model=model, data=data, output_dir=os.path.join(output_dir, name), mode="original",
                          lr=1e-3, batch_size=6, seed=0, max_epochs=2, strategy=name, strategy_options=options,
                          save_model=False, save_checkpoints=False, evaluate_test=False)
        result = train(cfg)
        strategy = captured[-1]
        reporter = getattr(strategy, "reporter", None)
        report[name] = {"status": result.status, "steps": result.steps,
                        "checksum": weights_checksum(strategy.model),
                        "run_dir": str(result.run_dir) if result.run_dir else None,
                        "selections": reporter.selections if reporter is not None else None}
    with open(os.path.join(report_dir, f"rank{rank}.json"), "w") as f:
        json.dump(report, f)


if __name__ == "__main__":
    main(*sys.argv[1:5])
