from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from apps.accounts.models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ["username", "email", "is_staff", "is_house", "is_shadow_restricted", "date_joined"]
    list_filter = ["is_staff", "is_house", "is_shadow_restricted", "is_active"]
    fieldsets = BaseUserAdmin.fieldsets + (("Game", {"fields": ["is_house", "is_shadow_restricted"]}),)
