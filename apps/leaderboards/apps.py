from django.apps import AppConfig


class LeaderboardsConfig(AppConfig):
    name = "apps.leaderboards"
    label = "leaderboards"
    verbose_name = "Leaderboards"

    def ready(self):
        # Plug into the races app's hooks: the board sync after each settlement commits, and the
        # cleanup's catch-up of syncs that never reported done.
        from apps.leaderboards.services import leaderboard_sync_pending
        from apps.races import cleanup, settlement

        if _race_settled not in settlement.after_settled:
            settlement.after_settled.append(_race_settled)
        cleanup.settled_followups.setdefault("leaderboards_synced", leaderboard_sync_pending)


def _race_settled(race_id: int) -> None:
    from apps.leaderboards.tasks import leaderboards_sync_race_task

    leaderboards_sync_race_task.delay(race_id)
