"""The OpenAPI schema documents every datasets endpoint with its error answers."""

import pytest

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    ("/api/datasets/", "post"), ("/api/datasets/{id}/", "get"), ("/api/datasets/{id}/auto-split/", "post"),
    ("/api/classes/", "post"), ("/api/classes/{id}/merge/", "post"), ("/api/images/", "get"),
    ("/api/images/", "post"), ("/api/images/{id}/", "patch"), ("/api/images/bulk/", "post"),
    ("/api/imports/", "post"), ("/api/imports/{id}/items/", "get"), ("/api/versions/", "post"),
    ("/api/versions/{id}/export/", "get"),
]


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from drf_spectacular.generators import SchemaGenerator

    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


@pytest.mark.parametrize("path, method", ENDPOINTS)
def test_each_endpoint_documents_401_403_and_404(schema, path, method):
    responses = schema["paths"][path][method]["responses"]
    # Creating a dataset names no existing object, so it is the one endpoint that cannot answer 404.
    expected = {"401", "403"} if (path, method) == ("/api/datasets/", "post") else {"401", "403", "404"}
    assert expected <= set(responses)


@pytest.mark.parametrize("path, method", [e for e in ENDPOINTS if e[1] != "get"] + [("/api/images/", "get")])
def test_endpoints_that_take_input_document_400(schema, path, method):
    assert "400" in schema["paths"][path][method]["responses"]


def test_the_upload_is_documented_as_multipart_with_many_files(schema):
    body = schema["paths"]["/api/images/"]["post"]["requestBody"]["content"]
    assert list(body) == ["multipart/form-data"]
