"""Every API failure is a JSON answer the schema documents, never a server error or an HTML page."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(api_client, owner):
    api_client.force_authenticate(owner)
    return api_client


def test_an_id_no_route_accepts_is_a_json_404(api):
    for url in ("/api/runs/abc/", "/api/runs/99999999999999999999/", "/api/datasets/1.5/", "/api/nothing/"):
        response = api.get(url)
        assert (response.status_code, response["Content-Type"]) == (404, "application/json"), url


def test_an_unknown_url_asks_for_sign_in_before_saying_not_found(api_client):
    assert api_client.get("/api/runs/abc/").status_code == 401


def test_a_filter_id_too_large_for_the_database_is_a_400_not_a_crash(api):
    for url in ("/api/runs/?dataset=99999999999999999999", "/api/classify/exports/?run=-9223372036854775809",
                "/api/evaluations/?version=0"):
        response = api.get(url)
        assert response.status_code == 400, url
        assert list(response.json()) in (["dataset"], ["run"], ["version"]), url


def test_a_malformed_filter_is_a_400_naming_it(api):
    assert api.get("/api/runs/?status=done").json() == {"status": ['"done" is not a valid choice.']}
    assert api.get("/api/images/?page_size=0").status_code == 400


def test_a_run_launched_with_a_list_instead_of_an_object_is_a_400(api):
    response = api.post("/api/runs/", [None, None], format="json")
    assert response.status_code == 400 and "non_field_errors" in response.json()


def test_a_string_field_refuses_a_number_instead_of_storing_its_digits(api):
    response = api.post("/api/datasets/", {"name": "Pets", "description": 0}, format="json")
    assert response.status_code == 400 and response.json() == {"description": ["Must be a string."]}


def test_a_service_error_is_shaped_like_drf_validation_errors():
    from webapp.core.errors import FieldError

    error = FieldError("Choose one of the splits.", "split")
    assert (error.body(), error.status) == ({"split": ["Choose one of the splits."]}, 400)
    assert FieldError("Already started.", status=409).body() == {"detail": "Already started."}
    assert FieldError("Not finished.").body() == {"non_field_errors": ["Not finished."]}
