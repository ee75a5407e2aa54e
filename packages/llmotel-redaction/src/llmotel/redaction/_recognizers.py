"""Recognizers: Presidio's pattern/checksum recognizers, corrected where they miss or over-match,
plus secret recognizers in Presidio's own shape (``PatternRecognizer`` patterns, context words,
``validate_result``/``invalidate_result``; an ``EntityRecognizer`` for names and values).

Each of our recognizers declares ``NEEDLES``: lower-case substrings of which a text must contain
one for any of its patterns to match (the analyzer's pre-screen).

Importing this module imports Presidio (and with it spaCy): only ``build_recognizers`` callers
do, when the first ``Redactor`` is built.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

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

from llmotel.redaction._analyzer import AnalysisTimeout
from llmotel.redaction._entities import (
    API_KEY,
    BEARER_TOKEN,
    CONNECTION_STRING,
    CREDIT_CARD,
    CRYPTO,
    DEFAULT_ENTITIES,
    DEFAULT_PHONE_REGIONS,
    EMAIL_ADDRESS,
    IBAN_CODE,
    IP_ADDRESS,
    JWT,
    KNOWN_ENTITIES,
    MAC_ADDRESS,
    OPTIONAL_ENTITIES,
    PASSWORD,
    PHONE_NUMBER,
    PRIVATE_KEY,
    URL,
    US_SSN,
)
from llmotel.redaction._secret_keys import secret_key_entity

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
    "MAC_ADDRESS",
    "OPTIONAL_ENTITIES",
    "PASSWORD",
    "PHONE_NUMBER",
    "PRIVATE_KEY",
    "URL",
    "US_SSN",
    "build_recognizers",
]

_FLAGS = regex.DOTALL | regex.MULTILINE | regex.IGNORECASE
_CASE_SENSITIVE = regex.DOTALL | regex.MULTILINE


class _LeanPatterns:
    """Presidio's ``PatternRecognizer.analyze`` with the same results (``validate_result`` True
    → score 1.0, False → dropped; ``invalidate_result`` True → dropped) but without the
    explanation object, timestamps and debug logging it builds per pattern and match, which cost
    more than the matching on span-sized texts. A pattern listed in ``PATTERN_NEEDLES`` only
    runs when one of its lower-case needles is in the text. A regex that runs past
    ``REGEX_TIMEOUT`` seconds (hostile input) raises :class:`AnalysisTimeout`: fail closed.
    """

    PATTERN_NEEDLES: dict[str, tuple[str, ...]] = {}
    REGEX_TIMEOUT = 2.0

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        recognizer: Any = self  # a PatternRecognizer: the mixin comes first in its bases
        flags = regex_flags or recognizer.global_regex_flags
        entity = recognizer.supported_entities[0]
        lower = text.lower() if self.PATTERN_NEEDLES else ""
        out: list[RecognizerResult] = []
        pattern: Any
        for pattern in recognizer.patterns:
            needles = self.PATTERN_NEEDLES.get(pattern.name)
            if needles and not any(n in lower for n in needles):
                continue
            if not pattern.compiled_regex or pattern.compiled_with_flags != flags:
                pattern.compiled_with_flags = flags
                pattern.compiled_regex = regex.compile(pattern.regex, flags=flags)
            try:
                for match in pattern.compiled_regex.finditer(text, timeout=self.REGEX_TIMEOUT):
                    start, end = match.span()
                    if start == end:
                        continue
                    current = text[start:end]
                    score = pattern.score
                    valid = recognizer.validate_result(current)
                    if valid is not None:
                        score = EntityRecognizer.MAX_SCORE if valid else EntityRecognizer.MIN_SCORE
                    if recognizer.invalidate_result(current):
                        score = EntityRecognizer.MIN_SCORE
                    if score > EntityRecognizer.MIN_SCORE:
                        out.append(RecognizerResult(entity, start, end, score))
            except TimeoutError as exc:
                raise AnalysisTimeout(f"{self.__class__.__name__}: {pattern.name}") from exc
        return out


class LlmotelCreditCardRecognizer(_LeanPatterns, CreditCardRecognizer):
    """Presidio's Luhn-checked card recognizer, extended to the 2221-2720 Mastercard range and to
    groups separated by dots (``4111.1111.1111.1111``)."""

    PATTERNS = [
        Pattern(
            "Card (Luhn)",
            r"\b(?!1\d{12}(?!\d))((4\d{3})|(5[1-5]\d{2})|(2(?:22[1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720))"
            r"|(6\d{3})|(3\d{3}))[- .]?(\d{3,4})[- .]?(\d{3,4})[- .]?(\d{3,5})\b",
            0.3,
        )
    ]

    def __init__(self) -> None:
        super().__init__(
            patterns=list(self.PATTERNS),
            replacement_pairs=[("-", ""), (" ", ""), (".", "")],
            name="LlmotelCreditCardRecognizer",
        )

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        """Cards, and the bare security code written after a card and its expiry date
        (``4111 1111 1111 1111, 12/27, 123``): it goes with the card."""
        results = super().analyze(text, entities, nlp_artifacts, regex_flags)
        for card in list(results):
            code = _CODE_AFTER_EXPIRY.match(text, card.end)
            if code is not None:
                results.append(
                    RecognizerResult(CREDIT_CARD, code.start(1), code.end(1), card.score)
                )
        return results


# After a card number: its expiry date (MM/YY, MM/YYYY, "exp 12/27"), then a 3-4 digit code.
_CODE_AFTER_EXPIRY = re.compile(
    r"[ \t]*[,;|/]?[ \t]*\(?(?:(?:exp(?:iry|iration|ires|\.)?|valid[ \t]+(?:thru|through|until))"
    r"[ \t]*[:=]?[ \t]*)?(?:0[1-9]|1[0-2])[ \t]*[/\-][ \t]*(?:20)?\d\d(?!\d)\)?[ \t]*[,;|/]?[ \t]*"
    r"(?:(?:cvv2?|cvc2?|cvn|cv2|cid|csc|security[ \t]+code|code)[ \t]*[:=#]?[ \t]*)?"
    r"(\d{3,4})(?!\d)",
    re.IGNORECASE,
)


class CardSecurityCodeRecognizer(_LeanPatterns, PatternRecognizer):
    """Card security codes (CVV, CVC, CVN, CID) after their name: ``CVV 123``, ``cvc: 456``,
    ``CVV2=7890``. ``CID``, ``CSC`` and "security code" also name other things, so they count
    only with a card nearby (a card-length digit run or a card word). Reported as
    ``CREDIT_CARD``: the code is part of the card. The code written after a card's expiry date
    without a name is found by :class:`LlmotelCreditCardRecognizer`."""

    PATTERNS = [
        Pattern(
            "named code",
            r"(?<![\w])(?:cvv2?|cvc2?|cvn2?|cv2|cav2|cvd|card[ \t]+(?:security|verification)"
            r"[ \t]+(?:code|value|number))(?:[ \t]*/[ \t]*cv[vc]2?)?"
            r"(?:[ \t]*(?:[:=#\-]|is|code|number|no\.?)[ \t]*|[ \t]+)[*`\"']{0,2}\K\d{3,4}(?!\d)",
            1.0,
        ),
        Pattern(
            "ambiguous name",
            r"(?<![\w])(?:cid|csc|security[ \t]+code)"
            r"(?:[ \t]*(?:[:=#\-]|is)[ \t]*|[ \t]+)[*`\"']{0,2}\K\d{3,4}(?!\d)",
            0.5,
        ),
    ]
    NEEDLES = (
        "cvv",
        "cvc",
        "cvn",
        "cv2",
        "cav2",
        "cvd",
        "cid",
        "csc",
        "security code",
        "verification",
    )
    # On long texts: windows around the names, wide enough before them for the card check.
    WINDOW = (re.compile("cv[vcn2d]|cav2|cid|csc|security code|verification"), 170, 48)

    def __init__(self) -> None:
        super().__init__(
            supported_entity=CREDIT_CARD,
            patterns=list(self.PATTERNS),
            global_regex_flags=_FLAGS,
            name="CardSecurityCodeRecognizer",
        )

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        results = super().analyze(text, entities, nlp_artifacts, regex_flags)
        return [
            r
            for r in results
            if r.score >= 1.0 or _CARD_NEARBY.search(text, max(0, r.start - 160), r.start)
        ]


_CARD_NEARBY = re.compile(
    r"\d{4}[ .\-]?\d{4}[ .\-]?\d{4}[ .\-]?\d{1,4}|\d{4}[ .\-]?\d{6}[ .\-]?\d{5}"
    r"|card|visa|master|amex|discover|expir|\bexp\b",
    re.IGNORECASE,
)


class LlmotelEmailRecognizer(_LeanPatterns, EmailRecognizer):
    """Presidio's email recognizer, validated on tldextract's bundled suffix list (no network),
    plus an ASCII pattern for addresses written inside text without spaces (Japanese, Chinese),
    where Presidio's Unicode ``\\w`` runs the address into the words around it."""

    _extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    PATTERNS = [
        *EmailRecognizer.PATTERNS,
        Pattern(
            "Email (ASCII in unspaced text)",
            r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+@(?:[A-Za-z0-9\-]+\.)+[A-Za-z]{2,}"
            r"(?![A-Za-z0-9\-])",
            0.5,
        ),
    ]

    def __init__(self) -> None:
        super().__init__(patterns=list(self.PATTERNS), name="LlmotelEmailRecognizer")

    def validate_result(self, pattern_text: str) -> bool:
        return bool(self._extract(pattern_text).suffix)


