"""End to end: the real openai SDK, instrumented by llmotel, over HTTP to the stub server, called
from handlers on the instrumented LLMgine bus."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import openai
import pytest
from llmgine.bus.bus import MessageBus
from llmgine.messages.commands import Command, CommandResult
from llmgine.messages.events import Event
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from llmotel.instrumentation.openai import OpenAIInstrumentor
from llmotel.testing import StubServer

MODEL = "gpt-4o-mini"


@dataclass
class AskLLM(Command):
    question: str = ""


@dataclass
class Summarize(Event):
    text: str = ""


@pytest.fixture
async def client(
    llm_stub: StubServer, tracer_provider: TracerProvider, meter_provider: MeterProvider
) -> AsyncIterator[openai.AsyncOpenAI]:
    inst = OpenAIInstrumentor()
    inst.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
    client = openai.AsyncOpenAI(base_url=llm_stub.openai_base_url, api_key="test", max_retries=0)
    yield client
    await client.close()
    inst.uninstrument()


def _children(spans: tuple[ReadableSpan, ...], parent: ReadableSpan) -> list[str]:
    return sorted(
        s.name for s in spans if s.parent is not None and s.parent.span_id == parent.context.span_id
    )


async def test_llm_spans_are_children_of_the_bus_spans(
    bus: MessageBus, client: openai.AsyncOpenAI, span_exporter: InMemorySpanExporter
) -> None:
    answers: list[str | None] = []

    async def ask(cmd: Command) -> CommandResult:
        assert isinstance(cmd, AskLLM)
        reply = await client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": cmd.question}]
        )
        return CommandResult(
            success=True, command_id=cmd.command_id, result=reply.choices[0].message.content
        )

    async def summarize(event: Event) -> None:
        assert isinstance(event, Summarize)
        reply = await client.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": f"Summarize: {event.text}"}]
        )
        answers.append(reply.choices[0].message.content)

    async with bus.session("chat-1") as session:
        session.register_command_handler(AskLLM, ask)
        session.register_event_handler(Summarize, summarize)
        result = await session.execute_with_session(AskLLM(question="Hi?"))
        await bus.publish(Summarize(text=str(result.result), session_id=session.session_id))

    assert result.success
    assert result.result
    assert len(answers) == 1
    spans = span_exporter.get_finished_spans()
    by = {s.name: s for s in spans if s.name != f"chat {MODEL}"}
    chats = [s for s in spans if s.name == f"chat {MODEL}"]
    assert sorted(by) == [
        "execute AskLLM",
        "llmgine session",
        "process Summarize",
        "publish Summarize",
    ]
    assert len(chats) == 2
    assert all(c.kind is SpanKind.CLIENT for c in chats)
    session_span = by["llmgine session"]
    assert session_span.parent is None
    assert _children(spans, session_span) == ["execute AskLLM", "publish Summarize"]
    assert _children(spans, by["execute AskLLM"]) == [f"chat {MODEL}"]
    assert _children(spans, by["publish Summarize"]) == ["process Summarize"]
    assert _children(spans, by["process Summarize"]) == [f"chat {MODEL}"]
    assert {s.context.trace_id for s in spans} == {session_span.context.trace_id}
    # The LLM call of the event handler ran in another task, yet sits in the publisher's trace.
    assert by["process Summarize"].kind is SpanKind.CONSUMER
