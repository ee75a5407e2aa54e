"""Resource attributes, redacted once per resource rather than once per record."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Any

from opentelemetry.sdk.resources import Resource

from llmotel.redaction._redactor import DROP, Redaction, Redactor

__all__ = ["DEFAULT_RESOURCE_ALLOW_KEYS", "ResourceRedactor"]

_logger = logging.getLogger("llmotel.redaction")

DEFAULT_RESOURCE_ALLOW_KEYS: frozenset[str] = frozenset(
    {
        "service.name",
        "service.namespace",
        "service.version",
        "service.instance.id",
        "deployment.environment",
        "deployment.environment.name",
        "host.name",
        "host.id",
        "host.ip",
        "host.arch",
        "os.type",
        "os.version",
        "process.pid",
        "process.runtime.name",
        "process.runtime.version",
        "process.runtime.description",
    }
)
"""Resource keys that describe the service and machine: only screened for the high-risk types
(``SCREENED_ENTITIES``), like allow-listed span attributes. Keys starting with ``telemetry.`` are
treated the same way. Every other resource attribute (``process.command_args``,
``process.command_line``, whatever ``OTEL_RESOURCE_ATTRIBUTES`` adds) is analysed fully."""

# A process has a handful of resources (one per provider); more means something builds them
# per record, and the cache must not grow with it.
_MAX_CACHED = 64


class ResourceRedactor:
    """Redacts a :class:`Resource`'s attributes once and hands the same result out after that.

    Resources are shared by every record of a provider and do not change, so this costs one
    analysis per resource for the life of the process. Thread-safe.
    """

    def __init__(
        self, redactor: Redactor, allow_keys: Iterable[str] = DEFAULT_RESOURCE_ALLOW_KEYS
    ) -> None:
        self._redactor = redactor
        self._allow = frozenset(allow_keys)
        self._lock = threading.Lock()
        # id(source) -> (source, result): the source is held so its id cannot be reused.
        self._cache: dict[int, tuple[Resource, Resource]] = {}
        self._results: set[int] = set()

    def redact(self, resource: Resource) -> Resource:
        """``resource`` with its attributes redacted (cached; results are returned as they are)."""
        key = id(resource)
        hit = self._cache.get(key)
        if hit is not None and hit[0] is resource:
            return hit[1]
        if key in self._results:
            return resource
        result = self._redact(resource)
        with self._lock:
            if len(self._cache) >= _MAX_CACHED:
                self._cache.clear()
                self._results.clear()
            self._cache[key] = (resource, result)
            self._results.add(id(result))
        return result

    def is_redacted(self, resource: Resource) -> bool:
        """Whether ``resource`` is one of this redactor's results."""
        return id(resource) in self._results

    def _redact(self, resource: Resource) -> Resource:
        attributes: dict[str, Any] = dict(resource.attributes)
        if not attributes:
            return resource
        rest = {
            k: v
            for k, v in attributes.items()
            if k not in self._allow and not k.startswith("telemetry.")
        }
        screened: dict[str, Any] = {}
        redaction = Redaction()
        redactor = self._redactor
        failed = False
        try:
            redactor.redact_attributes(rest, redaction)
            for key, value in attributes.items():
                if key not in rest:
                    screened[key] = redactor.screen_value(value, redaction)
        except Exception:  # noqa: BLE001 - fail closed: the analysable values go
            _logger.warning("resource redaction failed; its analysable values were replaced")
            failed = True
            rest = {k: v for k, v in attributes.items() if k not in screened or k in rest}
            redactor.fail_closed(rest)
        if not failed and not redaction.total:
            return resource
        out: dict[str, Any] = {}
        for key in attributes:
            value = rest[key] if key in rest else screened.get(key, DROP)
            if value is not DROP:
                out[key] = value
        return Resource(out, resource.schema_url)