class LlmotelUsSsnRecognizer(_LeanPatterns, UsSsnRecognizer):
    """Presidio's SSN recognizer (its patterns, context and invalidation), matched lean."""


class LlmotelCryptoRecognizer(_LeanPatterns, CryptoRecognizer):
    """Presidio's crypto wallet recognizer (Base58Check / Bech32 validation), matched lean."""


class LlmotelIpRecognizer(_LeanPatterns, IpRecognizer):
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
                _VERSION_CONTEXT.search(before) or _DOT_DIGIT.match(after)
            ):
                continue
            kept.append(result)
        return kept


_DOT_DIGIT = re.compile(r"\.\d")
_VERSION_CONTEXT = re.compile(
    r"(?:\bv|version|release|build|sdk|python|node|==|>=|<=|~=)\s*[:=]?\s*$", re.IGNORECASE
)

# Digit runs that could hold a phone number: 7+ digits with the usual separators, not glued to a
# word or an identifier (``ORD-2024-000123``).
_PHONE_CANDIDATE = re.compile(r"(?<![\w\-+.#$(])(?:\+\(?|\(|\b)\d[\d \t().\-/]{5,22}\d(?![\w\-])")
# Dates, times, decimals and dotted versions; dotted phone numbers are 3.3.4 (US) or 2.2.2.2.2.
_NOT_A_PHONE = re.compile(
    r"\d{4}[-/.]\d\d[-/.]\d\d|\d\d[-/.]\d\d[-/.]\d{4}|\d\d:\d\d|^\d+\.\d+$"
    r"|(?<!\d)\d{1}\.\d|\d\.\d(?!\d)|\d{5,}\.|\.\d{5,}"
)
_SEPARATOR = re.compile(r"[ \t().\-/]")


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
            stop = candidate.find(". ")
            if stop > 0:
                # "… +34 613 51 45 00. 6 more": the sentence ends at the period.
                candidate = candidate[:stop]
                end = start + stop
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


def _has_mixed_shape(value: str) -> bool:
    """A credential mixes character classes; a word, a count or an identifier does not.

    True when ``value`` has a letter and (a digit, an upper-case letter after the first
    character next to lower-case ones, or a symbol base64/credentials use), or is 24+ characters
    with a letter.
    """
    if _LETTER.search(value) is None:
        return False
    return (
        len(value) >= 24
        or _DIGIT.search(value) is not None
        or _CREDENTIAL_SYMBOL.search(value) is not None
        or (_INNER_UPPER.search(value) is not None and _LOWER.search(value) is not None)
    )


_LETTER = re.compile(r"[^\W\d_]")
_DIGIT = re.compile(r"\d")
_LOWER = re.compile(r"[a-z]")
_INNER_UPPER = re.compile(r"(?<=.)[A-Z]", re.DOTALL)
_CREDENTIAL_SYMBOL = re.compile(r"[+/=!@#$%^&*~?]")


