"""What happens to a detected value: replace, mask, keyed pseudonym, drop the attribute, keep."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

__all__ = ["Drop", "Keep", "Mask", "Operator", "Pseudonymize", "Replace"]


class Operator:
    """Base class: :meth:`apply` turns one detected value into its replacement.

    Returning ``None`` (only :class:`Drop` does) removes the whole attribute, event attribute or
    log body that held the value.
    """

    changes_text = True

    def apply(self, entity_type: str, value: str) -> str | None:
        raise NotImplementedError


@dataclass(frozen=True)
class Replace(Operator):
    """Replace the value by ``template`` with ``{entity_type}`` filled in: ``<EMAIL_ADDRESS>``."""

    template: str = "<{entity_type}>"

    def apply(self, entity_type: str, value: str) -> str:
        return self.template.format(entity_type=entity_type)


@dataclass(frozen=True)
class Mask(Operator):
    """Replace every letter and digit but the last ``keep_last`` by ``char``; separators stay.

    ``4111 1111 1111 1234`` → ``**** **** **** 1234``.
    """

    keep_last: int = 4
    char: str = "*"

    def __post_init__(self) -> None:
        if self.keep_last < 0 or len(self.char) != 1:
            raise ValueError("Mask needs keep_last >= 0 and a one-character mask char")

    def apply(self, entity_type: str, value: str) -> str:
        alnum = sum(c.isalnum() for c in value)
        to_mask = max(0, alnum - self.keep_last)
        out = []
        for c in value:
            if c.isalnum() and to_mask > 0:
                out.append(self.char)
                to_mask -= 1
            else:
                out.append(c)
        return "".join(out)


@dataclass(frozen=True)
class Pseudonymize(Operator):
    """Keyed pseudonym: ``<EMAIL_ADDRESS:` + the first ``length`` hex digits of
    HMAC-SHA256(key, value) + ``>``.

    The same value under the same key gives the same token in every span and every process, so
    traces can still be joined on a user without showing who they are; without the key the
    token cannot be reversed or recomputed from a guess.
    """

    key: bytes = field(repr=False)
    length: int = 16

    def __post_init__(self) -> None:
        if not self.key:
            raise ValueError("Pseudonymize needs a non-empty key")
        if not 8 <= self.length <= 64:
            raise ValueError("Pseudonymize length must be from 8 to 64 hex digits")

    def apply(self, entity_type: str, value: str) -> str:
        digest = hmac.new(self.key, value.encode("utf-8", "surrogatepass"), hashlib.sha256)
        return f"<{entity_type}:{digest.hexdigest()[: self.length]}>"


@dataclass(frozen=True)
class Drop(Operator):
    """Remove the attribute (or log body) that holds the value altogether."""

    def apply(self, entity_type: str, value: str) -> None:
        return None


@dataclass(frozen=True)
class Keep(Operator):
    """Leave the value as it is (it is neither changed nor counted)."""

    changes_text = False

    def apply(self, entity_type: str, value: str) -> str:
        return value
