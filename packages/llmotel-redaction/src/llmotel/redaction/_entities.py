"""Entity type names and the default sets, with no import of Presidio (``import llmotel.redaction``
stays light: Presidio and spaCy load when the first :class:`~llmotel.redaction.Redactor` is built).
"""

from __future__ import annotations

__all__ = [
    "API_KEY",
    "BEARER_TOKEN",
    "CONNECTION_STRING",
    "CREDIT_CARD",
    "CRYPTO",
    "DATE_OF_BIRTH",
    "DEFAULT_ENTITIES",
    "DEFAULT_NER_ENTITIES",
    "DEFAULT_PHONE_REGIONS",
    "EMAIL_ADDRESS",
    "IBAN_CODE",
    "IP_ADDRESS",
    "JWT",
    "KNOWN_ENTITIES",
    "LOCATION",
    "MAC_ADDRESS",
    "NER_ENTITIES",
    "OPTIONAL_ENTITIES",
    "PASSWORD",
    "PERSON",
    "PHONE_NUMBER",
    "PRIVATE_KEY",
    "STREET_ADDRESS",
    "URL",
    "US_SSN",
]

EMAIL_ADDRESS = "EMAIL_ADDRESS"
PHONE_NUMBER = "PHONE_NUMBER"
CREDIT_CARD = "CREDIT_CARD"
IBAN_CODE = "IBAN_CODE"
US_SSN = "US_SSN"
IP_ADDRESS = "IP_ADDRESS"
CRYPTO = "CRYPTO"
API_KEY = "API_KEY"
JWT = "JWT"
BEARER_TOKEN = "BEARER_TOKEN"
PRIVATE_KEY = "PRIVATE_KEY"
PASSWORD = "PASSWORD"
CONNECTION_STRING = "CONNECTION_STRING"
MAC_ADDRESS = "MAC_ADDRESS"
URL = "URL"

DEFAULT_ENTITIES: tuple[str, ...] = (
    EMAIL_ADDRESS,
    PHONE_NUMBER,
    CREDIT_CARD,
    IBAN_CODE,
    US_SSN,
    IP_ADDRESS,
    CRYPTO,
    API_KEY,
    JWT,
    BEARER_TOKEN,
    PRIVATE_KEY,
    PASSWORD,
    CONNECTION_STRING,
)
"""Detected unless configured otherwise: the types with a checksum, a strict format or a secret
shape. Presidio's DATE_TIME, URL, UUID, US_DRIVER_LICENSE, US_BANK_NUMBER, US_PASSPORT, UK_NHS and
MEDICAL_LICENSE are left out: on LLM traffic they mostly match timestamps, model ids, order numbers
and token counts."""

OPTIONAL_ENTITIES: tuple[str, ...] = (MAC_ADDRESS, URL)
"""Recognizers available by name (``entities=[..., "MAC_ADDRESS"]``) but off by default."""

KNOWN_ENTITIES: tuple[str, ...] = DEFAULT_ENTITIES + OPTIONAL_ENTITIES
"""Every entity type the built-in recognizers know (NER adds ``PERSON`` and ``LOCATION``)."""

DEFAULT_PHONE_REGIONS: tuple[str, ...] = ("US", "GB", "DE", "FR", "IN", "CA", "BR", "AU")

# Found by the NER tier (the [ner] extra, LLMOTEL_REDACTION_NER_MODEL), not by the default recognizers.
PERSON = "PERSON"
LOCATION = "LOCATION"
DATE_OF_BIRTH = "DATE_OF_BIRTH"
STREET_ADDRESS = "STREET_ADDRESS"
NER_ENTITIES: tuple[str, ...] = (PERSON, LOCATION, DATE_OF_BIRTH, STREET_ADDRESS)
"""Every entity type the tier can report."""
DEFAULT_NER_ENTITIES: tuple[str, ...] = (PERSON, DATE_OF_BIRTH, STREET_ADDRESS)
"""What the tier reports unless asked otherwise: ``LOCATION`` (cities, countries, landmarks) is
left out because ordinary prompts are full of places ("the capital of France")."""
