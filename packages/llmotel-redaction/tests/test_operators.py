"""Operators per entity type: replace, mask, keyed pseudonym, drop, keep."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from llmotel.redaction import Drop, Keep, Mask, Pseudonymize, Redaction, Redactor, Replace


def test_replace_template() -> None:
    r = Redactor(entities=["EMAIL_ADDRESS"], default_operator=Replace("[{entity_type} removed]"))
    assert r.redact_text("to a@example.com") == "to [EMAIL_ADDRESS removed]"


def test_mask_keeps_last_digits_and_separators() -> None:
    r = Redactor(entities=["CREDIT_CARD"], operators={"CREDIT_CARD": Mask(keep_last=4)})
    assert r.redact_text("card 4111-1111-1111-1111") == "card ****-****-****-1111"


def test_pseudonym_is_keyed_hmac_sha256_and_stable_across_instances() -> None:
    key = b"k3y"
    first = Redactor(entities=["EMAIL_ADDRESS"], default_operator=Pseudonymize(key))
    second = Redactor(entities=["EMAIL_ADDRESS"], default_operator=Pseudonymize(key))
    other_key = Redactor(entities=["EMAIL_ADDRESS"], default_operator=Pseudonymize(b"other"))
    digest = hmac.new(key, b"jane@example.com", hashlib.sha256).hexdigest()[:16]
    expected = f"user <EMAIL_ADDRESS:{digest}>"
    assert first.redact_text("user jane@example.com") == expected
    assert second.redact_text("user jane@example.com") == expected
    assert other_key.redact_text("user jane@example.com") != expected


def test_drop_removes_the_attribute_and_keep_leaves_it() -> None:
    r = Redactor(operators={"US_SSN": Drop(), "EMAIL_ADDRESS": Keep()})
    attributes = {"note": "SSN 536-90-4399", "contact": "a@example.com", "other": "fine"}
    redaction = Redaction()
    r.redact_attributes(attributes, redaction)
    assert attributes == {"contact": "a@example.com", "other": "fine"}
    assert dict(redaction.counts) == {"US_SSN": 1}


def test_operator_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="keep_last"):
        Mask(keep_last=-1)
    with pytest.raises(ValueError, match="non-empty key"):
        Pseudonymize(b"")
