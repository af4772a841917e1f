from django.urls import path

from apps.core import pages

urlpatterns = [
    path("", pages.lobby, name="lobby"),
]
