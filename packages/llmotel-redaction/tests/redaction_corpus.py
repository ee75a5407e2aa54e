"""A seeded, generated PII corpus: planted values with their entity types, and PII-free records.

Used by the recall/over-redaction test and by ``benchmarks/bench_redaction.py``. Every planted
value is a *valid* instance of its type (Luhn-checked cards, mod-97 IBANs, phone numbers that
libphonenumber validates), placed in prose, in tool-call JSON inside ``gen_ai.input.messages``, in
exception messages and in 20-50 KB documents.
"""

from __future__ import annotations

import base64
import json
import random
import string
from dataclasses import dataclass, field

import phonenumbers
from faker import Faker

# Targets per type: (name, recall target).
TARGETS: dict[str, float] = {
    "EMAIL_ADDRESS": 0.99,
    "US_PHONE": 0.99,
    "INTL_PHONE": 0.90,
    "CREDIT_CARD": 0.99,
    "MASTERCARD_2_SERIES": 0.99,
    "IBAN_CODE": 0.99,
    "IBAN_GROUPED": 0.99,
    "US_SSN": 0.99,
    "IPV4": 0.99,
    "IPV6": 0.99,
    "API_KEY": 0.99,
    "JWT": 0.99,
    "BEARER_TOKEN": 0.99,
    "PASSWORD": 0.99,
    "ACCESS_CODE": 0.99,
    "CARD_SECURITY_CODE": 0.99,
}


@dataclass
class Record:
    """One span-sized (or document-sized) attribute value with the PII planted in it."""

    key: str
    value: str
    planted: list[tuple[str, str]] = field(default_factory=list)  # (kind, value)


_US_AREA = ["212", "213", "312", "415", "510", "617", "646", "702", "713", "206", "303", "404",
            "503", "512", "602", "718", "818", "917", "305", "202"]  # fmt: skip
_INTL_LOCALES = ["en_GB", "de_DE", "fr_FR", "it_IT", "es_ES", "nl_NL", "en_AU", "pt_BR", "en_IN",
                 "ja_JP", "pl_PL", "sv_SE"]  # fmt: skip
_B64URL = string.ascii_letters + string.digits + "-_"
_ALNUM = string.ascii_letters + string.digits


