"""Every route with an object id, generated from the URL resolver and the API router: anonymous visitors are
sent to sign in (pages) or get 401 (API), an outsider gets 404, the owner gets the route's normal answer.

A GET on a POST-only route answers 405 to everyone signed in, before the view looks anything up: the outsider
gets the same 405 as the owner, whether or not the object exists, so it tells them nothing. The test checks
that sameness rather than a 404. A new route must be added to tests/webapp/routes.py (ROUTES, or EXEMPT with
the reason), or test_every_route_with_an_object_id_is_visited_or_exempt fails.
"""

import json

import pytest
from django.urls import reverse

from tests.webapp.routes import API_ROUTES, PAGE_ROUTES, ROUTES, all_routes, exemption
from tests.webapp.world import build_world

ORDER = ("GET", "PUT", "PATCH", "POST", "DELETE")  # reads first: a DELETE takes the object away
ID_ROUTES = [route for route in all_routes() if route.has_object_id]
VISITED = [route for route in ID_ROUTES if not exemption(route) and route.name in ROUTES]


def test_every_route_with_an_object_id_is_visited_or_exempt():
    missing = [f"{route.pattern} ({route.name})" for route in ID_ROUTES
               if not exemption(route) and route.name not in ROUTES]
    assert not missing, "add these routes to tests/webapp/routes.py (ROUTES, or EXEMPT with a reason):\n" + \
        "\n".join(missing)


def test_every_api_method_is_visited_and_every_listed_route_exists():
    for route in VISITED:
        if route.api:
            for visit in API_ROUTES[route.name]:
                assert set(visit.owner) == set(route.methods), f"{route.name}: visit every method it answers"
    names = {route.name for route in ID_ROUTES}
    assert not (set(PAGE_ROUTES) | set(API_ROUTES)) - names, "a listed route no longer exists"


def _cases():
    for route in VISITED:
        for index, _ in enumerate(ROUTES[route.name]):
            suffix = ".format" if "format" in route.kwargs else ""
            yield pytest.param(route, index, id=f"{route.name}{suffix}-{index}")


def _send(client, method: str, url: str, visit, api: bool):
    if method == "GET":
        return client.get(url)
    if api and not visit.multipart:
        return client.generic(method, url, json.dumps(visit.data), content_type="application/json")
    return client.post(url, visit.data) if method == "POST" else client.generic(method, url)


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "index"), list(_cases()))
def test_only_the_owner_reaches_the_object(route, index, client, owner, outsider, settings, media):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    world = build_world(owner)
    visit = ROUTES[route.name][index]
    kwargs = visit.kwargs(world) | ({"format": "json"} if "format" in route.kwargs else {})
    url = reverse(route.name, kwargs=kwargs)
    methods = sorted(visit.owner, key=ORDER.index)

    for method in methods:
        response = _send(client, method, url, visit, route.api)
        if route.api:
            assert response.status_code == 401, f"anonymous {method} {url}"
        else:
            assert (response.status_code, response["Location"].split("?")[0]) == (302, reverse("login")), \
                f"anonymous {method} {url}"

    client.force_login(outsider)
    for method in methods:
        response = _send(client, method, url, visit, route.api)
        expected = 405 if visit.owner[method] == 405 else 404
        assert response.status_code == expected, f"outsider {method} {url}"
        if route.api:
            assert response["Content-Type"] == "application/json", f"outsider {method} {url}"

    client.force_login(owner)
    for method in methods:
        response = _send(client, method, url, visit, route.api)
        assert response.status_code == visit.owner[method], f"owner {method} {url}"