class ProviderKeyRecognizer(_LeanPatterns, PatternRecognizer):
    """Provider API keys and tokens by their published prefixes and shapes.

    The prefixes are distinctive and case-sensitive, so most patterns have no left word boundary:
    a key glued to URL encoding (``%20``, ``%3D``) or to an escape is still found.
    """

    PATTERNS = [
        Pattern("anthropic", r"sk-ant-[A-Za-z0-9_\-]{20,}", 1.0),
        Pattern(
            "openai project/service", r"sk-(?:proj|svcacct|admin|None)-[A-Za-z0-9_\-]{20,}", 1.0
        ),
        Pattern(
            "aws access key id",
            r"(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[0-9A-Z]{16}(?![0-9A-Z])",
            1.0,
        ),
        Pattern("github", r"(?<![A-Za-z0-9])gh[pousr]_[A-Za-z0-9]{30,}", 1.0),
        Pattern("github fine-grained", r"github_pat_[A-Za-z0-9_]{30,}", 1.0),
        Pattern("gitlab", r"glpat-[A-Za-z0-9_\-]{20,}", 1.0),
        Pattern("google api key", r"AIza[0-9A-Za-z_\-]{30,}", 1.0),
        Pattern("google oauth", r"(?:ya29\.[0-9A-Za-z_\-]{20,}|GOCSPX-[0-9A-Za-z_\-]{20,})", 1.0),
        Pattern("slack", r"(?:xox[abposre]|xapp)-[A-Za-z0-9\-]{10,}", 1.0),
        Pattern(
            "slack webhook",
            r"hooks\.slack\.com/services/T[A-Za-z0-9]+/B[A-Za-z0-9]+/[A-Za-z0-9]+",
            1.0,
        ),
        Pattern("stripe", r"(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}", 1.0),
        Pattern("stripe webhook", r"whsec_[A-Za-z0-9]{20,}", 1.0),
        Pattern("hugging face", r"(?<![A-Za-z0-9])hf_[A-Za-z0-9]{30,}", 1.0),
        Pattern("npm", r"(?<![A-Za-z0-9])npm_[A-Za-z0-9]{36}", 1.0),
        Pattern("pypi", r"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_\-]{20,}", 1.0),
        Pattern("sendgrid", r"SG\.[A-Za-z0-9_\-]{16,}\.[A-Za-z0-9_\-]{16,}", 1.0),
        Pattern(
            "llm providers",
            r"(?<![A-Za-z0-9])(?:gsk_|r8_|xai-|pplx-)[A-Za-z0-9]{20,}",
            1.0,
        ),
        Pattern("digitalocean", r"do[opr]_v1_[a-f0-9]{64}", 1.0),
        Pattern("shopify", r"shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}", 1.0),
    ]
    PATTERN_NEEDLES = {
        "anthropic": ("sk-ant-",),
        "openai project/service": ("sk-proj-", "sk-svcacct-", "sk-admin-", "sk-none-"),
        "aws access key id": (
            "akia",
            "asia",
            "abia",
            "acca",
            "agpa",
            "aida",
            "aroa",
            "aipa",
            "anpa",
            "anva",
            "apka",
        ),
        "github": ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
        "github fine-grained": ("github_pat_",),
        "gitlab": ("glpat-",),
        "google api key": ("aiza",),
        "google oauth": ("ya29.", "gocspx-"),
        "slack": ("xox", "xapp-"),
        "slack webhook": ("hooks.slack",),
        "stripe": ("_live_", "_test_"),
        "stripe webhook": ("whsec_",),
        "hugging face": ("hf_",),
        "npm": ("npm_",),
        "pypi": ("pypi-",),
        "sendgrid": ("sg.",),
        "llm providers": ("gsk_", "r8_", "xai-", "pplx-"),
        "digitalocean": ("_v1_",),
        "shopify": ("shpat_", "shpss_", "shpca_", "shppa_"),
    }
    NEEDLES = tuple(n for needles in PATTERN_NEEDLES.values() for n in needles)

    PREFILTER = "token"

    def __init__(self) -> None:
        super().__init__(
            supported_entity=API_KEY,
            patterns=list(self.PATTERNS),
            global_regex_flags=_CASE_SENSITIVE,
            name="ProviderKeyRecognizer",
        )


class OpenAiCompatibleKeyRecognizer(_LeanPatterns, PatternRecognizer):
    """``sk-…`` keys of OpenAI-compatible providers (OpenRouter, DeepSeek, legacy OpenAI …):
    the prefix is short, so the rest must mix letters and digits (or cases)."""

    PATTERNS = [Pattern("sk- key", r"(?<![A-Za-z0-9])sk-[A-Za-z0-9_\-]{20,}", 0.9)]
    NEEDLES = ("sk-",)

    PREFILTER = "token"

    def __init__(self) -> None:
        super().__init__(
            supported_entity=API_KEY,
            patterns=list(self.PATTERNS),
            global_regex_flags=_CASE_SENSITIVE,
            name="OpenAiCompatibleKeyRecognizer",
        )

    def validate_result(self, pattern_text: str) -> bool | None:
        return None if _has_mixed_shape(pattern_text[3:]) else False


class AwsSecretKeyRecognizer(_LeanPatterns, PatternRecognizer):
    """40-character base64 strings (the shape of an AWS secret access key) next to a word such
    as ``aws``, ``secret`` or an access key id: the shape alone scores below the threshold and
    the context word lifts it. Mixed case plus a digit or ``/``/``+`` is required, so a hex
    digest or a word is never one. On long texts it runs on windows around the context words."""

    PATTERNS = [
        Pattern(
            "aws secret access key shape",
            r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])",
            0.3,
        )
    ]
    CONTEXT = ["aws", "secret", "akia", "asia", "credential"]
    NEEDLES = tuple(CONTEXT)
    WINDOW = (re.compile("aws|secret|akia|asia|credential"), 64, 96)

    PREFILTER = "token"

    def __init__(self) -> None:
        super().__init__(
            supported_entity=API_KEY,
            patterns=list(self.PATTERNS),
            context=list(self.CONTEXT),
            global_regex_flags=_CASE_SENSITIVE,
            name="AwsSecretKeyRecognizer",
        )

    def validate_result(self, pattern_text: str) -> bool | None:
        has_upper = any(c.isupper() for c in pattern_text)
        has_lower = any(c.islower() for c in pattern_text)
        has_other = any(c.isdigit() or c in "/+" for c in pattern_text)
        return None if has_upper and has_lower and has_other else False


def _b64url_json(segment: str) -> object:
    padded = segment + "=" * (-len(segment) % 4)
    return json.loads(base64.urlsafe_b64decode(padded))


_JOSE_HEADER_KEYS = frozenset({"alg", "typ", "enc", "kid", "cty", "zip", "jku", "x5t", "x5u"})


class JwtRecognizer(_LeanPatterns, PatternRecognizer):
    """JSON Web Tokens (JWS and JWE): two to five base64url segments whose first decodes to a
    JSON object with a JOSE header field (``alg``, ``typ``, ``enc``, ``kid`` …).

    Any header and claims length; the signature may be absent (``header.claims`` or
    ``header.claims.``). A sentence period after the token is not part of it.
    """

    PATTERNS = [
        Pattern(
            "jwt",
            r"(?<![A-Za-z_\-/+])(?:eyJ|eyA|ewo|ewk|ew0K)[A-Za-z0-9_\-]{2,}"
            r"\.[A-Za-z0-9_\-]{2,}(?:\.[A-Za-z0-9_\-]+){0,3}",
            0.6,
        )
    ]
    CONTEXT = ["jwt", "token", "bearer", "authorization"]
    NEEDLES = ("eyj", "eya", "ewo", "ewk", "ew0k")

    PREFILTER = "token"

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
        return isinstance(header, dict) and not _JOSE_HEADER_KEYS.isdisjoint(header)


