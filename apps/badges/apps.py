from django.apps import AppConfig


class BadgesConfig(AppConfig):
    name = "apps.badges"
    label = "badges"
    verbose_name = "Badges"

    def ready(self):
        # Badges are evaluated after each settlement commits (the races app's hook).
        from apps.races import settlement

        if _race_settled not in settlement.after_settled:
            settlement.after_settled.append(_race_settled)


def _race_settled(race_id: int) -> None:
    from apps.badges.tasks import badges_evaluate_race_task

    badges_evaluate_race_task.delay(race_id)
