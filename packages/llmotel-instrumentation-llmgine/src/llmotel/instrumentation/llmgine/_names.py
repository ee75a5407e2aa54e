"""The names this instrumentation defines itself: ``llmgine.*`` attributes, span and metric
names, ``error.type`` values and the ``messaging.system`` value.

Semantic-convention names (``messaging.*``, ``session.id``, ``gen_ai.*``, ``error.type``) are not
here: they come from the generated :mod:`llmotel.semconv.attributes`, the one source of names.
"""

from __future__ import annotations

from typing import Final

# --- This instrumentation's own names. ---
#: ``messaging.system`` value: LLMgine's in-process bus is not in the registry's list.
SYSTEM: Final = "llmgine"
COMMAND_TYPE: Final = "llmgine.command.type"
COMMAND_ID: Final = "llmgine.command.id"
COMMAND_SUCCESS: Final = "llmgine.command.success"
EVENT_TYPE: Final = "llmgine.event.type"
HANDLER_NAME: Final = "llmgine.handler.name"

#: ``error.type`` of a command that no handler was registered for.
NO_HANDLER: Final = "no_handler"
#: ``error.type`` of a command whose handler returned ``CommandResult(success=False)``.
COMMAND_FAILED: Final = "command_failed"
#: ``error.type`` of a tool result event with ``execution_succeed=False``.
TOOL_FAILED: Final = "tool_failed"

SESSION_SPAN: Final = "llmgine session"

METRIC_COMMAND_DURATION: Final = "llmgine.bus.command.duration"
METRIC_HANDLER_DURATION: Final = "llmgine.bus.handler.duration"

#: Advisory bucket boundaries (seconds) of both duration histograms: in-process handlers take
#: microseconds, handlers that call an LLM take seconds to minutes.
DURATION_BUCKETS: Final = (
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0,
)  # fmt: skip
