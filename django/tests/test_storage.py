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
