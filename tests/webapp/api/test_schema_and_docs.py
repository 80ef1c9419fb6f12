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


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    from drf_spectacular.generators import SchemaGenerator

    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema):
    return [(f"{method.upper()} {path}", op) for path, ops in schema["paths"].items() for method, op in ops.items()]


def inherited_docstrings() -> set[str]:
    """Return the docstrings of every class an API view inherits from (mixins, DRF's bases), cleaned."""
    import inspect

    import webapp.api.urls  # noqa: F401  (every app registers its viewsets on import)
    from webapp.api.router import router

    return {inspect.cleandoc(base.__doc__) for _, viewset, _ in router.registry
            for base in viewset.__mro__[1:] if base.__doc__}


def test_every_operation_is_described_in_its_own_words(schema):
    borrowed = inherited_docstrings()
    for name, op in operations(schema):
        assert op.get("description", "").strip(), f"{name} has no description"
        assert op["description"] not in borrowed, f"{name} is described by a base class: {op['description']!r}"


def test_every_operation_documents_the_answer_to_a_missing_sign_in(schema):
    for name, op in operations(schema):
        assert "401" in op["responses"], name


def test_a_400_is_documented_with_the_field_errors_it_really_has(schema):
    errors = schema["components"]["schemas"]["FieldErrors"]
    assert {"detail", "non_field_errors"} <= set(errors["properties"]) and errors["additionalProperties"]
    for name, op in operations(schema):
        # A prediction (asked for, or collected by its ticket) answers 400 with its own body: the image's error.
        if "400" in op["responses"] and name not in ("POST /api/classify/predict/",
                                                      "GET /api/classify/predict/{ticket}/"):
            body = op["responses"]["400"]["content"]["application/json"]["schema"]
            assert body == {"$ref": "#/components/schemas/FieldErrors"}, name


def test_launch_settings_that_take_fractions_are_numbers(schema):
    launch = schema["components"]["schemas"]["LaunchRequestRequest"]["properties"]
    for name in ("lr", "weight_decay", "warmup_epochs", "label_smoothing"):
        assert launch[name]["type"] == "number", name
    assert launch["epochs"]["type"] == "integer"


def test_a_run_on_a_registered_architecture_has_a_null_network_name(schema):
    assert schema["components"]["schemas"]["Run"]["properties"]["network_name"]["nullable"] is True


def test_downloads_document_their_file_types(schema):
    paths = schema["paths"]
    assert "application/zip" in paths["/api/versions/{id}/export/"]["get"]["responses"]["200"]["content"]
    assert "image/png" in paths["/api/classify/explanations/{id}/png/{kind}/"]["get"]["responses"]["200"]["content"]
    assert "text/csv" in paths["/api/classify/jobs/{id}/download/{fmt}/"]["get"]["responses"]["200"]["content"]
    assert {"503", "500"} <= set(paths["/api/classify/predict/"]["post"]["responses"])
