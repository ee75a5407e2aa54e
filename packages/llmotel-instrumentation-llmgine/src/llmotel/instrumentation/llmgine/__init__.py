"""OpenTelemetry instrumentation for LLMgine's ``MessageBus``: commands, events, sessions, tools.

Usage::

    from llmgine.bus.bus import MessageBus
    from llmotel.instrumentation.llmgine import LLMgineInstrumentor

    # tracer_provider=... and meter_provider=... are optional (default: the global ones)
    LLMgineInstrumentor().instrument()

    bus = MessageBus()                   # before or after instrument(): it is a singleton
    await bus.start()
    async with bus.session() as session:         # span `llmgine session`; session.id in context
        await session.execute_with_session(cmd)  # span `execute {CommandType}`
        await bus.publish(MyEvent(...))  # span `publish MyEvent`, `process MyEvent` per handler

    LLMgineInstrumentor().uninstrument()

Under ``opentelemetry-instrument`` the entry point ``llmotel_llmgine`` makes the ``instrument()``
call.
What is emitted, and how the publisher's context travels with an event through the bus's queue, is
described in the package README.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Any, Final

from opentelemetry.instrumentation.instrumentor import (  # type: ignore[attr-defined]
    BaseInstrumentor,
)
from opentelemetry.metrics import get_meter
from opentelemetry.trace import get_tracer

from llmotel.semconv.calls import Patches
from llmotel.semconv.capture import content_capture_from_env

from ._bus import BusTelemetry
from .package import _instruments
from .version import __version__

__all__ = ["LLMgineInstrumentor", "__version__"]

_log = logging.getLogger(__name__)

#: Tracer and meter name (the instrumentation scope).
SCOPE_NAME: Final = "llmotel.instrumentation.llmgine"

_BUS_PACKAGE: Final = "llmgine.bus"
_BUS_METHODS: Final = (
    ("execute", "execute"),
    ("publish", "publish"),
    ("_handle_event_with_middleware", "handle_event"),
    ("_handle_event_error", "handle_event_error"),
    ("session", "bus_session"),
)
_SESSION_METHODS: Final = (
    ("start", "session_start"),
    ("__aenter__", "session_start"),
    ("end", "session_end"),
    ("__aexit__", "session_exit"),
)


class LLMgineInstrumentor(BaseInstrumentor):  # type: ignore[misc]
    """Traces and measures LLMgine's ``MessageBus`` (see the module docstring for usage).

    ``instrument()`` accepts ``tracer_provider`` and ``meter_provider`` (default: the global
    ones). It patches the ``MessageBus`` and ``BusSession`` classes when the application imports
    ``llmgine.bus`` (at once if it has), so a bus created before the call is traced too;
    ``uninstrument()`` restores the original methods.
    """

    _telemetry: BusTelemetry | None = None

    def instrumentation_dependencies(self) -> Collection[str]:
        """The ``llmgine`` versions this instrumentation supports."""
        return _instruments

    @property
    def telemetry(self) -> BusTelemetry | None:
        """The active wrappers' state while instrumented (tests use it to check for leaks)."""
        return self._telemetry

    def _instrument(self, **kwargs: Any) -> None:
        try:
            capture_content = content_capture_from_env().on_span
        except ValueError:
            _log.warning("llmgine instrumentation: bad content-capture setting", exc_info=True)
            capture_content = False
        self._patches = Patches()
        # Patched when the application imports LLMgine's bus (now, if it has): an installed
        # llmgine the application never imports costs nothing at start-up. The package, not its
        # ``bus`` module, so that the hook runs once all of it (and the event types) has loaded.
        self._patches.on_import(_BUS_PACKAGE, lambda _: self._patch(kwargs, capture_content))

    def _patch(self, kwargs: dict[str, Any], capture_content: bool) -> None:
        from llmgine.bus.bus import MessageBus
        from llmgine.bus.session import BusSession, SessionEndEvent, SessionStartEvent
        from llmgine.messages.events import (
            CommandResultEvent,
            CommandStartedEvent,
            EventHandlerFailedEvent,
        )

        tool_event: type | None
        try:
            from llmgine.llm.tools.tool_events import ToolExecuteResultEvent

            tool_event = ToolExecuteResultEvent
        except Exception:  # noqa: BLE001 - the tools package moved or its imports fail: trace tools as events
            tool_event = None

        tracer = get_tracer(SCOPE_NAME, __version__, tracer_provider=kwargs.get("tracer_provider"))
        meter = get_meter(SCOPE_NAME, __version__, meter_provider=kwargs.get("meter_provider"))
        telemetry = BusTelemetry(
            tracer,
            meter,
            command_result_type=CommandResultEvent,
            bus_event_types=frozenset(
                {
                    CommandStartedEvent,
                    CommandResultEvent,
                    EventHandlerFailedEvent,
                    SessionStartEvent,
                    SessionEndEvent,
                }
            ),
            tool_event_type=tool_event,
            capture_content=capture_content,
        )
        for method, wrapper in _BUS_METHODS:
            self._patches.wrap(MessageBus, method, getattr(telemetry, wrapper))
        for method, wrapper in _SESSION_METHODS:
            self._patches.wrap(BusSession, method, getattr(telemetry, wrapper))
        self._telemetry = telemetry

    def _uninstrument(self, **kwargs: Any) -> None:
        self._patches.restore()
        self._telemetry = None
