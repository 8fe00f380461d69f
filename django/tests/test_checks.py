import os
import tempfile
from io import StringIO
from unittest import mock

from django.core.management import call_command
from django.core.management.base import CommandError, SystemCheckError
from django.test import SimpleTestCase, override_settings

from django_fleet import checks

GOOD_MIDDLEWARE = [
    "django_fleet.release.ReleaseHeaderMiddleware",
    "django_fleet.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django_fleet.middleware.FleetWhiteNoiseMiddleware",
    "django_fleet.maintenance.MaintenanceModeMiddleware",
    "django.middleware.common.CommonMiddleware",
]


def ids(messages):
    return sorted(m.id for m in messages)


@override_settings(MIDDLEWARE=GOOD_MIDDLEWARE, WSGI_APPLICATION="tests.wsgi.application", FLEET_INSTALL_COMMAND="true")
class FleetChecksTests(SimpleTestCase):
    def test_a_wired_app_passes(self):
        self.assertEqual(checks.fleet_checks(), [])

    def test_check_command_with_the_tag_runs_them(self):
        with override_settings(STATICFILES_STORAGE="django.contrib.staticfiles.storage.StaticFilesStorage"):
            with self.assertRaisesRegex(SystemCheckError, r"django_fleet\.E001"):
                call_command("check", "--deploy", "--tag", "django_fleet")

    @override_settings(STATICFILES_STORAGE="whitenoise.storage.CompressedManifestStaticFilesStorage")
    def test_E001_storage(self):
        self.assertEqual(ids(checks.fleet_checks()), ["django_fleet.E001"])

    @override_settings(STATIC_ROOT=None)
    def test_E002_no_static_root(self):
        self.assertEqual(ids(checks.fleet_checks()), ["django_fleet.E002"])

    def test_E002_static_root_not_from_the_environment(self):
        with mock.patch.dict(os.environ, {"STATIC_ROOT": "/srv/static"}):
            (error,) = checks.fleet_checks()
        self.assertEqual(error.id, "django_fleet.E002")
        self.assertIn("STATIC_ROOT=/srv/static", error.msg)

    @override_settings(MIDDLEWARE=[m if "Fleet" not in m else "whitenoise.middleware.WhiteNoiseMiddleware" for m in GOOD_MIDDLEWARE])
    def test_E003_plain_whitenoise(self):
        self.assertEqual(ids(checks.fleet_checks()), ["django_fleet.E003", "django_fleet.E003"])

    @override_settings(MIDDLEWARE=GOOD_MIDDLEWARE[:3] + [GOOD_MIDDLEWARE[4], GOOD_MIDDLEWARE[3]] + GOOD_MIDDLEWARE[5:])
    def test_E003_maintenance_before_whitenoise(self):
        self.assertEqual(ids(checks.fleet_checks()), ["django_fleet.E003"])

    @override_settings(MIDDLEWARE=[GOOD_MIDDLEWARE[0], GOOD_MIDDLEWARE[2], GOOD_MIDDLEWARE[1]] + GOOD_MIDDLEWARE[3:])
    def test_E004_health_after_security(self):
        (error,) = checks.fleet_checks()
        self.assertEqual(error.id, "django_fleet.E004")
        self.assertIn("SecurityMiddleware", error.msg)

    @override_settings(MIDDLEWARE=[m for m in GOOD_MIDDLEWARE if "health" not in m])
    def test_E004_no_health_middleware(self):
        self.assertEqual(ids(checks.fleet_checks()), ["django_fleet.E004"])

    @override_settings(WSGI_APPLICATION="shop.wsgi.application")
    def test_E005_wsgi_module_missing(self):
        (error,) = checks.fleet_checks()
        self.assertEqual(error.id, "django_fleet.E005")
        self.assertIn("No module named 'shop'", error.msg)

    @override_settings(FLEET_INSTALL_COMMAND=None)
    def test_E006_no_requirements(self):
        with override_settings(BASE_DIR=tempfile.mkdtemp()):
            self.assertEqual(ids(checks.fleet_checks()), ["django_fleet.E006"])
        base = tempfile.mkdtemp()
        open(os.path.join(base, "requirements.txt"), "w").close()
        with override_settings(BASE_DIR=base):
            self.assertEqual(checks.fleet_checks(), [])

    @override_settings(MIDDLEWARE=GOOD_MIDDLEWARE[1:])
    def test_W001_no_release_header(self):
        self.assertEqual(ids(checks.fleet_checks()), ["django_fleet.W001"])

    @override_settings(WSGI_APPLICATION="shop.wsgi.application")
    def test_the_migration_plan_command_refuses_a_failing_check_with_its_hint(self):
        with self.assertRaises(CommandError) as caught:
            call_command("fleet_migration_plan", skip_checks=False, stdout=StringIO())
        lines = str(caught.exception).splitlines()
        self.assertIn("not ready for the fleet", lines[0])
        self.assertTrue(lines[-1].startswith("django_fleet.E005: WSGI_APPLICATION 'shop.wsgi.application' cannot be imported"), lines[-1])
        self.assertIn("HINT: gunicorn serves shop.wsgi:application", lines[-1])
