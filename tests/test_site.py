"""Admin, API docs and pages answer as a visitor, a player and staff expect."""
import pytest

pytestmark = pytest.mark.django_db


def test_admin_is_staff_only(client, django_user_model):
    django_user_model.objects.create_user("pat", password="x-long-password")
    client.login(username="pat", password="x-long-password")
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_staff_opens_admin_with_the_admin_interface_theme(client, django_user_model):
    django_user_model.objects.create_user("boss", password="x-long-password", is_staff=True, is_superuser=True)
    client.login(username="boss", password="x-long-password")
    response = client.get("/admin/")
    assert response.status_code == 200
    assert b"admin-interface" in response.content
    assert b"StockRace staff" in response.content  # our theme (apps/core/migrations/0001_admin_theme.py)


def test_openapi_schema_and_docs(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/auth/register/" in paths and "/api/v1/auth/token/" in paths
    docs = client.get("/api/docs/")
    assert docs.status_code == 200 and b"swagger-ui" in docs.content


def test_signup_page_shows_field_errors_in_place(client, player):
    response = client.post("/signup/", {"username": "player1", "password": "short"})
    assert response.status_code == 400
    assert b"That username is taken." in response.content
    assert b"too short" in response.content


def test_signup_logs_the_new_player_in(client, django_user_model):
    response = client.post("/signup/", {"username": "rookie", "password": "tr1cky-Passphrase"})
    assert response.status_code == 302
    assert client.get("/").context["user"].username == "rookie"


def test_lobby_renders_for_anonymous(client):
    assert client.get("/").status_code == 200
