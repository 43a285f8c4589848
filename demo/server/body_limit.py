"""An ASGI middleware that refuses request bodies over a size, as they arrive, before anything parses them.

Gradio parses an event's JSON body whole and keeps each session's last input values, so without a limit
every API session could hold a drawing of tens of MB (figures: docs/limits.md, "Input"). Files go through
Gradio's upload route instead, which has its own limit (launch's max_file_size).
"""

import json

UPLOAD_ROUTE = "/upload"  # Gradio's /gradio_api/upload: limited by max_file_size


class BodyLimit:
    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"].rstrip("/").endswith(UPLOAD_ROUTE):
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.max_bytes:
            return await self._refuse(receive, send)
        received = 0

        async def counted_receive():
            """A body longer than it said (or chunked, with no length) is cut off: the app sees a disconnect."""
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            return {"type": "http.disconnect"} if received > self.max_bytes else message

        return await self.app(scope, counted_receive, send)

    async def _refuse(self, receive, send):
        """413, after reading (and dropping) what the client sends: a client cut off mid-send sees no answer."""
        while (await receive()).get("more_body", False):
            pass
        body = json.dumps({"error": f"request body over {self.max_bytes // 2**20} MB; send images as files "
                                    f"(the upload route), not inside an event"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
