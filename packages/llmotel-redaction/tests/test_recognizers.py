"""What the default redactor finds in plain text, exactly, and what it leaves alone."""

from __future__ import annotations

import pytest

from llmotel.redaction import Redactor


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("write to jane.doe@example.com today", "write to <EMAIL_ADDRESS> today"),
        ("call (415) 867-5309 after 5", "call <PHONE_NUMBER> after 5"),
        ("call +44 20 7946 0958 or +49 30 901820", "call <PHONE_NUMBER> or <PHONE_NUMBER>"),
        ("card 4111 1111 1111 1111 ok", "card <CREDIT_CARD> ok"),
        ("mastercard 2221000000000009 ok", "mastercard <CREDIT_CARD> ok"),
        ("card 2720 9912 3456 7895 ok", "card 2720 9912 3456 7895 ok"),  # fails Luhn
        ("IBAN DE89 3704 0044 0532 0130 00.", "IBAN <IBAN_CODE>."),
        ("IBAN GB82WEST12345698765432 please", "IBAN <IBAN_CODE> please"),
        ("SSN 536-90-4399 on file", "SSN <US_SSN> on file"),
        ("from 203.0.113.7 and 2001:db8::8a2e:370:7334", "from <IP_ADDRESS> and <IP_ADDRESS>"),
        ("wallet 1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "wallet <CRYPTO>"),
        ("key sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8t", "key <API_KEY>"),
        ("key sk-ant-api03-Ab3dEf6hIj9kLm2nOp5qRs8tUv", "key <API_KEY>"),
        ("AWS AKIAIOSFODNN7EXAMPLE", "AWS <API_KEY>"),
        (
            "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "aws_secret_access_key = <API_KEY>",
        ),
        ("token ghp_abcdefghijklmnopqrstuvwxyz0123456789", "token <API_KEY>"),
        ("google AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q", "google <API_KEY>"),
        ("slack xoxb-123456789012-abcdefABCDEF123", "slack <API_KEY>"),
        ("stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc", "stripe <API_KEY>"),
        ('api_key = "q8Zr2Lk5Vn7Tx1Pw3Ys9"', 'api_key = "<API_KEY>"'),
        (
            "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0."
            "dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk",
            "jwt <JWT>",
        ),
        ("Authorization: Bearer abcDEF123456789xyz", "Authorization: Bearer <BEARER_TOKEN>"),
        ("password: hunter2!", "password: <PASSWORD>"),
        ('{"user": "a", "password": "correct horse"}', '{"user": "a", "password": "<PASSWORD>"}'),
        ("DB_PASSWORD=s3cr3t in .env", "DB_PASSWORD=<PASSWORD> in .env"),
        ("db postgres://app:pa55w0rd@db.internal:5432/prod now", "db <CONNECTION_STRING> now"),
        (
            "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY----- done",
            "<PRIVATE_KEY> done",
        ),
    ],
)
def test_redacts_each_entity(redactor: Redactor, text: str, expected: str) -> None:
    assert redactor.redact_text(text) == expected


_JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
_AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # JWTs: any header, with or without signature, before a period, in URLs and headers.
        (f"it expired: {_JWT}.", "it expired: <JWT>."),
        ("token: eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", "token: <JWT>."),
        ("unsigned eyJhbGciOiJub25lIn0.e30 here", "unsigned <JWT> here"),
        (f"/cb?id_token={_JWT}&state=1", "/cb?id_token=<JWT>&state=1"),
        (f"Authorization: Bearer%20{_JWT}", "Authorization: Bearer%20<JWT>"),
        (f"'{_JWT}'", "'<JWT>'"),
        ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0 has no signature", "<JWT> has no signature"),
        # Authorization headers in any casing and separator.
        ("AUTHORIZATION: BEARER AbCdEf0123456789xyz", "AUTHORIZATION: BEARER <BEARER_TOKEN>"),
        ("authorization:bearer AbCdEf0123456789xyz", "authorization:bearer <BEARER_TOKEN>"),
        (
            "-H 'authorization: Token 0123456789abcdef0123'",
            "-H 'authorization: Token <BEARER_TOKEN>'",
        ),
        ("Proxy-Authorization: Basic dXNlcjpwYXNz", "Proxy-Authorization: Basic <BEARER_TOKEN>"),
        (
            '{"Authorization": "Bearer AbCdEf0123456789"}',
            '{"Authorization": "Bearer <BEARER_TOKEN>"}',
        ),
        ("X-API-Key: 9f8e7d6c5b4a39281706f5e4d3c2b1a0", "X-API-Key: <API_KEY>"),
        ("x-goog-api-key=Zx81Kq0Lm2Np3Oo4", "x-goog-api-key=<API_KEY>"),
        ("Cookie: session=abc123DEF456ghi789; theme=dark", "Cookie: <BEARER_TOKEN>"),
        # AWS secret access keys in every form.
        (f"export AWS_SECRET_ACCESS_KEY={_AWS_SECRET}", "export AWS_SECRET_ACCESS_KEY=<API_KEY>"),
        (f'{{"SecretAccessKey": "{_AWS_SECRET}"}}', '{"SecretAccessKey": "<API_KEY>"}'),
        (f"my aws secret key is {_AWS_SECRET} ok", "my aws secret key is <API_KEY> ok"),
        (f"creds: AKIAIOSFODNN7EXAMPLE / {_AWS_SECRET}", "creds: <API_KEY> / <API_KEY>"),
        # Provider keys by prefix, also where a word boundary is missing.
        (
            "json?address=x&key=AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q",
            "json?address=x&key=<API_KEY>",
        ),
        ("key%3DAIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q", "key%3D<API_KEY>"),
        ("token ghp_abcdefghijklmnopqrstuvwxyzABCDEFGHIJ", "token <API_KEY>"),
        ("pat github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyzABCDEFGH", "pat <API_KEY>"),
        ("key sk-ant-admin01-Ab3dEf6hIj9kLm2nOp5qRs8tUv", "key <API_KEY>"),
        ("key sk-svcacct-Ab3dEf6hIj9kLm2nOp5qRs8tUv", "key <API_KEY>"),
        ("slack xoxp-1234567890-abcdefghijKLMN", "slack <API_KEY>"),
        ("stripe rk_live_4eC39HqLyjWDarjtT1zdp7dc", "stripe <API_KEY>"),
        (
            "The API key for staging is q8Zr2Lk5Vn7Tx1Pw3Ys9.",
            "The API key for staging is <API_KEY>.",
        ),
        # Private keys: PEM, OpenSSH, PGP, and a GCP service-account key file as JSON text.
        (
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3Bl\n-----END OPENSSH PRIVATE KEY-----",
            "<PRIVATE_KEY>",
        ),
        (
            "-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQOY\n-----END PGP PRIVATE KEY BLOCK-----",
            "<PRIVATE_KEY>",
        ),
        (
            '{"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIEvQ\\n-----END PRIVATE KEY-----\\n"}',
            '{"private_key": "<PRIVATE_KEY>\\n"}',
        ),
        # Passwords in configs, CLI flags, connection strings and prose, in several languages.
        ("redis://:hunter2@cache.internal:6379/0", "<CONNECTION_STRING>"),
        ("mysql -u root -pS3cr3t! shop", "mysql -u root -p<PASSWORD> shop"),
        ("sshpass -p 'hunter 2' ssh deploy@build", "sshpass -p '<PASSWORD>' ssh deploy@build"),
        ("curl -u admin:hunter2 https://x", "curl -u admin:<PASSWORD> https://x"),
        (
            "./run --password=hunter2 --db-password s3cret",
            "./run --password=<PASSWORD> --db-password <PASSWORD>",
        ),
        ('database:\n  password: "s3cr3t"\n', 'database:\n  password: "<PASSWORD>"\n'),
        ("userPassword=hunter2", "userPassword=<PASSWORD>"),
        ("my password is hunter2, ok?", "my password is <PASSWORD>, ok?"),
        ("The password for the VPN is Tr0ub4dor&3.", "The password for the VPN is <PASSWORD>."),
        ("pwd: letmein99", "pwd: <PASSWORD>"),
        ("Mein Passwort ist Sommer2024", "Mein Passwort ist <PASSWORD>"),
        ("mot de passe : azerty123", "mot de passe : <PASSWORD>"),
        ("mi contraseña es gato1234", "mi contraseña es <PASSWORD>"),
        ("パスワードは hunter2 です", "パスワードは <PASSWORD> です"),
        ("- **Password:** `hunter2`", "- **Password:** `<PASSWORD>`"),
        ("wifi password: purple monkey dishwasher\nthanks", "wifi password: <PASSWORD>\nthanks"),
        ("password: hunter2, then log in", "password: <PASSWORD>, then log in"),
        ("password=hunter(2)", "password=<PASSWORD>"),
        ("<password>hunter22</password>", "<password><PASSWORD></password>"),
        ("<ApiKey> q8Zr2Lk5Vn7Tx1Pw3Ys9 </ApiKey>", "<ApiKey> <API_KEY> </ApiKey>"),
        ("user=admin&pass=letmein123&submit=1", "user=admin&pass=<PASSWORD>&submit=1"),
        ("password: correct.horse", "password: <PASSWORD>"),
        ("-e POSTGRES_PASSWORD=mysecretpassword", "-e POSTGRES_PASSWORD=<PASSWORD>"),
        ("--set auth.rootPassword=R00tpw", "--set auth.rootPassword=<PASSWORD>"),
        (
            "AccountName=acme;AccountKey=q1w2e3r4t5y6u7i8o9p0AaBb==;",
            "AccountName=acme;AccountKey=<API_KEY>;",
        ),
        ("X-Auth-Token: 5f2b8c9d0e1f2a3b4c5d6e7f", "X-Auth-Token: <API_KEY>"),
        # Escaped JSON in text: the escapes are line breaks and quotes, not letters.
        ('{\\"userPassword\\": \\"hunter2\\"}', '{\\"userPassword\\": \\"<PASSWORD>\\"}'),
        ("\\nSSN\\n536-90-4399", "\\nSSN\\n<US_SSN>"),
        # Cards grouped with dots; an address inside text written without spaces.
        ("card 4111.1111.1111.1111 ok", "card <CREDIT_CARD> ok"),
        ("メールはjane@example.comまで", "メールは<EMAIL_ADDRESS>まで"),
        # Passwords in prose, the closing "!" with them; after a dash; named after the value.
        ("my password is hunter2!", "my password is <PASSWORD>"),
        ("pw: hunter2", "pw: <PASSWORD>"),
        ("pw: 48291", "pw: <PASSWORD>"),
        ("pw 48291x!", "pw <PASSWORD>"),
        ("my password's Tr0ub4dor&3", "my password's <PASSWORD>"),
        ("Password - hunter2!", "Password - <PASSWORD>"),
        ("my new password will be hunter2", "my new password will be <PASSWORD>"),
        ("Your password has been reset to Xk9#mQ2p", "Your password has been reset to <PASSWORD>"),
        ("pw for the router: hunter2!", "pw for the router: <PASSWORD>"),
        ("use hunter2! as the password", "use <PASSWORD> as the password"),
        ("creds: bob/hunter2!", "creds: bob/<PASSWORD>"),
        # PINs, passcodes and one-time codes near their words.
        ("Passcode 482913", "Passcode <PASSWORD>"),
        ("my PIN is 4821", "my PIN is <PASSWORD>"),
        ("- **PIN:** `4821`", "- **PIN:** `<PASSWORD>`"),
        ("OTP: 739204", "OTP: <PASSWORD>"),
        ("Your one-time code is 739 204.", "Your one-time code is <PASSWORD>."),
        ("739204 is your verification code", "<PASSWORD> is your verification code"),
        ("Ihr Bestätigungscode lautet 482913", "Ihr Bestätigungscode lautet <PASSWORD>"),
        # A card's security code, named or after the card and its expiry date.
        ("Card 4111 1111 1111 1111 CVV 123", "Card <CREDIT_CARD> CVV <CREDIT_CARD>"),
        ("4111111111111111, 12/27, 123", "<CREDIT_CARD>, 12/27, <CREDIT_CARD>"),
        (
            "visa 4111111111111111 security code: 987",
            "visa <CREDIT_CARD> security code: <CREDIT_CARD>",
        ),
        # A bearer token on a folded header line, or wrapped by a log.
        (
            "Authorization: Bearer\r\n 9fQx2LmZ8rTq4WvK1pYs",
            "Authorization: Bearer\r\n <BEARER_TOKEN>",
        ),
        (
            "Authorization: Bearer 9fQx2LmZ8r\n  Tq4WvK1pYs7Hd3\nAccept: */*",
            "Authorization: Bearer <BEARER_TOKEN>\nAccept: */*",
        ),
        (
            "Authorization: Bearer 9fQx2LmZ8rTq4WvK1pYs\nHTTP/1.1 200 OK",
            "Authorization: Bearer <BEARER_TOKEN>\nHTTP/1.1 200 OK",
        ),
    ],
)
def test_secret_shapes_and_contexts(redactor: Redactor, text: str, expected: str) -> None:
    assert redactor.redact_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "input_tokens=18234 output_tokens=912 total 19146",
        "Order ORD-2024-000123 and #95007028 shipped",
        "request id 550e8400-e29b-41d4-a716-446655440000",
        "upgrade to version 1.2.3.4 or v10.0.0.1, build 10.0.19041.4291",
        "at 2024-05-01T12:30:45Z (1714567890123 ms), due May 01, 2024",
        "provider gcp.vertex_ai model gpt-4o-2024-08-06",
        "commit 3f2a9c1b0d4e5f6a7b8c9d0e1f2a3b4c5d6e7f80",
        "def f(x):\n    return x * 42 if x.id != 31337 else None",
        "latency 12.871660 s, price $0.0025 per 1K tokens",
        "see https://docs.example.com/guide/setup?page=3",
        "token based authentication and the password policy",
        "Your password must be at least 12 characters.",
        "The password is incorrect. Password is required.",
        "api_key = os.environ['OPENAI_API_KEY']",
        "Authorization: Bearer $TOKEN",
        "Authorization: Bearer <your-token>",
        "-H 'x-api-key: YOUR_API_KEY'",
        "max_tokens: 4096, token_type: bearer, tokenizer: cl100k_base",
        "The secret to good bread is time.",
        "author: Smith; primary key: id",
        "Enter your password: ********",
        "Pass: 12  Fail: 0",
        "password_reset_url: /account/reset",
        "Basic Authentication and token based auth",
        '{"type": "object", "properties": {"password": {"type": "string"}}}',
        "the passenger passed the passport check",
        "sha1 3f2a9c1b0d4e5f6a7b8c9d0e1f2a3b4c5d6e7f80 of the aws docs",
        "password = getpass.getpass()",
        "def login(username: str, password: Optional[str] = None):",
        "password = request.form['password']",
        "self.secret_key = settings.SECRET_KEY",
        "if password == confirm_password:",
        "const apiKey = process.env.API_KEY;",
        "token = tokenizer.encode(text)",
        "Enter the 6-digit verification code we sent you.",
        "GPIO pin 17 drives the LED",
        "Error code 1045: access denied",
        "The CVV is the 3-digit number on the back of the card.",
        "security code 4021 of the building permit",
        "use this as the password",
        "Use the login page / settings menu.",
        "Authorization: Bearer $TOKEN\nContent-Type: application/json",
    ],
)
def test_leaves_pii_free_text_alone(redactor: Redactor, text: str) -> None:
    assert redactor.redact_text(text) == text


