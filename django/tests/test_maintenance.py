import os

from django.conf import settings
from django.test import TestCase


class MaintenanceTests(TestCase):
    def tearDown(self):
        if os.path.exists(settings.FLEET_MAINTENANCE_FLAG):
            os.remove(settings.FLEET_MAINTENANCE_FLAG)

    def flag(self, content=""):
        with open(settings.FLEET_MAINTENANCE_FLAG, "w") as handle:
            handle.write(content)

    def test_no_flag_serves_normally(self):
        self.assertEqual(self.client.get("/").status_code, 200)

    def test_flag_gives_503_with_retry_after(self):
        self.flag()
        response = self.client.get("/")
        self.assertEqual(response.status_code, 503)
        self.assertEqual(response["Retry-After"], "120")
        self.assertEqual(response["Cache-Control"], "no-store")
        self.assertIn(b"maintenance", response.content)

    def test_retry_after_from_flag_content(self):
        self.flag("300\n")
        self.assertEqual(self.client.get("/")["Retry-After"], "300")

    def test_health_path_stays_up(self):
        self.flag()
        self.assertEqual(self.client.get("/health/", HTTP_HOST="10.0.0.9").status_code, 200)
        self.assertEqual(self.client.get("/health/").status_code, 200)
