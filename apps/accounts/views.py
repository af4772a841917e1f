"""Sign-up page; log in and log out are Django's own views with our templates."""
from django.contrib.auth import login
from django.shortcuts import redirect, render

from apps.accounts.forms import SignupForm


def signup(request):
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        if user is not None:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("lobby")
    return render(request, "accounts/signup.html", {"form": form}, status=400 if form.errors else 200)
