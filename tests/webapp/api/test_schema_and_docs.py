import pytest


@pytest.mark.django_db
def test_the_openapi_schema_describes_the_api(owner_client):
    response = owner_client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["info"]["title"] == "Lux API"
    assert "/api/me/" in schema["paths"]


@pytest.mark.django_db
def test_swagger_ui_uses_only_vendored_assets(owner_client):
    page = owner_client.get("/api/docs/").content.decode()
    assert "swagger-ui" in page
    assert "cdn" not in page.lower() and "https://" not in page


@pytest.mark.django_db
def test_the_docs_require_sign_in(client):
    assert client.get("/api/docs/").status_code == 302
