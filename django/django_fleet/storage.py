"""Static files storage that keeps ``staticfiles.json`` next to the code.

The hashed files go to the shared STATIC_ROOT (EFS), where every version's files live side
by side. The manifest that maps ``js/app.js`` to ``js/app.55e7cbb9ba48.js`` belongs to one
release, so it is read from and written to the release directory: an instance keeps
rendering the names of the code it runs while a newer release adds its files.

Where the manifest lives: ``settings.FLEET_MANIFEST_DIR``, by default ``settings.BASE_DIR``.

Running versions serve the shared root while a new release's collectstatic writes to it, so
the storage never takes a file away: Django deletes a hashed CSS file and writes it again on
every run, and WhiteNoise rewrites ``.gz`` and ``.br`` copies in place; here every file is
written to a temporary name and renamed over the old one (a hashed name always carries the
same content), and ``delete`` leaves the shared root as it is. ``collectstatic --clear``
therefore clears nothing: an older version may still serve any file there.

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
import tempfile

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from whitenoise.compress import Compressor
from whitenoise.storage import CompressedManifestStaticFilesStorage


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomically(path, chunks, mode=None, times=None):
    """Writes to a temporary name in the same directory, then renames over ``path``."""
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
        os.chmod(tmp, mode if mode is not None else 0o666 & ~_umask())
        if times is not None:
            os.utime(tmp, times)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


class AtomicCompressor(Compressor):
    """WhiteNoise's compressor, writing each compressed copy by rename."""

    def write_data(self, path, data, suffix, stat_result):
        filename = path + suffix
        write_atomically(filename, [data], times=(stat_result.st_atime, stat_result.st_mtime))
        return filename


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

    def get_available_name(self, name, max_length=None):
        # Overwrite in place (by rename, see _save) rather than pick another name.
        return name

    def _save(self, name, content):
        path = self.path(name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if hasattr(content, "seek"):
            content.seek(0)
        write_atomically(path, content.chunks(), mode=self.file_permissions_mode)
        return str(name).replace("\\", "/")

    def delete(self, name):
        """Leaves the file: a running version may serve it (see the module's docstring)."""

    def create_compressor(self, **kwargs):
        return AtomicCompressor(**kwargs)

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
