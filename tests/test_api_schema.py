"""The OpenAPI schema tells mobile developers what they get: the token pair, the one error
envelope and the 4xx answers of every operation; a bad token answers token_not_valid in one
sentence."""
from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator

pytestmark = pytest.mark.django_db
ERROR = {"$ref": "#/components/schemas/Error"}


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield path, method, operation


def resolve(schema, node):
    return schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]] if "$ref" in node else node


def is_envelope(schema, node) -> bool:
    """A schema of the error envelope's shape ({"error": {"code", "message", "fields"}})."""
    detail = resolve(schema, resolve(schema, node).get("properties", {}).get("error", {}))
    return {"code", "message", "fields"} <= set(detail.get("properties", {}))


def test_the_token_endpoint_documents_access_and_refresh(schema):
    ok = schema["paths"]["/api/v1/auth/token/"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    pair = schema["components"]["schemas"][ok["$ref"].rsplit("/", 1)[1]]
    assert {"access", "refresh"} <= set(pair["properties"]) and set(pair["required"]) >= {"access", "refresh"}
    refreshed = schema["paths"]["/api/v1/auth/token/refresh/"]["post"]["responses"]["200"]["content"]
    refreshed = schema["components"]["schemas"][refreshed["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]]
    assert "access" in refreshed["properties"]


def test_the_error_envelope_is_one_component(schema):
    """Error, defined once (apps.core.schema.ERROR_SCHEMA): no app has a copy of its own."""
    from apps.core.schema import ERROR_SCHEMA

    components = schema["components"]["schemas"]
    assert components["Error"] == ERROR_SCHEMA
    assert [name for name, node in components.items() if is_envelope(schema, node)] == ["Error"]
    assert not [name for name in components if "Error" in name and name != "Error"]


def test_every_operation_documents_its_4xx_and_503_answers_in_the_envelope(schema):
    found = list(operations(schema))
    assert len(found) > 20
    for path, method, operation in found:
        responses = operation["responses"]
        where = f"{method.upper()} {path}"
        assert {"400", "429", "503"} <= set(responses), where
        assert "Retry-After" in responses["503"]["headers"], where
        for code, response in responses.items():
            if code.startswith("4") or code == "503":
                assert response["content"]["application/json"]["schema"] == ERROR, (where, code)
        if any(operation.get("security", [])):
            assert {"401", "403"} <= set(responses), where
        if "{" in path:
            assert "404" in responses, where
        if "requestBody" in operation:
            assert {"413", "415"} <= set(responses), where
    assert "Retry-After" in schema["paths"]["/api/v1/me/"]["get"]["responses"]["429"]["headers"]


def test_the_watchlist_api_is_documented(schema):
    assert {"get", "post"} <= set(schema["paths"]["/api/v1/me/watchlist/"])
    assert "delete" in schema["paths"]["/api/v1/me/watchlist/{symbol}/"]


def test_a_bad_token_answers_token_not_valid_in_one_sentence(api_client, player):
    response = api_client.get("/api/v1/me/", HTTP_AUTHORIZATION="Bearer not-a-token")
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "token_not_valid"
    assert error["message"] == "The access token is not valid: log in again (POST /api/v1/auth/token/) to get a new one."
    assert error["fields"] == {}


def test_an_expired_token_says_how_to_get_a_new_one(api_client, player, settings):
    from datetime import timedelta

    from rest_framework_simplejwt.tokens import AccessToken

    token = AccessToken.for_user(player)
    token.set_exp(lifetime=-timedelta(minutes=1))
    response = api_client.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401
    assert response.json()["error"] == {
        "code": "token_not_valid", "fields": {},
        "message": "The access token has expired: get a new one from /api/v1/auth/token/refresh/ or log in again."}
