"""The demo hands freed memory back once after each burst of requests, and only when the server is idle."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

from demo.server.idle_trim import TrimWhenIdle

IDLE_S = 2.0


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def answer(scope, receive, send):
    pass


def trimmer() -> tuple[TrimWhenIdle, Clock, list]:
    clock, trims = Clock(), []
    return TrimWhenIdle(answer, IDLE_S, trim=lambda: trims.append(clock.now), clock=clock, watch=False), clock, trims


def request(middleware: TrimWhenIdle, kind: str = "http") -> None:
    # A thread of its own: Playwright's sync API keeps an event loop running in this one when browser tests ran first.
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, middleware({"type": kind}, None, None)).result()


def test_nothing_is_trimmed_before_the_first_request():
    middleware, clock, trims = trimmer()
    clock.now += 10 * IDLE_S
    assert not middleware.trim_if_idle() and trims == []


def test_memory_is_trimmed_once_after_a_request_when_idle():
    middleware, clock, trims = trimmer()
    request(middleware)
    clock.now += IDLE_S / 2
    assert not middleware.trim_if_idle()
    clock.now += IDLE_S / 2
    assert middleware.trim_if_idle()
    clock.now += 10 * IDLE_S
    assert not middleware.trim_if_idle()
    assert trims == [100.0 + IDLE_S]


def test_nothing_is_trimmed_while_requests_keep_coming():
    middleware, clock, trims = trimmer()
    for _ in range(10):
        request(middleware)
        clock.now += IDLE_S / 2
        middleware.trim_if_idle()
    assert trims == []


def test_lifespan_messages_are_no_activity():
    middleware, clock, trims = trimmer()
    request(middleware, kind="lifespan")
    clock.now += 10 * IDLE_S
    assert not middleware.trim_if_idle()