class BearerTokenRecognizer(_LeanPatterns, PatternRecognizer):
    """The credential after an authorization scheme (``Bearer``, ``Token``, ``Basic``) wherever
    it appears: a header line in any casing, ``Bearer%20…`` in a URL, ``bearer=…``."""

    PATTERNS = [
        Pattern(
            "bearer",
            r"(?<![$\w])(?:bearer|token)(?:[ \t]*\r?\n[ \t]+|[ \t]+|%20|\+"
            r"|[ \t]*[:=][ \t]*)\K"
            r"[A-Za-z0-9\-._~+/]{7,}[A-Za-z0-9\-_~+/]=*"
            r"(?:\r?\n[ \t]*[A-Za-z0-9\-._~+/]+=*(?=[\r\n\"'`,;)\]}]|$))*"
            r"(?![A-Za-z0-9\-_~+/=])",
            0.9,
        ),
        Pattern(
            "basic",
            r"\bbasic(?:[ \t]+|%20|\+)\K[A-Za-z0-9+/]{8,}={0,2}(?![A-Za-z0-9+/=])",
            0.9,
        ),
    ]
    CONTEXT = ["authorization", "auth", "header"]
    NEEDLES = ("bearer", "basic", "token")
    WINDOW = (re.compile("bearer|basic|token"), 1, 600)

    def __init__(self) -> None:
        super().__init__(
            supported_entity=BEARER_TOKEN,
            patterns=list(self.PATTERNS),
            context=list(self.CONTEXT),
            global_regex_flags=_FLAGS,
            name="BearerTokenRecognizer",
        )

    def validate_result(self, pattern_text: str) -> bool | None:
        # "token based authentication" is prose; a credential mixes character classes.
        return (
            None if _has_mixed_shape(pattern_text) and not _is_placeholder(pattern_text) else False
        )

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        """Tokens, each with the rest of it when a log or terminal wrapped it onto the next
        lines (``Bearer abc…`` / ``…xyz``)."""
        results = super().analyze(text, entities, nlp_artifacts, regex_flags)
        for result in results:
            breaks = list(_LINE_BREAK.finditer(text, result.start, result.end))
            if not breaks:
                continue
            # The pattern took every following line made only of token characters; keep those
            # that look like a token's rest (not the next line's word).
            end = breaks[0].start()
            for i, line_break in enumerate(breaks):
                stop = breaks[i + 1].start() if i + 1 < len(breaks) else result.end
                tail = text[line_break.end() : stop]
                if not (len(tail) >= 16 or _has_mixed_shape(tail)) or _is_placeholder(tail):
                    break
                end = stop
            result.end = end
        return results


# A line break in a wrapped token, with the next line's indentation (a folded header).
_LINE_BREAK = re.compile(r"\r?\n[ \t]*")


class PrivateKeyRecognizer(_LeanPatterns, PatternRecognizer):
    """PEM, OpenSSH and PGP private key blocks, from the BEGIN line to the END line (or to the
    end of the text when it was cut), also with escaped newlines (``\\n`` inside JSON, as in a
    GCP service-account key file)."""

    PATTERNS = [
        Pattern(
            "pem",
            r"-{3,}\s*BEGIN[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?\s*-{3,}.*?"
            r"(?:-{3,}\s*END[ A-Z0-9]*PRIVATE KEY(?: BLOCK)?\s*-{3,}|\Z)",
            1.0,
        )
    ]
    NEEDLES = ("private key",)
    # A block is one finding; the analyzer blanks it for the recognizers that run after it, so
    # base64 key material is not searched for wallets, phone numbers and card numbers.
    CLAIMS = True

    def __init__(self) -> None:
        super().__init__(
            supported_entity=PRIVATE_KEY,
            patterns=list(self.PATTERNS),
            global_regex_flags=regex.DOTALL,
            name="PrivateKeyRecognizer",
        )


_CODE_WORDS = (
    r"(?:pass[ \t-]?code|pin(?:[ \t-]?(?:code|number|no\.?))?|otp|totp|one[ \t-]time"
    r"(?:[ \t-](?:pass[ \t-]?code|password|code|pin|pw))?|(?:verification|verify"
    r"|confirmation|login|log-in|sign[ \t-]?in|auth(?:entication|orization)?|access|sms|2fa|mfa"
    r"|two[ \t-]factor|backup|recovery|unlock|door|alarm|gate|entry)[ \t-]code"
    r"|bestätigungscode|verifizierungscode|sicherheitscode|code[ \t]+(?:de[ \t]+)?"
    r"(?:vérification|confirmation|sécurité|pin)|código(?:[ \t]+de)?[ \t]+(?:verificación"
    r"|verificação|seguridad|segurança|acceso|acesso|confirmación)|認証コード|验证码|驗證碼)"
)
# ("security code" is not among them: with no card near, it is as often a reference number.)
_CODE_NEEDLES = (
    "code",
    "pin",
    "otp",
    "one-time",
    "one time",
    "コード",
    "验证码",
    "驗證碼",
    "código",
)
_FOUR_DIGITS = re.compile(r"\d\d\d[ \t-]?\d")
# 4-10 digits, optionally in groups ("482 913", "4829-1357").
_CODE_CANDIDATE = re.compile(r"(?<![\w-])(?:\d[ \t-]?){3,9}\d(?![\w-])")
# The code's name right before it ("Passcode ", "my PIN is ", "OTP: ", "- **PIN:** `") ...
_NAME_THEN_CODE = re.compile(
    r"(?<![\w-])" + _CODE_WORDS + r"[*`\"']{0,2}(?:[ \t]*(?:[:=#\uff1a]|is|was|lautet|est|es"
    r"|é|は)[ \t]*|[ \t]+)(?:now[ \t]+|still[ \t]+)?[*`\"' \t]{0,4}$",
    re.IGNORECASE,
)
# ... or right after it (" is your verification code", " is your Slack login code").
_CODE_THEN_NAME = re.compile(
    r"[*`\"']{0,2}[ \t]+(?:is|was)[ \t]+(?:your|the|my|our)[ \t]+(?:[\w-]+[ \t]+)?"
    + _CODE_WORDS
    + r"(?!\w)",
    re.IGNORECASE,
)


