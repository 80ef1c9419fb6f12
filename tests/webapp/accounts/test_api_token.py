import pytest
from rest_framework.authtoken.models import Token


@pytest.mark.django_db
def test_it_creates_a_token_that_authenticates_the_api(owner_client, owner, api_client):
    owner_client.post("/accounts/token/create/")
    key = Token.objects.get(user=owner).key
    assert key in owner_client.get("/accounts/token/").content.decode()
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api_client.get("/api/me/").json()["username"] == "olive"


@pytest.mark.django_db
def test_replacing_a_token_revokes_the_old_one(owner_client, owner, api_client):
    owner_client.post("/accounts/token/create/")
    old = Token.objects.get(user=owner).key
    owner_client.post("/accounts/token/create/")
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {old}")
    assert api_client.get("/api/me/").status_code == 401


@pytest.mark.django_db
def test_it_revokes_the_token(owner_client, owner):
    owner_client.post("/accounts/token/create/")
    owner_client.post("/accounts/token/revoke/")
    assert not Token.objects.filter(user=owner).exists()


@pytest.mark.django_db
def test_token_pages_reject_get_for_changes(owner_client):
    assert owner_client.get("/accounts/token/create/").status_code == 405


@pytest.mark.django_db
def test_the_api_refuses_anonymous_requests(api_client):
    response = api_client.get("/api/me/")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
