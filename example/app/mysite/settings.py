"""Example site released onto a fleet with django_fleet.

``django_fleet.configure(globals())`` at the end reads the instance's environment (the process
environment, or ``<app dir>/shared/env``) and sets the database, STATIC_ROOT, ALLOWED_HOSTS,
SECRET_KEY, the static files storage and the middleware: the release directories
(``<app dir>/releases/<version>``) hold code only.
"""
from pathlib import Path

import django_fleet

BASE_DIR = Path(__file__).resolve().parent.parent  # the release directory (symlinks resolved)

SECRET_KEY = "example-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["www.example.com", "localhost"]

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.staticfiles",
    "django_fleet",
    "catalog",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.common.CommonMiddleware",
]
ROOT_URLCONF = "mysite.urls"
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True, "DIRS": []}]
WSGI_APPLICATION = "mysite.wsgi.application"

DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "app", "HOST": "127.0.0.1", "PORT": "5432", "USER": "app"}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]

django_fleet.configure(globals())
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = 3  # an override after the call
