"""Registration and JWT for mobile clients; one error shape for every refusal."""
import pytest

pytestmark = pytest.mark.django_db


def register(client, body, **kwargs):
    return client.post("/api/v1/auth/register/", body, format="json", **kwargs)


def assert_error_shape(response, status, code=None):
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    assert body["error"]["message"]
    if code:
        assert body["error"]["code"] == code
    return body["error"]


def test_register_then_get_and_refresh_a_token(api_client, django_user_model):
    response = register(api_client, {"username": "newbie", "password": "tr1cky-Passphrase"})
    assert response.status_code == 201, response.content
    assert response.json()["username"] == "newbie"
    assert django_user_model.objects.filter(username="newbie").exists()

    tokens = api_client.post("/api/v1/auth/token/", {"username": "newbie", "password": "tr1cky-Passphrase"},
                             format="json")
    assert tokens.status_code == 200
    assert {"access", "refresh"} <= set(tokens.json())

    refreshed = api_client.post("/api/v1/auth/token/refresh/", {"refresh": tokens.json()["refresh"]}, format="json")
    assert refreshed.status_code == 200 and refreshed.json()["access"]


def test_taken_username_is_a_400_naming_the_field(api_client, player):
    error = assert_error_shape(register(api_client, {"username": "PLAYER1", "password": "tr1cky-Passphrase"}),
                               400, "invalid")
    assert error["fields"]["username"] == ["That username is taken."]


def test_bad_password_is_a_400_and_writes_nothing(api_client, django_user_model):
    error = assert_error_shape(register(api_client, {"username": "weak", "password": "12345"}), 400, "invalid")
    assert any("too short" in m for m in error["fields"]["password"])
    assert not django_user_model.objects.filter(username="weak").exists()


@pytest.mark.parametrize("body", [
    '{"username": "x", ',  # truncated JSON
    '[1, 2, 3]',  # not an object
    '{"username": 5}',  # missing password
    '{"username": "a b c", "password": "tr1cky-Passphrase"}',  # bad characters
    '{"username": "' + "x" * 200 + '", "password": "tr1cky-Passphrase"}',
])
def test_malformed_bodies_are_400_in_the_error_shape(api_client, body, django_user_model):
    response = api_client.generic("POST", "/api/v1/auth/register/", body, content_type="application/json")
    assert_error_shape(response, 400)
    assert django_user_model.objects.count() == 0


def test_wrong_password_gets_401_in_the_error_shape(api_client, player):
    response = api_client.post("/api/v1/auth/token/", {"username": "player1", "password": "nope"}, format="json")
    assert_error_shape(response, 401)


def test_unknown_api_path_is_a_json_404(client):
    response = client.get("/api/v1/does-not-exist/")
    assert_error_shape(response, 404, "not_found")
