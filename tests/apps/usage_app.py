"""Makes OpenAI and Anthropic calls (one with cached input) and prints, as JSON, the usage each SDK returned.

The e2e tests compare what reached the backend with what the SDKs themselves reported.
"""

from __future__ import annotations

import json

from anthropic import Anthropic
from openai import OpenAI

from llmotel.sdk import using_session


def main() -> None:
    calls = []
    openai = OpenAI(max_retries=0)
    anthropic = Anthropic(max_retries=0)
    with using_session("e2e-usage"):
        for model in ("gpt-4o-mini", "gpt-4o"):
            r = openai.chat.completions.create(
                model=model,
                messages=[
                    {"role": "user", "content": "Email me at pat.doe@example.com about order 1042."}
                ],
            )
            assert r.usage is not None
            details = r.usage.prompt_tokens_details
            calls.append(
                {
                    "provider": "openai",
                    "model": model,
                    "response_model": r.model,
                    "input": r.usage.prompt_tokens,
                    "output": r.usage.completion_tokens,
                    "cache_read": (details.cached_tokens or 0) if details else 0,
                    "cache_write": 0,
                }
            )
        m = anthropic.messages.create(
            model="claude-sonnet-4-5",
            max_tokens=64,
            system=[
                {"type": "text", "text": "Policy. " * 300, "cache_control": {"type": "ephemeral"}}
            ],
            messages=[{"role": "user", "content": "Call me on (212) 555-0199."}],
        )
        u = m.usage
        calls.append(
            {
                "provider": "anthropic",
                "model": "claude-sonnet-4-5",
                "response_model": m.model,
                # Anthropic reports input without the cached part; semconv and genai-prices count it in.
                "input": u.input_tokens
                + (u.cache_read_input_tokens or 0)
                + (u.cache_creation_input_tokens or 0),
                "output": u.output_tokens,
                "cache_read": u.cache_read_input_tokens or 0,
                "cache_write": u.cache_creation_input_tokens or 0,
            }
        )
    print(json.dumps(calls))


if __name__ == "__main__":
    main()
