from django.apps import AppConfig


class BotdetectConfig(AppConfig):
    name = "apps.botdetect"
    label = "botdetect"
    verbose_name = "Bot detection"

    def ready(self):
        # Plug into the lower layers' hooks: sign-up checks and records, logins, settled races.
        from apps.accounts import services as accounts
        from apps.botdetect.recording import login_recorded, signup_blocked, signup_recorded
        from apps.races import settlement

        for hooks, hook in ((accounts.signup_checks, signup_blocked), (accounts.on_signup, signup_recorded),
                            (accounts.on_login, login_recorded), (settlement.after_settled, _race_settled)):
            if hook not in hooks:
                hooks.append(hook)


def _race_settled(race_id: int) -> None:
    from apps.botdetect.tasks import botdetect_race_settled_task

    botdetect_race_settled_task.delay(race_id)
