import os
import tempfile

BASE_DIR = tempfile.mkdtemp(prefix="django-fleet-tests-")
SECRET_KEY = "tests-only"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "www.example.com"]
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.staticfiles",
    "django_fleet",
    "tests.planapp",
]
MIDDLEWARE = [
    "django_fleet.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django_fleet.middleware.FleetWhiteNoiseMiddleware",
    "django_fleet.maintenance.MaintenanceModeMiddleware",
    "django.middleware.common.CommonMiddleware",
]
ROOT_URLCONF = "tests.urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.path.join(BASE_DIR, "db.sqlite3")}}
STATIC_URL = "/static/"
STATIC_ROOT = os.path.join(BASE_DIR, "static-root")
STATICFILES_DIRS = [os.path.join(os.path.dirname(__file__), "assets")]
STATICFILES_STORAGE = "django_fleet.storage.LocalManifestStaticFilesStorage"
FLEET_MANIFEST_DIR = os.path.join(BASE_DIR, "release")
FLEET_RELEASE = "test-release"
FLEET_MAINTENANCE_FLAG = os.path.join(BASE_DIR, "maintenance.flag")
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True
