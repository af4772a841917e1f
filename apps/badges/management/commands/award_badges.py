"""(Re)evaluate badges for completed races: all of them in settlement order, or one with --race."""
from django.core.management.base import BaseCommand, CommandError

from apps.badges.services import badge_catalog_sync, badges_evaluate_race
from apps.races.models import Race


class Command(BaseCommand):
    help = ("Award the badges players earned in completed races, with their rewards. Idempotent: a badge "
            "already held and a reward already paid are skipped, so it is safe to run any time.")

    def add_arguments(self, parser):
        parser.add_argument("--race", type=int, help="Only this race (it must be completed).")
        parser.add_argument("--no-notify", action="store_true",
                            help="Do not send badge_unlocked events to the players (a quiet backfill).")

    def handle(self, *args, race=None, no_notify=False, **options):
        sync = badge_catalog_sync(update=False)
        if sync.created:
            self.stdout.write(f"catalog: added {', '.join(sync.created)}")
        races = Race.objects.filter(state=Race.State.COMPLETED)
        if race is not None:
            state = Race.objects.filter(pk=race).values_list("state", flat=True).first()
            if state is None:
                raise CommandError(f"There is no race {race}.")
            if state != Race.State.COMPLETED:
                raise CommandError(f"Race {race} is {state}: only completed races earn badges.")
            races = races.filter(pk=race)
        race_ids = list(races.order_by("settled_at", "ends_at", "id").values_list("id", flat=True))
        total = len(race_ids)
        awarded = rewards = points = 0
        for i, race_id in enumerate(race_ids, start=1):
            result = badges_evaluate_race(race_id=race_id, notify=not no_notify)
            awarded += len(result.awards)
            rewards += result.rewards
            points += result.points
            if result.awards or i == total or i % 100 == 0:
                self.stdout.write(f"[{i}/{total}] race {race_id}: {len(result.awards)} badges awarded, "
                                  f"{result.points} points")
        self.stdout.write(self.style.SUCCESS(
            f"{total} races evaluated: {awarded} badges awarded, {rewards} rewards, {points} points"))
