"""ensure_demo_user.py: `manage.py ensure_demo_user` creates the demo login if it is missing.

Idempotent, so `make demo` can run it every time: an existing `demo` user keeps its row
and gets its password set back to the documented one.
"""
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

USERNAME = "demo"
PASSWORD = "demo-password"


class Command(BaseCommand):
    help = f"Create user {USERNAME!r} with password {PASSWORD!r} unless it already exists."

    def handle(self, *args, **options):
        user, created = get_user_model().objects.get_or_create(username=USERNAME)
        if created or not user.check_password(PASSWORD):
            user.set_password(PASSWORD)
            user.save()
        self.stdout.write(f"user {USERNAME!r} {'created' if created else 'exists'}")
