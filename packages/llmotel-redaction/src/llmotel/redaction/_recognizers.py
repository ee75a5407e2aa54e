"""Recognizers: Presidio's pattern/checksum recognizers, corrected where they miss or over-match,
plus secret recognizers in Presidio's own ``PatternRecognizer`` shape (patterns, context words,
``validate_result``/``invalidate_result``).
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Iterable, Sequence

# The email recognizer's module-level tldextract would fetch the public suffix list on first use,
# with no timeout; our email recognizer uses a private extractor on the bundled snapshot instead.
os.environ.setdefault("TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS", "")

import phonenumbers
import regex
import tldextract
from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    CryptoRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    IpRecognizer,
    MacAddressRecognizer,
    PhoneRecognizer,
    UrlRecognizer,
    UsSsnRecognizer,
)

__all__ = [
    "API_KEY",
    "BEARER_TOKEN",
    "CONNECTION_STRING",
    "CREDIT_CARD",
    "CRYPTO",
    "DEFAULT_ENTITIES",
    "DEFAULT_PHONE_REGIONS",
    "EMAIL_ADDRESS",
    "IBAN_CODE",
    "IP_ADDRESS",
    "JWT",
    "KNOWN_ENTITIES",
    "OPTIONAL_ENTITIES",
    "PASSWORD",
    "PHONE_NUMBER",
    "PRIVATE_KEY",
    "US_SSN",
    "build_recognizers",
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
"""Every entity type :func:`build_recognizers` knows (NER adds ``PERSON`` and ``LOCATION``)."""

DEFAULT_PHONE_REGIONS: tuple[str, ...] = ("US", "GB", "DE", "FR", "IN", "CA", "BR", "AU")

_FLAGS = regex.DOTALL | regex.MULTILINE | regex.IGNORECASE
_CASE_SENSITIVE = regex.DOTALL | regex.MULTILINE


class LlmotelCreditCardRecognizer(CreditCardRecognizer):
    """Presidio's Luhn-checked card recognizer, extended to the 2221-2720 Mastercard range."""

    PATTERNS = [
        Pattern(
            "Card (Luhn)",
            r"\b(?!1\d{12}(?!\d))((4\d{3})|(5[1-5]\d{2})|(2(?:22[1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720))"
            r"|(6\d{3})|(3\d{3}))[- ]?(\d{3,4})[- ]?(\d{3,4})[- ]?(\d{3,5})\b",
            0.3,
        )
    ]

    def __init__(self) -> None:
        super().__init__(patterns=list(self.PATTERNS), name="LlmotelCreditCardRecognizer")


class LlmotelEmailRecognizer(EmailRecognizer):
    """Presidio's email recognizer, validated on tldextract's bundled suffix list (no network)."""

    _extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

    def __init__(self) -> None:
        super().__init__(name="LlmotelEmailRecognizer")

    def validate_result(self, pattern_text: str) -> bool:
        return bool(self._extract(pattern_text).suffix)


class LlmotelIpRecognizer(IpRecognizer):
    """Presidio's IP recognizer; a dotted quad that reads as a version number is not an address."""

    def __init__(self) -> None:
        super().__init__(name="LlmotelIpRecognizer")

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        results = super().analyze(text, entities, nlp_artifacts, regex_flags)
        kept = []
        for result in results:
            before = text[max(0, result.start - 12) : result.start]
            after = text[result.end : result.end + 2]
            if ":" not in text[result.start : result.end] and (
                _VERSION_CONTEXT.search(before) or regex.match(r"\.\d", after)
            ):
                continue
            kept.append(result)
        return kept


_VERSION_CONTEXT = regex.compile(
    r"(?:\bv|version|release|build|sdk|python|node|==|>=|<=|~=)\s*[:=]?\s*$", regex.IGNORECASE
)

