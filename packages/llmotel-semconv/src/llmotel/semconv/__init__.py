"""GenAI semantic-convention names, message types and their JSON codec, and the API-level helpers.

The names live in submodules, generated from the OpenTelemetry GenAI semantic conventions v1.41.0::

    from llmotel.semconv import attributes as A, metrics as M, events as E
    span.set_attribute(A.GEN_AI_OPERATION_NAME, A.GenAiOperationNameValues.CHAT)

- ``attributes``: attribute names, enum values, ``CONTENT_ATTRIBUTES``
- ``metrics``: metric names, units, instruments, advisory bucket boundaries
- ``events``: event names
- ``registry``: the machine-readable registry (types, requirement levels) for validators
- ``deprecated``: deprecated -> current name maps
- ``latest``: the opt-in "latest experimental" names
- ``messages``: typed message structures and their JSON codec
"""

from llmotel.semconv._generated.source import SCHEMA_URL, SEMCONV_VERSION
from llmotel.semconv.version import __version__

__all__ = ["SCHEMA_URL", "SEMCONV_VERSION", "__version__"]
