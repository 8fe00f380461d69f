import json
import os
import shutil

from django.conf import settings
from django.contrib.staticfiles.storage import staticfiles_storage
from django.utils.functional import empty
from django.core.management import call_command
from django.test import SimpleTestCase, override_settings

from django_fleet.storage import LocalManifestStaticFilesStorage


class LocalManifestStorageTests(SimpleTestCase):
    def setUp(self):
        shutil.rmtree(settings.STATIC_ROOT, ignore_errors=True)
        shutil.rmtree(settings.FLEET_MANIFEST_DIR, ignore_errors=True)

    def test_collectstatic_writes_manifest_to_release_dir_and_hashed_files_to_static_root(self):
        call_command("collectstatic", interactive=False, verbosity=0)
        manifest_path = os.path.join(settings.FLEET_MANIFEST_DIR, "staticfiles.json")
        self.assertTrue(os.path.isfile(manifest_path))
        self.assertFalse(os.path.exists(os.path.join(settings.STATIC_ROOT, "staticfiles.json")))
        with open(manifest_path) as handle:
            paths = json.load(handle)["paths"]
        self.assertRegex(paths["js/app.js"], r"^js/app\.[0-9a-f]{12}\.js$")
        self.assertTrue(os.path.isfile(os.path.join(settings.STATIC_ROOT, paths["js/app.js"])))

    def test_url_uses_the_local_manifest(self):
        call_command("collectstatic", interactive=False, verbosity=0)
        storage = LocalManifestStaticFilesStorage()
        self.assertRegex(storage.url("site.css"), r"^/static/site\.[0-9a-f]{12}\.css$")

    def test_two_releases_keep_their_own_manifest(self):
        call_command("collectstatic", interactive=False, verbosity=0)
        first = LocalManifestStaticFilesStorage().url("js/app.js")
        other_release = os.path.join(settings.BASE_DIR, "release-2")
        assets2 = os.path.join(settings.BASE_DIR, "assets-2", "js")
        os.makedirs(assets2, exist_ok=True)
        with open(os.path.join(assets2, "app.js"), "w") as handle:
            handle.write('console.log("v2");\n')
        with override_settings(FLEET_MANIFEST_DIR=other_release, STATICFILES_DIRS=[os.path.dirname(assets2)]):
            staticfiles_storage._wrapped = empty  # the storage reads FLEET_MANIFEST_DIR when built
            call_command("collectstatic", interactive=False, verbosity=0)
            second = LocalManifestStaticFilesStorage().url("js/app.js")
        staticfiles_storage._wrapped = empty
        self.assertNotEqual(first, second)
        # The first release still renders its own name, and both files are in the shared root.
        self.assertEqual(LocalManifestStaticFilesStorage().url("js/app.js"), first)
        for url in (first, second):
            self.assertTrue(os.path.isfile(os.path.join(settings.STATIC_ROOT, url[len("/static/"):])))

    def test_manifest_location_option_for_storages_setting(self):
        storage = LocalManifestStaticFilesStorage(manifest_location="/tmp/somewhere")
        self.assertEqual(storage.manifest_location, "/tmp/somewhere")
        self.assertIsNone(storage.read_manifest())


class SharedRootNeverMissingTests(SimpleTestCase):
    """A running version serves the shared root while a new release's collectstatic writes to it."""

    def setUp(self):
        shutil.rmtree(settings.STATIC_ROOT, ignore_errors=True)
        shutil.rmtree(settings.FLEET_MANIFEST_DIR, ignore_errors=True)
        self.assets = os.path.join(settings.BASE_DIR, "assets-big")
        os.makedirs(self.assets, exist_ok=True)
        # Big enough that WhiteNoise writes a compressed copy, with a url() so the CSS is rewritten.
        with open(os.path.join(self.assets, "big.css"), "w") as handle:
            handle.write("".join(".c%d { color: #%06x; }\n" % (i, i) for i in range(4000)))
            handle.write('.logo { background: url("logo.txt"); }\n')
        with open(os.path.join(self.assets, "logo.txt"), "w") as handle:
            handle.write("logo\n")

    def test_files_a_running_version_serves_are_never_missing_or_partial(self):
        import threading

        with override_settings(STATICFILES_DIRS=[self.assets]):
            staticfiles_storage._wrapped = empty
            call_command("collectstatic", interactive=False, verbosity=0)
            served = {}
            for name in os.listdir(settings.STATIC_ROOT):
                path = os.path.join(settings.STATIC_ROOT, name)
                if name.startswith("big.") and name != "big.css":
                    with open(path, "rb") as handle:
                        served[path] = handle.read()
            self.assertEqual(len(served), 3, sorted(os.listdir(settings.STATIC_ROOT)))  # .css, .css.gz, .css.br
            misses = []
            stop = threading.Event()

            def serve():
                # What WhiteNoise does per request for a file it found at start-up: open and read it.
                while not stop.is_set():
                    for path, data in served.items():
                        try:
                            with open(path, "rb") as handle:
                                if handle.read() != data:
                                    misses.append("partial " + os.path.basename(path))
                        except FileNotFoundError:
                            misses.append("missing " + os.path.basename(path))

            reader = threading.Thread(target=serve)
            reader.start()
            try:
                for _ in range(5):
                    call_command("collectstatic", interactive=False, verbosity=0)
            finally:
                stop.set()
                reader.join()
            staticfiles_storage._wrapped = empty
        self.assertEqual(misses, [])
        self.assertFalse([n for n in os.listdir(settings.STATIC_ROOT) if n.endswith(".tmp")], "no temporary file left")
