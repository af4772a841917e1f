"""Account writes: registration."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

User = get_user_model()

# Other apps hook into registration (the signup bonus, for one) by appending here:
# each callable gets the new user inside the registration transaction.
on_user_created: list = []


def user_register(*, username: str, password: str, email: str = "") -> User:
    """Create a player account. Raises ValidationError with field messages on bad input."""
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
    except IntegrityError:
        # Two sign-ups with one name at the same moment: the unique index decides.
        raise ValidationError({"username": ["That username is taken."]})
    return user
