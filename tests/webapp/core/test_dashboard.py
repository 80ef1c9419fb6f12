import pytest


@pytest.mark.django_db
def test_it_requires_sign_in(client, owner):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=/")


@pytest.mark.django_db
def test_it_says_what_to_do_first(owner_client):
    page = owner_client.get("/").content.decode()
    assert "Dashboard" in page
    assert "No worker is running" in page


@pytest.mark.django_db
def test_the_api_docs_are_linked_from_the_navigation(owner_client):
    assert 'href="/api/docs/"' in owner_client.get("/").content.decode()
