"""Renderers shared by the API's download endpoints."""

import json

from rest_framework.renderers import BaseRenderer, JSONRenderer


class PassthroughRenderer(BaseRenderer):
    """Let a file download answer any Accept header; its errors still come out as JSON."""

    media_type = "*/*"
    format = "file"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, bytes) else json.dumps(data).encode()


# JSON first: an error answers JSON to a client that accepts it; a file answers whatever the client accepts.
FILE_RENDERERS = [JSONRenderer, PassthroughRenderer]