class Generator:
    """Makes planted values and records; everything derives from ``seed``."""

    def __init__(self, seed: int = 1234) -> None:
        self.rng = random.Random(seed)
        self.fake = Faker("en_US")
        self.fake.seed_instance(seed)
        self.locales = {loc: Faker(loc) for loc in _INTL_LOCALES}
        for i, f in enumerate(self.locales.values()):
            f.seed_instance(seed + i + 1)

    def _rand(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    # -- values --------------------------------------------------------------------------------

    def us_phone(self) -> str:
        area = self.rng.choice(_US_AREA)
        exchange = f"{self.rng.randint(2, 9)}{self.rng.randint(0, 9)}{self.rng.randint(2, 9)}"
        line = f"{self.rng.randint(0, 9999):04d}"
        fmt = self.rng.choice(
            [
                "({a}) {e}-{l}",
                "{a}-{e}-{l}",
                "{a}.{e}.{l}",
                "+1 {a} {e} {l}",
                "+1-{a}-{e}-{l}",
                "1-{a}-{e}-{l}",
                "+1{a}{e}{l}",
                "{a} {e} {l}",
            ]
        )
        return fmt.format(a=area, e=exchange, l=line)

    def intl_phone(self) -> str:
        while True:
            loc = self.rng.choice(_INTL_LOCALES)
            raw = self.locales[loc].phone_number()
            region = loc.split("_")[1]
            try:
                number = phonenumbers.parse(raw, region)
            except phonenumbers.NumberParseException:
                continue
            if not phonenumbers.is_valid_number(number):
                continue
            style = self.rng.choice(
                [phonenumbers.PhoneNumberFormat.INTERNATIONAL, phonenumbers.PhoneNumberFormat.E164]
            )
            return phonenumbers.format_number(number, style)

    def card(self) -> str:
        kind = self.rng.choice(["visa", "mastercard", "amex", "discover"])
        number = self.fake.credit_card_number(card_type=kind)
        return self._group(number, 4) if self.rng.random() < 0.5 else number

    def mastercard_2_series(self) -> str:
        prefix = str(self.rng.randint(2221, 2720))
        body = prefix + self._rand(string.digits, 11)
        number = body + _luhn_digit(body)
        return self._group(number, 4) if self.rng.random() < 0.5 else number

    def iban(self, grouped: bool) -> str:
        loc = self.rng.choice(["de_DE", "en_GB", "fr_FR", "nl_NL", "es_ES", "it_IT", "pl_PL"])
        value = self.locales[loc].iban()
        return self._group(value, 4) if grouped else value

    def ssn(self) -> str:
        return self.fake.ssn()

    def ipv4(self) -> str:
        return self.fake.ipv4_public() if self.rng.random() < 0.7 else self.fake.ipv4_private()

    def ipv6(self) -> str:
        import ipaddress

        addr = self.fake.ipv6()
        return str(ipaddress.IPv6Address(addr)) if self.rng.random() < 0.5 else addr

    def api_key(self) -> str:
        kind = self.rng.randrange(8)
        if kind == 0:
            return "sk-proj-" + self._rand(_ALNUM + "_-", 48)
        if kind == 1:
            return "sk-ant-api03-" + self._rand(_ALNUM + "_-", 93) + "AA"
        if kind == 2:
            return "AKIA" + self._rand(string.ascii_uppercase + string.digits, 16)
        if kind == 3:
            return "ghp_" + self._rand(_ALNUM, 36)
        if kind == 4:
            return "AIza" + self._rand(_ALNUM + "_-", 35)
        if kind == 5:
            return (
                f"xoxb-{self.rng.randint(10**10, 10**11)}-{self.rng.randint(10**10, 10**11)}-"
                + self._rand(_ALNUM, 24)
            )
        if kind == 6:
            return "sk_live_" + self._rand(_ALNUM, 24)
        return "github_pat_" + self._rand(_ALNUM, 22) + "_" + self._rand(_ALNUM, 59)

    def jwt(self) -> str:
        def enc(obj: object) -> str:
            return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

        header = {"alg": self.rng.choice(["HS256", "RS256", "ES256"]), "typ": "JWT"}
        payload = {"sub": str(self.rng.randint(1, 10**9)), "name": self.fake.name(),
                   "iat": self.rng.randint(1_600_000_000, 1_800_000_000)}  # fmt: skip
        return f"{enc(header)}.{enc(payload)}.{self._rand(_B64URL, 43)}"

    def bearer(self) -> str:
        return self._rand(_ALNUM + "-._~", self.rng.randint(24, 64))

    def password(self) -> str:
        return self.fake.password(length=self.rng.randint(8, 20), special_chars=True)

    @staticmethod
    def _group(value: str, n: int) -> str:
        return " ".join(value[i : i + n] for i in range(0, len(value), n))

    # -- planting ------------------------------------------------------------------------------

    def planted(self) -> tuple[str, str, str]:
        """(kind, value, sentence holding it)."""
        kind = self.rng.choice(list(TARGETS))
        s = self.fake.sentence(nb_words=8)
        if kind == "EMAIL_ADDRESS":
            v = self.rng.choice([self.fake.email, self.fake.company_email, self.fake.free_email])()
            return kind, v, f"{s} You can reach me at {v} any time."
        if kind == "US_PHONE":
            v = self.us_phone()
            return kind, v, f"{s} My number is {v}, call after 5."
        if kind == "INTL_PHONE":
            v = self.intl_phone()
            return kind, v, f"{s} Our office line: {v}."
        if kind == "CREDIT_CARD":
            v = self.card()
            return kind, v, f"{s} Charge it to {v} please."
        if kind == "MASTERCARD_2_SERIES":
            v = self.mastercard_2_series()
            return kind, v, f"{s} Use the card {v} for the refund."
        if kind == "IBAN_CODE":
            v = self.iban(grouped=False)
            return kind, v, f"{s} Wire it to {v} by Friday."
        if kind == "IBAN_GROUPED":
            v = self.iban(grouped=True)
            return kind, v, f"{s} Account: {v}."
        if kind == "US_SSN":
            v = self.ssn()
            return kind, v, f"{s} SSN {v} is on file."
        if kind == "IPV4":
            v = self.ipv4()
            return kind, v, f"{s} The request came from {v} yesterday."
        if kind == "IPV6":
            v = self.ipv6()
            return kind, v, f"{s} Client address {v} was blocked."
        if kind == "API_KEY":
            v = self.api_key()
            return kind, v, f"{s} I set it to {v} but it fails."
        if kind == "JWT":
            v = self.jwt()
            return kind, v, f"{s} The session token was {v} when it expired."
        if kind == "BEARER_TOKEN":
            v = self.bearer()
            if self.rng.random() < 0.2:
                # A folded header: the token on the next, indented line.
                return kind, v, f"{s}\nAuthorization: Bearer\n {v}\nAccept: */*"
            return kind, v, f"{s} curl -H 'Authorization: Bearer {v}' https://api.example.com/v1"
        if kind == "ACCESS_CODE":
            v = self._rand(string.digits, self.rng.choice((4, 6, 8)))
            return (
                kind,
                v,
                self.rng.choice(
                    [
                        f"{s} Passcode {v}",
                        f"{s} my PIN is {v}, don't share it.",
                        f"{s} OTP: {v}",
                        f"{s} {v} is your verification code.",
                    ]
                ),
            )
        if kind == "CARD_SECURITY_CODE":
            card = self.card()
            v = self._rand(string.digits, 3)
            while v in card:
                v = self._rand(string.digits, 3)
            expiry = f"{self.rng.randint(1, 12):02d}/{self.rng.randint(27, 31)}"
            return (
                kind,
                v,
                self.rng.choice(
                    [
                        f"{s} Card {card} CVV {v}.",
                        f"{s} Use {card}, exp {expiry}, cvc: {v}.",
                        f"{s} {card} {expiry} {v}",
                    ]
                ),
            )
        v = self.password()
        style = self.rng.randrange(6)
        if style == 0:
            return kind, v, f"{s} password: {v}"
        if style == 1:
            return kind, v, f'{s} config = {{"user": "admin", "password": "{v}"}}'
        if style == 2:
            return kind, v, f"{s} my password is {v}! Thanks."
        if style == 3:
            return kind, v, f"{s} pw: {v}"
        if style == 4:
            return kind, v, f"{s} use {v} as the password"
        return kind, v, f"{s} DB_PASSWORD={v} in the .env file"

    def records(self, n: int) -> list[Record]:
        """``n`` span-sized records: a chat message, a tool call, an exception, rotating."""
        out = []
        for i in range(n):
            shape = i % 3
            if shape == 0:
                items = [self.planted() for _ in range(self.rng.randint(1, 3))]
                text = " ".join(sentence for _, _, sentence in items)
                before = self.fake.paragraph(nb_sentences=3)
                text = f"{before} {text} {self.fake.paragraph(nb_sentences=2)}"
                messages = [
                    {
                        "role": "system",
                        "parts": [{"type": "text", "content": "You are a helpful assistant."}],
                    },
                    {"role": "user", "parts": [{"type": "text", "content": text}]},
                ]
                out.append(
                    Record(
                        "gen_ai.input.messages", json.dumps(messages), [(k, v) for k, v, _ in items]
                    )
                )
            elif shape == 1:
                kind, v, sentence = self.planted()
                args = {
                    "query": sentence,
                    "limit": self.rng.randint(1, 50),
                    "customer": self.fake.user_name(),
                }
                messages = [{"role": "assistant", "parts": [
                    {"type": "text", "content": "Let me look that up."},
                    {"type": "tool_call", "id": f"call_{self._rand(_ALNUM, 24)}",
                     "name": "search_tickets",
                     "arguments": json.dumps(args)},
                ], "finish_reason": "tool_call"}]  # fmt: skip
                out.append(Record("gen_ai.output.messages", json.dumps(messages), [(kind, v)]))
            else:
                kind, v, sentence = self.planted()
                out.append(
                    Record(
                        "exception.message",
                        f"ValueError: could not process request: {sentence}",
                        [(kind, v)],
                    )
                )
        return out

    def document(self, size: int) -> Record:
        """One plain-text document of about ``size`` characters with PII every ~1 KB."""
        parts: list[str] = []
        planted: list[tuple[str, str]] = []
        length = 0
        while length < size:
            para = self.fake.paragraph(nb_sentences=8)
            kind, v, sentence = self.planted()
            planted.append((kind, v))
            chunk = f"{para} {sentence}\n\n"
            parts.append(chunk)
            length += len(chunk)
        return Record("gen_ai.retrieval.documents", "".join(parts), planted)

    def clean_records(self, n: int) -> list[str]:
        """PII-free texts of the kinds LLM telemetry is full of."""
        out = []
        r = self.rng.randint
        hexdigits = "0123456789abcdef"
        for _ in range(n):
            provider = self.rng.choice(["aws.bedrock", "azure.ai.openai", "openai"])
            pieces = [
                self.fake.sentence(nb_words=10),
                f"Usage: input_tokens={r(10, 200000)} output_tokens={r(1, 8000)} "
                f"total={r(100, 300000)} cached 1,{r(100, 999)},{r(100, 999)} tokens.",
                f"Order ORD-{r(2019, 2026)}-{r(0, 999999):06d} and #{r(100000, 99999999)} shipped.",
                f"request id {self.fake.uuid4()} trace {self._rand(hexdigits, 32)}",
                f"Upgrade to version {r(1, 20)}.{r(0, 30)}.{r(0, 99)}.{r(0, 999)} "
                f"or v{r(1, 9)}.{r(0, 20)}.{r(0, 20)} (python 3.12.1, build 10.0.19041.4291).",
                f"at {self.fake.iso8601()} and {self.fake.date_time()} "
                f"({r(1_600_000_000_000, 1_800_000_000_000)} ms); "
                f"due {self.fake.date(pattern='%B %d, %Y')}",
                f"model gpt-4o-2024-08-06 via gcp.vertex_ai on {provider} "
                f"commit {self._rand(hexdigits, 40)}",
                "def total(items):\n"
                f"    return sum(i.price * {r(2, 99)} for i in items if i.id != {r(1000, 99999)})",
                f"Price ${r(0, 99)}.{r(0, 9999):04d} per 1K tokens, latency {r(50, 9000)} ms, "
                f"p99 {self.rng.random():.6f}s, temperature 0.{r(0, 9)}",
                f"See https://docs.example.com/guide/{self.fake.slug()}?page={r(1, 40)} "
                "and section 4.2.1.",
            ]
            self.rng.shuffle(pieces)
            out.append(" ".join(pieces[: self.rng.randint(4, len(pieces))]))
        return out


def _luhn_digit(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)
