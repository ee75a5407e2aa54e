"""using_session / using_user / using_conversation / using_attributes and get_context_attributes."""

from __future__ import annotations

import asyncio
import contextvars
import threading

from opentelemetry import context as otel_context

from llmotel.semconv.context import (
    get_context_attributes,
    using_attributes,
    using_conversation,
    using_session,
    using_user,
)


def test_empty_by_default() -> None:
    assert dict(get_context_attributes()) == {}


def test_nesting_overrides_and_restores() -> None:
    with using_session("s1"), using_user("u1"):
        assert dict(get_context_attributes()) == {"session.id": "s1", "user.id": "u1"}
        with using_session("s2"), using_conversation("c1"):
            assert dict(get_context_attributes()) == {
                "session.id": "s2",
                "user.id": "u1",
                "gen_ai.conversation.id": "c1",
            }
        assert dict(get_context_attributes()) == {"session.id": "s1", "user.id": "u1"}
    assert dict(get_context_attributes()) == {}


def test_restored_after_exception() -> None:
    try:
        with using_session("s1"):
            raise KeyError
    except KeyError:
        pass
    assert dict(get_context_attributes()) == {}


def test_using_attributes_mapping_and_keywords() -> None:
    with using_attributes({"app.tenant": "t1", "skip": None}, retries=2, ratio=0.5, obj=[1]):
        assert dict(get_context_attributes()) == {
            "app.tenant": "t1",
            "retries": 2,
            "ratio": 0.5,
            "obj": "[1]",
        }


def test_explicit_context_argument() -> None:
    with using_user("u1"):
        captured = otel_context.get_current()
    assert dict(get_context_attributes()) == {}
    assert dict(get_context_attributes(captured)) == {"user.id": "u1"}


def test_result_is_read_only() -> None:
    with using_session("s1"):
        attributes = get_context_attributes()
        try:
            attributes["x"] = 1  # type: ignore[index]
        except TypeError:
            pass
        assert dict(get_context_attributes()) == {"session.id": "s1"}


def test_decorator_sync_each_call_fresh() -> None:
    @using_session("s1")
    def handler(x: int) -> tuple[int, dict[str, object]]:
        return x * 2, dict(get_context_attributes())

    assert handler(2) == (4, {"session.id": "s1"})
    assert handler.__name__ == "handler"
    assert dict(get_context_attributes()) == {}


async def test_decorator_async_and_concurrent_tasks() -> None:
    @using_conversation("c1")
    async def inner(delay: float) -> dict[str, object]:
        await asyncio.sleep(delay)
        return dict(get_context_attributes())

    async def task(user: str, delay: float) -> dict[str, object]:
        async with using_user(user):
            return await inner(delay)

    results = await asyncio.gather(task("a", 0.02), task("b", 0.0))
    assert results == [
        {"user.id": "a", "gen_ai.conversation.id": "c1"},
        {"user.id": "b", "gen_ai.conversation.id": "c1"},
    ]
    assert dict(get_context_attributes()) == {}


def test_threads_with_copied_context() -> None:
    seen: list[dict[str, object]] = []
    with using_session("s1"):
        ctx = contextvars.copy_context()
        thread = threading.Thread(target=lambda: seen.append(dict(ctx.run(get_context_attributes))))
        thread.start()
        thread.join()
    assert seen == [{"session.id": "s1"}]


def test_same_instance_decorates_concurrent_threads() -> None:
    marker = using_session("s1")
    results: list[dict[str, object]] = []
    barrier = threading.Barrier(4)

    @marker
    def work() -> None:
        barrier.wait()
        results.append(dict(get_context_attributes()))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [{"session.id": "s1"}] * 4
