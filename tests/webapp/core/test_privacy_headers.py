"""Every answer denies powerful browser features; signed-in pages and the API are never stored by a cache."""

import pytest

from tests.factories import FEW, PETS, images_by_class, make_version

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media")]


def denies_features(response) -> bool:
    policy = response["Permissions-Policy"]
    return all(f"{feature}=()" in policy for feature in ("camera", "microphone", "geolocation", "payment", "usb"))


def test_the_sign_in_page_denies_features(client, owner):
    response = client.get("/accounts/login/")
    assert response.status_code == 200 and denies_features(response)


def test_static_files_and_redirects_deny_features_too(client):
    response = client.get("/static/css/lux.css")
    assert response.status_code == 200 and denies_features(response)
    assert "no-store" not in response.get("Cache-Control", "")
    assert denies_features(client.get("/"))  # the redirect to sign in


def test_signed_in_pages_are_private_and_not_stored(owner_client):
    response = owner_client.get("/")
    assert response.status_code == 200 and denies_features(response)
    assert {part.strip() for part in response["Cache-Control"].split(",")} >= {"private", "no-store"}


def test_api_answers_are_private_and_not_stored(owner_client, api_client):
    for response in (owner_client.get("/api/me/"), api_client.get("/api/me/")):
        assert {part.strip() for part in response["Cache-Control"].split(",")} >= {"private", "no-store"}
        assert denies_features(response)


def test_a_signed_in_users_image_keeps_its_own_private_caching(owner_client, owner):
    version = make_version(owner, classes=PETS, per_split=FEW)
    images = images_by_class(version)
    image = images["cat"][0]
    response = owner_client.get(f"/datasets/{version.dataset_id}/images/{image.pk}/file/")
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, max-age=86400"
    assert denies_features(response)
