"""What GenAI instrumentations capture, as the environment says.

Two switches, shared with the upstream OpenTelemetry GenAI instrumentations:

``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``
    ``NO_CONTENT`` (default), ``SPAN_ONLY``, ``EVENT_ONLY`` or ``SPAN_AND_EVENT`` (any case). ``true`` is
    accepted as ``SPAN_AND_EVENT`` and ``false`` as ``NO_CONTENT``, like the older upstream boolean switch.
``OTEL_SEMCONV_STABILITY_OPT_IN``
    a comma-separated list; ``gen_ai_latest_experimental`` in it switches to the newest (unreleased)
    GenAI names instead of semantic conventions v1.41.0.

Instrumentations read both once, when they are instrumented (:func:`capture_settings_from_env`).
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = [
    "CAPTURE_MESSAGE_CONTENT_ENV",
    "LATEST_EXPERIMENTAL",
    "STABILITY_OPT_IN_ENV",
    "CaptureSettings",
    "ContentCapture",
    "capture_settings_from_env",
    "content_capture_from_env",
    "latest_experimental_from_env",
]

CAPTURE_MESSAGE_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
STABILITY_OPT_IN_ENV = "OTEL_SEMCONV_STABILITY_OPT_IN"
LATEST_EXPERIMENTAL = "gen_ai_latest_experimental"


class ContentCapture(enum.Enum):
    """Where message content (prompts, completions, tool definitions) goes."""

    NO_CONTENT = "NO_CONTENT"
    SPAN_ONLY = "SPAN_ONLY"
    EVENT_ONLY = "EVENT_ONLY"
    SPAN_AND_EVENT = "SPAN_AND_EVENT"

    @property
    def on_span(self) -> bool:
        """Whether content attributes go on the span."""
        return self in (ContentCapture.SPAN_ONLY, ContentCapture.SPAN_AND_EVENT)

    @property
    def on_event(self) -> bool:
        """Whether content goes on the ``gen_ai.client.inference.operation.details`` event."""
        return self in (ContentCapture.EVENT_ONLY, ContentCapture.SPAN_AND_EVENT)

    @property
    def any(self) -> bool:
        """Whether content is captured anywhere (so an instrumentation must build it)."""
        return self is not ContentCapture.NO_CONTENT


_ALIASES = {"TRUE": ContentCapture.SPAN_AND_EVENT, "FALSE": ContentCapture.NO_CONTENT}


@dataclass(frozen=True, slots=True)
class CaptureSettings:
    """The two switches, resolved. ``CaptureSettings()`` is the default: no content, semconv v1.41.0."""

    content: ContentCapture = ContentCapture.NO_CONTENT
    latest_experimental: bool = False


def content_capture_from_env(environ: Mapping[str, str] | None = None) -> ContentCapture:
    """The content-capture mode from ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT``.

    ``environ`` defaults to ``os.environ``. An unset or empty variable means ``NO_CONTENT``.

    Raises:
        ValueError: the value is none of the accepted ones; the message names the variable and them.
    """
    env = os.environ if environ is None else environ
    raw = env.get(CAPTURE_MESSAGE_CONTENT_ENV, "").strip()
    if not raw:
        return ContentCapture.NO_CONTENT
    key = raw.upper()
    if key in _ALIASES:
        return _ALIASES[key]
    try:
        return ContentCapture(key)
    except ValueError:
        accepted = ", ".join([m.value for m in ContentCapture] + ["true", "false"])
        raise ValueError(
            f"{CAPTURE_MESSAGE_CONTENT_ENV}={raw!r} is not valid; accepted values: {accepted}"
        ) from None


def latest_experimental_from_env(environ: Mapping[str, str] | None = None) -> bool:
    """Whether ``OTEL_SEMCONV_STABILITY_OPT_IN`` lists ``gen_ai_latest_experimental``.

    Other entries of the list (``http``, ``database`` …) belong to other instrumentations and are ignored.
    """
    env = os.environ if environ is None else environ
    entries = env.get(STABILITY_OPT_IN_ENV, "").split(",")
    return any(e.strip().lower() == LATEST_EXPERIMENTAL for e in entries)


def capture_settings_from_env(environ: Mapping[str, str] | None = None) -> CaptureSettings:
    """Both switches from the environment (``os.environ`` unless ``environ`` is given).

    Raises:
        ValueError: the content-capture variable has a value that is not accepted.
    """
    return CaptureSettings(
        content=content_capture_from_env(environ),
        latest_experimental=latest_experimental_from_env(environ),
    )