class SpokenCredentialRecognizer(_LeanPatterns, PatternRecognizer):
    """Credentials said in a sentence without a key the other recognizers read: PINs,
    passcodes and one-time codes after their name (``Passcode 482913``, ``my PIN is 4821``,
    ``OTP: 739204``, "Ihr Bestätigungscode lautet 4820") or before it ("739204 is your
    verification code"), a password named after it ("use hunter2! as the password") and a
    login pair (``creds: bob/hunter2!``). Reported as ``PASSWORD``."""

    PATTERNS = [
        Pattern(
            "password named after it",
            r"(?<![\w-])(?:use|try|type|enter|it's|its|with)[ \t]+[*`\"']{0,2}\K"
            r"[^\s\"'`]{4,64}?(?=[*`\"']{0,2}[ \t]+as[ \t]+(?:the|my|your|a|our)?[ \t]*"
            r"(?:new[ \t]+|temporary[ \t]+|temp[ \t]+)?(?:password|passcode|passphrase|pw|pwd|pin)\b)",
            0.75,
        ),
        Pattern(
            "login pair",
            r"(?<![\w-])(?:login|log[ \t]+in[ \t]+with|creds|credentials|user/pass(?:word)?|u/p)"
            r"[ \t]*[:=]?[ \t]*[\w.@+\-]{1,64}[ \t]*[/:][ \t]*\K[^\s\"'`/]{4,64}",
            0.75,
        ),
    ]
    PATTERN_NEEDLES = {
        "password named after it": (" as ",),
        "login pair": ("login", "log in", "creds", "credentials", "user/pass", "u/p"),
    }
    NEEDLES = (
        "code",
        "pin",
        "otp",
        "one-time",
        "one time",
        "コード",
        "验证码",
        "驗證碼",
        "código",
        " as ",
        "login",
        "log in",
        "creds",
        "credentials",
        "u/p",
    )
    # On long texts: windows around the words (a code's name, "password", the login words).
    WINDOW = (
        re.compile(
            "pass|pw|pin|otp|code|login|log in|creds|credential|u/p|one.time|コード|验证码|驗證碼|código"
        ),
        100,
        100,
    )

    def __init__(self) -> None:
        super().__init__(
            supported_entity=PASSWORD,
            patterns=list(self.PATTERNS),
            global_regex_flags=_FLAGS,
            name="SpokenCredentialRecognizer",
        )

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        results = super().analyze(text, entities, nlp_artifacts, regex_flags)
        lower = text.lower()
        if not any(n in lower for n in _CODE_NEEDLES) or _FOUR_DIGITS.search(text) is None:
            return results
        # Codes: each digit run, then its name just before or just after it (much cheaper than
        # searching the whole text for every spelling of every name).
        for code in _CODE_CANDIDATE.finditer(text):
            start, end = code.span()
            if (
                _NAME_THEN_CODE.search(text, max(0, start - 48), start) is not None
                or _CODE_THEN_NAME.match(text, end) is not None
            ):
                results.append(RecognizerResult(PASSWORD, start, end, 0.85))
        return results

    def validate_result(self, pattern_text: str) -> bool | None:
        # A named-after password or a login pair's password: a credential's shape, not a word.
        lowered = pattern_text.lower().rstrip(".,;:")
        if _is_placeholder(pattern_text) or lowered in _PROSE_STOPWORDS:
            return False
        return None if _has_mixed_shape(pattern_text) else False


class CliPasswordRecognizer(_LeanPatterns, PatternRecognizer):
    """Passwords given as short CLI flags: ``mysql -pS3cret``, ``sshpass -p 'x'``,
    ``docker login -p x``, ``redis-cli -a x``, ``curl -u user:x``. (Long flags such as
    ``--password=x`` are names, found by :class:`KeyedSecretRecognizer`.)"""

    PATTERNS = [
        Pattern(
            "-p",
            r"\b(?:mysql\w*|mariadb\w*|sshpass|(?:docker|podman|nerdctl)[ \t]+login)\b"
            r"[^\n|;&]{0,160}?[ \t]-p[ \t]*(?:\"\K[^\"\n]{1,200}(?=\")|'\K[^'\n]{1,200}(?=')"
            r"|\K(?![\"'\-])[^\s\"']{1,200})",
            0.9,
        ),
        Pattern(
            "redis -a",
            r"\bredis-cli\b[^\n|;&]{0,160}?[ \t]-a[ \t]+(?:\"\K[^\"\n]{1,200}(?=\")"
            r"|'\K[^'\n]{1,200}(?=')|\K(?![\"'\-])[^\s\"']{1,200})",
            0.9,
        ),
        Pattern(
            "curl -u",
            r"\bcurl\b[^\n|;&]{0,200}?[ \t](?:-u|--user)[ \t]*[\"']?[^\s:\"']+:\K[^\s\"']{1,200}",
            0.9,
        ),
    ]
    NEEDLES = ("mysql", "mariadb", "sshpass", "login", "redis-cli", "curl")

    def __init__(self) -> None:
        super().__init__(
            supported_entity=PASSWORD,
            patterns=list(self.PATTERNS),
            global_regex_flags=_CASE_SENSITIVE,
            name="CliPasswordRecognizer",
        )

    def invalidate_result(self, pattern_text: str) -> bool:
        return _is_placeholder(pattern_text)


class ConnectionStringRecognizer(_LeanPatterns, PatternRecognizer):
    """Credentials in connection strings: ``scheme://user:password@host/…`` (the user may be
    empty, as in ``redis://:password@host``) and ``Server=…;Password=…;``."""

    PATTERNS = [
        Pattern(
            "url with userinfo",
            r"\b[a-z][a-z0-9+.\-]{1,20}://[^\s:/@\"'\\]*:[^\s@/\"'\\]+@[^\s/?#\"'\\]+"
            r"[^\s\"'\\]*",
            1.0,
        ),
        Pattern(
            "key-value",
            r"\b(?:server|host|data source)=[^;\n]+;(?:[^;\n]*;)*?\s*(?:password|pwd)=[^;\n]+;?",
            1.0,
        ),
    ]
    NEEDLES = ("://", "password=", "pwd=")

    def __init__(self) -> None:
        super().__init__(
            supported_entity=CONNECTION_STRING,
            patterns=list(self.PATTERNS),
            global_regex_flags=_FLAGS,
            name="ConnectionStringRecognizer",
        )


_PLACEHOLDER_WORDS = frozenset(
    {
        "null",
        "none",
        "nil",
        "true",
        "false",
        "yes",
        "no",
        "required",
        "optional",
        "string",
        "str",
        "hidden",
        "redacted",
        "undefined",
        "empty",
        "n/a",
        "na",
        "tbd",
        "todo",
        "example",
        "password",
        "secret",
        "token",
        "...",
        "…",
    }
)
_PLACEHOLDER_PREFIXES = (
    "${",
    "{{",
    "$(",
    "os.environ",
    "os.getenv",
    "process.env",
    "env(",
    "env.",
    "getenv",
    "secrets.",
    "vault:",
    "!vault",
    "[redacted",
)
# "YOUR_API_KEY", "my-token-here": a template name, unless it carries digits like a real value.
_TEMPLATE_PREFIXES = ("your", "insert", "enter", "replace")
_TEMPLATE_WORDS = ("key", "token", "secret", "pass", "pwd", "here", "value", "credential", "auth")
_MASKED = re.compile(r"[*xX•●.\-_#]+")
_ENV_REFERENCE = re.compile(r"\$[A-Z][A-Z0-9_]*|%[A-Z][A-Z0-9_]*%")
# "<token>", "<your key here>", "%(password)s", "%s", "{password}": templates, not values.
_TEMPLATE_REFERENCE = re.compile(r"<[^<>]{1,60}>|%\(\w+\)[sdrf]|%[sd]|\{\w*\}")


