"""Fair-play tasks: thin, by ids, safe to run twice."""
from celery import shared_task

from apps.botdetect.copies import copies_find
from apps.botdetect.recording import observations_drain
from apps.botdetect.services import suspicion_rescore


@shared_task(name="botdetect.drain", ignore_result=True, time_limit=120, soft_time_limit=100)
def botdetect_drain_task() -> int:
    """Beat, every FAIRPLAY_DRAIN_SECONDS: the bet observations into sightings."""
    return observations_drain()


@shared_task(name="botdetect.rescore_users", ignore_result=True, time_limit=300, soft_time_limit=240)
def botdetect_rescore_users_task(user_ids: list[int]) -> None:
    """On sign-up and login (and for a burst's other accounts)."""
    suspicion_rescore(user_ids=user_ids)


@shared_task(name="botdetect.race_settled", ignore_result=True, time_limit=600, soft_time_limit=540)
def botdetect_race_settled_task(race_id: int) -> None:
    """After each settled race: its copy matches, the waiting observations, then every bettor's score."""
    from apps.bets.models import Bet

    copies_find(race_id=race_id)
    observations_drain()
    users = list(Bet.objects.filter(race_id=race_id).values_list("user_id", flat=True).distinct())
    suspicion_rescore(user_ids=users)
