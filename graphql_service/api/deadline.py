"""One time budget per request for everything it asks of Cassandra.

The driver's timeout bounds each statement, but a read may run several in a row (the index,
then the sessions it names, more rounds when many rows list nothing), so against a frozen node one request
could take a multiple of it. Here the whole request gets CASSANDRA_REQUEST_TIMEOUT: past it
the caller gets 503 + Retry-After (every write is idempotent, so retrying is safe) instead
of waiting. Time spent waiting for the client's body does not count: that is the body
limit's read timeout, not Cassandra's."""

from __future__ import annotations

import asyncio
import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import unavailable

log = logging.getLogger(__name__)


class Deadline:
    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        budget = asyncio.timeout_at(loop.time() + self.seconds)
        started = False
        body_done = False

        async def paused_receive() -> Message:
            nonlocal body_done
            if body_done:
                return await receive()
            budget.reschedule(None)
            message = await receive()
            body_done = message["type"] != "http.request" or not message.get("more_body", False)
            budget.reschedule(loop.time() + self.seconds)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                # Once the answer is on its way it is let finish.
                started = True
                budget.reschedule(None)
            await send(message)

        try:
            async with budget:
                await self.app(scope, paused_receive, watched_send)
        except TimeoutError:
            if not budget.expired():
                raise  # not ours
            log.warning(
                "%s %s took longer than CASSANDRA_REQUEST_TIMEOUT (%s s)", scope["method"], scope["path"], self.seconds
            )
            await unavailable()(scope, receive, send)
