import json
from unittest import mock

from django.db import OperationalError
from django.test import TestCase, override_settings

from django_fleet.health import is_ip_literal


class HealthTests(TestCase):
    def test_ip_addressed_request_gets_200_json(self):
        response = self.client.get("/health/", HTTP_HOST="10.0.1.5:8000")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(json.loads(response.content), {"status": "ok", "release": "test-release"})
        self.assertEqual(response["Cache-Control"], "no-store")

    def test_ipv6_literal_is_accepted(self):
        self.assertEqual(self.client.get("/health/", HTTP_HOST="[fd00::5]:8000").status_code, 200)

    def test_ip_address_is_still_rejected_elsewhere(self):
        self.assertEqual(self.client.get("/", HTTP_HOST="10.0.1.5").status_code, 400)

    def test_unknown_host_name_is_rejected_even_on_the_health_path(self):
        self.assertEqual(self.client.get("/health/", HTTP_HOST="evil.example.net").status_code, 400)

    def test_allowed_host_reaches_the_view_through_the_normal_stack(self):
        self.assertEqual(self.client.get("/health/", HTTP_HOST="www.example.com").status_code, 200)

    @override_settings(SECURE_SSL_REDIRECT=True)
    def test_no_https_redirect_for_the_load_balancer(self):
        self.assertEqual(self.client.get("/health/", HTTP_HOST="10.0.1.5").status_code, 200)
        self.assertEqual(self.client.get("/", HTTP_HOST="www.example.com").status_code, 301)

    def test_database_down_gives_503(self):
        with mock.patch("django.db.backends.base.base.BaseDatabaseWrapper.cursor", side_effect=OperationalError("down")):
            response = self.client.get("/health/", HTTP_HOST="10.0.1.5")
        self.assertEqual(response.status_code, 503)
        self.assertEqual(json.loads(response.content), {"status": "error", "release": "test-release"}, "ok / not ok, nothing else")
        for leak in ("OperationalError", "down", "default"):
            self.assertNotIn(leak, response.content.decode())

    def test_is_ip_literal(self):
        for host in ("10.0.0.1", "10.0.0.1:80", "[::1]", "[::1]:8000", "::1"):
            self.assertTrue(is_ip_literal(host), host)
        for host in ("", "example.com", "example.com:80", "10.0.0", "[::1", "ip-10-0-0-1.ec2.internal"):
            self.assertFalse(is_ip_literal(host), host)