def _is_placeholder(value: str) -> bool:
    """Templates, references, masks and our own markers are not secrets."""
    stripped = value.strip("()[]{}\"'` ")
    lowered = stripped.lower()
    return (
        not stripped
        or lowered in _PLACEHOLDER_WORDS
        or lowered.startswith(_PLACEHOLDER_PREFIXES)
        or (
            lowered.startswith(_TEMPLATE_PREFIXES)
            and any(w in lowered for w in _TEMPLATE_WORDS)
            and not any(c.isdigit() for c in lowered)
        )
        or "placeholder" in lowered
        or _MASKED.fullmatch(stripped) is not None
        or _ENV_REFERENCE.fullmatch(stripped) is not None
        or _TEMPLATE_REFERENCE.fullmatch(value.strip()) is not None
    )


# Words that follow "password is …" in prose about passwords rather than in a disclosure.
_PROSE_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "the",
        "not",
        "no",
        "too",
        "very",
        "so",
        "now",
        "still",
        "also",
        "being",
        "been",
        "be",
        "set",
        "reset",
        "changed",
        "expired",
        "required",
        "optional",
        "correct",
        "incorrect",
        "wrong",
        "invalid",
        "valid",
        "weak",
        "strong",
        "short",
        "long",
        "empty",
        "blank",
        "missing",
        "stored",
        "saved",
        "sent",
        "encrypted",
        "hashed",
        "hidden",
        "shown",
        "case",
        "same",
        "different",
        "unique",
        "secure",
        "insecure",
        "safe",
        "unsafe",
        "easy",
        "hard",
        "simple",
        "complex",
        "known",
        "unknown",
        "default",
        "temporary",
        "mandatory",
        "needed",
        "necessary",
        "important",
        "sensitive",
        "case-sensitive",
        "protected",
        "private",
        "public",
        "stolen",
        "leaked",
        "compromised",
        "visible",
        "displayed",
        "masked",
        "the",
        "only",
        "just",
        "what",
        "which",
        "that",
        "this",
        "it",
        "its",
        "my",
        "your",
        "our",
        "their",
        "his",
        "her",
        "in",
        "on",
        "at",
        "of",
        "for",
        "to",
        "and",
        "or",
        "but",
        "if",
        "as",
        "by",
        "with",
        "from",
        "into",
        "incorrectly",
        "please",
        "needs",
        "must",
        "should",
        "can",
        "will",
        "would",
        "could",
        "may",
        "might",
        "has",
        "have",
        "had",
        "does",
        "did",
        "do",
        "is",
        "was",
        "are",
        "were",
        "changing",
        "updated",
        "locked",
        "unlocked",
        "enabled",
        "disabled",
        "ok",
        "okay",
        "fine",
        "good",
        "bad",
        "great",
        "nice",
        "generated",
        "provided",
        "given",
        "shared",
        "known",
        "reused",
        "used",
    ]
)


# Anchors of names that can hold a secret; the name around each is then judged by
# secret_key_entity (so "passenger", "author" and "max_tokens" are dropped there).
_ANCHOR_WORDS = (
    r"pass|pwd|pw|pswd|kennwort|wachtwoord|contrase|senha|has[łl]o|l[öo]senord|salasana|"
    r"пароль|パスワード|密[码碼]|mdp|secret|token|key|credential|auth|bearer|cookie"
)
_ANCHOR = re.compile(_ANCHOR_WORDS)  # searched in the lower-cased text: much faster
_ANCHOR_ANY_CASE = re.compile(_ANCHOR_WORDS, re.IGNORECASE)
# Words a spoken name starts with, before the anchor: "API key", "secret access key".
_NAME_HEAD = re.compile(
    r"(?:(?<![\w-])(?:api|access|secret|private|auth|authentication|client|account|aws|signing|"
    r"master|subscription|license|app|service|webhook|admin|session|refresh|personal)[ \t]+)+$",
    re.IGNORECASE,
)
# Words a spoken name continues with: "secret access key", "API key", "auth token".
_NAME_TAIL = re.compile(
    r"(?:[ \t]+(?:access|secret|api|auth|private|key|keys|token|code|phrase|word))+",
    re.IGNORECASE,
)
_KEY_VALUE_SEPARATOR = re.compile(
    r"""[ \t]?(?:\\*["'`])?\*{0,2}
    (?:
        (?P<assign>[ \t]*(?::=|=>|->|=(?!=)|:|\uff1a|\|)[ \t]*)
      | (?P<dash>[ \t]+[-\u2013\u2014][ \t]+)
      | (?P<prose>(?:[ \t]+(?:(?:for|of|on|to|de|für|pour|para|per|voor|del|do|da)
            (?:[ \t]+[^\s:=\uff1a.,;]{1,30}){1,3}[ \t]+)?
            (?:is|was|are|ist|lautet|war|est|était|es|era|é|è|är|jest|to|wordt|está
              |(?:will|would|should|shall|must|can)[ \t]+be
              |(?:has|have|had)[ \t]+been[ \t]+(?:re)?(?:set|changed|updated)[ \t]+to
              |(?:re)?set[ \t]+to|changed[ \t]+to)(?!\w)
          | ['\u2019]s
          | [ \t]+(?:for|of|on|to|für|pour|para|per|voor)(?:[ \t]+[^\s:=\uff1a.,;]{1,30}){1,3}
            [ \t]*(?=[:=\uff1a]))
            [ \t]*[:=\uff1a]?[ \t]*
            (?:now[ \t]+|still[ \t]+|(?:re)?set[ \t]+to[ \t]+|changed[ \t]+to[ \t]+)?)
      | (?P<cjk>[ \t]*(?:は|是|为|為|\uff1a)[ \t]*)
      | (?P<space>[ \t]+)
    )
    \*{0,2}[ \t]*""",
    re.VERBOSE | re.IGNORECASE,
)
_SCHEME = re.compile(
    r"(?:bearer|basic|token|digest|negotiate|ntlm|apikey|api-key|key|sso-key|hmac|dpop|"
    r"aws4-hmac-sha256|otp|mac)(?:[ \t]+|%20|\+)",
    re.IGNORECASE,
)
_LINE_SCHEMES = ("digest", "aws4", "hmac", "negotiate", "ntlm")
_BARE_VALUE = re.compile(r"(?:[^\s\"'`,;<>&\\]|&(?![\w.\-]+=)){1,256}")
_KEY_CHAR_EXTRA = frozenset("_.-")
_MAX_QUOTED = 4096


