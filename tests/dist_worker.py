"""Run by ``torchrun --nproc_per_node 2`` from test_distributed.py: one tiny adaptive run per rank."""

import json
import os
import sys

from adaft_core import TrainConfig, train


def main(model: str, data: str, output_dir: str, report_dir: str) -> None:
    cfg = TrainConfig(model=model, data=data, output_dir=output_dir, mode="adaptive", lr=1e-3,
                      batch_size=6, seed=0, max_epochs=12, cooldown_epochs=1, save_model=False)
    result = train(cfg)
    rank = int(os.environ.get("RANK", "0"))
    report = {"rank": rank, "status": result.status, "epochs": result.epochs, "steps": result.steps,
              "run_dir": str(result.run_dir) if result.run_dir else None,
              "val_loss": result.val["loss"] if result.val else None}
    with open(os.path.join(report_dir, f"rank{rank}.json"), "w") as f:
        json.dump(report, f)


if __name__ == "__main__":
    main(*sys.argv[1:5])
