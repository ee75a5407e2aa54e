"""PII and secret redaction of spans and logs, inside prompt and completion content.

Detection uses Presidio's pattern and checksum recognizers (no NLP model, no network) plus secret
recognizers in Presidio's shape; message attributes are walked as JSON so that only text is
rewritten and the structure stays valid. Three ways in::

    # 1. a ready processor: the exporter only ever sees redacted spans
    provider.add_span_processor(RedactingSpanProcessor(OTLPSpanExporter()))

    # 2. a stage in an llmotel pipeline (what the llmotel distro wires from LLMOTEL_REDACTION_*)
    PipelineSpanExporter([RedactionStage.from_env()], exporter)

    # metric attributes (user.id from context attributes …), on the reader's thread
    PeriodicExportingMetricReader(RedactingMetricExporter(OTLPMetricExporter()))

    # 3. a library
    Redactor().redact_text("mail me at jane@example.com")  # 'mail me at <EMAIL_ADDRESS>'

Importing this package loads no Presidio and no spaCy: they load when the first
:class:`Redactor` is built (a ``RedactingSpanProcessor`` or ``RedactionStage`` builds one).
"""

from llmotel.redaction._analyzer import DEFAULT_THRESHOLDS, AnalysisTimeout, Finding
from llmotel.redaction._config import ENV_VARIABLES, redactor_from_env
from llmotel.redaction._entities import (
    DEFAULT_ENTITIES,
    DEFAULT_PHONE_REGIONS,
    KNOWN_ENTITIES,
    OPTIONAL_ENTITIES,
)
from llmotel.redaction._metrics import (
    MetricRedactor,
    RedactingMetricExporter,
    redacting_metric_reader,
)
from llmotel.redaction._operators import Drop, Keep, Mask, Operator, Pseudonymize, Replace
from llmotel.redaction._processors import RedactingLogRecordProcessor, RedactingSpanProcessor
from llmotel.redaction._redactor import (
    DEFAULT_ALLOW_KEYS,
    DEFAULT_DENY_KEYS,
    FAILED_MARKER,
    SCREENED_ENTITIES,
    SECRET_KEY,
    Redaction,
    Redactor,
)
from llmotel.redaction._resource import DEFAULT_RESOURCE_ALLOW_KEYS, ResourceRedactor
from llmotel.redaction._stage import (
    COUNT_ATTRIBUTE,
    FAILED_ATTRIBUTE,
    RedactionStage,
    entity_count_attribute,
)
from llmotel.redaction.version import __version__

__all__ = [
    "COUNT_ATTRIBUTE",
    "DEFAULT_ALLOW_KEYS",
    "DEFAULT_DENY_KEYS",
    "DEFAULT_ENTITIES",
    "DEFAULT_PHONE_REGIONS",
    "DEFAULT_RESOURCE_ALLOW_KEYS",
    "DEFAULT_THRESHOLDS",
    "ENV_VARIABLES",
    "FAILED_ATTRIBUTE",
    "FAILED_MARKER",
    "KNOWN_ENTITIES",
    "OPTIONAL_ENTITIES",
    "SCREENED_ENTITIES",
    "SECRET_KEY",
    "AnalysisTimeout",
    "Drop",
    "Finding",
    "Keep",
    "Mask",
    "MetricRedactor",
    "Operator",
    "Pseudonymize",
    "RedactingLogRecordProcessor",
    "RedactingMetricExporter",
    "RedactingSpanProcessor",
    "Redaction",
    "RedactionStage",
    "Redactor",
    "Replace",
    "ResourceRedactor",
    "__version__",
    "entity_count_attribute",
    "redacting_metric_reader",
    "redactor_from_env",
]
