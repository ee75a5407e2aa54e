"""The content-capture and stability opt-in switches."""

from __future__ import annotations

import pytest

from llmotel.semconv.capture import (
    CaptureSettings,
    ContentCapture,
    capture_settings_from_env,
    content_capture_from_env,
    latest_experimental_from_env,
)

VAR = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"


@pytest.mark.parametrize(
    ("value", "mode"),
    [
        ("", ContentCapture.NO_CONTENT),
        ("NO_CONTENT", ContentCapture.NO_CONTENT),
        ("span_only", ContentCapture.SPAN_ONLY),
        (" EVENT_ONLY ", ContentCapture.EVENT_ONLY),
        ("SPAN_AND_EVENT", ContentCapture.SPAN_AND_EVENT),
        ("true", ContentCapture.SPAN_AND_EVENT),
        ("False", ContentCapture.NO_CONTENT),
    ],
)
def test_content_modes(value: str, mode: ContentCapture) -> None:
    assert content_capture_from_env({VAR: value}) is mode


def test_unset_means_no_content() -> None:
    assert content_capture_from_env({}) is ContentCapture.NO_CONTENT


def test_bad_value_names_variable_and_accepted_values() -> None:
    with pytest.raises(ValueError) as caught:
        content_capture_from_env({VAR: "ALL"})
    assert str(caught.value) == (
        f"{VAR}='ALL' is not valid; accepted values: "
        "NO_CONTENT, SPAN_ONLY, EVENT_ONLY, SPAN_AND_EVENT, true, false"
    )


@pytest.mark.parametrize(
    ("mode", "on_span", "on_event", "any_"),
    [
        (ContentCapture.NO_CONTENT, False, False, False),
        (ContentCapture.SPAN_ONLY, True, False, True),
        (ContentCapture.EVENT_ONLY, False, True, True),
        (ContentCapture.SPAN_AND_EVENT, True, True, True),
    ],
)
def test_where_content_goes(
    mode: ContentCapture, on_span: bool, on_event: bool, any_: bool
) -> None:
    assert (mode.on_span, mode.on_event, mode.any) == (on_span, on_event, any_)


@pytest.mark.parametrize(
    ("value", "latest"),
    [
        ("", False),
        ("http", False),
        ("gen_ai_latest_experimental", True),
        ("http, gen_ai_latest_experimental", True),
        ("GEN_AI_LATEST_EXPERIMENTAL", True),
        ("gen_ai", False),
    ],
)
def test_stability_opt_in(value: str, latest: bool) -> None:
    assert latest_experimental_from_env({"OTEL_SEMCONV_STABILITY_OPT_IN": value}) is latest


def test_settings_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(VAR, "SPAN_ONLY")
    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "gen_ai_latest_experimental")
    assert capture_settings_from_env() == CaptureSettings(ContentCapture.SPAN_ONLY, True)
    assert CaptureSettings() == CaptureSettings(ContentCapture.NO_CONTENT, False)
