"""``adaft train``: its flags, derived from the declared settings, and the config they make.

Every :class:`~adaft_core.TrainConfig` field with ``cli`` set becomes ``--name-with-dashes`` (help
text, default, choices and range from its declaration, ``adaft_core/settings/config.py``); every
update strategy option becomes a flag of its own (``adaft_core/settings/strategy_options.py``).
Flags default to *not given* (``argparse.SUPPRESS``), so the namespace holds only what the user
typed: those values override a ``--config FILE`` and the declared defaults, and ``--resume RUN`` can
refuse them. Values are converted here and checked by ``TrainConfig.validated()`` (one message,
exit 2).
(``transformers.HfArgumentParser`` does not fit: no repeatable list flags, no dict fields, no
argument groups, and it imports transformers for ``--help``.)
"""

from __future__ import annotations

import argparse
import difflib
import json
import re
from pathlib import Path
from typing import Any

from adaft_core.settings.config import GROUPS, SETTINGS, TrainConfig
from adaft_core.errors import ConfigError
from adaft_core.settings.declare import Setting
from adaft_core.settings.strategy_options import GROUP as OPTIONS_GROUP
from adaft_core.settings.strategy_options import OPTIONS, STRATEGY_NAMES, defaults_text, option_names

OPTION_DEST = "strategy_options."  # dest prefix of the strategy-option flags
TRAIN_EPILOG = """examples:
  adaft train                                     # MiniLM on WikiGold, adaptive mode
  adaft train --train-fraction 0.2 --seed 1
  adaft train --mode original --data path/to/conll_folder --model bert-base-cased
  adaft train --config my_run.toml --seed 2       # settings from a file, the seed from the flag
  adaft train --resume 20250101-120000-ner        # continue an interrupted or stopped run
  adaft train --task classification --data ../shared/datasets/snli --train-size 1000 \\
      --eval-data snli_2way=../shared/datasets/snli/snli_test.jsonl \\
      --label-map contradiction=not_entailment,neutral=not_entailment
  adaft train --task regression --data glue/stsb          # Pearson/Spearman (downloads GLUE)
"""


def _converter(spec: Setting):
    """argparse ``type``: the setting's own text conversion, its message on bad text."""
    def convert(text: str) -> Any:
        try:
            return spec.convert(text)
        except ConfigError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    convert.__name__ = spec.name
    return convert


def add_setting(group, spec: Setting, dest: str | None = None, default: str | None = None) -> None:
    """One flag (and its negative form) from a declaration."""
    valid = spec.valid_text() if spec.kind is not bool and not spec.valid_choices() else ""  # choices: metavar
    text = f"{spec.help}{'; ' + valid if valid else ''} (default: {default or spec.shown_default()})"
    kw: dict[str, Any] = dict(dest=dest or spec.name, help=text.replace("%", "%%"), metavar=spec.metavar)
    if spec.kind is bool:
        kw.update(nargs="?", const=True, type=_converter(spec), metavar="true/false")
    elif spec.kind in (list, dict):
        kw.update(action="append", type=_converter(spec))
    elif spec.kind is tuple:
        kw.update(nargs=len(spec.default), type=float)
    else:
        choices = spec.valid_choices()
        kind_word = {int: "N", float: "X"}.get(spec.kind, "TEXT")
        kw.update(type=_converter(spec), metavar=spec.metavar or ("{%s}" % ",".join(choices) if choices else kind_word))
    group.add_argument(spec.cli_flag, **kw)
    if spec.negative_flag:
        group.add_argument(spec.negative_flag, dest=kw["dest"], action="store_const", const=False,
                           help=f"the same as {spec.cli_flag} false (default: {spec.cli_flag} "
                                f"{spec.shown_default()})")


def add_train_parser(sub) -> argparse.ArgumentParser:
    t = sub.add_parser("train", help="fine-tune a model (or resume a run)", epilog=TRAIN_EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter, argument_default=argparse.SUPPRESS,
                       description="Fine-tune a transformer encoder. Every setting below is a TrainConfig field "
                                   "of the same name (dashes for underscores); bool settings take true/false.")
    start = t.add_argument_group("config file and resume")
    start.add_argument("--config", metavar="FILE",
                       help="read settings from a JSON or TOML file of TrainConfig fields (e.g. lr = 5e-5); "
                            "flags given here override it (default: none)")
    start.add_argument("--resume", metavar="RUN",
                       help="continue RUN (a run id, id prefix or run folder) from its last checkpoint with its "
                            "own settings; --output-dir is the runs folder (default: none)")
    groups = {}
    for key, title in GROUPS.items():
        groups[key] = t.add_argument_group(title)
        if key == "strategy":
            groups["options"] = t.add_argument_group(OPTIONS_GROUP)
    for spec in SETTINGS.values():
        if spec.cli:
            add_setting(groups[spec.group], spec)
    for name, spec in OPTIONS.items():
        add_setting(groups["options"], spec, dest=OPTION_DEST + name, default=defaults_text(name))
    groups["output"].add_argument("--no-progress", dest="no_progress", action="store_true",
                                  help="no progress bar, one line per epoch (default: show the bar)")
    return t


