"""Ticket triage on an LLMgine bus: a command handler asks OpenAI for a category, a tool files the ticket, an event
announces it. Shows the bus session, command, tool and LLM spans in one trace."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from llmgine.bus.bus import MessageBus
from llmgine.llm import SessionID
from llmgine.llm.tools.tool_events import ToolExecuteResultEvent
from llmgine.messages.commands import Command, CommandResult
from llmgine.messages.events import Event
from openai import AsyncOpenAI

from llmotel.sdk import using_user


@dataclass
class TriageTicket(Command):
    text: str = ""


@dataclass
class TicketFiled(Event):
    queue: str = ""


async def run() -> None:
    client = AsyncOpenAI(max_retries=0)
    bus = MessageBus()
    await bus.start()
    filed: list[str] = []

    async def triage(command: Command) -> CommandResult:
        assert isinstance(command, TriageTicket)
        reply = await client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[
                {"role": "system", "content": "Answer with one word: billing, shipping or other."},
                {"role": "user", "content": command.text},
            ],
        )
        return CommandResult(
            success=True, command_id=command.command_id, result=reply.choices[0].message.content
        )

    async def on_filed(event: Event) -> None:
        assert isinstance(event, TicketFiled)
        filed.append(event.queue)

    try:
        with using_user("user-1001"):
            async with bus.session("session-llmgine-1") as session:
                # llmgine's annotation says sync handlers; its bus awaits coroutine handlers too.
                session.register_command_handler(TriageTicket, triage)  # type: ignore[arg-type]
                session.register_event_handler(TicketFiled, on_filed)
                result = await session.execute_with_session(
                    TriageTicket(
                        text="Refund to IBAN DE89 3704 0044 0532 0130 00 please, I'm bob@example.net"
                    )
                )
                await bus.publish(
                    ToolExecuteResultEvent(
                        session_id=session.session_id,
                        tool_name="file_ticket",
                        tool_call_id="call_file_1",
                        tool_args={"queue": "billing"},
                        tool_result="ticket T-77 filed",
                        execution_succeed=True,
                    )
                )
                await bus.publish(
                    TicketFiled(queue=str(result.result), session_id=SessionID(session.session_id))
                )
    finally:
        await bus.stop()
        await client.close()
    print(f"llmgine app: filed to {filed}")


def main() -> None:
    asyncio.run(run())


if __name__ == "__main__":
    main()
