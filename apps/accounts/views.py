"""Sign-up page; log in and log out are Django's own views with our templates.

The page is held to the API's sign-up limit (apps.accounts.throttles) and checks; a refusal keeps
the form with the reason and the 429 or 403 the API would give.
"""
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.shortcuts import redirect, render

from apps.accounts.forms import SignupForm
from apps.accounts.services import SignupRefused, signup_allowed
from apps.accounts.throttles import SignupThrottled, signup_check
from apps.core.observe import client_info_from_request


def _refused(request, form, message: str, status: int, retry_after: int | None = None):
    form.add_error(None, message)
    response = render(request, "accounts/signup.html", {"form": form}, status=status)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def signup(request):
    form = SignupForm(request.POST or None)
    if request.method == "POST":
        info = client_info_from_request(request, via="page")
        try:
            signup_check(info.address)
            signup_allowed(info)
        except SignupThrottled as exc:
            return _refused(request, form, str(exc.detail), 429, exc.wait_seconds)
        except SignupRefused as exc:
            return _refused(request, form, str(exc), 403)
        if form.is_valid():
            user = form.save(client=info)
            if user is not None:
                if settings.SIGNUP_BONUS:
                    messages.success(request, f"Welcome to StockRace! You start with {settings.SIGNUP_BONUS:,} points.")
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                return redirect("lobby")
    return render(request, "accounts/signup.html", {"form": form}, status=400 if form.errors else 200)
