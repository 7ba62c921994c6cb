"""How a setting is declared once and checked everywhere (torch-free).

A :class:`Setting` holds what the user needs to know about one setting — help text, default,
valid choices or range, CLI flag, group — and the two operations every front end needs:
:meth:`Setting.parse` (text typed on the command line or in the dashboard form → value) and
:meth:`Setting.check` (a value → the same value, or a :class:`~adaft_core.errors.ConfigError`
naming the setting and what is valid; ``exc.setting`` is the setting's name, so a form can show
the message under its field).

``TrainConfig`` declares its fields with :func:`setting` (dataclass field metadata) and
:func:`settings_of` turns them into Settings; ``strategy_options.py`` declares the update
strategies' options with the same class. ``adaft train``'s flags (``cli/train.py``), the
dashboard form and the README's settings table (``scripts/settings_table.py``) derive from them.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass
from typing import Any, Callable

from adaft_core.errors import ConfigError, choices_message

Choices = Any  # a tuple of names, or a function returning one (resolved when needed)


@dataclass(frozen=True)
class Setting:
    """One setting: what it means, what is valid, how it is spelled on the command line."""

    help: str
    group: str
    name: str = ""
    default: Any = None
    kind: type = str  # bool, int, float, str, list, dict or tuple (the annotation without None)
    optional: bool = False  # None is a valid value ("automatic")
    choices: Choices | None = None  # closed set; a callable is resolved when needed (lazy imports)
    suggestions: Choices | None = None  # open set (shipped models, datasets): any other value allowed
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    label: str | None = None  # the name in messages, e.g. "lr (learning rate)"
    title: str | None = None  # a short label for forms, e.g. "learning rate"
    flag: str | None = None  # default: --name-with-dashes
    negative_flag: str | None = None  # a bool's extra flag that sets False, e.g. --no-save-model
    metavar: str | tuple | None = None
    default_text: str | None = None  # shown instead of the default (a default resolved later)
    parse_text: Callable[[str], Any] | None = None  # CLI text -> value for list/dict items
    cli: bool = True

    # ----------------------------------------------------------------- derived names
    @property
    def cli_flag(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")

    @property
    def what(self) -> str:
        return self.label or self.name

    def valid_choices(self) -> tuple[str, ...] | None:
        return _resolve(self.choices)

    def valid_suggestions(self) -> tuple[str, ...]:
        return _resolve(self.suggestions) or ()

    def shown_default(self, default: Any = dataclasses.MISSING) -> str:
        value = self.default if default is dataclasses.MISSING else default
        if self.default_text is not None:
            return self.default_text
        if isinstance(value, bool):
            return str(value).lower()
        if value is None:
            return "automatic" if self.optional else "none"
        if isinstance(value, (list, tuple)):
            return " ".join(map(str, value)) if value else "none"
        if isinstance(value, dict):
            return ",".join(f"{k}={v}" for k, v in value.items()) or "none"
        return str(value)

    def valid_text(self) -> str:
        """``one of: a, b`` / ``in (0, 1]`` / ``a positive integer`` / ``true or false`` / ''."""
        choices = self.valid_choices()
        if choices:
            return "one of: " + ", ".join(choices)
        if self.kind is bool:
            return "true or false"
        if self.kind is tuple:
            return f"{len(self.default)} numbers, each {self.range_text()}"
        return self.range_text(typed=True) if self.low is not None or self.high is not None else ""

    # ----------------------------------------------------------------- checks
    def range_text(self, typed: bool = False) -> str:
        """The valid range in words; ``typed`` for a value of the wrong type ("a number in ...")."""
        lo, hi = self.low, self.high
        if lo is not None and hi is not None:
            span = f"{'(' if self.low_open else '['}{_num(lo)}, {_num(hi)}{')' if self.high_open else ']'}"
            return f"{('a whole number ' if self.kind is int else 'a number ') if typed else ''}in {span}"
        if lo is not None:
            if self.kind is int and lo == 1:
                return "a positive integer"
            if lo == 0 and self.low_open:
                return "a positive number"
            bound = f"{'>' if self.low_open else '>='} {_num(lo)}"
            return f"{'a whole number' if self.kind is int else 'a number'} {bound}" if typed else bound
        if hi is not None:
            return f"<= {_num(hi)}"
        return "a whole number" if self.kind is int else "a number"

    def fail(self, message: str) -> ConfigError:
        exc = ConfigError(message)
        exc.setting = self.name  # the form shows the message under this field
        return exc

    def check(self, value: Any) -> Any:
        """``value`` if it is valid for this setting, else a ConfigError naming the setting."""
        if value is None and self.optional:
            return value
        kind = self.kind
        if kind is bool:
            if not isinstance(value, bool):
                raise self.fail(f"{self.what} must be true or false, got {value!r}")
        elif kind in (int, float):
            number = isinstance(value, int) if kind is int else isinstance(value, (int, float))
            if isinstance(value, bool) or not number or not math.isfinite(value):
                raise self.fail(f"{self.what} must be {self.range_text(typed=True)}, got {value!r}")
            if not self._in_range(value):
                raise self.fail(f"{self.what} must be {self.range_text()}, got {value!r}")
        elif kind is str:
            choices = self.valid_choices()
            if not isinstance(value, str) or (choices and value not in choices):
                if choices:
                    raise self.fail(choices_message(self.what, value, choices))
                raise self.fail(f"{self.what} must be a text, got {value!r}")
        elif kind is tuple:
            if (not isinstance(value, (list, tuple)) or len(value) != len(self.default)
                    or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and self._in_range(v)
                               for v in value)):
                raise self.fail(f"{self.what} must be {len(self.default)} numbers, each "
                                f"{self.range_text()}, got {value!r}")
        elif kind is list and not isinstance(value, (list, tuple)):
            raise self.fail(f"{self.what} must be a list, got {value!r}")
        elif kind is dict and not isinstance(value, dict):
            raise self.fail(f"{self.what} must be a dict, got {value!r}")
        return value

    def _in_range(self, v: float) -> bool:
        lo, hi = self.low, self.high
        return ((lo is None or (v > lo if self.low_open else v >= lo))
                and (hi is None or (v < hi if self.high_open else v <= hi)))

    def convert(self, text: str) -> Any:
        """Text typed by a user (a CLI argument, a form field) → a value of this setting's type,
        not yet range-checked ('' is None for an optional setting); bad text: ConfigError."""
        text = str(text).strip()
        if text == "" and self.optional:
            return None
        if self.parse_text is not None:
            return self.parse_text(text)
        if self.kind is bool:
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise self.fail(f"{self.what} must be true or false, got {text!r}")
        if self.kind in (int, float):
            try:
                return int(text) if self.kind is int else float(text)
            except ValueError:
                raise self.fail(f"{self.what} must be {self.range_text(typed=True)}, got {text!r}") from None
        if self.kind is tuple:
            try:
                return tuple(float(part) for part in text.replace(",", " ").split())
            except ValueError:
                raise self.fail(f"{self.what} must be {len(self.default)} numbers, got {text!r}") from None
        return text

    def parse(self, text: str) -> Any:
        """:meth:`convert`, then :meth:`check`."""
        return self.check(self.convert(text))


def setting(default: Any = dataclasses.MISSING, help: str = "", *, group: str,
            default_factory: Any = dataclasses.MISSING, **spec: Any) -> Any:
    """A dataclass field declared with its :class:`Setting` (name, kind and default filled in
    by :func:`settings_of`)."""
    meta = {"setting": Setting(help=help, group=group, **spec)}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def settings_of(cls: type) -> dict[str, Setting]:
    """Every field of dataclass ``cls`` as a complete :class:`Setting`, in declaration order."""
    hints = typing.get_type_hints(cls)
    out = {}
    for f in dataclasses.fields(cls):
        kind, optional = _kind(hints[f.name])
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        spec = f.metadata.get("setting") or Setting(help="", group="other")
        out[f.name] = dataclasses.replace(spec, name=f.name, default=default, kind=kind, optional=optional)
    return out


def _kind(annotation: Any) -> tuple[type, bool]:
    args = typing.get_args(annotation)
    optional = type(None) in args
    if optional:
        annotation = next(a for a in args if a is not type(None))
    base = typing.get_origin(annotation) or annotation
    return base, optional


def _resolve(choices: Choices | None) -> tuple[str, ...] | None:
    if choices is None:
        return None
    return tuple(choices() if callable(choices) else choices)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)
