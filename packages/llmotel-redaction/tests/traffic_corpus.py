"""A second seeded corpus, written against LLM traffic rather than against the recognizers.

Where ``redaction_corpus`` plants one value per sentence in a few fixed templates, this one
varies everything that varies in real traffic: how a value is written (header casing and
separators, ``.env``/YAML/TOML/INI/JSON/CLI/prose, nine languages), and where it sits (a user
text part, tool-call arguments as a JSON string, a tool result object, a text part holding JSON
serialized twice, markdown lists and tables, fenced code blocks, an exception message, the
system instructions, the ``name``/``id`` of a part). Values are valid instances of their type
(Luhn cards, mod-97 IBANs, libphonenumber-valid phones, JWTs with a decodable header) and
secrets have the published shapes of their provider.

A planted value counts as leaked when it, or its JSON-escaped form at any nesting level, is
still in the exported attribute. ``clean_texts`` and ``clean_records`` are PII-free traffic of
the same kinds, full of the words secrets hide behind ("password policy", ``max_tokens``,
``Authorization: Bearer $TOKEN``).
"""

from __future__ import annotations

import base64
import json
import random
import string
from collections.abc import Callable

import phonenumbers
from faker import Faker
from redaction_corpus import Record

# Recall target per planted kind.
TARGETS: dict[str, float] = dict.fromkeys(
    (
        "EMAIL_ADDRESS",
        "PHONE_NUMBER",
        "CREDIT_CARD",
        "IBAN_CODE",
        "US_SSN",
        "IP_ADDRESS",
        "JWT",
        "BEARER_TOKEN",
        "BASIC_AUTH",
        "OPENAI_KEY",
        "ANTHROPIC_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "GOOGLE_API_KEY",
        "GITHUB_TOKEN",
        "SLACK_TOKEN",
        "STRIPE_KEY",
        "API_KEY_HEADER",
        "GCP_SERVICE_ACCOUNT_KEY",
        "PRIVATE_KEY",
        "PASSWORD",
        "CONNECTION_STRING",
        "SECRET_JSON_KEY",
        "PART_NAME_OR_ID",
        "ACCESS_CODE",
        "CARD_SECURITY_CODE",
        "WRAPPED_BEARER_TOKEN",
    ),
    0.99,
)

_ALNUM = string.ascii_letters + string.digits
_B64 = string.ascii_letters + string.digits + "+/"
_B64URL = string.ascii_letters + string.digits + "-_"
_LOCALES = ("en_US", "de_DE", "fr_FR", "es_ES", "pt_BR", "it_IT", "nl_NL", "ja_JP", "pl_PL")
_PHONE_REGIONS = ("US", "GB", "DE", "FR", "IN", "CA", "BR", "AU", "ES", "IT", "NL", "JP", "MX")
_NATIONAL_OK = ("US", "GB", "DE", "FR", "IN", "CA", "BR", "AU")  # the redactor's default regions


def leaked(value: str, out: str) -> bool:
    """Whether ``value`` survives in ``out``, raw or JSON-escaped up to three levels deep."""
    form = value
    for _ in range(4):
        if form in out:
            return True
        form = json.dumps(form, ensure_ascii=False)[1:-1]
    return False


