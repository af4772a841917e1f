"""Account writes: registration, and the hooks fair play (apps.botdetect) plugs into sign-up and login."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

User = get_user_model()

# Other apps hook into registration (the signup bonus, for one) by appending here:
# each callable gets the new user inside the registration transaction.
on_user_created: list = []
# Sign-up and login through a route (page or API), with what the request says about its client
# (apps.core.observe.ClientInfo). ``signup_checks``: callables(info) returning a refusal message
# (the sign-up is refused with 403) or None; ``on_signup``: callables(user, info) inside the
# registration transaction; ``on_login``: callables(user, info) after a successful login.
signup_checks: list = []
on_signup: list = []
on_login: list = []


class SignupRefused(Exception):
    """A sign-up check refused this client (a blocked device or network)."""


def signup_allowed(info) -> None:
    """Raise SignupRefused when a sign-up check refuses this client."""
    for check in signup_checks:
        message = check(info)
        if message:
            raise SignupRefused(message)


def user_logged_in_from(*, user, info) -> None:
    """A login through a route succeeded: tell the hooks."""
    for hook in on_login:
        hook(user, info)


def user_register(*, username: str, password: str, email: str = "", client=None) -> User:
    """Create a player account. Raises ValidationError with field messages on bad input.

    ``client`` (apps.core.observe.ClientInfo): the request that signs up, for the ``on_signup``
    hooks; None for accounts made by code (seeds, tests, commands)."""
    username = (username or "").strip()
    errors: dict[str, list[str]] = {}
    if not username:
        errors["username"] = ["Choose a username."]
    elif User.objects.filter(username__iexact=username).exists():
        errors["username"] = ["That username is taken."]
    candidate = User(username=username, email=email or "")
    try:
        validate_password(password or "", user=candidate)
    except ValidationError as exc:
        errors["password"] = list(exc.messages)
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            user = User.objects.create_user(username=username, email=email or "", password=password)
            for hook in on_user_created:
                hook(user)
            if client is not None:
                for hook in on_signup:
                    hook(user, client)
    except IntegrityError:
        # Two sign-ups with one name at the same moment: the unique index decides.
        raise ValidationError({"username": ["That username is taken."]})
    return user
