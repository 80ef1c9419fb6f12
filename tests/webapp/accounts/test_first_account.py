import pytest
from django.contrib.auth import get_user_model

User = get_user_model()
GOOD = {"username": "first", "email": "", "password1": "correct horse battery", "password2": "correct horse battery"}


@pytest.mark.django_db
def test_login_sends_a_fresh_install_to_create_the_first_account(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/first/"
    assert "Create the first account" in client.get("/accounts/first/").content.decode()


@pytest.mark.django_db
def test_it_creates_an_administrator_and_signs_in(client):
    response = client.post("/accounts/first/", GOOD)
    assert response.status_code == 302 and response["Location"] == "/"
    user = User.objects.get()
    assert user.is_superuser and user.is_staff
    assert client.get("/").status_code == 200


@pytest.mark.django_db
def test_it_refuses_once_an_account_exists(client, owner):
    response = client.post("/accounts/first/", GOOD)
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert not User.objects.filter(username="first").exists()


@pytest.mark.django_db
def test_it_shows_errors_beside_the_fields(client):
    page = client.post("/accounts/first/", {**GOOD, "password2": "something else"}).content.decode()
    assert "The two passwords differ" in page
    page = client.post("/accounts/first/", {**GOOD, "password1": "123", "password2": "123"}).content.decode()
    assert "too short" in page
    assert not User.objects.exists()


@pytest.mark.django_db
def test_deleting_every_account_does_not_reopen_the_first_account_page(client):
    client.post("/accounts/first/", GOOD)
    client.post("/accounts/logout/")
    User.objects.all().delete()
    assert client.get("/accounts/login/").status_code == 200  # a sign-in page, not a loop to /accounts/first/
    response = client.post("/accounts/first/", {**GOOD, "username": "intruder"})
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert not User.objects.exists()