def test_placeholder_passwords_are_not_secrets(redactor: Redactor) -> None:
    assert redactor.redact_text("password: ${DB_PASSWORD}") == "password: ${DB_PASSWORD}"


def test_entities_narrow_what_is_detected() -> None:
    only_email = Redactor(entities=["EMAIL_ADDRESS"])
    assert only_email.entities == ("EMAIL_ADDRESS",)
    assert only_email.redact_text("a@example.com 4111 1111 1111 1111") == (
        "<EMAIL_ADDRESS> 4111 1111 1111 1111"
    )


def test_unknown_entity_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown entity type 'PASSPORT'"):
        Redactor(entities=["PASSPORT"])


def test_phone_regions_decide_national_formats() -> None:
    us_only = Redactor(entities=["PHONE_NUMBER"], phone_regions=["US"])
    gb = Redactor(entities=["PHONE_NUMBER"], phone_regions=["GB"])
    text = "ring 020 7946 0958 today"
    assert us_only.redact_text(text) == text
    assert gb.redact_text(text) == "ring <PHONE_NUMBER> today"
    # With the country code, any region list finds it.
    assert us_only.redact_text("ring +44 20 7946 0958") == "ring <PHONE_NUMBER>"


def test_long_text_uses_windows_and_finds_the_same(redactor: Redactor) -> None:
    filler = "lorem ipsum dolor sit amet " * 200
    text = f"{filler} mail bob@example.org from 198.51.100.4 password: hunter2 {filler}"
    out = redactor.redact_text(text)
    assert out == f"{filler} mail <EMAIL_ADDRESS> from <IP_ADDRESS> password: <PASSWORD> {filler}"
