"""Example site released onto a fleet with django_fleet.

Configuration comes from the environment, or from ``<app dir>/shared/env`` (KEY=VALUE lines),
so the release directories (``<app dir>/releases/<version>``) hold code only.
"""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent  # the release directory (symlinks resolved)
APP_DIR = BASE_DIR.parent.parent


def _env_file(path):
    values = {}
    try:
        with open(path) as handle:
            for line in handle:
                line = line.strip()
                if line and not line.startswith("#") and "=" in line:
                    key, value = line.split("=", 1)
                    values[key.strip()] = value.strip()
    except FileNotFoundError:
        pass
    return values


_FILE = _env_file(os.environ.get("FLEET_ENV_FILE", APP_DIR / "shared" / "env"))


def env(key, default=None):
    return os.environ.get(key, _FILE.get(key, default))


SECRET_KEY = env("SECRET_KEY", "example-only-not-secret")
DEBUG = False
ALLOWED_HOSTS = [h for h in env("ALLOWED_HOSTS", "www.example.com,localhost").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.staticfiles",
    "django_fleet",
    "catalog",
]
MIDDLEWARE = [
    "django_fleet.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django_fleet.middleware.FleetWhiteNoiseMiddleware",
    "django_fleet.maintenance.MaintenanceModeMiddleware",
    "django.middleware.common.CommonMiddleware",
]
ROOT_URLCONF = "mysite.urls"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True, "DIRS": []}]
WSGI_APPLICATION = "mysite.wsgi.application"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": env("DATABASE_NAME", "app"),
        "USER": env("DATABASE_USER", "app"),
        "PASSWORD": env("DATABASE_PASSWORD", ""),
        "HOST": env("DATABASE_HOST", "127.0.0.1"),
        "PORT": env("DATABASE_PORT", "5432"),
        "OPTIONS": {"connect_timeout": 3},
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = env("STATIC_ROOT", "/srv/static")
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_STORAGE = "django_fleet.storage.LocalManifestStaticFilesStorage"

FLEET_RELEASE = BASE_DIR.name
FLEET_MAINTENANCE_FLAG = env("FLEET_MAINTENANCE_FLAG", str(APP_DIR / "maintenance.flag"))
