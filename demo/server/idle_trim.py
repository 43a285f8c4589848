"""An ASGI middleware that hands the memory a burst of requests freed back to the OS once the server is idle.

glibc keeps what the request threads free in their heaps for reuse, memory the machine does not get back
after a crowd has gone (figures: docs/limits.md). malloc_trim takes a few milliseconds, so it runs only when
no request has started or ended for IDLE_S (the page's heartbeat stream is one request that neither starts nor ends).
"""

import threading
import time

from .memory import trim_freed_memory

IDLE_S = 2.0


class TrimWhenIdle:
    def __init__(self, app, idle_s: float = IDLE_S, trim=trim_freed_memory, clock=time.monotonic,
                 watch: bool = True):
        """watch=False: no thread of its own; call trim_if_idle (tests)."""
        self.app, self.idle_s, self.trim, self.clock = app, idle_s, trim, clock
        self.last_activity = clock()
        self.trimmed = True  # nothing to hand back before the first request
        if watch:
            threading.Thread(target=self._watch, name="trim-when-idle", daemon=True).start()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        self._active()
        try:
            return await self.app(scope, receive, send)
        finally:
            self._active()

    def _active(self) -> None:
        self.last_activity = self.clock()
        self.trimmed = False

    def trim_if_idle(self) -> bool:
        """Trims once after each burst, when it has been idle for idle_s; whether it trimmed."""
        if self.trimmed or self.clock() - self.last_activity < self.idle_s:
            return False
        self.trimmed = True
        self.trim()
        return True

    def _watch(self) -> None:
        while True:
            time.sleep(self.idle_s / 2)
            self.trim_if_idle()
