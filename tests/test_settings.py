"""Settings declared once: the CLI flags, the form, the README table and the checks derive from
``TrainConfig``'s declarations, and checking a config needs no torch."""

from __future__ import annotations

import argparse
import html
import importlib.util
import inspect
import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from adaft_core import cli
from adaft_core.cli import build_parser, config_from_args, main
from adaft_core.settings.config import GROUPS, SETTINGS, TrainConfig
from adaft_core.errors import ConfigError
from adaft_core.settings.strategy_options import OPTIONS, STRATEGY_DEFAULTS, STRATEGY_NAMES, check_strategy_options

ROOT = Path(__file__).resolve().parents[1]


def train_parser() -> argparse.ArgumentParser:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices["train"]


def train_actions() -> dict[str, argparse.Action]:
    return {a.option_strings[0]: a for a in train_parser()._actions if a.option_strings and a.dest != "help"}


def parse(*argv: str) -> TrainConfig:
    return config_from_args(build_parser().parse_args(["train", *argv]))


# ------------------------------------------------------------------------------- no torch


def _fresh_python(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_importing_the_config_does_not_import_torch():
    assert _fresh_python("import sys, adaft_core.settings.config; print('torch' in sys.modules)") == "False"


def test_validating_configs_and_building_the_cli_do_not_import_torch():
    code = ("import sys\nfrom adaft_core.settings.config import TrainConfig\nfrom adaft_core.settings.strategy_options import "
            "STRATEGY_NAMES\nfor s in STRATEGY_NAMES:\n    TrainConfig(strategy=s, run_name='x', "
            "strategy_options={'telemetry': True}).validated()\n"
            "TrainConfig(task='classification', data='d', glue_task='rte', metric='f1').validated()\n"
            "from adaft_core.cli import build_parser, config_from_args\n"
            "config_from_args(build_parser().parse_args(['train', '--strategy', 'dps-mix', '--keep-fraction', "
            "'0.5'])).validated()\nprint('torch' in sys.modules)")
    assert _fresh_python(code) == "False"


# ------------------------------------------------------------------------------- declaration


def test_every_setting_is_declared_with_help_and_group():
    for name, spec in SETTINGS.items():
        assert spec.help and spec.group in GROUPS, name
        assert spec.default == getattr(TrainConfig(), name), name
    assert set(SETTINGS) == set(TrainConfig.__dataclass_fields__)


def test_every_train_flag_has_help_with_its_default():
    actions = train_actions()
    for flag, action in actions.items():
        assert action.help and "(default: " in action.help, flag
    # every setting the CLI takes is one flag, every strategy option too
    flags = {spec.cli_flag for spec in SETTINGS.values() if spec.cli} | {o.cli_flag for o in OPTIONS.values()}
    assert flags <= set(actions)
    assert train_parser().format_help().count("(default: ") >= len(flags)


def test_help_groups_follow_the_declaration():
    titles = [g.title for g in train_parser()._action_groups]
    assert [t for t in titles if t in GROUPS.values()] == list(GROUPS.values())
    helptext = " ".join(train_parser().format_help().split())  # unwrapped
    assert "--keep-fraction Q" in helptext and "dps-dense, dps-mix: 0.7; childtuning-d, childtuning-f: 0.3" in helptext


def test_strategy_registry_matches_the_torch_free_declaration():
    from adaft_core.strategies import STRATEGIES, strategy_options
    from adaft_core.strategies.masks import SAVE_MODES

    assert set(STRATEGIES) == set(STRATEGY_NAMES)
    for name, cls in STRATEGIES.items():
        assert sorted(strategy_options(name)) == sorted(STRATEGY_DEFAULTS[name]), name
        params = inspect.signature(cls.__init__).parameters
        declared = {k: p.default for k, p in params.items() if p.kind == p.KEYWORD_ONLY}
        if declared:  # constructors with keyword options: the same defaults
            assert declared == STRATEGY_DEFAULTS[name], name
    assert SAVE_MODES == OPTIONS["save_masks"].valid_choices()


# ------------------------------------------------------------------------------- checks


@pytest.mark.parametrize("kw, setting, message", [
    (dict(lr=0), "lr", "lr (learning rate) must be a positive number, got 0"),
    (dict(lr="1e-4"), "lr", "lr (learning rate) must be a positive number, got '1e-4'"),
    (dict(train_fraction=1.5), "train_fraction", "train_fraction must be in (0, 1], got 1.5"),
    (dict(seed=1.5), "seed", "seed must be a whole number in [0, 4294967295], got 1.5"),
    (dict(seed=-1), "seed", "seed must be in [0, 4294967295], got -1"),
    (dict(sample_seed=2**32), "sample_seed", "sample_seed must be in [0, 4294967295], got 4294967296"),
    (dict(batch_size=0), "batch_size", "batch_size must be a positive integer"),
    (dict(max_epochs=0), "max_epochs", "max_epochs must be a positive integer"),
    (dict(cooldown_epochs=-1), "cooldown_epochs", "cooldown_epochs must be >= 0"),
    (dict(restarts="no"), "restarts", "restarts must be true or false"),
    (dict(mixed_precision="fp8"), "mixed_precision", "unknown mixed_precision 'fp8'; valid choices: auto, bf16"),
    (dict(adam_betas=(0.9, 1.0)), "adam_betas", "adam_betas must be 2 numbers"),
    (dict(run_name="a/b"), "run_name", "run name 'a/b' may use only"),
    (dict(strategy="dps-dense", strategy_options={"keep_fraction": 2}), "keep_fraction",
     "keep_fraction must be in (0, 1]"),
    (dict(strategy="vanilla", strategy_options={"keep_fraction": 0.5}), "strategy_options",
     "strategy 'vanilla' has no option"),
])
def test_checks_come_from_the_declaration_and_name_the_setting(kw, setting, message):
    with pytest.raises(ConfigError) as info:
        TrainConfig(**kw).validated()
    assert message in str(info.value) and info.value.setting == setting


def test_strategy_options_resolve_their_defaults():
    assert check_strategy_options("childtuning-f", {"keep_fraction": 0.2}) == {
        "keep_fraction": 0.2, "save_masks": "none", "telemetry": True}
    with pytest.raises(ConfigError, match="unknown save_masks 'all'"):
        check_strategy_options("dps-dense", {"save_masks": "all"})
    with pytest.raises(ConfigError, match="unknown strategy 'dps'"):
        check_strategy_options("dps", {})


# ------------------------------------------------------------------------------- flags


def test_flags_keep_their_syntax():
    cfg = parse("--no-save-model", "--no-checkpoints", "--length-grouping", "--restarts", "false",
                "--adam-betas", "0.8", "0.99", "--max-epochs", "3", "--evaluate-test=false")
    assert (cfg.save_model, cfg.save_checkpoints, cfg.length_grouping, cfg.restarts) == (False, False, True, False)
    assert cfg.adam_betas == (0.8, 0.99) and cfg.max_epochs == 3 and cfg.evaluate_test is False
    cfg = parse("--save-model", "true", "--save-checkpoints", "no")
    assert (cfg.save_model, cfg.save_checkpoints) == (True, False)
    assert parse() == TrainConfig()  # no flags: the declared defaults
    with pytest.raises(SystemExit):
        parse("--restarts", "maybe")
    with pytest.raises(SystemExit):
        parse("--seed", "abc")


def test_strategy_flags_apply_only_to_their_strategy():
    cfg = parse("--strategy", "childtuning-d", "--fisher-batches", "4", "--strategy-telemetry", "false",
                "--save-masks", "every")
    assert cfg.strategy_options == {"fisher_batches": 4, "telemetry": False, "save_masks": "every"}
    with pytest.raises(ConfigError, match="--update-ratio, --stage-steps do not apply to strategy 'childtuning-f'; "
                                          "its options: --keep-fraction, --save-masks, --strategy-telemetry"):
        parse("--strategy", "childtuning-f", "--update-ratio", "0.1", "--stage-steps", "2")


def test_form_and_cli_offer_the_same_choices(tmp_path):
    pytest.importorskip("ipywidgets")
    from adaft_dashboard.launch.form import RunForm

    form = RunForm(tmp_path, make_sinks=lambda: [])
    actions = train_actions()
    compared = 0
    for name, widget in form.fields.items():
        options = getattr(widget, "options", None)
        if name not in SETTINGS or not options:
            continue
        spec = SETTINGS[name]
        if spec.valid_choices():  # closed: the CLI lists exactly these, and accepts each
            cli_choices = actions[spec.cli_flag].metavar.strip("{}").split(",")
            assert list(options) == cli_choices, name
            for choice in cli_choices:
                extra = ["--data", "d"] if choice in ("classification", "regression") else []
                parse(spec.cli_flag, choice, *extra).validated()
        else:  # open (shipped models, data sets): named in the CLI's help
            assert all(o in actions[spec.cli_flag].help for o in options), name
        compared += 1
    assert compared >= 7  # model, data, task, mode, strategy, final_model, val_loss, mixed_precision


def test_form_checks_as_you_type(tmp_path):
    pytest.importorskip("ipywidgets")
    from adaft_dashboard.launch.form import RunForm

    form = RunForm(tmp_path, make_sinks=lambda: [])
    for name, text, message in [("seed", "4x", "seed must be a whole number in [0, 4294967295], got &#x27;4x&#x27;"),
                                ("lr", "0", "lr (learning rate) must be a positive number"),
                                ("run_name", "my run", "run name &#x27;my run&#x27; may use only"),
                                ("max_epochs", "-2", "max_epochs must be a positive integer")]:
        good = form.fields[name].value
        form.fields[name].value = text
        assert message in form.errors[name].value, form.errors[name].value
        assert form.validate() is None and not form.start()
        form.fields[name].value = good
        assert form.errors[name].value == ""
    assert form.fields["keep_fraction"].disabled  # vanilla takes no keep_fraction
    form.fields["strategy"].value = "childtuning-f"
    assert not form.fields["keep_fraction"].disabled and "0.3" in form.fields["keep_fraction"].placeholder
    form.fields["strategy_options"].value = '{"stage_steps": 2}'
    assert "has no option &#x27;stage_steps&#x27;" in form.errors["strategy_options"].value


@pytest.mark.parametrize("cfg", [
    TrainConfig(),
    TrainConfig(model="minilm-2l", train_fraction=0.1, val_fraction=0.2, lr=5e-4, max_seq_length=64, warmup_epochs=1,
                cooldown_epochs=2, max_epochs=30, save_checkpoints=False, output_dir="/tmp/my runs"),
    TrainConfig(strategy="dps-mix", strategy_options={"keep_fraction": 0.5, "stage_steps": 3, "telemetry": False},
                run_name="a-b_c.1", seed=7, restarts=False, adam_betas=(0.8, 0.95), mode="original",
                save_model=False, mixed_precision="no", final_model="best"),
    TrainConfig(task="classification", data="../data/snli folder", eval_data=["two=x.jsonl", "y@test"],
                label_map={"contradiction": "not_entailment", "neutral": "not_entailment"}, train_size=100,
                text_column="premise", glue_task="rte", metric="f1", length_grouping=True),
])
def test_command_line_parses_back_to_the_same_config(cfg):
    """The dashboard's "same run from a shell" line: only what differs from the defaults, quoted,
    and ``adaft train`` reads it back as the same config."""
    from adaft_core.settings.command_line import command_line

    line = command_line(cfg)
    words = shlex.split(line)
    assert words[:2] == ["adaft", "train"]
    assert parse(*words[2:]).to_dict() == cfg.to_dict(), line
    if cfg == TrainConfig():
        assert line == "adaft train"
    assert "--lr" not in words or cfg.lr != TrainConfig.lr  # defaults are left out


def test_form_shows_the_command_of_its_settings(tmp_path):
    pytest.importorskip("ipywidgets")
    from adaft_dashboard.launch.form import RunForm

    form = RunForm(tmp_path, make_sinks=lambda: [])
    form.preset.value = "demo"
    shown = html.unescape(form.command.value)
    line = shown.split("<textarea", 1)[1].split(">", 1)[1].split("</textarea>", 1)[0]
    assert parse(*shlex.split(line)[2:]).to_dict() == form.config().to_dict()
    assert "--model minilm-2l" in line and "--no-checkpoints" in line and "--seed" not in line
    form.fields["lr"].value = "-1"  # invalid: no command to copy until it is fixed
    assert "<textarea" not in form.command.value
    form.fields["lr"].value = "0.001"
    assert "--lr 0.001" in html.unescape(form.command.value)


# ------------------------------------------------------------------------------- --config and --resume


def test_config_file_json_and_toml_with_flags_overriding(tmp_path):
    toml = tmp_path / "run.toml"
    toml.write_text('lr = 5e-4\nmode = "original"\nstrategy = "dps-dense"\nlabel_map = {}\n'
                    '[strategy_options]\nkeep_fraction = 0.5\nstage_steps = 3\n')
    cfg = parse("--config", str(toml), "--mode", "stable", "--keep-fraction", "0.6")
    assert (cfg.lr, cfg.mode, cfg.strategy) == (5e-4, "stable", "dps-dense")
    assert cfg.strategy_options == {"keep_fraction": 0.6, "stage_steps": 3}
    saved = TrainConfig(seed=3, adam_betas=(0.8, 0.9), run_name="a").validated()
    js = tmp_path / "run.json"
    js.write_text(json.dumps(saved.to_dict()))  # what the launcher writes
    assert parse("--config", str(js)) == saved
    assert parse("--config", str(js), "--seed", "4").seed == 4


def test_config_file_errors_name_the_file(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"lr": 1e-4, "learning_rate": 1}')
    assert main(["train", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"config file {bad}: unknown setting 'learning_rate'" in err and "valid keys: task, model" in err
    bad.write_text('{"lr": -1}')
    assert main(["train", "--config", str(bad), "--output-dir", str(tmp_path / "r")]) == 2
    assert f"config file {bad}: lr (learning rate) must be a positive number" in capsys.readouterr().err
    bad.write_text("lr = ")
    assert main(["train", "--config", str(bad)]) == 2
    assert "is not valid JSON" in capsys.readouterr().err
    assert main(["train", "--config", str(tmp_path / "none.toml")]) == 2
    assert "none.toml does not exist" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_resume_refuses_other_settings(capsys):
    assert main(["train", "--resume", "abc", "--lr", "1e-4", "--keep-fraction", "0.3", "--config", "x"]) == 2
    err = capsys.readouterr().err
    assert "do not give --lr, --keep-fraction, --config with it" in err and "Traceback" not in err


def test_resume_calls_the_engine(monkeypatch, tmp_path, capsys):
    from adaft_core.run import engine
    from adaft_core.cli.console import ConsoleSink

    calls = []

    def fake_resume(run, *, output_dir="runs", sinks=(), stop_event=None):
        calls.append((run, output_dir, sinks))
        return argparse.Namespace(status="completed", run_dir=tmp_path / run)

    monkeypatch.setattr(engine, "resume", fake_resume)
    assert main(["train", "--resume", "r1", "--output-dir", str(tmp_path), "--no-progress"]) == 0
    (run, output_dir, sinks), = calls
    assert (run, output_dir) == ("r1", str(tmp_path)) and isinstance(sinks[0], ConsoleSink)
    assert sinks[0].bar_enabled is False and "run folder" in capsys.readouterr().out
    monkeypatch.delattr(engine, "resume")
    assert main(["train", "--resume", "r1"]) == 2
    assert "cannot resume" in capsys.readouterr().err
    assert cli.cmd_train  # the entry point stays where the console script finds it


def test_cli_resume_continues_a_stopped_run(tiny_model_dir, conll_dir, tmp_path, capsys):
    """A real run stopped after step 2 and resumed by ``adaft train --resume PREFIX``."""
    import threading

    from adaft_core import train
    from adaft_core.store.runs import read_events

    stop = threading.Event()

    class StopAtStep2:
        def handle(self, event):
            if event.event == "step" and event.fields["step"] == 2:
                stop.set()

    out = tmp_path / "runs"
    cfg = TrainConfig(model=tiny_model_dir, data=conll_dir, mode="original", max_epochs=2, batch_size=12,
                      output_dir=str(out), run_name="cli-resume", save_model=False)
    assert train(cfg, sinks=[StopAtStep2()], stop_event=stop).status == "stopped"
    assert main(["train", "--resume", "cli-res", "--output-dir", str(out), "--no-progress"]) == 0
    assert "run folder" in capsys.readouterr().out
    events = read_events(out / "cli-resume" / "events.jsonl")
    assert [e["event"] for e in events].count("resumed") == 1 and events[-1]["status"] == "completed"


# ------------------------------------------------------------------------------- README


def test_readme_settings_table_is_the_generated_one():
    spec = importlib.util.spec_from_file_location("settings_table", ROOT / "scripts" / "settings_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    table = module.markdown_table()
    assert module.readme_table((ROOT / "README.md").read_text(encoding="utf-8")) == table, \
        "README's settings table is stale: run python scripts/settings_table.py --write"
    for name, spec_ in SETTINGS.items():
        assert f"| `{name}` |" in table
    assert all(f"`{o.cli_flag}`" in table for o in OPTIONS.values())
