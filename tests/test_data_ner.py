"""load_ner_data: shipped WikiGold and its split, folders, saved HF datasets, subsets, errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from adaft_core.data import (
                             SUBSET_SEED,
                             WIKIGOLD_SPLIT_SEED,
                             Sentence,
                             find_split_files,
                             load_ner_data,
                             load_wikigold,
                             split_by_documents,
                             take_fraction,
                             )
from adaft_core.errors import AdaftError, ConfigError, DataError

DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
WNUT = DATASETS / "wnut17"

TRAIN = "EU B-ORG\nrejects O\nGerman B-MISC\ncall O\nin O\nBonn B-LOC\n\nPeter B-PER\nBlackburn I-PER\n\n"
DEV = "Paris B-LOC\nis O\nnice O\n\n"
TEST = "John B-PER\nlives O\n\n"


def make_folder(tmp_path: Path, train=TRAIN, dev=DEV, test=TEST, names=("train.txt", "dev.txt", "test.txt")):
    folder = tmp_path / "corpus"
    folder.mkdir()
    for name, text in zip(names, (train, dev, test)):
        (folder / name).write_text(text, encoding="utf-8")
    return folder


# ---------------------------------------------------------------- WikiGold (shipped)


def test_wikigold_split_is_deterministic_document_disjoint_and_complete():
    splits = load_wikigold()
    assert splits == load_wikigold()
    sizes = {k: len(v) for k, v in splits.items()}
    assert sizes == {"train": 1196, "validation": 257, "test": 243}
    assert sum(sizes.values()) == 1696
    docs = {k: {s.doc_id for s in v} for k, v in splits.items()}
    assert {k: len(v) for k, v in docs.items()} == {"train": 104, "validation": 17, "test": 24}
    assert not (docs["train"] & docs["validation"] or docs["train"] & docs["test"]
                or docs["validation"] & docs["test"])
    assert docs["train"] | docs["validation"] | docs["test"] == set(range(145))
    keys = [(s.source, s.line) for v in splits.values() for s in v]
    assert len(set(keys)) == 1696  # every sentence exactly once
    assert WIKIGOLD_SPLIT_SEED == 2009


def test_load_wikigold_is_bio_with_nine_labels():
    data = load_ner_data("WikiGold")
    assert data.name == "wikigold"
    assert data.labels == ["O", "B-LOC", "I-LOC", "B-MISC", "I-MISC", "B-ORG", "I-ORG", "B-PER", "I-PER"]
    assert (len(data.train), len(data.validation), len(data.test)) == (1196, 257, 243)
    for split in (data.train, data.validation, data.test):
        for sentence in split:  # strict IOB2 after the IO -> BIO conversion
            previous = ["O", *sentence.tags]
            assert all(t[2:] == p[2:] for p, t in zip(previous, sentence.tags) if t.startswith("I-"))
        assert {t for s in split for t in s.tags} == set(data.labels)


def test_split_by_documents_keeps_documents_whole():
    sentences = [Sentence((f"w{i}",), ("O",), doc_id=i // 3) for i in range(60)]
    splits = split_by_documents(sentences, seed=7)
    assert split_by_documents(sentences, seed=7) == splits
    assert sum(map(len, splits.values())) == 60
    for part in splits.values():
        docs = {s.doc_id for s in part}
        assert all(sum(s.doc_id == d for s in part) == 3 for d in docs)
    assert len(splits["train"]) == 42  # 14 documents reach 70 % of 60 sentences


# ---------------------------------------------------------------- subsets


def test_take_fraction_is_floor_and_independent_of_training_seed():
    items = list(range(100))
    subset = take_fraction(items, 0.29)
    assert len(subset) == 29  # 0.29 * 100 is 28.999... in floats; we take the written value
    assert subset == sorted(subset)
    for training_seed in (1, 2, 3):  # nothing here depends on the training seed
        assert take_fraction(items, 0.29) == subset
    assert set(take_fraction(items, 0.1)) <= set(subset)  # nested subsets
    assert take_fraction(items, 1.0) == items
    assert take_fraction(list(range(7)), 0.5, seed=SUBSET_SEED) == take_fraction(list(range(7)), 0.5)
    assert len(take_fraction(list(range(7)), 0.5)) == 3


def test_take_fraction_too_small_is_a_data_error():
    with pytest.raises(DataError, match=r"validation split has 7 sentence\(s\).*= 0"):
        take_fraction(list(range(7)), 0.1, split="validation")


@pytest.mark.parametrize("bad", [0, 0.0, -0.5, 1.5, float("nan"), "0.5", True])
def test_bad_fraction_is_a_config_error(bad):
    with pytest.raises(ConfigError, match="train_fraction must be a number in \\(0, 1\\]"):
        load_ner_data("wikigold", train_fraction=bad)
    with pytest.raises(ConfigError, match="val_fraction"):
        load_ner_data("wikigold", val_fraction=bad)


def test_fractions_cut_train_and_validation_not_test():
    data = load_ner_data("wikigold", train_fraction=0.1, val_fraction=0.5)
    full = load_ner_data("wikigold")
    assert (len(data.train), len(data.validation), len(data.test)) == (119, 128, 243)
    assert set(data.train) <= set(full.train) and data.test == full.test
    assert data.labels == full.labels


# ---------------------------------------------------------------- CoNLL folders


@pytest.mark.skipif(not WNUT.exists(), reason="shared WNUT-17 copy not present")
def test_wnut17_folder():
    data = load_ner_data(str(WNUT))
    assert (len(data.train), len(data.validation), len(data.test)) == (3394, 1009, 1287)
    assert len(data.labels) == 13
    assert any("Dubbz" in s.tokens for s in data.validation)


def test_folder_with_conll_names(tmp_path):
    folder = make_folder(tmp_path, names=("eng.train", "eng.testa", "eng.testb"))
    (folder / "README.md").write_text("not data")
    assert {k: p.name for k, p in find_split_files(folder).items()} == {
        "train": "eng.train", "validation": "eng.testa", "test": "eng.testb"}
    data = load_ner_data(folder)
    assert data.name == "corpus" and len(data.train) == 2
    assert data.labels == ["O", "B-LOC", "I-LOC", "B-MISC", "I-MISC", "B-ORG", "I-ORG", "B-PER", "I-PER"]


def test_folder_missing_or_ambiguous_split(tmp_path):
    folder = make_folder(tmp_path, names=("train.conll", "validation.conll", "other.conll"))
    with pytest.raises(DataError, match=r"no test file .*found: other.conll, train.conll, validation.conll"):
        load_ner_data(str(folder))
    (folder / "test.a.txt").write_text(TEST)
    (folder / "test.b.txt").write_text(TEST)
    with pytest.raises(DataError, match="several test files"):
        load_ner_data(str(folder))


def test_dev_label_unseen_in_train(tmp_path):
    folder = make_folder(tmp_path, dev="Paris B-GPE\n\n")
    with pytest.raises(DataError, match=r"dev\.txt:1: the validation split uses label 'B-GPE'.*"
                                        r"Train labels: O, B-LOC, I-LOC, B-MISC"):
        load_ner_data(str(folder))


def test_empty_split(tmp_path):
    folder = make_folder(tmp_path, test="\n\t\n")
    with pytest.raises(DataError, match="the test split is empty"):
        load_ner_data(str(folder))


def test_empty_after_subsetting(tmp_path):
    with pytest.raises(DataError, match=r"the train split has 2 sentence\(s\)"):
        load_ner_data(str(make_folder(tmp_path)), train_fraction=0.4)


def test_malformed_file_in_folder(tmp_path):
    folder = make_folder(tmp_path, train=TRAIN + "oops\n")
    with pytest.raises(DataError, match=r"train\.txt: line 11: expected 'token TAG'"):
        load_ner_data(str(folder))


def test_unknown_spec_lists_forms():
    with pytest.raises(DataError, match=r"unknown dataset 'conll2003'; valid choices: wikigold.*hf:NAME"):
        load_ner_data("conll2003")


def test_single_file_spec(tmp_path):
    path = tmp_path / "x.txt"
    path.write_text(TRAIN)
    with pytest.raises(AdaftError, match="single file"):
        load_ner_data(str(path))


# ---------------------------------------------------------------- Hugging Face datasets on disk


def _dataset_dict(tag_feature, rows, dev_split="validation"):
    datasets = pytest.importorskip("datasets")
    features = datasets.Features({"id": datasets.Value("string"),
                                  "tokens": datasets.Sequence(datasets.Value("string")),
                                  "ner_tags": datasets.Sequence(tag_feature)})

    def split(pairs):
        return datasets.Dataset.from_dict(
            {"id": [str(i) for i in range(len(pairs))], "tokens": [p[0] for p in pairs],
             "ner_tags": [p[1] for p in pairs]}, features=features)

    return datasets.DatasetDict({"train": split(rows["train"]), dev_split: split(rows["dev"]),
                                 "test": split(rows["test"])})


def test_saved_dataset_dict_with_classlabel(tmp_path):
    datasets = pytest.importorskip("datasets")
    names = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    rows = {"train": [(["John", "Smith", "runs"], [1, 2, 0]), (["in", "Rome"], [0, 3]), ([], [])],
            "dev": [(["Ann", "left"], [1, 0])], "test": [(["New", "York"], [3, 4])]}
    _dataset_dict(datasets.ClassLabel(names=names), rows).save_to_disk(str(tmp_path / "saved"))
    data = load_ner_data(str(tmp_path / "saved"), val_fraction=1.0)
    assert data.name == "saved"
    assert [s.tags for s in data.train] == [("B-PER", "I-PER", "O"), ("O", "B-LOC")]  # empty row skipped
    assert data.test[0].tokens == ("New", "York") and data.test[0].tags == ("B-LOC", "I-LOC")
    assert data.labels == ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]


def test_saved_dataset_dict_with_string_io_tags_and_dev_split(tmp_path):
    datasets = pytest.importorskip("datasets")
    rows = {"train": [(["a", "b"], ["I-X", "I-X"])], "dev": [(["c"], ["I-X"])],
            "test": [(["d", "e"], ["O", "I-X"])]}
    _dataset_dict(datasets.Value("string"), rows, dev_split="dev").save_to_disk(str(tmp_path / "s"))
    data = load_ner_data(str(tmp_path / "s"))
    assert data.train[0].tags == ("B-X", "I-X") and data.test[0].tags == ("O", "B-X")


def test_saved_dataset_errors_name_the_row(tmp_path):
    datasets = pytest.importorskip("datasets")
    rows = {"train": [(["a", "b"], ["B-X", "O"])], "dev": [(["c", "d", "e"], ["B-X", "O", "I-X"])],
            "test": [(["e"], ["O"])]}
    _dataset_dict(datasets.Value("string"), rows).save_to_disk(str(tmp_path / "s"))
    with pytest.raises(DataError, match=r"s\[validation\]\[0\], token 3: tag 'I-X' follows 'O'"):
        load_ner_data(str(tmp_path / "s"))


def test_saved_dataset_without_ner_columns(tmp_path):
    datasets = pytest.importorskip("datasets")
    ds = datasets.Dataset.from_dict({"text": ["a"]})
    datasets.DatasetDict({"train": ds, "validation": ds, "test": ds}).save_to_disk(str(tmp_path / "s"))
    with pytest.raises(DataError, match=r"missing column\(s\) tokens, ner_tags.*Columns found: text"):
        load_ner_data(str(tmp_path / "s"))


def test_hf_spec_needs_a_name():
    with pytest.raises(DataError, match="'hf:' needs a dataset name"):
        load_ner_data("hf:")
