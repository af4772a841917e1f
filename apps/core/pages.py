"""Player-facing pages that belong to no single domain."""
from django.shortcuts import render

from apps.races.models import Race


def lobby(request):
    races = (Race.objects.exclude(state__in=[Race.State.COMPLETED, Race.State.CANCELLED])
             .prefetch_related("entries__stock").order_by("starts_at")[:30])
    return render(request, "core/lobby.html", {"races": races})