class TrafficGenerator:
    """Planted values in LLM-traffic shapes; everything derives from ``seed``."""

    def __init__(self, seed: int = 7) -> None:
        self.rng = random.Random(seed)
        self.fakers = {loc: Faker(loc) for loc in _LOCALES}
        for i, f in enumerate(self.fakers.values()):
            f.seed_instance(seed * 31 + i)
        self.fake = self.fakers["en_US"]
        self._makers: dict[str, Callable[[], tuple[str, str]]] = {
            "EMAIL_ADDRESS": self._email,
            "PHONE_NUMBER": self._phone,
            "CREDIT_CARD": self._card,
            "IBAN_CODE": self._iban,
            "US_SSN": self._ssn,
            "IP_ADDRESS": self._ip,
            "JWT": self._jwt,
            "BEARER_TOKEN": self._bearer,
            "BASIC_AUTH": self._basic,
            "OPENAI_KEY": self._openai,
            "ANTHROPIC_KEY": self._anthropic,
            "AWS_ACCESS_KEY_ID": self._aws_id,
            "AWS_SECRET_ACCESS_KEY": self._aws_secret,
            "GOOGLE_API_KEY": self._google,
            "GITHUB_TOKEN": self._github,
            "SLACK_TOKEN": self._slack,
            "STRIPE_KEY": self._stripe,
            "API_KEY_HEADER": self._api_key_header,
            "GCP_SERVICE_ACCOUNT_KEY": self._gcp,
            "PRIVATE_KEY": self._pem,
            "PASSWORD": self._password,
            "CONNECTION_STRING": self._connection,
            "ACCESS_CODE": self._access_code,
            "CARD_SECURITY_CODE": self._card_security_code,
            "WRAPPED_BEARER_TOKEN": self._wrapped_bearer,
        }

    # -- helpers -------------------------------------------------------------------------------

    def _pick(self, options: list[str]) -> str:
        return self.rng.choice(options)

    def _rand(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def _case(self, word: str) -> str:
        return self._pick([word, word.lower(), word.upper(), word.title()])

    def _filler(self) -> str:
        loc = self._pick(list(_LOCALES))
        return self.fakers[loc].sentence(nb_words=self.rng.randint(5, 14))

    # -- values: (value that must disappear, sentence or snippet holding it) --------------------

    def _email(self) -> tuple[str, str]:
        f = self.fakers[self._pick(["en_US", "de_DE", "fr_FR", "nl_NL"])]
        user = f.user_name().replace(" ", "")
        value = self._pick(
            [
                f.email(),
                f"{user}+{self._pick(['billing', 'llm', 'test'])}@{f.domain_name()}",
                f"{user}.{self.rng.randint(1, 99)}@mail.{f.domain_name()}",
                f.company_email().upper(),
            ]
        )
        text = self._pick(
            [
                f"Please forward this to {value} asap.",
                f"From: {f.name()} <{value}>",
                f"mailto:{value}",
                f"Contact ({value}) for access.",
                f"Kontakt: {value}",
                f"Écrivez-moi à {value} s'il vous plaît.",
                f"メールは{value}までお願いします。",
            ]
        )
        return value, text

    def _phone(self) -> tuple[str, str]:
        while True:
            region = self._pick(list(_PHONE_REGIONS))
            example = phonenumbers.example_number_for_type(
                region, phonenumbers.PhoneNumberType.MOBILE
            ) or phonenumbers.example_number(region)
            national = str(example.national_number)
            digits = national[:2] + self._rand(string.digits, len(national) - 2)
            number = phonenumbers.parse(f"+{example.country_code}{digits}", None)
            if phonenumbers.is_valid_number(number):
                break
        styles = [phonenumbers.PhoneNumberFormat.INTERNATIONAL, phonenumbers.PhoneNumberFormat.E164]
        if region in _NATIONAL_OK:
            styles.append(phonenumbers.PhoneNumberFormat.NATIONAL)
        value = phonenumbers.format_number(number, self.rng.choice(styles))
        text = self._pick(
            [
                f"Call me on {value} tomorrow.",
                f"Tel.: {value}",
                f"mobile={value}",
                f"Rufen Sie mich unter {value} an.",
                f"Mi número es {value}.",
                f"| phone | {value} |",
                f"電話番号は {value} です。",
            ]
        )
        return value, text

    def _luhn(self, body: str) -> str:
        total = 0
        for i, ch in enumerate(reversed(body)):
            d = int(ch)
            if i % 2 == 0:
                d *= 2
                if d > 9:
                    d -= 9
            total += d
        return body + str((10 - total % 10) % 10)

    def _card(self) -> tuple[str, str]:
        prefix, length = self._pick(
            ["4|16", "51|16", "55|16", "2221|16", "2720|16", "34|15", "37|15", "6011|16"]
        ).split("|")
        number = self._luhn(prefix + self._rand(string.digits, int(length) - len(prefix) - 1))
        sep = self._pick(["", " ", "-", "."])
        if len(number) == 15:
            value = sep.join([number[:4], number[4:10], number[10:]]) if sep else number
        else:
            value = sep.join(number[i : i + 4] for i in range(0, 16, 4))
        text = self._pick(
            [
                f"Card number: {value}, exp 09/27.",
                f"charge {value} for the upgrade",
                f'{{"card": "{value}", "cvc": "***"}}',
                f"Meine Kreditkarte ist {value}.",
                f"- card `{value}`",
            ]
        )
        return value, text

    def _card_security_code(self) -> tuple[str, str]:
        card, _ = self._card()
        amex = len(card.replace(" ", "").replace("-", "").replace(".", "")) == 15
        expiry = f"{self.rng.randint(1, 12):02d}/{self._pick(['27', '28', '29', '2030', '2031'])}"
        name = self._pick(["CVV", "cvv", "CVC", "cvc", "CVV2", "CVC2", "security code", "CID"])
        template = self._pick(
            [
                "Card {card} CVV {code}",
                "card {card} exp {expiry} {name} {code}",
                "{card}, {expiry}, {code}",
                "{card} | {expiry} | {code}",
                "number {card}, expiry {expiry}, {name}: {code}",
                "Visa {card} (exp {expiry}) {name} {code}",
                "Kartennummer {card}, gültig bis {expiry}, CVC {code}",
                "card: {card}\nexp: {expiry}\n{name}: {code}",
                "pay with {card} {expiry} {code} please",
            ]
        )
        while True:
            code = self._rand(string.digits, 4 if amex else 3)
            text = template.format(card=card, expiry=expiry, name=name, code=code)
            if text.count(code) == 1:  # the planted code is not also inside the card or date
                return code, text

    def _access_code(self) -> tuple[str, str]:
        digits = self._rand(string.digits, self.rng.choice((4, 6, 6, 8)))
        if len(digits) == 6 and self.rng.random() < 0.2:
            digits = f"{digits[:3]} {digits[3:]}"
        text = self._pick(
            [
                f"Passcode {digits}",
                f"Your passcode is {digits}.",
                f"PIN {digits}",
                f"my PIN is {digits}",
                f"pin: {digits}",
                f"PIN-Code: {digits}",
                f"OTP: {digits}",
                f"Use OTP {digits} to sign in",
                f"Your one-time code is {digits}",
                f"verification code {digits}",
                f"{digits} is your verification code",
                f"{digits} is your login code",
                f"2FA code: {digits}",
                f"the door code is {digits}",
                f"Ihr Bestätigungscode lautet {digits}",
                f"Votre code de vérification est {digits}",
                f"Tu código de verificación es {digits}",
                f"認証コード: {digits}",
                f"- **PIN:** `{digits}`",
            ]
        )
        return digits, text

    def _wrapped_bearer(self) -> tuple[tuple[str, ...], str]:
        """A token cut by a line break: a folded header (the token on the next, indented line)
        or a log wrapped in the middle of the token; every piece must go."""
        token = self._rand(_ALNUM, self.rng.randint(32, 64)) + self._pick(["", "-x9", "_Q2"])
        cut = self.rng.randint(10, len(token) - 12)
        head, tail = token[:cut], token[cut:]
        header = self._case("Authorization")
        scheme = self._pick(["Bearer", "bearer", "BEARER"])
        indent = self._pick(["", " ", "    ", "\t"])
        folded = self.rng.random() < 0.3
        if folded:
            return (token,), self._pick(
                [
                    f"{header}: {scheme}\r\n {token}",
                    f"{header}: {scheme}\n\t{token}",
                ]
            )
        text = self._pick(
            [
                f"{header}: {scheme} {head}\n{indent}{tail}",
                f"{header}: {scheme} {head}\r\n{indent}{tail}\r\nAccept: */*",
                f"DEBUG send: headers={{'{header}': '{scheme} {head}\n{tail}', 'Accept': '*/*'}}",
                f"curl -H '{header}: {scheme} {head}\n{indent}{tail}' https://api.example.com/v1",
                f"{header}: {scheme} {head}\n{tail}\nHost: api.example.com",
            ]
        )
        return (head, tail), text

    def _iban(self) -> tuple[str, str]:
        country, bban = self._pick(
            [
                ("DE", self._rand(string.digits, 18)),
                ("GB", "NWBK" + self._rand(string.digits, 14)),
                ("FR", self._rand(string.digits, 10) + self._rand(string.digits, 11) + "06"),
                ("NL", "ABNA" + self._rand(string.digits, 10)),
                ("ES", self._rand(string.digits, 20)),
                ("BE", self._rand(string.digits, 12)),
                ("IT", "X" + self._rand(string.digits, 22)),
            ]
        )
        numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
        check = 98 - int(numeric) % 97
        iban = f"{country}{check:02d}{bban}"
        value = (
            " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
            if self.rng.random() < 0.5
            else iban
        )
        text = self._pick(
            [
                f"IBAN: {value}",
                f"Bitte überweisen Sie auf {value}.",
                f"virement sur le compte {value}",
                f'"iban": "{value}"',
            ]
        )
        return value, text

    def _ssn(self) -> tuple[str, str]:
        area = self.rng.choice([a for a in range(1, 900) if a != 666])
        group = self.rng.randint(1, 99)
        serial = self.rng.randint(1, 9999)
        value = f"{area:03d}-{group:02d}-{serial:04d}"
        text = self._pick(
            [
                f"My SSN is {value}.",
                f"ssn={value}",
                f"Social Security Number: {value}",
                f'{{"ssn": "{value}"}}',
                f"SSN\n{value}",
            ]
        )
        return value, text

    def _ip(self) -> tuple[str, str]:
        if self.rng.random() < 0.6:
            value = self.fake.ipv4_public()
        else:
            value = self._pick([self.fake.ipv6(), f"2001:db8::{self.rng.randint(1, 0xFFFF):x}"])
        text = self._pick(
            [
                f"client_ip={value}",
                f"Blocked request from {value}.",
                f"X-Forwarded-For: {value}",
                f"ssh root@{value}",
                f"die IP-Adresse {value} ist gesperrt",
            ]
        )
        return value, text

    def _jwt_value(self) -> str:
        def enc(obj: object, compact: bool) -> str:
            raw = json.dumps(obj, separators=(",", ":") if compact else None)
            return base64.urlsafe_b64encode(raw.encode()).rstrip(b"=").decode()

        compact = self.rng.random() < 0.7
        header: dict[str, object] = {
            "alg": self._pick(["HS256", "RS256", "ES384", "EdDSA", "none"])
        }
        if self.rng.random() < 0.7:
            header["typ"] = "JWT"
        if self.rng.random() < 0.4:
            header["kid"] = self._rand(_ALNUM, self.rng.randint(8, 40))
        claims: dict[str, object] = {}
        for _ in range(self.rng.randint(0, 8)):
            claims[
                self._pick(["sub", "iss", "aud", "scope", "email_verified", "tenant", "exp"])
            ] = self._rand(_ALNUM, self.rng.randint(1, 30))
        signature = self._pick(["", self._rand(_B64URL, 43), self._rand(_B64URL, 86)])
        token = f"{enc(header, compact)}.{enc(claims, compact)}"
        return f"{token}.{signature}" if signature or self.rng.random() < 0.5 else token

    def _jwt(self) -> tuple[str, str]:
        value = self._jwt_value()
        text = self._pick(
            [
                f"Authorization: Bearer {value}",
                f"https://app.example.com/callback?id_token={value}&state=xyz",
                f"token: {value}.",
                f"The token was '{value}'.",
                f'{{"access_token": "{value}", "token_type": "Bearer"}}',
                f"Cookie: session={value}; Path=/",
                f"Here it is: {value}. Does it look expired?",
                f"Das Token {value} ist abgelaufen.",
            ]
        )
        return value, text

    def _bearer(self) -> tuple[str, str]:
        value = self._pick(
            [
                self._rand(_ALNUM, self.rng.randint(20, 64)),
                self._rand(string.hexdigits.lower()[:16], 40),
                self._rand(_ALNUM + "-._~", 32),
            ]
        )
        header = self._case("Authorization")
        scheme = self._pick(["Bearer", "bearer", "BEARER", "Token"])
        text = self._pick(
            [
                f"{header}: {scheme} {value}",
                f"{header}:{scheme} {value}",
                f"curl -H '{header}: {scheme} {value}' https://api.example.com/v1/items",
                f'headers = {{"{header}": "{scheme} {value}"}}',
                f"{header}={scheme}%20{value}",
                f"Proxy-Authorization: {scheme} {value}",
                f"requests.get(url, headers={{'authorization': 'Bearer {value}'}})",
            ]
        )
        return value, text

    def _basic(self) -> tuple[str, str]:
        user = self.fake.user_name()
        creds = f"{user}:{self.fake.password(length=self.rng.randint(8, 16))}"
        value = base64.b64encode(creds.encode()).decode()
        text = self._pick(
            [
                f"Authorization: Basic {value}",
                f"authorization: basic {value}",
                f"-H 'AUTHORIZATION: BASIC {value}'",
                f'{{"Authorization": "Basic {value}"}}',
            ]
        )
        return value, text

    def _openai(self) -> tuple[str, str]:
        value = self._pick(
            [
                "sk-proj-" + self._rand(_ALNUM + "_-", 156),
                "sk-svcacct-" + self._rand(_ALNUM + "_-", 60),
                "sk-" + self._rand(_ALNUM, 48),
            ]
        )
        return value, self._key_sentence(value, "OPENAI_API_KEY")

    def _anthropic(self) -> tuple[str, str]:
        value = self._pick(
            [
                "sk-ant-api03-" + self._rand(_ALNUM + "_-", 93) + "AA",
                "sk-ant-admin01-" + self._rand(_ALNUM + "_-", 93) + "AA",
            ]
        )
        return value, self._key_sentence(value, "ANTHROPIC_API_KEY")

    def _aws_id(self) -> tuple[str, str]:
        value = self._pick(["AKIA", "ASIA"]) + self._rand(string.ascii_uppercase + "234567", 16)
        return value, self._pick(
            [
                f"aws_access_key_id = {value}",
                f'"AccessKeyId": "{value}",',
                f"export AWS_ACCESS_KEY_ID={value}",
                f"the key id {value} belongs to the CI user",
            ]
        )

    def _aws_secret(self) -> tuple[str, str]:
        value = self._rand(_ALNUM, 30)
        value = "".join(
            self._pick([c, c, c, "/", "+"]) if i % 7 == 3 else c for i, c in enumerate(value)
        )
        value = (value + self._rand(_B64, 40))[:40]
        key_id = "AKIA" + self._rand(string.ascii_uppercase + "234567", 16)
        text = self._pick(
            [
                f"aws_secret_access_key={value}",
                f"aws_secret_access_key = {value}",
                f"[default]\naws_access_key_id = {key_id}\naws_secret_access_key = {value}\n",
                f"export AWS_SECRET_ACCESS_KEY={value}",
                f'export AWS_SECRET_ACCESS_KEY="{value}"',
                f'{{"Credentials": {{"AccessKeyId": "ASIA{self._rand("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)}", '
                f'"SecretAccessKey": "{value}", "SessionToken": "{self._rand(_B64, 120)}"}}}}',
                f"My AWS secret key is {value} and the id is {key_id}.",
                f"boto3.client('s3', aws_access_key_id='{key_id}', aws_secret_access_key='{value}')",
                f"AWS_SECRET_ACCESS_KEY: {value}",
                f"here are the aws creds: {key_id} / {value}",
            ]
        )
        return value, text

    def _google(self) -> tuple[str, str]:
        value = "AIza" + self._rand(_ALNUM + "_-", 35)
        return value, self._pick(
            [
                f"https://maps.googleapis.com/maps/api/geocode/json?address=Berlin&key={value}",
                f"GOOGLE_API_KEY={value}",
                f"use the key {value} for Gemini",
                f'genai.configure(api_key="{value}")',
                f"https://generativelanguage.googleapis.com/v1beta/models?key={value}",
            ]
        )

    def _github(self) -> tuple[str, str]:
        value = self._pick(
            [
                "ghp_" + self._rand(_ALNUM, 36),
                "ghp_" + self._rand(string.ascii_letters, 36),
                "gho_" + self._rand(_ALNUM, 36),
                "ghs_" + self._rand(string.ascii_letters, 36),
                "github_pat_" + self._rand(_ALNUM, 22) + "_" + self._rand(_ALNUM, 59),
            ]
        )
        return value, self._pick(
            [
                f"git clone https://{value}@github.com/acme/private.git",
                f"Authorization: token {value}",
                f"GITHUB_TOKEN={value}",
                f"my PAT is {value}",
                f"gh auth login --with-token <<< {value}",
            ]
        )

    def _slack(self) -> tuple[str, str]:
        value = self._pick(
            [
                f"xoxb-{self.rng.randint(10**10, 10**12)}-{self.rng.randint(10**10, 10**12)}-"
                + self._rand(_ALNUM, 24),
                f"xoxp-{self.rng.randint(10**10, 10**12)}-{self.rng.randint(10**10, 10**12)}-"
                + self._rand(_ALNUM, 32),
                f"xapp-1-A{self._rand(string.ascii_uppercase + string.digits, 10)}-"
                f"{self.rng.randint(10**12, 10**13)}-" + self._rand("abcdef0123456789", 64),
            ]
        )
        return value, self._key_sentence(value, "SLACK_BOT_TOKEN")

    def _stripe(self) -> tuple[str, str]:
        value = self._pick(["sk_live_", "rk_live_", "sk_test_"]) + self._rand(
            _ALNUM, self.rng.choice([24, 99])
        )
        return value, self._key_sentence(value, "STRIPE_SECRET_KEY")

    def _api_key_header(self) -> tuple[str, str]:
        value = self._pick(
            [
                self._rand(_ALNUM, 32),
                self._rand("abcdef0123456789", 32),
                f"{self._rand(_ALNUM, 8)}-{self._rand(_ALNUM, 16)}",
            ]
        )
        name = self._pick(
            [
                "X-API-Key",
                "x-api-key",
                "api-key",
                "Ocp-Apim-Subscription-Key",
                "X-Goog-Api-Key",
                "apikey",
            ]
        )
        text = self._pick(
            [
                f"{name}: {value}",
                f'curl -H "{name}: {value}" https://api.example.com',
                f'{{"headers": {{"{name}": "{value}"}}}}',
                f'{self._case("api_key")} = "{value}"',
                f"apiKey: '{value}'",
                f"https://api.example.com/v2/search?q=shoes&api_key={value}",
                f"--api-key {value}",
                f"client = Client(api_key='{value}')",
                f"The API key for staging is {value}.",
            ]
        )
        return value, text

    def _key_body(self, lines: int) -> list[str]:
        return [self._rand(_B64, 64) for _ in range(lines)]

    def _gcp(self) -> tuple[str, str]:
        body = self._key_body(self.rng.randint(8, 25))
        pem = "-----BEGIN PRIVATE KEY-----\n" + "\n".join(body) + "\n-----END PRIVATE KEY-----\n"
        project = self.fake.slug()
        key_file = {
            "type": "service_account",
            "project_id": project,
            "private_key_id": self._rand("abcdef0123456789", 40),
            "private_key": pem,
            "client_email": f"svc@{project}.iam.gserviceaccount.com",
            "client_id": str(self.rng.randint(10**20, 10**21)),
        }
        value = body[len(body) // 2]
        text = self._pick(
            [
                "Here is my service account file:\n```json\n"
                + json.dumps(key_file, indent=2)
                + "\n```",
                "GOOGLE_CREDENTIALS='" + json.dumps(key_file) + "'",
                json.dumps(key_file),
            ]
        )
        return value, text

    def _pem(self) -> tuple[str, str]:
        kind = self._pick(
            [
                "RSA PRIVATE KEY",
                "EC PRIVATE KEY",
                "PRIVATE KEY",
                "OPENSSH PRIVATE KEY",
                "ENCRYPTED PRIVATE KEY",
            ]
        )
        body = self._key_body(self.rng.randint(3, 20))
        block = f"-----BEGIN {kind}-----\n" + "\n".join(body) + f"\n-----END {kind}-----"
        value = body[-1]
        text = self._pick(
            [
                f"```\n{block}\n```",
                f"key.pem:\n{block}\n",
                f'ssh_key = """{block}"""',
                f"I pasted the key: {block} — why does ssh reject it?",
            ]
        )
        return value, text

    def _password_value(self) -> str:
        return self._pick(
            [
                self.fake.password(length=self.rng.randint(8, 20), special_chars=True),
                self.fake.password(length=self.rng.randint(10, 16), special_chars=False),
                f"{self.fake.word().title()}{self.rng.randint(1970, 2030)}{self._pick(['!', '#', '$', ''])}",
                "-".join(self.fake.words(4)),
                f"{self.fake.word()}{self.rng.randint(1, 999)}",
            ]
        )

    def _password(self) -> tuple[str, str]:
        v = self._password_value()
        key = self._pick(
            [
                "password",
                "Password",
                "PASSWORD",
                "passwd",
                "pwd",
                "db_password",
                "DB_PASS",
                "userPassword",
                "adminPassword",
                "new_password",
            ]
        )
        text = self._pick(
            [
                f"{key}={v}",
                f"{key}: {v}",
                f'{{"user": "admin", "{key}": "{v}"}}',
                f'database:\n  host: db.internal\n  {key}: "{v}"\n',
                f"[mysql]\nuser = app\n{key} = {v}\n",
                f"export {key.upper()}='{v}'",
                f"mysql -u root -p{v} -h db.internal",
                f"psql --host=db --password={v}",
                f"sshpass -p '{v}' ssh deploy@build01",
                f"./deploy.sh --user admin --password {v}",
                f"my password is {v}",
                f"The password for the VPN is {v}",
                f"pwd: {v}",
                f"login with pass: {v}",
                f"I changed my password to {v} yesterday",
                f"Mein Passwort ist {v}",
                f"Passwort: {v}",
                f"mon mot de passe est {v}",
                f"mot de passe : {v}",
                f"mi contraseña es {v}",
                f"minha senha é {v}",
                f"la password è {v}",
                f"mijn wachtwoord is {v}",
                f"パスワードは {v} です",
                f"- **Password:** `{v}`",
                f"| user | admin |\n| password | {v} |",
                f"my password is {v}!",
                f"My password is {v}! Can you log in for me?",
                f"pw: {v}",
                f"PW: {v}",
                f"Password - {v}",
                f"my password's {v}",
                f"my new password will be {v}",
                f"Your password has been reset to {v}",
                f"use {v} as the password",
                f"pw for the router: {v}",
            ]
        )
        return v, text

    def _connection(self) -> tuple[str, str]:
        v = self._rand(_ALNUM, self.rng.randint(10, 24))
        host = self.fake.domain_word() + ".internal"
        text = self._pick(
            [
                f"DATABASE_URL=postgresql://app:{v}@{host}:5432/prod",
                f"mongodb+srv://admin:{v}@cluster0.{host}/test?retryWrites=true",
                f"redis://:{v}@{host}:6379/0",
                f"amqp://guest:{v}@{host}:5672/",
                f"Server={host};Database=prod;User Id=sa;Password={v};",
                f"jdbc:mysql://{host}:3306/app?user=app&password={v}",
                f"engine = create_engine('mysql+pymysql://root:{v}@{host}/shop')",
            ]
        )
        return v, text

    def _key_sentence(self, value: str, env: str) -> str:
        return self._pick(
            [
                f"{env}={value}",
                f'export {env}="{value}"',
                f"I set it to {value} but it still fails.",
                f'client = Client(api_key="{value}")',
                f"{env.lower()}: {value}",
                f"La clé est {value}.",
                f"Der Schlüssel lautet {value}",
                f"`{value}`",
                f"key={value}&format=json",
            ]
        )

    # -- wrapping -----------------------------------------------------------------------------

    def _wrap(self, text: str, secret_json: tuple[str, str] | None = None) -> tuple[str, str]:
        """(attribute key, attribute value) holding ``text`` somewhere LLM traffic puts text."""
        shape = self.rng.randrange(10)
        before, after = self._filler(), self._filler()
        if shape == 0:
            return "gen_ai.input.messages", json.dumps(
                [_message("user", [_text(f"{before} {text} {after}")])], ensure_ascii=False
            )
        if shape == 1:
            args = {"query": text, "limit": self.rng.randint(1, 20)}
            return "gen_ai.output.messages", json.dumps(
                [
                    _message(
                        "assistant",
                        [_tool_call(self._call_id(), "search_docs", json.dumps(args))],
                        "tool_call",
                    )
                ]
            )
        if shape == 2:
            response: object = {"output": text, "status": "ok"} if self.rng.random() < 0.5 else text
            return "gen_ai.input.messages", json.dumps(
                [
                    _message(
                        "tool",
                        [
                            {
                                "type": "tool_call_response",
                                "id": self._call_id(),
                                "response": response,
                            }
                        ],
                    )
                ]
            )
        if shape == 3:
            twice = json.dumps(json.dumps({"note": text, "n": 3}))
            return "gen_ai.input.messages", json.dumps([_message("user", [_text(twice)])])
        if shape == 4:
            md = self._pick(
                [
                    f"## Notes\n\n- {before}\n- {text}\n- {after}\n",
                    f"> {text}\n\n{after}",
                    f"| field | value |\n|---|---|\n| note | {text} |",
                ]
            )
            return "gen_ai.output.messages", json.dumps(
                [_message("assistant", [_text(md)], "stop")]
            )
        if shape == 5:
            lang = self._pick(["bash", "python", "yaml", "json", "ini", ""])
            return "gen_ai.output.messages", json.dumps(
                [
                    _message(
                        "assistant",
                        [_text(f"{before}\n\n```{lang}\n{text}\n```\n\n{after}")],
                        "stop",
                    )
                ]
            )
        if shape == 6:
            return "exception.message", f"RuntimeError: request failed ({text})"
        if shape == 7:
            return "gen_ai.system_instructions", json.dumps(
                [_text(f"You help the on-call engineer. Context: {text}")]
            )
        if shape == 8:
            # A tool-call argument string holding JSON whose string holds JSON again.
            inner = json.dumps({"payload": text})
            args = json.dumps({"request": inner})
            return "gen_ai.input.messages", json.dumps(
                [_message("assistant", [_tool_call(self._call_id(), "http_post", args)])]
            )
        body = {
            "model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": f"{before} {text}"}],
        }
        return "http.request.body", json.dumps(body)

    def _call_id(self) -> str:
        return self._pick(["call_", "toolu_01", "fc_"]) + self._rand(_ALNUM, 24)

    def _secret_json_key(self) -> Record:
        """A secret under a secret-named key in tool-call arguments (any casing/convention), or
        the value of a name/value pair whose name is secret-named."""
        key = self._pick(
            ["token", "accessToken", "refresh_token", "Password", "userPassword", "apiKey", "API_KEY",
             "client_secret", "clientSecret", "credentials", "authToken", "session_token",
             "X-Api-Key", "db-password", "passphrase", "private_key"]
        )  # fmt: skip
        value = self._pick(
            [
                self._rand(_ALNUM, 12),
                " ".join(self.fake.words(3)),
                self._password_value(),
                self.fake.uuid4(),
            ]
        )
        if self.rng.random() < 0.2:
            # A name/value pair list, as in HAR headers or Kubernetes env entries.
            pairs = [{"name": "REGION", "value": "eu-west-1"}, {"name": key, "value": value}]
            part = {"type": "tool_call_response", "id": self._call_id(), "response": {"env": pairs}}
            return Record(
                "gen_ai.input.messages",
                json.dumps([_message("tool", [part])]),
                [("SECRET_JSON_KEY", value)],
            )
        args = {"username": self.fake.user_name(), key: value, "region": "eu-west-1"}
        arguments: object = json.dumps(args) if self.rng.random() < 0.7 else args
        part = _tool_call(
            self._call_id(), self._pick(["login", "create_user", "connect_db"]), arguments
        )
        return Record(
            "gen_ai.output.messages",
            json.dumps([_message("assistant", [part], "tool_call")]),
            [("SECRET_JSON_KEY", value)],
        )

    def _part_name_or_id(self) -> Record:
        value = self.fakers[self._pick(["en_US", "de_DE"])].email()
        part = self._pick(
            [
                _tool_call(value, "lookup", "{}"),
                _tool_call(self._call_id(), f"notify {value}", "{}"),
                {"type": "tool_call_response", "id": value, "response": "done"},
            ]
        )
        return Record(
            "gen_ai.input.messages",
            json.dumps([_message("assistant", [part])]),
            [("PART_NAME_OR_ID", value)],
        )

    def records(self, n: int) -> list[Record]:
        """``n`` records cycling over the planted kinds, each in a random wrapping."""
        kinds = list(TARGETS)
        out: list[Record] = []
        for i in range(n):
            kind = kinds[i % len(kinds)]
            if kind == "SECRET_JSON_KEY":
                out.append(self._secret_json_key())
                continue
            if kind == "PART_NAME_OR_ID":
                out.append(self._part_name_or_id())
                continue
            value, text = self._makers[kind]()
            key, attr = self._wrap(text)
            pieces = value if isinstance(value, tuple) else (value,)
            out.append(Record(key, attr, [(kind, piece) for piece in pieces]))
        return out

    # -- PII-free traffic ---------------------------------------------------------------------

    def clean_texts(self, n: int) -> list[str]:
        """Texts without PII or secrets, dense in the words and shapes secrets hide behind."""
        r = self.rng.randint
        hexd = "0123456789abcdef"
        pieces: list[Callable[[], str]] = [
            lambda: "Your password must be at least 12 characters and include a number.",
            lambda: "Password is required. The password policy is enforced on login.",
            lambda: "Set the OPENAI_API_KEY environment variable before running the script.",
            lambda: "api_key = os.environ['OPENAI_API_KEY']",
            lambda: 'password: "${DB_PASSWORD}"',
            lambda: "Authorization: Bearer $TOKEN",
            lambda: "Authorization: Bearer <your-token>",
            lambda: "-H 'x-api-key: YOUR_API_KEY'",
            lambda: f"max_tokens: {r(16, 8192)}, temperature: 0.{r(0, 9)}, top_p: 1",
            lambda: f"usage: input_tokens={r(1, 90000)} output_tokens={r(1, 4000)} total_tokens={r(1, 99000)}",
            lambda: f'{{"token_type": "bearer", "expires_in": {r(60, 86400)}, "scope": "read"}}',
            lambda: "The secret to a good sourdough is patience.",
            lambda: "Token-based authentication and a basic understanding of OAuth are assumed.",
            lambda: "Pass the ball, then bypass the gate; the passenger holds a passport.",
            lambda: f"author: {self.fake.last_name()} et al. (2021)",
            lambda: "primary key: id, foreign key: user_id",
            lambda: f"request_id={self.fake.uuid4()} trace_id={self._rand(hexd, 32)}",
            lambda: f"sha256:{self._rand(hexd, 64)}",
            lambda: f"commit {self._rand(hexd, 40)}",
            lambda: f"model=claude-3-5-sonnet-20241022 version {r(1, 9)}.{r(0, 30)}.{r(0, 99)}",
            lambda: f"Order #{r(10000, 999999)} shipped on {self.fake.date()} at {self.fake.time()}.",
            lambda: f"Price: ${r(1, 999)}.{r(0, 99):02d}, latency {r(20, 5000)} ms, p95 {self.rng.random():.4f}",
            lambda: "def get_password(user):\n    return vault.read(f'secret/{user}')",
            lambda: '{"type": "function", "function": {"name": "reset_password", "parameters": '
            '{"type": "object", "properties": {"password": {"type": "string"}}}}}',
            lambda: f"See https://docs.example.com/{self.fake.slug()}?page={r(1, 30)}#auth",
            lambda: "| Token | Count |\n|---|---|\n| prompt | 120 |\n| completion | 45 |",
            lambda: "Enter your password: ********",
            lambda: "password_reset_url: /account/reset",
            lambda: "The key: use smaller batches.",
            lambda: f"tokenizer: cl100k_base, tokens: {r(10, 9999)}",
            lambda: "Der Schlüssel zum Erfolg ist Geduld. Le mot de passe doit être changé.",
            lambda: self._filler(),
            lambda: self._filler(),
            lambda: f"build 10.0.{r(10000, 22631)}.{r(1, 4000)}, python 3.{r(8, 13)}.{r(0, 9)}",
            lambda: f"image/png base64 {self._rand(_B64, 120)}",
            lambda: "password = getpass.getpass()\nif password == confirm_password:\n    login()",
            lambda: "def connect(user: str, password: Optional[str] = None, token: str = ''):",
            lambda: "const apiKey = process.env.API_KEY; headers['Authorization'] = `Bearer ${apiKey}`",
            lambda: "self.secret_key = settings.SECRET_KEY\ntoken = tokenizer.encode(text)",
            lambda: "Enter the 6-digit verification code we sent you. The code expires in 10 minutes.",
            lambda: f"GPIO pin {r(2, 40)} drives the LED; the header has {r(20, 40)} pins.",
            lambda: f"Error code {r(1000, 9999)}: access denied for user 'app'",
            lambda: "The CVV is the 3-digit number on the back of the card.",
            lambda: f"PIN entry failed {r(2, 5)} times; OTP length: 6",
            lambda: "Authorization: Bearer $TOKEN\nContent-Type: application/json",
            lambda: "Authorization: Bearer <token>\n  Accept: */*",
            lambda: f"Card ending in {r(1000, 9999)}, expires {r(1, 12):02d}/{r(27, 31)}",
            lambda: f"status code {r(200, 599)}; retry code {r(1000, 9999)} is not an error",
            lambda: "Use the login page / settings menu to change it.",
        ]
        out = []
        for _ in range(n):
            chosen = [self.rng.choice(pieces)() for _ in range(self.rng.randint(3, 7))]
            out.append(" ".join(chosen) if self.rng.random() < 0.5 else "\n".join(chosen))
        return out

    def clean_records(self, n: int) -> list[tuple[str, str]]:
        """PII-free (attribute key, value) pairs in the same wrappings as :meth:`records`."""
        return [self._wrap(text) for text in self.clean_texts(n)]


def _text(content: str) -> dict[str, object]:
    return {"type": "text", "content": content}


def _tool_call(call_id: str, name: str, arguments: object) -> dict[str, object]:
    return {"type": "tool_call", "id": call_id, "name": name, "arguments": arguments}


def _message(
    role: str, parts: list[dict[str, object]], finish: str | None = None
) -> dict[str, object]:
    message: dict[str, object] = {"role": role, "parts": parts}
    if finish:
        message["finish_reason"] = finish
    return message
