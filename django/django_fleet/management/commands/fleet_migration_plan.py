import json
import os

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from django_fleet.migration_plan import migration_plan


class Command(BaseCommand):
    help = (
        "Prints the pending migrations and their operations as one line of JSON (ASCII) for the "
        "release provider; --output also writes it to a file. Changes nothing in the database: "
        "RunPython is never executed, SQL is collected, not run, in a transaction rolled back."
    )

    def add_arguments(self, parser):
        parser.add_argument("--database", default="default")
        parser.add_argument("--sql", action="store_true", help="include the first SQL statements of each operation")
        parser.add_argument("--output", help="also write the JSON to this file (atomically)")

    def handle(self, *args, **options):
        try:
            plan = migration_plan(options["database"], include_sql=options["sql"])
        except ImproperlyConfigured as e:  # e.g. a malformed fleet_reviewed marker
            raise CommandError(str(e))
        text = json.dumps(plan, sort_keys=True, separators=(",", ":"))
        if options["output"]:
            tmp = options["output"] + ".tmp"
            with open(tmp, "w") as handle:
                handle.write(text + "\n")
            os.replace(tmp, options["output"])
        self.stdout.write(text)
