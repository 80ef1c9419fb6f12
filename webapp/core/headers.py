"""Headers every answer carries: no powerful browser features, and nothing private kept in shared caches."""

from django.utils.cache import patch_cache_control

# Lux uses none of these; denying them means an injected script or frame cannot either.
PERMISSIONS_POLICY = ", ".join(f"{feature}=()" for feature in (
    "accelerometer", "camera", "display-capture", "geolocation", "gyroscope", "magnetometer", "microphone",
    "midi", "payment", "usb",
))


class PrivacyHeadersMiddleware:
    """Add Permissions-Policy to every answer; `Cache-Control: private, no-store` to signed-in pages and the API."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        # An answer that set its own caching keeps it (a signed-in user's image files: private, max-age=3600).
        if "Cache-Control" not in response and (request.path.startswith("/api/") or _signed_in(request)):
            patch_cache_control(response, private=True, no_store=True)
        return response


def _signed_in(request) -> bool:
    user = getattr(request, "user", None)  # absent when an outer middleware (static files) answered first
    return bool(user and user.is_authenticated)
