import pytest

from tests.conftest import PASSWORD


@pytest.mark.django_db
def test_it_signs_in_and_out(client, owner):
    response = client.post("/accounts/login/", {"username": "olive", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/").status_code == 302


@pytest.mark.django_db
def test_it_rejects_a_wrong_password(client, owner):
    page = client.post("/accounts/login/", {"username": "olive", "password": "nope"}).content.decode()
    assert "Please enter a correct username and password" in page


@pytest.mark.django_db
def test_logout_rejects_get(owner_client):
    assert owner_client.get("/accounts/logout/").status_code == 405