def _is_key_char(c: str) -> bool:
    # Letters of any alphabet except CJK and kana, which write a sentence without spaces.
    return (c.isalnum() and ord(c) < 0x2E80) or c in _KEY_CHAR_EXTRA


class KeyedSecretRecognizer(EntityRecognizer):
    """Values whose *name* says they are secrets, in every syntax a name and a value are written:
    ``key=value``, ``key: value``, ``"key": "value"`` (also escaped, ``\\"key\\": \\"value\\"``),
    YAML, TOML, ``.env``, ``export KEY=…``, HTTP headers (``X-Api-Key: …``,
    ``Authorization: Bearer …``), URL query parameters, CLI flags (``--password x``,
    ``--api-key=x``), markdown (``**Password:** x``, table cells), XML elements
    (``<password>x</password>``) and prose ("my password is …",
    "the API key for staging is …", "mein Passwort ist …", "パスワードは…").

    The name is judged by :func:`secret_key_entity` (``userPassword``, ``DB_PASS``,
    ``SecretAccessKey``, ``x-api-key`` in any casing); the value must not be a placeholder
    (``${X}``, ``<token>``, ``****``, ``null``) and, when the name is a token/key rather than a
    password or the sentence is prose, must look like a credential.
    """

    SCORES = {"assign": 0.9, "space": 0.85, "cjk": 0.85, "prose": 0.75, "dash": 0.75}
    NEEDLES = (
        "pass",
        "pwd",
        "pw",
        "kennwort",
        "wachtwoord",
        "contrase",
        "senha",
        "hasło",
        "haslo",
        "lösenord",
        "losenord",
        "salasana",
        "пароль",
        "パスワード",
        "密码",
        "密碼",
        "mdp",
        "secret",
        "token",
        "key",
        "credential",
        "auth",
        "bearer",
        "cookie",
    )

    # Runs before claimed blocks are blanked: a credentials value can hold a whole key block.
    UNBLANKED = True

    def __init__(self, entities: Sequence[str] = (PASSWORD, API_KEY, BEARER_TOKEN)) -> None:
        super().__init__(supported_entities=list(entities), name="KeyedSecretRecognizer")

    def load(self) -> None:
        """Nothing to load: the patterns are module-level."""

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        wanted = set(entities) & set(self.supported_entities)
        out: list[RecognizerResult] = []
        position = 0
        size = len(text)
        lower = text.lower()
        anchors = _ANCHOR
        if len(lower) != size:  # a few characters lower-case to two; keep offsets exact
            lower, anchors = text, _ANCHOR_ANY_CASE
        while position < size:
            anchor = anchors.search(lower, position)
            if anchor is None:
                break
            start, end = anchor.span()
            while start > 0 and _is_key_char(text[start - 1]):
                start -= 1
            while end < size and _is_key_char(text[end]):
                end += 1
            while end > start and text[end - 1] in ".-":
                end -= 1
            if start > 0 and text[start - 1] in " \t" and text[start] != "-":
                head = _NAME_HEAD.search(text, max(0, start - 60), start)
                if head is not None:
                    start = head.start()
            tail = _NAME_TAIL.match(text, end)
            if tail is not None:
                end = tail.end()
            position = max(end, anchor.end())
            entity = secret_key_entity(text[start:end])
            if entity is None or entity not in wanted:
                continue
            if start > 0 and text[start - 1] == "<" and text.startswith(">", end):
                found = _element_value(text, end + 1)  # <password>…</password>
            else:
                found = self._value(text, text[start:end], end, entity)
            if found is not None:
                v_start, v_end, score = found
                out.append(RecognizerResult(entity, v_start, v_end, score))
                position = max(position, v_end)
        return out

    def _value(self, text: str, key: str, pos: int, entity: str) -> tuple[int, int, float] | None:
        sep = _KEY_VALUE_SEPARATOR.match(text, pos)
        if sep is None:
            return None
        kind = sep.lastgroup or "space"
        is_flag = key.startswith("-")
        start = sep.end()
        if start >= len(text):
            return None
        line_mode = False
        if entity == BEARER_TOKEN:
            scheme = _SCHEME.match(text, start)
            if scheme is not None:
                line_mode = scheme.group().lower().startswith(_LINE_SCHEMES)
                start = scheme.end()
            line_mode = line_mode or "cookie" in key.lower()
        span = _quoted(text, start)
        quoted = span is not None
        if span is None:
            if kind == "space" and not is_flag and not _spaced_password(text, start, entity):
                # "password reset": a value after a bare space must be quoted, or be a
                # password's shape ("pw hunter2!", "temp password Xk9#mQ2p").
                return None
            if text[start] in "{[":
                return None  # a structure, walked elsewhere
            if line_mode:
                stop = len(text)
                for ch in ("\n", '"', "'", "\\"):
                    i = text.find(ch, start, stop)
                    if i != -1:
                        stop = i
                span = (start, min(stop, start + _MAX_QUOTED))
            else:
                bare = _BARE_VALUE.match(text, start)
                if bare is None:
                    return None
                span = _trim_bare(
                    text,
                    *bare.span(),
                    sentence=kind in ("prose", "dash", "space"),
                    keep=_PASSWORD_TAIL if entity == PASSWORD else "",
                )
                if entity == PASSWORD and kind == "assign":
                    span = (span[0], _passphrase_end(text, span[1]))
        v_start, v_end = span
        while v_start < v_end and text[v_start].isspace():
            v_start += 1
        while v_end > v_start and text[v_end - 1].isspace():
            v_end -= 1
        value = text[v_start:v_end]
        if entity == BEARER_TOKEN and quoted:
            scheme = _SCHEME.match(value)
            if scheme is not None:
                v_start += scheme.end()
                value = value[scheme.end() :]
        if not value or _is_placeholder(value):
            return None
        if not quoted and _CODE_REFERENCE.fullmatch(value) is not None:
            return None  # password = getpass(), token: Optional[str], key = settings.API_KEY
        if not self._plausible(value, entity, kind, quoted, key):
            return None
        return v_start, v_end, self.SCORES.get(kind, 0.85)

    @staticmethod
    def _plausible(value: str, entity: str, kind: str, quoted: bool, key: str) -> bool:
        lowered = value.lower()
        if kind in ("prose", "dash") and not quoted:
            if lowered.rstrip(".,!?") in _PROSE_STOPWORDS:
                return False
            if entity == PASSWORD and value.isalpha() and value.islower():
                # "my password is sunshine" is a disclosure; "… is expired" is not.
                return len(value) >= 4 and not lowered.endswith(("ed", "ly", "ing", "ble"))
        if entity == PASSWORD:
            # "Pass: 12  Fail: 0" in a test report is a count, not a password.
            return not (key.lower() == "pass" and value.isdigit() and len(value) < 6)
        return len(value) >= 8 and _has_mixed_shape(value)


