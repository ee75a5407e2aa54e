"""Which names (JSON keys, attribute keys, config keys, header names) say their value is a secret.

One classifier shared by the structure walker (a string under such a key is redacted whole) and
the text recognizer (``key: value`` in prose, configs, headers, CLI flags). A name is split into
words the way people write it (``userPassword``, ``DB_PASSWORD``, ``x-api-key``,
``SecretAccessKey``, ``PGPASSWORD``) and judged on its words, so casing and separators do not
matter; a trailing qualifier (``token_count``, ``password_hint``, ``api_key_id``) makes it a
name *about* the secret rather than the secret itself.
"""

from __future__ import annotations

import re

from llmotel.redaction._entities import API_KEY, BEARER_TOKEN, CREDIT_CARD, PASSWORD

__all__ = ["secret_key_entity", "split_key"]

_CAMEL_LOWER_UPPER = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_CAMEL_ACRONYM = re.compile(r"(?<=[A-Z])(?=[A-Z][a-z])")
_NON_WORD = re.compile(r"[\W_]+")

# Substrings of one word that make it a password word, in the languages users write prompts in.
_PASSWORD_PARTS = (
    "password",
    "passwd",
    "passphrase",
    "passcode",
    "passwort",
    "kennwort",
    "wachtwoord",
    "contraseña",
    "contrasena",
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
)
_PASSWORD_WORDS = frozenset(
    {"pass", "pwd", "pw", "pword", "passe", "mdp", "pswd", "psw", "pin", "otp", "totp", "hotp"}
)
# Words that make the word after them a one-time or access code when it is "code".
_CODE_QUALIFIERS = frozenset(
    {
        "verification",
        "verify",
        "security",
        "confirmation",
        "mfa",
        "2fa",
        "sms",
        "otp",
        "time",
        "login",
        "signin",
        "auth",
        "authorization",
        "authentication",
        "recovery",
        "backup",
        "unlock",
        "access",
        "pin",
        "door",
    }
)
# A card's security code: it goes with the card.
_CARD_CODE_WORDS = frozenset({"cvv", "cvc", "cvv2", "cvc2", "cvn", "csc", "cav2", "cvd"})
# Words that make the word after them a secret when it is "key".
_KEY_QUALIFIERS = frozenset(
    {
        "api",
        "access",
        "secret",
        "private",
        "account",
        "signing",
        "master",
        "subscription",
        "license",
        "licence",
        "encryption",
        "decryption",
        "auth",
        "shared",
        "app",
        "application",
        "client",
        "service",
        "developer",
        "webhook",
        "session",
        "admin",
        "root",
        "ssh",
        "gpg",
        "pgp",
        "hmac",
        "storage",
        "sas",
    }
)
_KEY_COMPOUNDS = tuple(f"{q}key" for q in _KEY_QUALIFIERS)
_BEARER_WORDS = frozenset({"authorization", "auth", "bearer", "cookie", "proxyauthorization"})
# Words after the secret word that make the name describe the secret instead of holding it.
_QUALIFIER_TAIL = frozenset(
    {
        "count",
        "counts",
        "type",
        "types",
        "name",
        "names",
        "id",
        "ids",
        "length",
        "len",
        "size",
        "limit",
        "limits",
        "policy",
        "policies",
        "hint",
        "field",
        "fields",
        "usage",
        "used",
        "expires",
        "expiry",
        "expiration",
        "exp",
        "ttl",
        "lifetime",
        "url",
        "uri",
        "endpoint",
        "path",
        "file",
        "filename",
        "enabled",
        "required",
        "min",
        "max",
        "format",
        "mode",
        "version",
        "strategy",
        "scope",
        "scopes",
        "label",
        "location",
        "prefix",
        "suffix",
        "created",
        "updated",
        "changed",
        "rotated",
        "strength",
        "rule",
        "rules",
        "set",
        "present",
        "provided",
        "valid",
        "budget",
        "rate",
        "index",
        "offset",
        "kind",
        "source",
        "ref",
        "arn",
        "description",
        "help",
        "prompt",
        "error",
        "status",
        "state",
        "in",
        "at",
        "per",
        "param",
        "parameter",
        "env",
        "var",
        "variable",
        "method",
        "methods",
        "scheme",
        "provider",
        "flow",
        "level",
        "user",
        "username",
        "email",
    }
)
_QUALIFIER_HEAD = frozenset(
    {
        "max",
        "min",
        "num",
        "total",
        "input",
        "output",
        "prompt",
        "completion",
        "cached",
        "reasoning",
        "remaining",
        "is",
        "has",
        "show",
        "hide",
        "forgot",
        "require",
        "requires",
        "use",
        "uses",
    }
)


