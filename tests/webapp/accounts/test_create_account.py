import pytest
from django.contrib.auth import get_user_model

User = get_user_model()
NEW = {"username": "newbie", "email": "n@example.org", "team": "lab",
       "password1": "a fine passphrase", "password2": "a fine passphrase"}


@pytest.mark.django_db
def test_an_administrator_creates_an_account_in_a_team(client, admin_user):
    client.force_login(admin_user)
    response = client.post("/accounts/", NEW)
    assert response.status_code == 302
    user = User.objects.get(username="newbie")
    assert not user.is_superuser
    assert list(user.groups.values_list("name", flat=True)) == ["lab"]


@pytest.mark.django_db
def test_a_member_cannot_create_accounts(owner_client):
    response = owner_client.post("/accounts/", NEW)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not User.objects.filter(username="newbie").exists()


@pytest.mark.django_db
def test_it_refuses_a_taken_username(client, admin_user, owner):
    client.force_login(admin_user)
    page = client.post("/accounts/", {**NEW, "username": "OLIVE"}).content.decode()
    assert "That username is taken" in page
