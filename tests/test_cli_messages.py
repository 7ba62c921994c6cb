"""Every mistake gets one sentence (issue 22 item 2, issue 24 item 6): each case below ends in one
``adaft: error:`` line, exit status 2, no traceback and nothing written; adaft's own warnings are
one line without Python's source line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from adaft_core import cli



def conll_with_mixed_columns(tmp_path: Path, conll_dir: str) -> str:
    data = shutil.copytree(conll_dir, tmp_path / "mixed")
    train = data / "train.txt"
    train.write_text("New York B-LOC\n" + train.read_text())  # a token holding a space: 3 columns, the rest 2
    return str(data)


# name -> (arguments (OUT: the runs folder, DATA: a corpus, MODEL: a tiny model), files, what the message says)
CASES = {
    "negative seed": (["train", "--seed", "-1"], {}, "seed must be in [0, 4294967295], got -1"),
    "huge seed": (["train", "--seed", "99999999999999"], {}, "seed must be in [0, 4294967295], got 99999999999999"),
    "negative sample seed": (["train", "--sample-seed", "-3"], {}, "sample_seed must be in [0, 4294967295]"),
    "bad value in the file, overridden by a flag": (
        ["train", "--config", "CFG/run.toml", "--lr", "1e-3"], {"run.toml": 'lr = "fast"\n'},
        "config file CFG/run.toml: lr (learning rate) must be a positive number, got 'fast'"),
    "bad seed in the file, overridden by a flag": (
        ["train", "--config", "CFG/run.json", "--seed", "1"], {"run.json": '{"seed": -1}'},
        "config file CFG/run.json: seed must be in [0, 4294967295], got -1"),
    "a key twice in JSON": (["train", "--config", "CFG/run.json"], {"run.json": '{"lr": 1e-3, "seed": 1, "lr": 2e-3}'},
                            "config file CFG/run.json: setting 'lr' is given twice; keep one"),
    "a key twice in TOML": (["train", "--config", "CFG/run.toml"], {"run.toml": "lr = 1e-3\nseed = 1\nlr = 2e-3\n"},
                            "config file CFG/run.toml:3: setting 'lr' is given twice; keep one"),
    "empty run name to show": (["runs", "show", "", "--runs", "OUT"], {}, "no run named: give a run name"),
    "blank run name to resume": (["train", "--resume", " ", "--output-dir", "OUT"], {}, "no run named: give a run name"),
    "CoNLL lines with other column counts": (
        ["train", "--data", "DATA", "--model", "MODEL", "--max-epochs", "1"], {},
        "DATA/train.txt:2: 2 columns where line 1 has 3"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_mistake_is_one_message_with_exit_status_2(case, tmp_path, capsys, tiny_model_dir, conll_dir):
    argv, files, said = CASES[case]
    cfg, out = tmp_path / "cfg", tmp_path / "runs"
    cfg.mkdir()
    for name, text in files.items():
        (cfg / name).write_text(text)
    data = conll_with_mixed_columns(tmp_path, conll_dir) if "DATA" in argv else ""
    words = {"CFG": str(cfg), "OUT": str(out), "DATA": data, "MODEL": tiny_model_dir}

    def fill(text: str) -> str:
        for key, value in words.items():
            text = text.replace(key, value)
        return text

    if argv[0] == "train" and "--output-dir" not in argv and "--resume" not in argv:
        argv = [*argv, "--output-dir", "OUT"]
    assert cli.main([fill(a) for a in argv]) == 2
    stdout, stderr = capsys.readouterr()
    assert not stdout and len(stderr.strip().splitlines()) == 1, stderr
    assert stderr.startswith("adaft: error: ") and fill(said) in stderr
    assert not out.exists()  # nothing written first


def test_a_warning_is_one_line_without_a_source_line(tmp_path, tiny_model_dir, conll_dir):
    """An empty token (a line holding only a tag) is read as [UNK]: said once, as adaft says things."""
    data = shutil.copytree(conll_dir, tmp_path / "data")
    with open(data / "train.txt", "a", encoding="utf-8") as f:
        f.write("A O\n\tO\n\n")
    env = {**os.environ, "PYTHONWARNINGS": "default"}
    proc = subprocess.run([sys.executable, "-m", "adaft_core.cli", "train", "--data", str(data), "--model", tiny_model_dir,
                           "--mode", "original", "--max-epochs", "1", "--no-save-model", "--no-checkpoints",
                           "--no-progress", "--output-dir", str(tmp_path / "runs")],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    warned = [line for line in proc.stderr.splitlines() if "empty token" in line]
    assert len(warned) == 1 and warned[0].startswith("adaft: warning: 1 empty token(s)"), proc.stderr
    assert "[UNK]" in warned[0] and "train.txt:" in warned[0]
    assert "UserWarning" not in proc.stderr and "__init__.py" not in proc.stderr and "Traceback" not in proc.stderr
