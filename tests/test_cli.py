"""`adaft` on the command line: clear errors before anything is written; runs list/show."""

from __future__ import annotations

import re

import pytest
from tiny import make_sentences, write_conll

from adaft_core.cli import main


def _corpus(tmp_path, train=None, dev=None, test=None):
    folder = tmp_path / "corpus"
    folder.mkdir(exist_ok=True)
    for name, text in (("train.txt", train), ("dev.txt", dev), ("test.txt", test)):
        if text is None:
            write_conll(folder / name, make_sentences(8, hash(name) % 100))
        else:
            (folder / name).write_text(text, encoding="utf-8")
    return str(folder)


BAD_INPUTS = {
    "unknown mode": (["--mode", "fast"], "unknown mode 'fast'; valid choices: adaptive, original, stable"),
    "unknown task": (["--task", "parsing"], "unknown task 'parsing'"),
    "unknown dataset": (["--data", "nosuchdata"], "nosuchdata"),
    "fraction zero": (["--train-fraction", "0"], "train_fraction must be in (0, 1]"),
    "fraction above one": (["--val-fraction", "1.5"], "val_fraction must be in (0, 1]"),
    "negative lr": (["--lr=-1e-5"], "lr (learning rate) must be a positive number"),
    "zero lr": (["--lr", "0"], "lr (learning rate) must be a positive number"),
    "unknown strategy": (["--strategy", "magic"], "unknown strategy 'magic'"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_settings_give_one_clear_message_and_write_nothing(case, tmp_path, capsys):
    args, message = BAD_INPUTS[case]
    out = tmp_path / "runs"
    assert main(["train", *args, "--output-dir", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not out.exists()


BAD_FILES = {
    "no tag": (dict(train="Alice B-PER\nwent\n\n"), ["train.txt", "line 2"]),
    "tag outside the scheme": (dict(train="Alice B-PER\nwent X-FOO\n\n"), ["train.txt:2", "X-FOO"]),
    "dev label unseen in train": (dict(train="Alice B-PER\nwent O\n\n", dev="Paris B-LOC\n\n"),
                                  ["B-LOC", "dev"]),
    "empty split": (dict(test="\n\n"), ["test"]),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_data_files_name_file_and_line(case, tmp_path, capsys):
    files, expected = BAD_FILES[case]
    data = _corpus(tmp_path, **files)
    out = tmp_path / "runs"
    assert main(["train", "--data", data, "--output-dir", str(out)]) == 2
    err = capsys.readouterr().err
    assert all(part in err for part in expected), err
    assert not out.exists()


def test_missing_data_folder(tmp_path, capsys):
    assert main(["train", "--data", str(tmp_path / "missing"), "--output-dir", str(tmp_path / "r")]) == 2
    assert "missing" in capsys.readouterr().err


def test_missing_model_folder(tmp_path, conll_dir, capsys):
    assert main(["train", "--model", "./no/such/model", "--data", conll_dir,
                 "--output-dir", str(tmp_path / "r")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_unknown_model_offline_fails_fast_and_writes_nothing(tmp_path, conll_dir, capsys, monkeypatch):
    """Neither shipped, a folder nor cached, with the hub switched off: one message naming what was
    tried, at once (not the loaders' ~50 s of retries), before any run folder exists."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    out = tmp_path / "r"
    assert main(["train", "--model", "no-such-org/no-such-model", "--data", conll_dir, "--output-dir", str(out)]) == 2
    err = capsys.readouterr().err
    assert "model 'no-such-org/no-such-model' is not a shipped model (minilm, minilm-2l)" in err, err
    assert "not an existing folder and not in the local Hugging Face cache" in err
    assert "HF_HUB_OFFLINE is set" in err and "Traceback" not in err
    assert not out.exists()  # no runs folder, no run folder


def test_hub_checked_once_with_a_short_timeout(monkeypatch):
    """Online, a hub id not in the cache is asked about once, with a short timeout (no network here:
    the answer is faked); an unreachable hub is said at once."""
    import huggingface_hub

    from adaft_core.tasks import models
    from adaft_core.errors import ConfigError

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    asked = []

    def unreachable(name, timeout):
        asked.append((name, timeout))
        raise ConnectionError("no route to host")

    monkeypatch.setattr(huggingface_hub, "model_info", unreachable)
    with pytest.raises(ConfigError, match="could not be reached within 5 s"):
        models.resolve_model("some-org/some-model")
    assert asked == [("some-org/some-model", models.HUB_TIMEOUT)]


def test_train_then_runs_list_and_show(tiny_model_dir, conll_dir, tmp_path, capsys):
    out = str(tmp_path / "runs")
    rc = main(["train", "--model", tiny_model_dir, "--data", conll_dir, "--mode", "adaptive",
               "--max-epochs", "3", "--lr", "1e-3", "--output-dir", out, "--run-name", "demo",
               "--no-progress"])
    assert rc == 0
    trained = capsys.readouterr()
    assert "run folder" in trained.out
    # epochs are counted from 1 wherever a person reads them (the events keep 0-based fields)
    console = trained.out + trained.err
    assert "epoch 1 validation" in console and "epoch 3 validation" in console and "epoch 0 " not in console
    assert main(["runs", "list", "--runs", out]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:5] == ["name", "status", "mode", "strategy", "epochs"]
    assert table[1].split()[:5] == ["demo", "completed", "adaptive", "vanilla", "3"]
    assert main(["runs", "show", "dem", "--runs", out]) == 0
    shown = capsys.readouterr().out
    assert "status completed" in shown and "reached max_epochs = 3" in shown
    assert re.findall(r"^  epoch +(\d+) ", shown, flags=re.M) == ["1", "2", "3"], shown
    # the same name again is refused before training
    assert main(["train", "--model", tiny_model_dir, "--data", conll_dir, "--output-dir", out,
                 "--run-name", "demo"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["runs", "show", "nope", "--runs", out]) == 2
