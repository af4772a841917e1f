"""Session logins (the login page, the admin's, the sign-up page's) reach the login hooks; token
logins call them from apps.accounts.api."""
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from apps.accounts.services import user_logged_in_from
from apps.core.observe import client_info_from_request


@receiver(user_logged_in, dispatch_uid="accounts_login_hooks")
def session_login(sender, request, user, **kwargs):
    if request is not None:
        user_logged_in_from(user=user, info=client_info_from_request(request, via="page"))
