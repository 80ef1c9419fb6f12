"""Guessing passwords or API tokens locks sign-in for a while, by account and by address; an admin can unlock."""

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.test import Client, RequestFactory
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.conftest import PASSWORD
from webapp.accounts.services.lockout import client_ip

LIMIT = 3
LOCKED = "Too many failed sign-ins for this account or from this address. Try again in 15 minutes"


@pytest.fixture(autouse=True)
def small_limit(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT  # a small limit keeps the tests quick; the rule is the same


def sign_in(client, username, password, url="/accounts/login/"):
    return client.post(url, {"username": username, "password": password})


def guess(client, username, times=LIMIT, url="/accounts/login/"):
    for n in range(times):
        sign_in(client, username, f"wrong guess {n}", url)


def signed_in(client) -> bool:
    return client.get("/").status_code == 200


@pytest.mark.django_db
def test_the_right_password_is_refused_after_too_many_wrong_ones(client, owner):
    guess(client, "olive")
    response = sign_in(client, "olive", PASSWORD)
    assert response.status_code == 429
    page = response.content.decode()
    assert LOCKED in page and "ask a Lux administrator to unlock it" in page
    assert 'name="password"' in page  # still the sign-in page, saying why
    assert not signed_in(client)


@pytest.mark.django_db
def test_a_few_mistakes_do_not_lock(client, owner):
    guess(client, "olive", times=LIMIT - 1)
    assert sign_in(client, "olive", PASSWORD).status_code == 302
    assert signed_in(client)


@pytest.mark.django_db
def test_the_account_stays_locked_from_another_address(owner, outsider):
    guess(Client(REMOTE_ADDR="203.0.113.7"), "olive")
    elsewhere = Client(REMOTE_ADDR="198.51.100.9")
    assert sign_in(elsewhere, "olive", PASSWORD).status_code == 429
    assert sign_in(elsewhere, "oscar", PASSWORD).status_code == 302  # other accounts are not locked


@pytest.mark.django_db
def test_an_address_guessing_many_accounts_is_locked(client, owner):
    for n in range(LIMIT):
        sign_in(client, f"nobody{n}", "guess")
    assert sign_in(client, "olive", PASSWORD).status_code == 429
    assert sign_in(Client(REMOTE_ADDR="198.51.100.9"), "olive", PASSWORD).status_code == 302


@pytest.mark.django_db
def test_the_admin_sign_in_is_locked_too(client, admin_user):
    guess(client, "ada", url="/admin/login/")
    response = sign_in(client, "ada", PASSWORD, url="/admin/login/")
    assert response.status_code == 429 and LOCKED in response.content.decode()
    assert client.get("/admin/").status_code == 302


@pytest.mark.django_db
def test_the_lock_ends_after_the_wait(client, owner):
    guess(client, "olive")
    AccessAttempt.objects.update(attempt_time=timezone.now() - timezone.timedelta(minutes=16))
    assert sign_in(client, "olive", PASSWORD).status_code == 302


@pytest.mark.django_db
def test_an_administrator_unlocks_with_a_command(client, owner):
    guess(client, "olive")
    call_command("axes_reset_username", "olive")
    call_command("axes_reset_ip", "127.0.0.1")
    assert sign_in(client, "olive", PASSWORD).status_code == 302


@pytest.mark.django_db
def test_an_administrator_sees_and_deletes_lockouts_in_the_admin(client, owner, admin_user):
    guess(Client(), "olive")
    client.force_login(admin_user)
    assert client.get("/admin/axes/accessattempt/").status_code == 200
    attempt = AccessAttempt.objects.get(username="olive")
    client.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})
    assert not AccessAttempt.objects.filter(username="olive").exists()


@pytest.mark.django_db
def test_bad_api_tokens_lock_the_address_out_of_the_api(owner):
    key = Token.objects.create(user=owner).key
    guesser = APIClient(REMOTE_ADDR="203.0.113.7")
    for n in range(LIMIT):
        guesser.credentials(HTTP_AUTHORIZATION=f"Token {n:040x}")
        assert guesser.get("/api/me/").status_code in (401, 429)
    guesser.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = guesser.get("/api/me/")
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.json()["detail"]
    assert int(response["Retry-After"]) == 15 * 60
    other = APIClient(REMOTE_ADDR="198.51.100.9")
    other.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert other.get("/api/me/").json()["username"] == "olive"


@pytest.mark.django_db
def test_requests_without_a_token_are_not_counted(api_client, owner_client):
    for _ in range(LIMIT + 1):
        assert api_client.get("/api/me/").status_code == 401
    assert owner_client.get("/api/me/").status_code == 200
    assert not AccessAttempt.objects.exists()


def test_the_client_address_comes_from_the_proxy_only_behind_one(settings):
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.1.1.1, 203.0.113.7")
    settings.LUX_BEHIND_PROXY = False
    assert client_ip(request) == "10.0.0.2"  # a forged header changes nothing
    settings.LUX_BEHIND_PROXY = True
    assert client_ip(request) == "203.0.113.7"  # the address the proxy saw, not what the client wrote before it
