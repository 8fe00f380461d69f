import json
import os

from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from django_fleet.checks import TAG
from django_fleet.migration_plan import migration_plan


def fleet_check_problems():
    """(errors, warnings) of ``manage.py check --deploy --tag django_fleet``, one line each."""
    errors, warnings = [], []
    for message in checks.run_checks(tags=[TAG], include_deployment_checks=True):
        if message.is_silenced():
            continue
        line = "%s: %s%s" % (message.id, message.msg, " HINT: %s" % message.hint if message.hint else "")
        (errors if message.is_serious() else warnings).append(line)
    return errors, warnings


class Command(BaseCommand):
    help = (
        "Prints the pending migrations and their operations as one line of JSON (ASCII) for the "
        "release provider; --output also writes it to a file. Changes nothing in the database: "
        "RunPython is never executed, SQL is collected, not run, in a transaction rolled back. "
        "Runs the django_fleet system checks first (manage.py check --deploy --tag django_fleet) "
        "and fails on an error, unless --skip-checks."
    )

    def add_arguments(self, parser):
        parser.add_argument("--database", default="default")
        parser.add_argument("--sql", action="store_true", help="include the first SQL statements of each operation")
        parser.add_argument("--output", help="also write the JSON to this file (atomically)")

    def handle(self, *args, **options):
        if not options.get("skip_checks"):
            errors, warnings = fleet_check_problems()
            for line in warnings:
                self.stderr.write("warning: %s" % line)
            if errors:
                raise CommandError(
                    "this version is not ready for the fleet (manage.py check --deploy --tag django_fleet):\n" + "\n".join(errors)
                )
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
