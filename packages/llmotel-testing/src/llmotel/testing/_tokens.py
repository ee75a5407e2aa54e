"""The stub's deterministic tokenizer: a token is a run of word characters or one punctuation
mark."""

from __future__ import annotations

import re
from collections.abc import Iterable

TOKEN_PATTERN = re.compile(r"\w+|[^\w\s]")


def count_tokens(text: str) -> int:
    """Number of tokens in ``text`` under the stub's rule: ``len(re.findall(r"\\w+|[^\\w\\s]",
    text))``.

    ``"Hello, world!"`` is 4 tokens (``Hello`` ``,`` ``world`` ``!``). Whitespace never counts, so
    the same JSON with or without spaces has the same count.
    """
    return len(TOKEN_PATTERN.findall(text))


def count_all(texts: Iterable[str]) -> int:
    """Sum of :func:`count_tokens` over ``texts``."""
    return sum(count_tokens(t) for t in texts)


def truncate_tokens(text: str, limit: int) -> str:
    """``text`` cut right after its ``limit``-th token (what a ``max_tokens`` limit leaves)."""
    if limit <= 0:
        return ""
    for i, match in enumerate(TOKEN_PATTERN.finditer(text), start=1):
        if i == limit:
            return text[: match.end()]
    return text


def split_for_stream(text: str) -> list[str]:
    """Split ``text`` into stream deltas (a word with its trailing whitespace); they join back to
    ``text``."""
    pieces = re.findall(r"\s*\S+\s*|\s+", text)
    return pieces or [""]
