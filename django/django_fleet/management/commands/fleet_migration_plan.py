import json

from django.core.management.base import BaseCommand

from django_fleet.migration_plan import migration_plan


class Command(BaseCommand):
    help = "Prints the pending migrations and their operations as one JSON object (for the release provider)."

    def add_arguments(self, parser):
        parser.add_argument("--database", default="default")

    def handle(self, *args, **options):
        self.stdout.write(json.dumps(migration_plan(options["database"]), sort_keys=True))
