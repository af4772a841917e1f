from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from apps.accounts import signals  # noqa: F401 - session logins reach the login hooks
        from apps.accounts import tokens  # noqa: F401 - a password change revokes the account's tokens
