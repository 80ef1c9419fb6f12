"""Sign-in lockout (django-axes): whose failures count, from which address, and what a locked-out visitor reads."""

from axes.helpers import get_client_username, get_cool_off
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.http import JsonResponse
from django.shortcuts import render


def client_ip(request) -> str | None:
    """Return the client's address: the one the proxy in front saw, when LUX_BEHIND_PROXY says there is one."""
    if settings.LUX_BEHIND_PROXY:
        # The proxy appends the address it saw to X-Forwarded-For; anything left of it the client may have forged.
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if forwarded[-1]:
            return forwarded[-1]
    return request.META.get("REMOTE_ADDR")


def lockout_parameters(request_or_attempt, credentials=None) -> list[str]:
    """Return what failures count against: the account and the address, or the address alone (API tokens)."""
    if hasattr(request_or_attempt, "META"):
        username = get_client_username(request_or_attempt, credentials)
    else:  # an AccessAttempt row
        username = request_or_attempt.username
    # Without a username (a bad API token) a username count would lump every such failure together.
    return ["username", "ip_address"] if username else ["ip_address"]


def lockout_minutes(request=None) -> int:
    """Return how long a lockout lasts, in whole minutes."""
    return max(1, round(get_cool_off(request).total_seconds() / 60))


def lockout_message(request=None) -> str:
    """Return what a locked-out visitor reads."""
    minutes = lockout_minutes(request)
    return (f"Too many failed sign-ins for this account or from this address. Try again in {minutes} minutes, "
            "or ask a Lux administrator to unlock it.")


def locked_out(request, original_response=None, credentials=None):
    """Return the answer to a locked-out attempt: the sign-in page saying why, or JSON for the API."""
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": lockout_message(request)}, status=429)
        response["Retry-After"] = str(lockout_minutes(request) * 60)
        return response
    form = AuthenticationForm(request, initial={"username": get_client_username(request, credentials) or ""})
    context = {"form": form, "lockout": lockout_message(request), "next": request.POST.get("next", "")}
    return render(request, "accounts/login.html", context, status=429)
