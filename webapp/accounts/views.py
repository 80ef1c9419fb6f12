"""Sign in and out, the first account, accounts for administrators, and API tokens."""

from django.contrib import messages
from django.contrib.auth import get_user_model, login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required, user_passes_test
from django.db import IntegrityError, transaction
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_http_methods, require_POST
from rest_framework.authtoken.models import Token

from webapp.accounts.forms import AccountForm, NewAccountForm
from webapp.accounts.models import FirstAccountClaim
from webapp.api.snippets import predict_snippets

User = get_user_model()


def first_account_open() -> bool:
    """Return whether the first account may still be created: a fresh install, never claimed."""
    return not FirstAccountClaim.objects.exists() and not User.objects.exists()


@method_decorator(login_not_required, name="dispatch")
class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True

    def dispatch(self, request, *args, **kwargs):
        if first_account_open():
            return redirect("first_account")
        return super().dispatch(request, *args, **kwargs)


@login_not_required
@require_http_methods(["GET", "POST"])
def first_account(request):
    """Create the first account, an administrator; afterwards only administrators create accounts."""
    if not first_account_open():
        messages.info(request, "Lux already has accounts: sign in, or ask an administrator for one.")
        return redirect("login")
    form = AccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                # A check before the insert cannot stop racing visitors (each sees no account yet); the claim's
                # fixed primary key can: the database lets one insert succeed and fails every other.
                FirstAccountClaim.objects.create(username=form.cleaned_data["username"])
                user = form.save(is_admin=True)
        except IntegrityError:
            messages.info(request, "Someone else has just created the first account: ask them for an account.")
            return redirect("login")
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")  # the one that signs in
        messages.success(request, f"Welcome, {user.username}. You are Lux's administrator.")
        return redirect("dashboard")
    return render(request, "accounts/first_account.html", {"form": form})


def is_admin(user) -> bool:
    return user.is_active and user.is_superuser


@user_passes_test(is_admin)
@require_http_methods(["GET", "POST"])
def accounts(request):
    """List accounts and create new ones (administrators only)."""
    form = NewAccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        messages.success(request, f"Account {user.username} created. Give them their password in person.")
        return redirect("accounts")
    users = User.objects.order_by("username").prefetch_related("groups")
    return render(request, "accounts/accounts.html", {"form": form, "users": users})


@require_http_methods(["GET"])
def api_token(request):
    """Show the user's API token, if they have one."""
    token = Token.objects.filter(user=request.user).first()
    return render(request, "accounts/api_token.html", {"token": token, "snippets": predict_snippets(request)})


@require_POST
def create_api_token(request):
    """Create a new API token, replacing (and so revoking) any previous one."""
    Token.objects.filter(user=request.user).delete()
    Token.objects.create(user=request.user)
    messages.success(request, "New API token created. Any previous token no longer works.")
    return redirect("api_token")


@require_POST
def revoke_api_token(request):
    """Delete the user's API token."""
    deleted, _ = Token.objects.filter(user=request.user).delete()
    messages.success(request, "API token revoked." if deleted else "You had no API token.")
    return redirect("api_token")
