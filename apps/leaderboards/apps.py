from django.apps import AppConfig


class LeaderboardsConfig(AppConfig):
    name = "apps.leaderboards"
    label = "leaderboards"
    verbose_name = "Leaderboards"

    def ready(self):
        # Plug into the lower layers' hooks: the board sync after each settlement commits, the
        # cleanup's catch-up of syncs that never reported done, and the /me/ summary.
        from apps.leaderboards.services import leaderboard_sync_pending
        from apps.races import cleanup, settlement

        if _race_settled not in settlement.after_settled:
            settlement.after_settled.append(_race_settled)
        cleanup.settled_followups.setdefault("leaderboards_synced", leaderboard_sync_pending)
        # /api/v1/me/: the streak read in the summary's one query, the global rank from Redis.
        from apps.leaderboards.selectors import me_rank
        from apps.points import selectors as points

        points.me_fields.setdefault("streak", ("user__streak__current", 0))
        points.me_fields.setdefault("best_streak", ("user__streak__best", 0))
        points.me_values.setdefault("rank", (me_rank, None))


def _race_settled(race_id: int) -> None:
    from apps.leaderboards.tasks import leaderboards_sync_race_task

    leaderboards_sync_race_task.delay(race_id)