def _element_value(text: str, body: int) -> tuple[int, int, float] | None:
    """The text of an XML/HTML element whose tag names a secret, up to its closing tag."""
    close = text.find("</", body, body + 256)
    value = text[body:close].strip() if close > body else ""
    if not value or "<" in value or "\n" in value or _is_placeholder(value):
        return None
    start = text.index(value, body)
    return start, start + len(value), 0.9


def _quoted(text: str, start: int) -> tuple[int, int] | None:
    """The inside of a quoted value at ``start`` (``"x"``, ``'x'``, ``\\"x\\"``, ``\\\\\\"x``…)."""
    i = start
    while i < len(text) and text[i] == "\\":
        i += 1
    if i >= len(text) or text[i] not in "\"'`":
        return None
    quote = text[i]
    opener = text[start : i + 1]
    body = i + 1
    limit = min(len(text), body + _MAX_QUOTED)
    if opener == quote:
        j = body
        while j < limit:
            c = text[j]
            if c == "\\":
                j += 2
                continue
            if c == quote:
                return (body, j) if j > body else None
            if c == "\n":
                return None
            j += 1
        return None
    close = text.find(opener, body, limit)
    if close <= body or "\n" in text[body:close]:
        return None
    return body, close


# Unquoted values that are code, not data: an empty call, a call or subscript cut at its quote
# (``getpass()``, ``request.form[``), a one-name argument (``Optional[str]``), or an attribute
# of a configuration object (``settings.DB_PASSWORD``, ``process.env.API_KEY``).
_CODE_REFERENCE = re.compile(
    r"[A-Za-z_][\w.]*(?:\(\)|[(\[]|\[[A-Za-z_][\w.]*\]|\([A-Za-z_][\w.]*\))"
    r"|(?:self|cls|settings|config|conf|cfg|os|process|env|request|args|opts|options|params"
    r"|secrets|vault|app|ctx|context)(?:\.[A-Za-z_]\w*)+"
)
# Punctuation a password ends with as often as a sentence does ("my password is hunter2!"):
# kept in the value, so the whole password goes even when it ends the sentence.
_PASSWORD_TAIL = "!?"
# A password written after its name and a bare space ("pw hunter2!", "pwd Xk9#mQ2p"): 6+
# characters mixing letters with digits or symbols, not a flag, path, URL or file name.
_SPACED_PASSWORD = re.compile(
    r"(?=[^\s]*[^\W\d_])(?=[^\s]*[\d!@#$%^&*+=?~])(?![-/.])[^\s/\\\"'`<>]{6,64}(?=[\s.,;)]|$)"
)
_FILE_LIKE = re.compile(r"[\w-]+\.[a-z]{2,4}", re.IGNORECASE)


def _spaced_password(text: str, start: int, entity: str) -> bool:
    if entity != PASSWORD:
        return False
    match = _SPACED_PASSWORD.match(text, start)
    return match is not None and _FILE_LIKE.fullmatch(match.group()) is None


# "wifi password: purple monkey dishwasher": a few plain words up to the end of the line.
_PASSPHRASE_TAIL = re.compile(r"(?:[ \t]+[^\W_]{2,24}){1,4}[ \t]*(?=\n|\r|\\n|$)")


def _passphrase_end(text: str, end: int) -> int:
    """Where a password written without quotes ends: its first word, or the rest of the line
    when that is at most four more plain words (a passphrase)."""
    tail = _PASSPHRASE_TAIL.match(text, end, min(len(text), end + 128))
    return tail.end() if tail is not None else end


def _trim_bare(
    text: str, start: int, end: int, *, sentence: bool, keep: str = ""
) -> tuple[int, int]:
    """A bare value without the closing bracket and the period or comma after it (in a
    sentence, without any closing punctuation but the characters in ``keep``)."""
    trailing = "".join(c for c in (".,:!?" if sentence else ".,") if c not in keep)
    while end - start > 1 and text[end - 1] in trailing:
        end -= 1
    for opener, closer in (("(", ")"), ("[", "]"), ("{", "}")):
        while end - start > 1 and text[end - 1] == closer and opener not in text[start:end]:
            end -= 1
    return start, end


def build_recognizers(
    entities: Iterable[str], phone_regions: Sequence[str] = DEFAULT_PHONE_REGIONS
) -> list[EntityRecognizer]:
    """The recognizers for ``entities``; unknown entity names raise ``ValueError``."""
    factories: dict[str, Callable[[], list[EntityRecognizer]]] = {
        EMAIL_ADDRESS: lambda: [LlmotelEmailRecognizer()],
        PHONE_NUMBER: lambda: [LlmotelPhoneRecognizer(phone_regions)],
        CREDIT_CARD: lambda: [LlmotelCreditCardRecognizer(), CardSecurityCodeRecognizer()],
        IBAN_CODE: lambda: [IbanRecognizer()],
        US_SSN: lambda: [LlmotelUsSsnRecognizer()],
        IP_ADDRESS: lambda: [LlmotelIpRecognizer()],
        CRYPTO: lambda: [LlmotelCryptoRecognizer()],
        API_KEY: lambda: [
            ProviderKeyRecognizer(),
            OpenAiCompatibleKeyRecognizer(),
            AwsSecretKeyRecognizer(),
        ],
        JWT: lambda: [JwtRecognizer()],
        BEARER_TOKEN: lambda: [BearerTokenRecognizer()],
        PRIVATE_KEY: lambda: [PrivateKeyRecognizer()],
        PASSWORD: lambda: [CliPasswordRecognizer(), SpokenCredentialRecognizer()],
        CONNECTION_STRING: lambda: [ConnectionStringRecognizer()],
        MAC_ADDRESS: lambda: [MacAddressRecognizer()],
        URL: lambda: [UrlRecognizer()],
    }
    wanted = list(dict.fromkeys(entities))
    for entity in wanted:
        if entity not in factories:
            raise ValueError(
                f"unknown entity type {entity!r}; known: {', '.join(sorted(factories))}"
            )
    out: list[EntityRecognizer] = []
    for entity in wanted:
        out.extend(factories[entity]())
    keyed = [e for e in wanted if e in _KEYED_ENTITIES]
    if keyed:
        out.append(KeyedSecretRecognizer(keyed))
    return out


_KEYED_ENTITIES = (PASSWORD, API_KEY, BEARER_TOKEN)
