"""The stub's tokenizer rule."""

from __future__ import annotations

import pytest

from llmotel.testing import count_tokens
from llmotel.testing._tokens import split_for_stream, truncate_tokens


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("", 0),
        ("   ", 0),
        ("Hello, world!", 4),
        ("gpt-4o", 3),
        ('{"city": "Paris"}', 9),
        ('{"city":"Paris"}', 9),
        ("naïve café", 2),
        ("a_b c", 2),
    ],
)
def test_count_tokens(text: str, tokens: int) -> None:
    assert count_tokens(text) == tokens


def test_truncate_tokens_keeps_the_first_n() -> None:
    assert truncate_tokens("Stub reply from gpt-4o: hi", 5) == "Stub reply from gpt-"
    assert truncate_tokens("short", 5) == "short"
    assert truncate_tokens("anything", 0) == ""


@pytest.mark.parametrize(
    "text", ["", "one", "Stub reply from gpt-4o: Hello, world!", "  lead and trail  "]
)
def test_stream_pieces_join_back(text: str) -> None:
    assert "".join(split_for_stream(text)) == text
