"""Routes of the trading pages (mounted at the site root)."""
from django.urls import path

urlpatterns: list = []
