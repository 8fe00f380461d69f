import io
import json

from django.core.management import call_command
from django.test import TransactionTestCase


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
