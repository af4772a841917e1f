"""Recompute every player's suspicion score (after changing weights or thresholds, or to catch up)."""
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from tqdm import tqdm

from apps.botdetect.recording import observations_drain
from apps.botdetect.services import BATCH, suspicion_rescore


class Command(BaseCommand):
    help = "Recompute the fair-play score of every player (house and staff accounts are skipped)."

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=BATCH, help="players scored per round of queries")

    def handle(self, *args, batch: int, **options):
        drained = observations_drain()
        ids = list(get_user_model().objects.filter(is_house=False, is_staff=False).order_by("pk")
                   .values_list("pk", flat=True))
        queued = restricted = 0
        with tqdm(total=len(ids), unit="player", file=self.stderr, disable=not ids) as bar:
            for start in range(0, len(ids), batch):
                chunk = ids[start:start + batch]
                result = suspicion_rescore(user_ids=chunk)
                queued += result.queued
                restricted += result.restricted
                bar.update(len(chunk))
        self.stdout.write(f"{len(ids)} players rescored ({drained} observations folded in): "
                          f"{queued} newly queued, {restricted} newly restricted")
