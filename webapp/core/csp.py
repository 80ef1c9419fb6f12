"""The Content-Security-Policy: pages run only Lux's own script files, and user files never run at all."""

from functools import wraps

HEADER = "Content-Security-Policy"
# Every page: scripts and styles come from Lux's static files only, never from inline code or attributes,
# so markup that slips into a page (a class name, a file name) cannot run or restyle anything.
DIRECTIVES = {
    "default-src": "'self'",
    "img-src": "'self' data: blob:",
    "style-src": "'self'",
    "script-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}


def policy(**overrides: str) -> str:
    """Return the page policy as a header value, with directives overridden (style_src= for style-src)."""
    directives = DIRECTIVES | {name.replace("_", "-"): value for name, value in overrides.items()}
    return "; ".join(f"{name} {value}" for name, value in directives.items())


PAGE_POLICY = policy()
# ReDoc's bundle writes its styles into <style> tags, some while it loads, before any nonce could reach it,
# and builds its search worker from a blob. Its page shows only the API schema Lux generates, and scripts
# stay limited to files as everywhere else. (Its footer logo from a CDN is refused, as Lux works offline.)
REDOC_POLICY = policy(style_src="'self' 'unsafe-inline'", worker_src="'self' blob:")
# A file someone uploaded (and anything made from one) is sent with this instead: even bytes that are also
# an HTML page (a PNG/HTML polyglot) opened on their own make a sandboxed document that may load nothing.
USER_FILE_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox"


def content_security_policy(header: str):
    """Decorate a view so that its responses carry `header` instead of the page policy."""
    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            response = view(request, *args, **kwargs)
            response[HEADER] = header
            return response
        return wrapped
    return decorator


class ContentSecurityPolicyMiddleware:
    """Send the page policy with every response that does not set its own (user files set theirs)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if HEADER not in response:
            response[HEADER] = PAGE_POLICY
        return response
