"""llmotel.sdk.config: every helper, defaults, and the ConfigError message."""

from __future__ import annotations

import pytest

from llmotel.sdk.config import (
    ConfigError,
    env_bool,
    env_choice,
    env_duration,
    env_float,
    env_int,
    env_list,
    env_str,
)


def test_unset_and_empty_take_the_default() -> None:
    env = {"EMPTY": "  "}
    assert env_str("MISSING", "d", environ=env) == "d"
    assert env_str("EMPTY", None, environ=env) is None
    assert env_bool("EMPTY", True, environ=env) is True
    assert env_int("EMPTY", 3, environ=env) == 3
    assert env_float("EMPTY", 0.5, environ=env) == 0.5
    assert env_choice("EMPTY", "a", ["a", "b"], environ=env) == "a"
    assert env_list("EMPTY", ["x"], environ=env) == ["x"]
    assert env_duration("EMPTY", 2.0, environ=env) == 2.0


def test_reads_process_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLMOTEL_TEST_VALUE", " hello ")
    assert env_str("LLMOTEL_TEST_VALUE", None) == "hello"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("true", True), ("TRUE", True), ("1", True), ("on", True), ("False", False), ("no", False)],
)
def test_bool(raw: str, expected: bool) -> None:
    assert env_bool("X", not expected, environ={"X": raw}) is expected


def test_bool_error_message() -> None:
    with pytest.raises(ConfigError) as info:
        env_bool("LLMOTEL_X_ENABLED", False, environ={"LLMOTEL_X_ENABLED": "maybe"})
    assert str(info.value) == (
        "LLMOTEL_X_ENABLED='maybe' is invalid: "
        "expected one of true, false (or 1, 0, yes, no, on, off)"
    )
    assert (info.value.variable, info.value.value) == ("LLMOTEL_X_ENABLED", "maybe")
    assert isinstance(info.value, ValueError)


def test_int_bounds() -> None:
    assert env_int("N", 0, min=1, max=10, environ={"N": "10"}) == 10
    with pytest.raises(ConfigError, match=r"^N='11' is invalid: expected an integer from 1 to 10$"):
        env_int("N", 0, min=1, max=10, environ={"N": "11"})
    with pytest.raises(ConfigError, match=r"^N='1.5' is invalid: expected an integer >= 0$"):
        env_int("N", 0, min=0, environ={"N": "1.5"})


def test_float_bounds_and_nan() -> None:
    assert env_float("R", 1.0, min=0.0, max=1.0, environ={"R": "0.25"}) == 0.25
    for raw in ("2", "nan", "inf", "abc"):
        with pytest.raises(ConfigError, match=r"expected a number from 0.0 to 1.0$"):
            env_float("R", 1.0, min=0.0, max=1.0, environ={"R": raw})


def test_choice_returns_canonical_spelling() -> None:
    modes = ["SPAN_ONLY", "NO_CONTENT"]
    assert env_choice("M", "NO_CONTENT", modes, environ={"M": "span_only"}) == "SPAN_ONLY"
    with pytest.raises(ConfigError) as info:
        env_choice("M", "NO_CONTENT", modes, environ={"M": "all"})
    assert str(info.value) == "M='all' is invalid: expected one of SPAN_ONLY, NO_CONTENT"


def test_list() -> None:
    assert env_list("L", environ={"L": " a, b ,,c "}) == ["a", "b", "c"]
    assert env_list("L", choices=["Email", "Phone"], environ={"L": "email,PHONE"}) == [
        "Email",
        "Phone",
    ]
    with pytest.raises(ConfigError, match=r"expected a ',' *-separated list of Email, Phone$"):
        env_list("L", choices=["Email", "Phone"], environ={"L": "email,ssn"})


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [("250ms", 0.25), ("1.5s", 1.5), ("2m", 120.0), ("1h", 3600.0), ("3", 3.0), ("1 s", 1.0)],
)
def test_duration(raw: str, seconds: float) -> None:
    assert env_duration("D", 0.0, environ={"D": raw}) == seconds


def test_duration_errors() -> None:
    with pytest.raises(ConfigError, match=r"^D='5 days' is invalid: expected a duration"):
        env_duration("D", 0.0, environ={"D": "5 days"})
    with pytest.raises(ConfigError, match=r"from 0.001 to 60.0$"):
        env_duration("D", 1.0, min=0.001, max=60.0, environ={"D": "2m"})
