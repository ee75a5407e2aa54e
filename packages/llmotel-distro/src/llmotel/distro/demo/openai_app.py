"""A support assistant on OpenAI: a chat call, a streamed reply and a tool call, in one user session."""

from __future__ import annotations

import json
from typing import cast

from openai import OpenAI
from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam
from opentelemetry import trace

from llmotel.sdk import using_session, using_user

SYSTEM = "You are the support assistant of an online shop. Be brief."
TOOLS: list[ChatCompletionToolParam] = [
    {
        "type": "function",
        "function": {
            "name": "lookup_order",
            "description": "Find an order by its id",
            "parameters": {
                "type": "object",
                "properties": {"order_id": {"type": "string"}},
                "required": ["order_id"],
            },
        },
    }
]


def main() -> None:
    client = OpenAI(max_retries=0)
    tracer = trace.get_tracer("demo.support")
    with (
        using_session("session-openai-1"),
        using_user("user-42"),
        tracer.start_as_current_span("handle support ticket"),
    ):
        history: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": SYSTEM},
            {
                "role": "user",
                "content": "Hi, I'm Jane (jane.doe@example.com, +1 415-555-0134). "
                "My card 4111 1111 1111 1111 was charged twice for order A-1042.",
            },
        ]
        reply = client.chat.completions.create(model="gpt-4o-mini", messages=history)
        history.append({"role": "assistant", "content": reply.choices[0].message.content or ""})

        history.append({"role": "user", "content": "Can you check the order?"})
        tool_turn = client.chat.completions.create(model="gpt-4o", messages=history, tools=TOOLS)
        call = tool_turn.choices[0].message.tool_calls[0]  # type: ignore[index]
        history.append(
            cast(
                ChatCompletionMessageParam,
                tool_turn.choices[0].message.model_dump(exclude_none=True),
            )
        )
        history.append(
            {
                "role": "tool",
                "tool_call_id": call.id,
                "content": json.dumps({"order_id": "A-1042", "status": "refund issued"}),
            }
        )

        stream = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=history,
            stream=True,
            stream_options={"include_usage": True},
        )
        text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
        print(f"openai app: {len(text)} characters streamed")


if __name__ == "__main__":
    main()
