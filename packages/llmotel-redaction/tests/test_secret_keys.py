"""Which names say their value is a secret: casing, conventions and qualifiers."""

from __future__ import annotations

import pytest

from llmotel.redaction._secret_keys import secret_key_entity, split_key


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("userPassword", ["user", "password"]),
        ("DB_PASSWORD", ["db", "password"]),
        ("x-api-key", ["x", "api", "key"]),
        ("SecretAccessKey", ["secret", "access", "key"]),
        ("APIKey", ["api", "key"]),
        ("mot de passe", ["mot", "de", "passe"]),
    ],
)
def test_split_key(key: str, words: list[str]) -> None:
    assert split_key(key) == words


@pytest.mark.parametrize(
    ("key", "entity"),
    [
        ("password", "PASSWORD"),
        ("Password", "PASSWORD"),
        ("userPassword", "PASSWORD"),
        ("PGPASSWORD", "PASSWORD"),
        ("db_pass", "PASSWORD"),
        ("pwd", "PASSWORD"),
        ("new_password", "PASSWORD"),
        ("Passwort", "PASSWORD"),
        ("contraseña", "PASSWORD"),
        ("パスワード", "PASSWORD"),
        ("token", "API_KEY"),
        ("accessToken", "API_KEY"),
        ("refresh_token", "API_KEY"),
        ("id_token", "API_KEY"),
        ("apiKey", "API_KEY"),
        ("API_KEY", "API_KEY"),
        ("APIKEY", "API_KEY"),
        ("x-api-key", "API_KEY"),
        ("Ocp-Apim-Subscription-Key", "API_KEY"),
        ("aws_secret_access_key", "API_KEY"),
        ("SecretAccessKey", "API_KEY"),
        ("client_secret", "API_KEY"),
        ("credentials", "API_KEY"),
        ("private_key", "API_KEY"),
        ("AccountKey", "API_KEY"),
        ("auth_token", "API_KEY"),
        ("Authorization", "BEARER_TOKEN"),
        ("cookie", "BEARER_TOKEN"),
        ("pin", "PASSWORD"),
        ("card_pin", "PASSWORD"),
        ("otp", "PASSWORD"),
        ("verification_code", "PASSWORD"),
        ("mfaCode", "PASSWORD"),
        ("cvv", "CREDIT_CARD"),
        ("card_cvc", "CREDIT_CARD"),
    ],
)
def test_secret_names(key: str, entity: str) -> None:
    assert secret_key_entity(key) == entity


@pytest.mark.parametrize(
    "key",
    [
        "max_tokens",
        "input_tokens",
        "tokenizer",
        "token_count",
        "token_type",
        "password_hint",
        "password_policy",
        "api_key_id",
        "secret_name",
        "passenger",
        "passport",
        "bypass",
        "author",
        "oauth",
        "key",
        "primary_key",
        "monkey",
        "secretary",
        "is_password_set",
        "expires_in",
        "auth_method",
        "token_provider",
        "pinned",
        "shipping",
        "pin_count",
        "otp_length",
        "status_code",
        "error_code",
        "zip_code",
        "cvv_required",
    ],
)
def test_names_about_secrets_or_not_secrets(key: str) -> None:
    assert secret_key_entity(key) is None
