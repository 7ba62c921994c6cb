"""The model card (adaft_core/report/model_card.py): a tiny run's model/ and kept checkpoint/ get a README.md
that huggingface_hub.ModelCard.load reads, naming the run's scores, settings and decisions."""

from __future__ import annotations

import pytest

from adaft_core import TrainConfig, train
from adaft_core.report.model_card import model_card, write_model_cards
from adaft_core.report import RunFacts

huggingface_hub = pytest.importorskip("huggingface_hub")


def test_a_tiny_runs_model_card_loads_and_names_scores_and_settings(tiny_model_dir, conll_dir, tmp_path):
    cfg = TrainConfig(model=tiny_model_dir, data=conll_dir, output_dir=str(tmp_path / "runs"), run_name="card-run",
                      batch_size=12, eval_batch_size=16, lr=1e-3, seed=3, mode="adaptive", max_epochs=2,
                      warmup_epochs=1, keep_checkpoint=True)
    result = train(cfg)
    for folder in (result.run_dir / "model", result.run_dir / "checkpoint"):
        card = huggingface_hub.ModelCard.load(folder / "README.md")
        data = card.data.to_dict()
        assert data["library_name"] == "transformers" and data["pipeline_tag"] == "token-classification"
        assert "adaft" in data["tags"] and "adaft-adaptive" in data["tags"]
        [index] = data["model-index"]
        scores = {(r["dataset"]["split"], m["type"]): m["value"] for r in index["results"] for m in r["metrics"]}
        assert scores[("test", "f1")] == pytest.approx(result.test["f1"])
        assert scores[("validation", "f1")] == pytest.approx(result.val["f1"])
        text = card.text
        assert f"{result.test['f1']:.4f}" in text  # the scores table
        for setting in ("| lr | 0.001 |", "| seed | 3 |", "| max_epochs | 2 |", "| warmup_epochs | 1 |"):
            assert setting in text
        assert "## Scores per type" in text and ("| PER |" in text or "| LOC |" in text)
        assert f"completed after {result.epochs} epochs" in text
        assert "adaft train" in text and "--lr 0.001" in text and "--seed 3" in text
        assert "## Decisions after each epoch" in text and "adaft 0." in text


def test_a_card_from_synthetic_events_and_a_folder_without_a_model(tmp_path):
    events = [
        {"event": "run_started", "run_id": "r", "seq": 0, "time": 0, "task": "classification", "mode": "original",
         "strategy": "dps-dense", "metric": "accuracy", "labels": ["a", "b"], "train_size": 10, "val_size": 4,
         "versions": {"adaft": "0.2.0"},
         "config": {"integration": "transformers.Trainer", "model": "bert-base-cased", "data": "hf:snli",
                    "strategy": "dps-dense", "strategy_options": {"keep_fraction": 0.7}}},
        {"event": "decision", "run_id": "r", "seq": 1, "time": 1, "epoch": 0, "phase": "decay", "action": "stop",
         "reason": "the fixed length of 1 epoch is reached"},
        {"event": "run_ended", "run_id": "r", "seq": 2, "time": 2, "status": "completed", "epochs": 1,
         "best_epoch": 0, "final_model": "last", "val": {"accuracy": 0.75, "loss": 0.5}, "test": None},
    ]
    card = model_card(RunFacts.from_events(events))
    data = card.data.to_dict()
    assert data["base_model"] == "bert-base-cased" and data["datasets"] == ["snli"]
    assert "dps-dense (keep_fraction=0.7)" in card.text and "not made by `adaft train`" in card.text
    assert write_model_cards(tmp_path) == []  # no model folder: nothing written, nothing raised
