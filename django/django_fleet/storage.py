"""Static files storage that keeps ``staticfiles.json`` next to the code.

The hashed files go to the shared STATIC_ROOT (EFS), where every version's files live side
by side. The manifest that maps ``js/app.js`` to ``js/app.55e7cbb9ba48.js`` belongs to one
release, so it is read from and written to the release directory: an instance keeps
rendering the names of the code it runs while a newer release adds its files.

Where the manifest lives: ``settings.FLEET_MANIFEST_DIR``, by default ``settings.BASE_DIR``.

Django 3.2::

    STATICFILES_STORAGE = "django_fleet.storage.LocalManifestStaticFilesStorage"

Django 4.2+::

    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django_fleet.storage.LocalManifestStaticFilesStorage"},
    }
"""

import json
import os

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from whitenoise.storage import CompressedManifestStaticFilesStorage


def manifest_dir():
    location = getattr(settings, "FLEET_MANIFEST_DIR", None) or getattr(settings, "BASE_DIR", None)
    if not location:
        raise ImproperlyConfigured("LocalManifestStaticFilesStorage needs FLEET_MANIFEST_DIR or BASE_DIR")
    return os.path.abspath(str(location))


class LocalManifestStaticFilesStorage(CompressedManifestStaticFilesStorage):
    """CompressedManifestStaticFilesStorage with the manifest in the release directory."""

    def __init__(self, *args, manifest_location=None, **kwargs):
        # Django 4.2+ passes OPTIONS from STORAGES as keyword arguments.
        self.manifest_location = os.path.abspath(str(manifest_location)) if manifest_location else manifest_dir()
        self.local_manifest_storage = FileSystemStorage(location=self.manifest_location)
        super().__init__(*args, **kwargs)
        # Django 4.2 added manifest_storage; point it at the release directory as well.
        self.manifest_storage = self.local_manifest_storage

    def read_manifest(self):
        try:
            with self.local_manifest_storage.open(self.manifest_name) as manifest:
                return manifest.read().decode("utf-8")
        except FileNotFoundError:
            return None

    def save_manifest(self):
        payload = {"paths": self.hashed_files, "version": self.manifest_version}
        if hasattr(self, "manifest_hash"):
            # Django 4.2+ records a hash of the manifest.
            self.manifest_hash = self.file_hash(None, ContentFile(json.dumps(sorted(self.hashed_files.items())).encode()))
            payload["hash"] = self.manifest_hash
        contents = json.dumps(payload, indent=0, sort_keys=True).encode("utf-8")
        # Write to a temporary name and rename: a worker starting meanwhile never reads half a file.
        os.makedirs(self.manifest_location, exist_ok=True)
        path = os.path.join(self.manifest_location, self.manifest_name)
        tmp = path + ".tmp"
        with open(tmp, "wb") as handle:
            handle.write(contents)
        os.replace(tmp, path)
