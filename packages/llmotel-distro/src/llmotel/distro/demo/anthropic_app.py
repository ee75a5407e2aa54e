"""A document assistant on Anthropic: a call that meets an overloaded API, then a long cached system prompt reused
across two turns (prompt caching)."""

from __future__ import annotations

from anthropic import Anthropic, APIStatusError

from llmotel.sdk import using_session, using_user

POLICY = "Refund policy. " + " ".join(
    f"Rule {i}: refunds within {i + 14} days need a receipt." for i in range(60)
)


def main() -> None:
    client = Anthropic(max_retries=0)
    system = [{"type": "text", "text": POLICY, "cache_control": {"type": "ephemeral"}}]
    with using_session("session-anthropic-1"), using_user("user-7"):
        try:
            client.messages.create(
                model="claude-haiku-4-5",
                max_tokens=64,
                messages=[{"role": "user", "content": "Are you there?"}],
            )
        except APIStatusError as exc:  # the demo's stub answers this one as an overloaded API would
            print(f"anthropic app: first call failed with HTTP {exc.status_code}, carrying on")
        for question in (
            "Can I get a refund after 20 days? My email is sam.lee@example.org.",
            "And if I lost the receipt? Call me at (212) 555-0199.",
        ):
            message = client.messages.create(
                model="claude-sonnet-4-5",
                max_tokens=256,
                system=system,  # type: ignore[arg-type]
                messages=[{"role": "user", "content": question}],
            )
            print(
                f"anthropic app: {message.usage.cache_read_input_tokens or 0} cached input tokens"
            )
        with client.messages.stream(
            model="claude-haiku-4-5",
            max_tokens=128,
            messages=[{"role": "user", "content": "Summarise."}],
        ) as stream:
            stream.get_final_message()


if __name__ == "__main__":
    main()
