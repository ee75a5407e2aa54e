"""An LLMgine bus app whose command handler calls the openai SDK: the whole trace, no API key.

Run it under ``opentelemetry-instrument`` (the llmgine and openai instrumentations load by
themselves) and print the spans::

    OTEL_TRACES_EXPORTER=console OTEL_METRICS_EXPORTER=none OTEL_LOGS_EXPORTER=none \\
        opentelemetry-instrument python examples/llmgine_bus_app.py

It talks to ``OPENAI_BASE_URL`` when set (e.g. a stub started with
``python -m llmotel.testing.stub``), otherwise to a stub server it starts in-process. One trace
comes out::

    llmgine session                      INTERNAL   session.id=demo-session
    ├── execute AskQuestion              INTERNAL   llmgine.command.*
    │   └── chat gpt-4o-mini             CLIENT     gen_ai.*   (openai instrumentation)
    ├── execute_tool lookup_weather      INTERNAL   gen_ai.tool.*
    │   └── process ToolExecuteResultEvent  CONSUMER
    └── publish AnswerReady              PRODUCER
        └── process AnswerReady          CONSUMER   (ran in the bus's processing task)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass

import openai
from llmgine.bus.bus import MessageBus
from llmgine.llm.tools.tool_events import ToolExecuteResultEvent
from llmgine.messages.commands import Command, CommandResult
from llmgine.messages.events import Event

MODEL = "gpt-4o-mini"


@dataclass
class AskQuestion(Command):
    question: str = ""


@dataclass
class AnswerReady(Event):
    answer: str = ""


@contextlib.contextmanager
def openai_endpoint() -> Iterator[str]:
    """``OPENAI_BASE_URL`` if set, else the URL of a stub server running for the block."""
    url = os.environ.get("OPENAI_BASE_URL")
    if url:
        yield url
        return
    from llmotel.testing import StubServer

    with StubServer() as stub:
        yield stub.openai_base_url


async def run(base_url: str) -> str:
    client = openai.AsyncOpenAI(base_url=base_url, api_key=os.environ.get("OPENAI_API_KEY", "stub"))
    bus = MessageBus()
    await bus.start()

    async def ask(cmd: Command) -> CommandResult:
        assert isinstance(cmd, AskQuestion)
        reply = await client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": cmd.question}]
        )
        return CommandResult(
            success=True, command_id=cmd.command_id, result=reply.choices[0].message.content
        )

    async def show(event: Event) -> None:
        assert isinstance(event, AnswerReady)
        print(f"answer: {event.answer}")

    async def log_tool(event: Event) -> None:
        assert isinstance(event, ToolExecuteResultEvent)
        print(f"tool {event.tool_name} -> {event.tool_result}")

    try:
        async with bus.session("demo-session") as session:
            session.register_command_handler(AskQuestion, ask)
            session.register_event_handler(AnswerReady, show)
            session.register_event_handler(ToolExecuteResultEvent, log_tool)
            result = await session.execute_with_session(AskQuestion(question="Weather in Oslo?"))
            # A tool the app ran itself, reported the LLMgine way.
            await bus.publish(
                ToolExecuteResultEvent(
                    session_id=session.session_id,
                    tool_name="lookup_weather",
                    tool_call_id="call_1",
                    tool_args={"city": "Oslo"},
                    tool_result="sunny",
                    execution_succeed=True,
                )
            )
            await bus.publish(AnswerReady(answer=str(result.result), session_id=session.session_id))
    finally:
        await bus.stop()
        await client.close()
    return str(result.result)


def main() -> None:
    with openai_endpoint() as base_url:
        asyncio.run(run(base_url))


if __name__ == "__main__":
    main()
