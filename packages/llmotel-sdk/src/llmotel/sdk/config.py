"""Reading llmotel settings from environment variables: one way, one error type.

Every SDK-side llmotel package (redaction, sampling, metrics, distro) reads its configuration
through these helpers, so that a bad value always fails the same way: a :class:`ConfigError`
whose message names the variable, the value it had and what would have been accepted::

    from llmotel.sdk.config import env_bool, env_float

    validate = env_bool("LLMOTEL_VALIDATE", False)
    baseline = env_float("LLMOTEL_SAMPLING_BASELINE_RATIO", 0.1, min=0.0, max=1.0)

Conventions shared by all helpers, following the OpenTelemetry SDK:

* a variable that is unset or empty (after stripping blanks) takes the default;
* surrounding blanks are ignored;
* every helper takes an optional ``environ`` mapping (default :data:`os.environ`) so tests and
  configurators can read from something else than the process environment.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Collection, Mapping, Sequence
from typing import TypeVar

__all__ = [
    "ConfigError",
    "env_bool",
    "env_choice",
    "env_duration",
    "env_float",
    "env_int",
    "env_list",
    "env_str",
]

_T = TypeVar("_T")

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})
_DURATION = re.compile(r"^(?P<number>[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*(?P<unit>ms|s|m|h)?$")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


class ConfigError(ValueError):
    """An environment variable holds a value llmotel cannot use.

    The message names the variable, the bad value and the accepted values, e.g.
    ``LLMOTEL_SAMPLING_BASELINE_RATIO='2' is invalid: expected a number from 0.0 to 1.0``.
    The same three parts are available as attributes for programs that want to react.
    """

    def __init__(self, variable: str, value: str, accepted: str) -> None:
        self.variable = variable
        self.value = value
        self.accepted = accepted
        super().__init__(f"{variable}={value!r} is invalid: expected {accepted}")


def _raw(name: str, environ: Mapping[str, str] | None) -> str | None:
    value = (os.environ if environ is None else environ).get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def env_str(name: str, default: _T, *, environ: Mapping[str, str] | None = None) -> str | _T:
    """The stripped value of ``name``, or ``default`` when it is unset or empty."""
    value = _raw(name, environ)
    return default if value is None else value


def env_bool(name: str, default: bool, *, environ: Mapping[str, str] | None = None) -> bool:
    """``name`` read as a boolean: ``true``/``1``/``yes``/``on`` or ``false``/``0``/``no``/``off``.

    Case is ignored. Anything else raises :class:`ConfigError`.
    """
    value = _raw(name, environ)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(name, value, "one of true, false (or 1, 0, yes, no, on, off)")


def _bounds(kind: str, min: float | None, max: float | None) -> str:
    if min is not None and max is not None:
        return f"{kind} from {min} to {max}"
    if min is not None:
        return f"{kind} >= {min}"
    if max is not None:
        return f"{kind} <= {max}"
    return kind


def env_int(
    name: str,
    default: int,
    *,
    min: int | None = None,
    max: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """``name`` read as a base-10 integer, optionally bounded (inclusive) by ``min``/``max``."""
    value = _raw(name, environ)
    if value is None:
        return default
    try:
        number = int(value, 10)
    except ValueError:
        raise ConfigError(name, value, _bounds("an integer", min, max)) from None
    if (min is not None and number < min) or (max is not None and number > max):
        raise ConfigError(name, value, _bounds("an integer", min, max))
    return number


def env_float(
    name: str,
    default: float,
    *,
    min: float | None = None,
    max: float | None = None,
    environ: Mapping[str, str] | None = None,
) -> float:
    """``name`` read as a finite number, optionally bounded (inclusive) by ``min``/``max``."""
    value = _raw(name, environ)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(name, value, _bounds("a number", min, max)) from None
    if (
        not math.isfinite(number)
        or (min is not None and number < min)
        or (max is not None and number > max)
    ):
        raise ConfigError(name, value, _bounds("a number", min, max))
    return number


def env_choice(
    name: str,
    default: _T,
    choices: Collection[str],
    *,
    environ: Mapping[str, str] | None = None,
) -> str | _T:
    """``name`` matched case-insensitively against ``choices``; returns the choice as spelled."""
    value = _raw(name, environ)
    if value is None:
        return default
    lowered = value.lower()
    for choice in choices:
        if choice.lower() == lowered:
            return choice
    raise ConfigError(name, value, "one of " + ", ".join(choices))


def env_list(
    name: str,
    default: Sequence[str] = (),
    *,
    separator: str = ",",
    choices: Collection[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> list[str]:
    """``name`` split on ``separator``, items stripped, empty items skipped.

    With ``choices``, every item must be one of them (case-insensitively; returned as spelled in
    ``choices``), otherwise :class:`ConfigError` names the first bad item.
    """
    value = _raw(name, environ)
    if value is None:
        return list(default)
    items = [item.strip() for item in value.split(separator)]
    items = [item for item in items if item]
    if choices is None:
        return items
    by_lower = {choice.lower(): choice for choice in choices}
    result = []
    for item in items:
        choice = by_lower.get(item.lower())
        if choice is None:
            raise ConfigError(
                name, value, f"a {separator!r}-separated list of " + ", ".join(choices)
            )
        result.append(choice)
    return result


def env_duration(
    name: str,
    default: float,
    *,
    min: float | None = None,
    max: float | None = None,
    environ: Mapping[str, str] | None = None,
) -> float:
    """``name`` read as a duration, returned in seconds.

    Accepts a number with an optional unit: ``250ms``, ``1.5s``, ``2m``, ``1h``; a bare number means
    seconds. ``min``/``max`` (seconds, inclusive) bound the result.
    """
    value = _raw(name, environ)
    if value is None:
        return default
    accepted = _bounds(
        "a duration such as 250ms, 1.5s, 2m or 1h (bare numbers are seconds)", min, max
    )
    match = _DURATION.match(value.lower())
    if match is None:
        raise ConfigError(name, value, accepted)
    seconds = float(match["number"]) * _DURATION_UNITS[match["unit"] or "s"]
    if (
        not math.isfinite(seconds)
        or (min is not None and seconds < min)
        or (max is not None and seconds > max)
    ):
        raise ConfigError(name, value, accepted)
    return seconds