def strategy_options_from_args(args: argparse.Namespace, strategy: str | None = None) -> dict:
    """The strategy flags that were given, as ``strategy_options``; a flag the chosen strategy
    does not take is an error naming the flags it does take."""
    strategy = strategy or getattr(args, "strategy", TrainConfig.strategy)
    options = {dest[len(OPTION_DEST):]: value for dest, value in vars(args).items() if dest.startswith(OPTION_DEST)}
    if strategy not in STRATEGY_NAMES:
        return options  # the config check names the valid strategies
    valid = option_names(strategy)
    wrong = [OPTIONS[o].cli_flag for o in options if o not in valid]
    if wrong:
        raise ConfigError(f"{', '.join(wrong)} {'does' if len(wrong) == 1 else 'do'} not apply to strategy "
                          f"{strategy!r}; its options: {', '.join(OPTIONS[o].cli_flag for o in valid) or 'none'}")
    return options


def load_config_file(path: str | Path) -> dict[str, Any]:
    """The settings of a JSON or TOML file (TrainConfig field names), each checked against its
    declaration even where a flag will override it (a file a user keeps is checked whole); an
    unknown key, a key given twice or a bad value: one error naming the file and the key."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} {'is not a file' if path.exists() else 'does not exist'}")
    text = path.read_text(encoding="utf-8", errors="replace")

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:  # json keeps the last one silently
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise ConfigError(f"config file {path}: setting {key!r} is given twice; keep one")
            seen.add(key)
        return dict(pairs)

    try:
        if path.suffix.lower() == ".toml":
            import tomllib

            data = tomllib.loads(text)
        else:
            data = json.loads(text, object_pairs_hook=no_duplicates)
    except ConfigError:
        raise
    except ValueError as exc:  # json.JSONDecodeError and tomllib.TOMLDecodeError are ValueErrors
        twice = re.match(r"Cannot overwrite a value \(at line (\d+)", str(exc))
        if twice:  # tomllib's words for a key given twice; name the key
            line = int(twice[1])
            key = text.splitlines()[line - 1].partition("=")[0].strip()
            raise ConfigError(f"config file {path}:{line}: setting {key!r} is given twice; keep one") from None
        kind = "TOML" if path.suffix.lower() == ".toml" else "JSON (name a TOML file *.toml)"
        raise ConfigError(f"config file {path} is not valid {kind}: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a table of settings, got {type(data).__name__}")
    unknown = sorted(set(data) - set(SETTINGS))
    if unknown:
        hints = [f"{k!r} (did you mean {close[0]!r}?)" if (close := difflib.get_close_matches(k, SETTINGS, 1))
                 else repr(k) for k in unknown]
        raise ConfigError(f"config file {path}: unknown setting{'s' if len(unknown) > 1 else ''} "
                          f"{', '.join(hints)}; valid keys: {', '.join(SETTINGS)}")
    for key, value in data.items():
        try:
            SETTINGS[key].check(value)
        except ConfigError as exc:
            raise ConfigError(f"config file {path}: {exc}") from None
    return data


def given_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The settings typed on the command line (strategy flags not included)."""
    out = {}
    for name, value in vars(args).items():
        if name in SETTINGS:
            if SETTINGS[name].kind is dict:  # repeated A=B,C=D flags, merged
                value = {k: v for part in value for k, v in part.items()}
            out[name] = list(value) if SETTINGS[name].kind is list else value
    return out


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The ``train`` flags (over ``--config FILE``, over the defaults) as a config, not yet validated."""
    values = load_config_file(args.config) if getattr(args, "config", None) else {}
    values.update(given_settings(args))
    options = strategy_options_from_args(args, values.get("strategy", TrainConfig.strategy))
    if options:
        values["strategy_options"] = {**(values.get("strategy_options") or {}), **options}
    return TrainConfig.from_dict(values, source=getattr(args, "config", None))


def validated_config(args: argparse.Namespace) -> TrainConfig:
    """:func:`config_from_args`, validated; a bad value read from the config file names the file."""
    cfg = config_from_args(args)
    try:
        return cfg.validated()
    except ConfigError as exc:
        setting = getattr(exc, "setting", None)
        if getattr(args, "config", None) and setting and setting not in vars(args) \
                and OPTION_DEST + setting not in vars(args):
            raise ConfigError(f"config file {args.config}: {exc}") from None
        raise


def flag_of(dest: str) -> str:
    """The flag that sets namespace attribute ``dest``."""
    if dest.startswith(OPTION_DEST):
        return OPTIONS[dest[len(OPTION_DEST):]].cli_flag
    return SETTINGS[dest].cli_flag if dest in SETTINGS else "--" + dest.replace("_", "-")


def resume_args_check(args: argparse.Namespace) -> None:
    """``--resume`` continues a run with its own settings: other settings are an error."""
    extra = [flag_of(dest) for dest in vars(args) if dest not in ("command", "resume", "no_progress", "output_dir")]
    if extra:
        raise ConfigError(f"--resume continues run {args.resume!r} with the settings it was started with; "
                          f"do not give {', '.join(extra)} with it (only --output-dir, the runs folder, "
                          "and --no-progress)")
