"""An ASGI middleware that makes the page cross-origin isolated, so that the network in the page can run on more
than one thread (WebAssembly threads need SharedArrayBuffer, which browsers give only to isolated pages).

Two threads made a prediction in the page about a third faster on a 2-core CPU (figures: docs/in-page-network.md,
"Speed"). "credentialless" rather than "require-corp": a resource from elsewhere (the page fetches none) would be
loaded without cookies instead of refused. A browser that knows neither runs the network on one thread.
"""

ISOLATION_HEADERS = [(b"cross-origin-opener-policy", b"same-origin"),
                     (b"cross-origin-embedder-policy", b"credentialless")]


class CrossOriginIsolation:
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def isolated(message):
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *ISOLATION_HEADERS]}
            await send(message)

        return await self.app(scope, receive, isolated)
