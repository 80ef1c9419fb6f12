"""API token authentication that counts failed tokens like failed passwords, so tokens cannot be guessed."""

from axes.handlers.proxy import AxesProxyHandler
from django.contrib.auth.signals import user_login_failed
from rest_framework.authentication import TokenAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, Throttled

from webapp.accounts.services.lockout import lockout_message, lockout_minutes

# No username comes with a token: failures count against the client address only.
NO_USERNAME = {"username": None}


class LockoutTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`, refused for a while after too many bad tokens from one address."""

    def authenticate(self, request):
        words = get_authorization_header(request).split()
        if not words or words[0].lower() != self.keyword.lower().encode():
            return None  # no token offered: another authentication may apply
        django_request = request._request
        if not AxesProxyHandler.is_allowed(django_request, NO_USERNAME):
            self._failed(django_request)  # a try while locked out starts the wait again, as for passwords
            raise Throttled(wait=lockout_minutes(django_request) * 60, detail=lockout_message(django_request))
        try:
            return super().authenticate(request)
        except AuthenticationFailed:
            self._failed(django_request)
            raise

    def _failed(self, django_request):
        user_login_failed.send(sender=__name__, credentials=NO_USERNAME, request=django_request)
