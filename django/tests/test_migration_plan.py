import io
import json

from django.core.management import call_command
from django.test import SimpleTestCase, TransactionTestCase


class MigrationPlanTests(TransactionTestCase):
    def plan(self, *args):
        out = io.StringIO()
        call_command("fleet_migration_plan", *args, stdout=out)
        return json.loads(out.getvalue())

    def tearDown(self):
        call_command("migrate", "planapp", verbosity=0)

    def test_nothing_pending(self):
        plan = self.plan()
        self.assertEqual(plan["pending"], [])
        self.assertEqual(plan["operations"], [])
        self.assertEqual(plan["unknownApplied"], [])
        self.assertFalse(plan["freshDatabase"], "the test database has migrations applied")

    def test_applied_migrations_unknown_to_this_code_are_listed(self):
        from django.db.migrations.recorder import MigrationRecorder

        MigrationRecorder.Migration.objects.create(app="planapp", name="0099_from_a_newer_release")
        try:
            self.assertEqual(self.plan()["unknownApplied"], ["planapp.0099_from_a_newer_release"])
        finally:
            MigrationRecorder.Migration.objects.filter(name="0099_from_a_newer_release").delete()

    def test_reports_each_operation_with_facts(self):
        call_command("migrate", "planapp", "0001", verbosity=0)
        plan = self.plan()
        self.assertEqual(plan["pending"], ["planapp.0002_nickname", "planapp.0003_breaking"])
        ops = [(o["migration"], o["operation"]) for o in plan["operations"]]
        self.assertEqual(
            ops,
            [
                ("0002_nickname", "AddField"),
                ("0002_nickname", "AddIndex"),
                ("0003_breaking", "RenameField"),
                ("0003_breaking", "AlterField"),
                ("0003_breaking", "RunPython"),
            ],
        )
        add, index, rename, alter, run = plan["operations"]
        self.assertEqual(add["field"]["null"], True)
        self.assertEqual(add["description"], "Add field nickname to author")
        self.assertGreaterEqual(add["sqlCount"], 1)
        self.assertEqual(rename["description"], "Rename field name on author to full_name")
        self.assertEqual(alter["fromField"]["unique"], False)
        self.assertEqual(alter["field"]["unique"], True)
        self.assertEqual(run["app"], "planapp")
        self.assertFalse(any(o["newApp"] or o["newModel"] for o in plan["operations"]))

    def test_operations_on_a_new_app_or_model_are_marked_new(self):
        call_command("migrate", "planapp", "zero", verbosity=0)
        ops = self.plan()["operations"]
        self.assertEqual(ops[0]["operation"], "CreateModel")
        self.assertTrue(all(o["newApp"] for o in ops))
        self.assertFalse(ops[0]["newModel"])
        self.assertTrue(all(o["newModel"] for o in ops[1:] if o["operation"] != "RunPython"))

    def test_sql_on_request_and_output_file(self):
        import os
        import tempfile

        call_command("migrate", "planapp", "0001", verbosity=0)
        self.assertNotIn("sql", self.plan()["operations"][0])
        with tempfile.TemporaryDirectory() as tmp:
            target = os.path.join(tmp, "plan.json")
            with_sql = self.plan("--sql", "--output", target)
            self.assertIn("NICKNAME", with_sql["operations"][0]["sql"][0].upper())  # SQLite rebuilds the table
            with open(target) as handle:
                self.assertEqual(json.load(handle), with_sql)

    def test_plan_applies_nothing(self):
        call_command("migrate", "planapp", "0001", verbosity=0)
        self.plan()
        self.assertEqual(len(self.plan()["pending"]), 2)


class MigrationPlanFactsTests(SimpleTestCase):
    """The pure pieces behind the plan's facts (SQL scanning, field changes, the opt-out)."""

    def test_column_default_after_follows_set_and_drop_in_order(self):
        from django_fleet.readonly_sql import column_default_after

        add = ['ALTER TABLE "shop_a" ADD COLUMN "n" integer DEFAULT 1 NOT NULL;', 'ALTER TABLE "shop_a" ALTER COLUMN "n" DROP DEFAULT;']
        self.assertFalse(column_default_after(add, "shop_a", "n"), "Django adds the column with a default, then drops it")
        self.assertTrue(column_default_after(add + ["ALTER TABLE \"shop_a\" ALTER COLUMN \"n\" SET DEFAULT '1';"], "shop_a", "n"))
        self.assertFalse(column_default_after(add + ['ALTER TABLE "shop_a" ALTER COLUMN "other" SET DEFAULT 1;'], "shop_a", "n"), "another column")
        self.assertFalse(column_default_after(add + ['ALTER TABLE "shop_b" ALTER COLUMN "n" SET DEFAULT 1;'], "shop_a", "n"), "another table")
        self.assertTrue(column_default_after(["ALTER TABLE `shop_a` ADD COLUMN `n` integer NOT NULL DEFAULT 3;"], "shop_a", "n"), "a kept default (MySQL quoting)")

    def test_only_sets_defaults(self):
        from django_fleet.readonly_sql import only_sets_defaults

        self.assertTrue(only_sets_defaults(["ALTER TABLE \"a\" ALTER COLUMN \"c\" SET DEFAULT 'x';"]))
        self.assertFalse(only_sets_defaults([]), "no SQL is not 'only defaults'")
        self.assertFalse(only_sets_defaults(['ALTER TABLE "a" ALTER COLUMN "c" SET DEFAULT 1; DROP TABLE "b";']))
        self.assertFalse(only_sets_defaults(['ALTER TABLE "a" ALTER COLUMN "c" SET NOT NULL;']))

    def test_db_changes_leave_out_attributes_that_never_reach_the_database(self):
        from django.db import models

        from django_fleet.migration_plan import db_changes

        self.assertEqual(db_changes(models.IntegerField(), models.IntegerField(null=True, help_text="h", verbose_name="v")), ["null"])
        self.assertEqual(db_changes(models.IntegerField(null=True), models.CharField(max_length=10, null=True)), ["type", "max_length"])
        self.assertEqual(db_changes(models.IntegerField(), models.IntegerField(default=3, null=True)), ["default", "null"])
        self.assertIsNone(db_changes(None, models.IntegerField()))

    def test_reviewed_marker_and_linter_ignore(self):
        from django.core.exceptions import ImproperlyConfigured
        from django.db import migrations

        from django_fleet.migration_plan import reviewed_reason

        class Reviewed(migrations.Migration):
            fleet_reviewed = "  old code never reads it  "

        self.assertEqual(reviewed_reason(Reviewed("0002_x", "shop")), "old code never reads it")
        self.assertIsNone(reviewed_reason(migrations.Migration("0002_x", "shop")))
        for bad in (True, "", "   ", None):
            Reviewed.fleet_reviewed = bad
            with self.assertRaisesMessage(ImproperlyConfigured, "shop.0002_x: fleet_reviewed must be a non-empty string saying what the team reviewed, got %r" % (bad,)):
                reviewed_reason(Reviewed("0002_x", "shop"))

        IgnoreMigration = type("IgnoreMigration", (migrations.RunSQL,), {"__module__": "django_migration_linter.operations"})
        ignored = migrations.Migration("0003_y", "shop")
        ignored.operations = [IgnoreMigration("SELECT 1")]
        self.assertEqual(reviewed_reason(ignored), "django-migration-linter IgnoreMigration")
        NotTheLinter = type("IgnoreMigration", (migrations.RunSQL,), {"__module__": "someapp.ops"})
        ignored.operations = [NotTheLinter("SELECT 1")]
        self.assertIsNone(reviewed_reason(ignored), "only the linter's marker counts")
