"""Run by ``torchrun --nproc_per_node 2`` from test_strategies_distributed.py: a tiny dps-dense
run per rank; every rank writes each mask it selected to ``REPORTS/rank{R}-step{T}.safetensors``."""

import json
import os
import sys

from adaft_core import TrainConfig, train
from adaft_core import engine
from adaft_core.strategies.masks import save_masks


def main(model: str, data: str, output_dir: str, report_dir: str) -> None:
    rank = int(os.environ.get("RANK", "0"))
    captured = {}
    real_make = engine.make_strategy

    def make_and_capture(name, options):
        strategy = real_make(name, options)
        select = strategy._select

        def select_and_dump(step):
            select(step)
            params = {n: {"shape": list(m.shape)} for n, m in strategy.masks.items()}
            save_masks(os.path.join(report_dir, f"rank{rank}-step{step}.safetensors"), strategy.masks, params,
                       {"step": step, "rank": rank})

        strategy._select = select_and_dump
        captured["strategy"] = strategy
        return strategy

    engine.make_strategy = make_and_capture
    cfg = TrainConfig(model=model, data=data, output_dir=output_dir, mode="original", lr=1e-3, batch_size=6,
                      seed=0, max_epochs=2, strategy="dps-dense", strategy_options={"stage_steps": 1},
                      save_model=False, save_checkpoints=False, evaluate_test=False)
    result = train(cfg)
    report = {"rank": rank, "status": result.status, "steps": result.steps,
              "run_dir": str(result.run_dir) if result.run_dir else None,
              "selections": captured["strategy"].reporter.selections}
    with open(os.path.join(report_dir, f"rank{rank}.json"), "w") as f:
        json.dump(report, f)


if __name__ == "__main__":
    main(*sys.argv[1:5])
