import os
import shutil

from django.conf import settings
from django.core.management import call_command
from django.test import SimpleTestCase, TestCase, override_settings

from django_fleet.middleware import FleetWhiteNoiseMiddleware


def ok(request):
    from django.http import HttpResponse

    return HttpResponse("app")


def not_found(request):
    from django.http import HttpResponseNotFound

    return HttpResponseNotFound("nope")


class FleetWhiteNoiseTests(SimpleTestCase):
    def setUp(self):
        shutil.rmtree(settings.STATIC_ROOT, ignore_errors=True)
        os.makedirs(os.path.join(settings.STATIC_ROOT, "js"))
        self.write("robots.txt", "User-agent: *\n")
        self.write("js/app.0123456789ab.js", "old();")
        self.middleware = FleetWhiteNoiseMiddleware(not_found)

    def write(self, name, content):
        path = os.path.join(settings.STATIC_ROOT, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write(content)
        return path

    def get(self, path):
        from django.test import RequestFactory

        return self.middleware(RequestFactory().get(path))

    def body(self, response):
        return b"".join(response.streaming_content) if response.streaming else response.content

    def test_serves_files_known_at_start(self):
        response = self.get("/static/js/app.0123456789ab.js")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.body(response), b"old();")

    def test_serves_a_hashed_file_added_after_start(self):
        self.write("js/app.fedcba987654.js", "new();")
        response = self.get("/static/js/app.fedcba987654.js")
        self.assertEqual(response.status_code, 200)
        self.assertEqual(self.body(response), b"new();")
        self.assertIn("immutable", response["Cache-Control"])

    def test_does_not_pick_up_unhashed_files_added_after_start(self):
        self.write("late.js", "late();")
        response = self.get("/static/late.js")
        self.assertEqual(response.status_code, 404)
        self.assertEqual(response["Cache-Control"], "no-store")

    def test_404_under_static_url_is_no_store(self):
        response = self.get("/static/js/app.aaaaaaaaaaaa.js")
        self.assertEqual(response.status_code, 404)
        self.assertEqual(response["Cache-Control"], "no-store")

    def test_404_elsewhere_is_untouched(self):
        response = self.get("/somewhere/")
        self.assertEqual(response.status_code, 404)
        self.assertFalse(response.has_header("Cache-Control"))

    def test_path_traversal_is_refused(self):
        secret = os.path.join(settings.BASE_DIR, "secret.0123456789ab.txt")
        with open(secret, "w") as handle:
            handle.write("secret")
        for path in (
            "/static/../secret.0123456789ab.txt",
            "/static/js/../../secret.0123456789ab.txt",
            "/static//etc/passwd.0123456789ab.txt",
            "/static/js\\..\\..\\secret.0123456789ab.txt",
        ):
            response = self.get(path)
            self.assertEqual(response.status_code, 404, path)

    def test_symlink_out_of_the_root_is_refused(self):
        secret = os.path.join(settings.BASE_DIR, "outside.txt")
        with open(secret, "w") as handle:
            handle.write("secret")
        os.symlink(secret, os.path.join(settings.STATIC_ROOT, "link.0123456789ab.txt"))
        self.assertEqual(self.get("/static/link.0123456789ab.txt").status_code, 404)

    # -- symlinks found in the root at start-up (stock WhiteNoise serves their targets) -------

    def outside(self, name, content):
        path = os.path.join(settings.BASE_DIR, "outside", name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write(content)
        return path

    def restart(self):
        self.middleware = FleetWhiteNoiseMiddleware(not_found)

    def test_symlink_to_a_file_outside_the_root_at_start_is_404(self):
        os.symlink(self.outside("secret.txt", "TOP-SECRET"), os.path.join(settings.STATIC_ROOT, "leak.txt"))
        os.symlink(self.outside("secret.txt", "TOP-SECRET"), os.path.join(settings.STATIC_ROOT, "js", "leak.0123456789ab.js"))
        from django.test import RequestFactory
        from whitenoise.middleware import WhiteNoiseMiddleware

        stock = WhiteNoiseMiddleware(not_found)(RequestFactory().get("/static/leak.txt"))
        self.assertEqual((stock.status_code, self.body(stock)), (200, b"TOP-SECRET"), "the threat: stock WhiteNoise serves it")
        self.restart()
        for path in ("/static/leak.txt", "/static/js/leak.0123456789ab.js"):
            response = self.get(path)
            self.assertEqual(response.status_code, 404, path)
            self.assertNotIn(b"TOP-SECRET", self.body(response))

    def test_symlinked_directory_outside_the_root_is_not_served(self):
        self.outside("dir/secret.txt", "TOP-SECRET")
        os.symlink(os.path.join(settings.BASE_DIR, "outside", "dir"), os.path.join(settings.STATIC_ROOT, "linked"))
        self.restart()
        self.assertEqual(self.get("/static/linked/secret.txt").status_code, 404)

    def test_symlinked_directory_loop_does_not_hang_start_up(self):
        os.symlink(settings.STATIC_ROOT, os.path.join(settings.STATIC_ROOT, "js", "loop"))
        self.restart()
        self.assertEqual(self.get("/static/js/loop/robots.txt").status_code, 404)
        self.assertEqual(self.get("/static/robots.txt").status_code, 200)

    def test_compressed_variant_linked_outside_the_root_is_not_served(self):
        os.symlink(self.outside("secret.gz", "TOP-SECRET"), os.path.join(settings.STATIC_ROOT, "robots.txt.gz"))
        self.restart()
        from django.test import RequestFactory

        response = self.middleware(RequestFactory().get("/static/robots.txt", HTTP_ACCEPT_ENCODING="gzip"))
        self.assertEqual(response.status_code, 200)
        self.assertFalse(response.has_header("Content-Encoding"))
        self.assertEqual(self.body(response), b"User-agent: *\n")

    def test_symlink_that_stays_inside_the_root_is_served(self):
        os.symlink(os.path.join(settings.STATIC_ROOT, "js", "app.0123456789ab.js"), os.path.join(settings.STATIC_ROOT, "alias.js"))
        self.restart()
        response = self.get("/static/alias.js")
        self.assertEqual((response.status_code, self.body(response)), (200, b"old();"))

    def test_file_swapped_for_an_outside_symlink_after_start_is_not_served(self):
        self.middleware.RECHECK_S = 0
        path = os.path.join(settings.STATIC_ROOT, "robots.txt")
        os.remove(path)
        os.symlink(self.outside("secret.txt", "TOP-SECRET, longer than robots"), path)
        response = self.get("/static/robots.txt")
        self.assertNotIn(b"TOP-SECRET", self.body(response))

    def test_changed_unhashed_file_is_served_whole(self):
        self.middleware.RECHECK_S = 0
        path = self.write("robots.txt", "User-agent: *\nDisallow: /admin/\n")
        os.utime(path, ns=(1, 1))
        response = self.get("/static/robots.txt")
        self.assertEqual(self.body(response), b"User-agent: *\nDisallow: /admin/\n")
        self.assertEqual(response["Content-Length"], "32")  # not the start-up length (14): clients would cut the body

    def test_unhashed_files_are_rechecked_at_most_once_a_second(self):
        self.assertEqual(self.get("/static/robots.txt")["Content-Length"], "14")  # checked now
        path = self.write("robots.txt", "changed within the second\n")
        os.utime(path, ns=(2, 2))
        self.assertEqual(self.get("/static/robots.txt")["Content-Length"], "14")  # not re-checked yet
        self.middleware.last_checked.clear()  # a second later
        self.assertEqual(self.get("/static/robots.txt")["Content-Length"], "26")


@override_settings(MIDDLEWARE=["django_fleet.release.ReleaseHeaderMiddleware"] + list(settings.MIDDLEWARE))
class ReleaseHeaderTests(TestCase):
    def test_every_response_names_the_release(self):
        self.assertEqual(self.client.get("/", HTTP_HOST="www.example.com")["X-Release"], "test-release")
        self.assertEqual(self.client.get("/health/", HTTP_HOST="10.0.0.5")["X-Release"], "test-release")
        self.assertEqual(self.client.get("/", HTTP_HOST="evil.example.net")["X-Release"], "test-release")

    @override_settings(FLEET_RELEASE=None)
    def test_no_header_without_a_release(self):
        self.assertNotIn("X-Release", self.client.get("/", HTTP_HOST="www.example.com"))