def split_key(key: str) -> list[str]:
    """``"userPassword"`` → ``["user", "password"]``; ``"x-api-key"`` → ``["x", "api", "key"]``."""
    spaced = _CAMEL_ACRONYM.sub(" ", _CAMEL_LOWER_UPPER.sub(" ", key))
    return [w for w in _NON_WORD.split(spaced.lower()) if w]


def _word_entity(words: list[str], i: int) -> str | None:
    word = words[i]
    if word in _PASSWORD_WORDS or any(p in word for p in _PASSWORD_PARTS):
        return PASSWORD
    if word in ("code", "codes") and i > 0 and words[i - 1] in _CODE_QUALIFIERS:
        return PASSWORD
    if word in _CARD_CODE_WORDS:
        return CREDIT_CARD
    if word in _BEARER_WORDS:
        return BEARER_TOKEN
    if "secret" in word and not word.startswith("secretar"):
        return API_KEY
    if word.endswith("token") or "credential" in word:
        return API_KEY
    if "apikey" in word or word.endswith(_KEY_COMPOUNDS):
        return API_KEY
    if word in ("key", "keys") and i > 0 and words[i - 1] in _KEY_QUALIFIERS:
        return API_KEY
    return None


# A superset of every word above: a name without one of these is not a secret's name. Checked
# first, so the common keys ("content", "role", "query") cost one short search and nothing is
# cached (JSON keys can be user data).
_HINT = re.compile(
    r"pass|pw|ps|secret|token|key|credential|auth|bearer|cookie|kennwort|wachtwoord|contrase|"
    r"senha|has|senord|salasana|пароль|パスワード|密|mdp|pin|otp|code|cv[vcnd]|cav2",
    re.IGNORECASE,
)


# Keys of the GenAI message schemas and of common tool payloads: never a secret's name, and
# by far the most frequent keys, so they skip even the hint search.
_PLAIN_KEYS = frozenset(
    [
        "role",
        "content",
        "parts",
        "type",
        "id",
        "name",
        "arguments",
        "response",
        "finish_reason",
        "text",
        "query",
        "limit",
        "status",
        "output",
        "input",
        "messages",
        "model",
        "description",
        "properties",
        "required",
        "parameters",
        "function",
        "tool_calls",
        "tool_call_id",
        "items",
        "value",
        "mime_type",
        "modality",
        "uri",
        "url",
        "data",
        "result",
        "results",
        "error",
        "message",
        "code",
        "title",
        "format",
        "default",
        "enum",
        "note",
        "payload",
        "request",
        "env",
        "headers",
        "region",
        "username",
        "user",
        "email",
        "customer",
        "n",
    ]
)


def secret_key_entity(key: str) -> str | None:
    """The entity type a value under ``key`` holds (``PASSWORD``, also for PINs and one-time
    codes; ``API_KEY``; ``BEARER_TOKEN``; ``CREDIT_CARD`` for a card's security code), or
    ``None`` when the name does not say it is a secret."""
    if key in _PLAIN_KEYS or _HINT.search(key) is None:
        return None
    words = split_key(key)
    if not words or words[0] in _QUALIFIER_HEAD:
        return None
    found: str | None = None
    last = -1
    for i in range(len(words)):
        entity = _word_entity(words, i)
        if entity is not None:
            # The strongest word wins: a password beats a token beats an auth header.
            if (
                found is None
                or entity == PASSWORD
                or (entity == API_KEY and found not in (PASSWORD, CREDIT_CARD))
            ):
                found = entity
            last = i
    if found is None or any(w in _QUALIFIER_TAIL for w in words[last + 1 :]):
        return None
    return found