# Digit runs that could hold a phone number: 7+ digits with the usual separators, not glued to a
# word or an identifier (``ORD-2024-000123``).
_PHONE_CANDIDATE = regex.compile(
    r"(?<![\w\-+.#$(])(?:\+\(?|\(|\b)\d[\d \t().\-/]{5,22}\d(?![\w\-])"
)
# Dates, times, decimals and dotted versions; dotted phone numbers are 3.3.4 (US) or 2.2.2.2.2.
_NOT_A_PHONE = regex.compile(
    r"\d{4}[-/.]\d\d[-/.]\d\d|\d\d[-/.]\d\d[-/.]\d{4}|\d\d:\d\d|^\d+\.\d+$"
    r"|(?<!\d)\d{1}\.\d|\d\.\d(?!\d)|\d{5,}\.|\.\d{5,}"
)
_SEPARATOR = regex.compile(r"[ \t().\-/]")


class LlmotelPhoneRecognizer(PhoneRecognizer):
    """Presidio's phone recognizer (its regions, score and context words) with a cheaper search.

    Presidio runs python-phonenumbers' ``PhoneNumberMatcher`` over the whole text once per region
    (~3 µs per character per region). Here a regex finds the digit runs that could be numbers and
    each is parsed once: with a leading ``+`` for any region, otherwise against the configured
    regions in order until one validates (``phonenumbers.is_valid_number``, the same test as
    Presidio's default leniency).
    """

    def __init__(self, supported_regions: Sequence[str] = DEFAULT_PHONE_REGIONS) -> None:
        super().__init__(supported_regions=tuple(supported_regions), name="LlmotelPhoneRecognizer")

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        return [
            RecognizerResult(PHONE_NUMBER, start, end, self.SCORE)
            for start, end in self.find(text, ())
        ]

    def find(self, text: str, claimed: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
        """Spans of valid phone numbers in ``text``, skipping candidates inside ``claimed``."""
        out: list[tuple[int, int]] = []
        for match in _PHONE_CANDIDATE.finditer(text):
            start, end = match.span()
            candidate = match.group()
            digits = sum(c.isdigit() for c in candidate)
            if not 7 <= digits <= 15 or _NOT_A_PHONE.search(candidate):
                continue
            # A bare run of digits is an id or a count unless it is long enough to be a full
            # national number (10+) or is written with its country code.
            if digits < 10 and not candidate.startswith("+") and not _SEPARATOR.search(candidate):
                continue
            if "." in candidate and _VERSION_CONTEXT.search(text, max(0, start - 12), start):
                continue
            if any(s <= start and end <= e for s, e in claimed):
                continue
            if self._valid(candidate):
                out.append((start, end))
        return out

    def _valid(self, candidate: str) -> bool:
        regions = (None,) if candidate.startswith("+") else self.supported_regions
        for region in regions:
            try:
                number = phonenumbers.parse(candidate, region)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_valid_number(number):
                return True
        return False


class ApiKeyRecognizer(PatternRecognizer):
    """Provider API keys by their published prefixes, and generic ``api_key = "…"`` assignments."""

    PATTERNS = [
        Pattern("anthropic", r"\bsk-ant-(?:api|admin|oat)\d\d-[A-Za-z0-9_\-]{20,}", 1.0),
        Pattern("openai", r"\bsk-(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_\-]{20,}", 0.9),
        Pattern("aws access key id", r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b", 1.0),
        Pattern(
            "aws secret access key",
            r"(?i:aws.?secret.?(?:access.?)?key)[\"']?\s*[:=]\s*[\"']?\K[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])",
            1.0,
        ),
        Pattern("github", r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,}\b", 1.0),
        Pattern("github fine-grained", r"\bgithub_pat_[A-Za-z0-9_]{40,}\b", 1.0),
        Pattern("google", r"\bAIza[0-9A-Za-z_\-]{35}(?![0-9A-Za-z_\-])", 1.0),
        Pattern("slack", r"\bxox[abposre]-(?:\d+-)*[A-Za-z0-9\-]{10,}", 1.0),
        Pattern("stripe", r"\b(?:sk|rk|pk|whsec)_(?:live|test)_[A-Za-z0-9]{16,}\b", 1.0),
        Pattern(
            "assignment",
            r"\b(?i:(?:api|access|secret|private|client|auth)[_\-]?(?:key|token|secret))[\"']?\s*[:=]\s*[\"']?\K"
            r"[A-Za-z0-9_\-./+=]{16,}",
            0.6,
        ),
    ]
    CONTEXT = ["key", "token", "secret", "api"]

    def __init__(self) -> None:
        super().__init__(
            supported_entity=API_KEY,
            patterns=list(self.PATTERNS),
            context=list(self.CONTEXT),
            global_regex_flags=_CASE_SENSITIVE,
            name="ApiKeyRecognizer",
        )

    def validate_result(self, pattern_text: str) -> bool | None:
        # A key mixes letters and digits; a long word or a path segment does not.
        has_digit = any(c.isdigit() for c in pattern_text)
        has_alpha = any(c.isalpha() for c in pattern_text)
        return None if has_digit and has_alpha else False


def _b64url_json(segment: str) -> object:
    padded = segment + "=" * (-len(segment) % 4)
    return json.loads(base64.urlsafe_b64decode(padded))


class JwtRecognizer(PatternRecognizer):
    """JSON Web Tokens: three base64url segments whose header decodes to JSON naming an ``alg``."""

    PATTERNS = [
        Pattern(
            "jwt",
            r"\beyJ[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]{5,}\.[A-Za-z0-9_\-]*(?![A-Za-z0-9_\-.])",
            0.5,
        )
    ]
    CONTEXT = ["jwt", "token", "bearer", "authorization"]

    def __init__(self) -> None:
        super().__init__(
            supported_entity=JWT,
            patterns=list(self.PATTERNS),
            context=list(self.CONTEXT),
            global_regex_flags=_CASE_SENSITIVE,
            name="JwtRecognizer",
        )

    def validate_result(self, pattern_text: str) -> bool:
        try:
            header = _b64url_json(pattern_text.split(".", 1)[0])
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return False
        return isinstance(header, dict) and "alg" in header


class BearerTokenRecognizer(PatternRecognizer):
    """The credential after ``Bearer`` / ``Basic`` / ``Token`` in an authorization value."""

    PATTERNS = [
        Pattern(
            "bearer",
            r"\b(?:bearer|token)\s+\K[A-Za-z0-9\-._~+/]{12,}=*(?![A-Za-z0-9\-._~+/=])",
            0.9,
        ),
        Pattern("basic", r"\bbasic\s+\K[A-Za-z0-9+/]{12,}={0,2}(?![A-Za-z0-9+/=])", 0.9),
    ]
    CONTEXT = ["authorization", "auth", "header"]

    def __init__(self) -> None:
        super().__init__(
            supported_entity=BEARER_TOKEN,
            patterns=list(self.PATTERNS),
            context=list(self.CONTEXT),
            global_regex_flags=_FLAGS,
            name="BearerTokenRecognizer",
        )

    def validate_result(self, pattern_text: str) -> bool | None:
        # "token based authentication" is prose; a credential has a digit or mixed case.
        if any(c.isdigit() for c in pattern_text) or (
            any(c.isupper() for c in pattern_text) and any(c.islower() for c in pattern_text)
        ):
            return None
        return False


class PrivateKeyRecognizer(PatternRecognizer):
    """PEM/OpenSSH private key blocks, from the BEGIN line to the END line."""

    PATTERNS = [
        Pattern(
            "pem",
            r"-----BEGIN[ A-Z0-9]*PRIVATE KEY-----.*?(?:-----END[ A-Z0-9]*PRIVATE KEY-----|\Z)",
            1.0,
        )
    ]

    def __init__(self) -> None:
        super().__init__(
            supported_entity=PRIVATE_KEY,
            patterns=list(self.PATTERNS),
            global_regex_flags=regex.DOTALL,
            name="PrivateKeyRecognizer",
        )


_PASSWORD_KEY = r"(?:password|passwd|passphrase|pwd|db_pass|pass)"


class PasswordRecognizer(PatternRecognizer):
    """Values of ``password: …``, ``password=…`` and ``"password": "…"``."""

    PATTERNS = [
        Pattern(
            "quoted",
            rf"(?<![A-Za-z0-9]){_PASSWORD_KEY}[\"']?\s*[:=]\s*\"\K(?:[^\"\\\n]|\\.){{1,200}}(?=\")",
            0.9,
        ),
        Pattern(
            "single quoted",
            rf"(?<![A-Za-z0-9]){_PASSWORD_KEY}[\"']?\s*[:=]\s*'\K[^'\n]{{1,200}}(?=')",
            0.9,
        ),
        Pattern(
            "bare",
            rf"(?<![A-Za-z0-9]){_PASSWORD_KEY}[\"']?(?:\s*[:=]\s*|\s+is\s+)\K(?![\"'\s])[^\s\"',;]{{1,200}}",
            0.8,
        ),
    ]

    def __init__(self) -> None:
        super().__init__(
            supported_entity=PASSWORD,
            patterns=list(self.PATTERNS),
            global_regex_flags=_FLAGS,
            name="PasswordRecognizer",
        )

    def invalidate_result(self, pattern_text: str) -> bool:
        # Placeholders and references are not secrets.
        lowered = pattern_text.lower()
        return lowered in {"null", "none", "true", "false", "****", "<password>", "..."} or (
            lowered.startswith(("${", "{{", "os.environ", "env("))
        )


class ConnectionStringRecognizer(PatternRecognizer):
    """URLs that carry credentials: ``scheme://user:password@host/…``."""

    PATTERNS = [
        Pattern(
            "url with userinfo",
            r"\b[a-z][a-z0-9+.\-]{1,20}://[^\s:/@\"']+:[^\s@/\"']+@[^\s/?#\"']+[^\s\"']*",
            1.0,
        ),
        Pattern(
            "key-value",
            r"\b(?:server|host|data source)=[^;\n]+;(?:[^;\n]*;)*?\s*(?:password|pwd)=[^;\n]+;?",
            1.0,
        ),
    ]

    def __init__(self) -> None:
        super().__init__(
            supported_entity=CONNECTION_STRING,
            patterns=list(self.PATTERNS),
            global_regex_flags=_FLAGS,
            name="ConnectionStringRecognizer",
        )


def build_recognizers(
    entities: Iterable[str], phone_regions: Sequence[str] = DEFAULT_PHONE_REGIONS
) -> list[EntityRecognizer]:
    """The recognizers for ``entities``; unknown entity names raise ``ValueError``."""
    factories = {
        EMAIL_ADDRESS: LlmotelEmailRecognizer,
        PHONE_NUMBER: lambda: LlmotelPhoneRecognizer(phone_regions),
        CREDIT_CARD: LlmotelCreditCardRecognizer,
        IBAN_CODE: IbanRecognizer,
        US_SSN: UsSsnRecognizer,
        IP_ADDRESS: LlmotelIpRecognizer,
        CRYPTO: CryptoRecognizer,
        API_KEY: ApiKeyRecognizer,
        JWT: JwtRecognizer,
        BEARER_TOKEN: BearerTokenRecognizer,
        PRIVATE_KEY: PrivateKeyRecognizer,
        PASSWORD: PasswordRecognizer,
        CONNECTION_STRING: ConnectionStringRecognizer,
        MAC_ADDRESS: MacAddressRecognizer,
        URL: UrlRecognizer,
    }
    out: list[EntityRecognizer] = []
    for entity in entities:
        if entity not in factories:
            raise ValueError(
                f"unknown entity type {entity!r}; known: {', '.join(sorted(factories))}"
            )
        out.append(factories[entity]())
    return out
