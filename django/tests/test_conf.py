import os
import tempfile
from pathlib import Path
from unittest import mock

from django.test import SimpleTestCase

from django_fleet import conf, configure


def release_layout():
    """<tmp>/app/releases/v7 and <tmp>/app/shared/env; returns (release dir, env file)."""
    root = Path(tempfile.mkdtemp(prefix="fleet-conf-"))
    release = root / "app" / "releases" / "v7"
    release.mkdir(parents=True)
    (root / "app" / "shared").mkdir()
    return release, root / "app" / "shared" / "env"


STARTPROJECT = {
    "SECRET_KEY": "django-insecure-dev",
    "DEBUG": True,
    "ALLOWED_HOSTS": [],
    "INSTALLED_APPS": ["django.contrib.staticfiles"],
    "MIDDLEWARE": [
        "django.middleware.security.SecurityMiddleware",
        "whitenoise.middleware.WhiteNoiseMiddleware",
        "django.middleware.common.CommonMiddleware",
    ],
    "DATABASES": {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}},
    "STATIC_URL": "/static/",
    "WSGI_APPLICATION": "mysite.wsgi.application",
}


class ConfigureTests(SimpleTestCase):
    def settings_in(self, release, **extra):
        s = {k: (list(v) if isinstance(v, list) else (dict(v) if isinstance(v, dict) else v)) for k, v in STARTPROJECT.items()}
        s["BASE_DIR"] = release
        s.update(extra)
        return s

    @mock.patch.dict(os.environ, {}, clear=True)
    def test_reads_the_instance_env_file_and_sets_the_contract(self):
        release, env = release_layout()
        env.write_text(
            "# written by django-fleet-env\nSECRET_KEY=s3cret\nALLOWED_HOSTS=shop.example.com, www.shop.example.com\n"
            "DATABASE_URL=postgres://shop:p%40ss@db.internal:6432/shop?sslmode=require\nSTATIC_ROOT=/srv/static\n"
            "STATIC_URL=/static/\nCSRF_TRUSTED_ORIGINS=https://shop.example.com\n"
        )
        s = self.settings_in(release)
        returned = configure(s)
        self.assertEqual(s["SECRET_KEY"], "s3cret")
        self.assertIs(s["DEBUG"], False)
        self.assertEqual(s["ALLOWED_HOSTS"], ["shop.example.com", "www.shop.example.com"])
        self.assertEqual(s["CSRF_TRUSTED_ORIGINS"], ["https://shop.example.com"])
        self.assertEqual(
            s["DATABASES"]["default"],
            {"ENGINE": "django.db.backends.postgresql", "NAME": "shop", "USER": "shop", "PASSWORD": "p@ss", "HOST": "db.internal", "PORT": "6432", "OPTIONS": {"sslmode": "require"}},
        )
        self.assertEqual(s["STATIC_ROOT"], "/srv/static")
        self.assertEqual(s["STATICFILES_STORAGE"], "django_fleet.storage.LocalManifestStaticFilesStorage")
        self.assertEqual(s["FLEET_RELEASE"], "v7")
        self.assertEqual(s["FLEET_MAINTENANCE_FLAG"], str(release.parent.parent / "maintenance.flag"))
        self.assertIn("django_fleet", s["INSTALLED_APPS"])
        self.assertEqual(
            s["MIDDLEWARE"],
            [
                "django_fleet.release.ReleaseHeaderMiddleware",
                "django_fleet.health.HealthCheckMiddleware",
                "django.middleware.security.SecurityMiddleware",
                "django_fleet.middleware.FleetWhiteNoiseMiddleware",
                "django_fleet.maintenance.MaintenanceModeMiddleware",
                "django.middleware.common.CommonMiddleware",
            ],
        )
        self.assertEqual(returned["SECRET_KEY"], "s3cret")

    @mock.patch.dict(os.environ, {}, clear=True)
    def test_separate_database_settings(self):
        release, env = release_layout()
        env.write_text("DATABASE_HOST=10.0.0.9\nDATABASE_PORT=5432\nDATABASE_NAME=app\nDATABASE_USER=u\nDATABASE_PASSWORD=p\n")
        s = self.settings_in(release)
        configure(s)
        self.assertEqual(s["DATABASES"]["default"], {"ENGINE": "django.db.backends.postgresql", "NAME": "app", "USER": "u", "PASSWORD": "p", "HOST": "10.0.0.9", "PORT": "5432"})

    @mock.patch.dict(os.environ, {}, clear=True)
    def test_separate_database_settings_verify_tls_as_the_boot_script_says(self):
        # What components/userData.ts's django-fleet-env writes next to DATABASE_URL's parts.
        release, env = release_layout()
        env.write_text(
            "DATABASE_HOST=db.internal\nDATABASE_PORT=5432\nDATABASE_NAME=django\nDATABASE_USER=django_app\nDATABASE_PASSWORD=p\n"
            "DATABASE_SSLMODE=verify-full\nDATABASE_SSLROOTCERT=/etc/django-app/rds-ca-bundle.pem\n"
        )
        s = self.settings_in(release)
        configure(s)
        self.assertEqual(
            s["DATABASES"]["default"],
            {
                "ENGINE": "django.db.backends.postgresql", "NAME": "django", "USER": "django_app", "PASSWORD": "p", "HOST": "db.internal", "PORT": "5432",
                "OPTIONS": {"sslmode": "verify-full", "sslrootcert": "/etc/django-app/rds-ca-bundle.pem"},
            },
        )

    @mock.patch.dict(os.environ, {}, clear=True)
    def test_database_tls_settings_refused_when_they_cannot_apply(self):
        release, env = release_layout()
        env.write_text("DATABASE_HOST=db.internal\nDATABASE_NAME=django\nDATABASE_SSLMODE=verify_full\n")
        with self.assertRaisesRegex(ValueError, r"DATABASE_SSLMODE='verify_full': expected one of disable, allow, prefer, require, verify-ca, verify-full"):
            configure(self.settings_in(release))
        env.write_text("DATABASE_ENGINE=mysql\nDATABASE_HOST=db.internal\nDATABASE_NAME=django\nDATABASE_SSLMODE=verify-full\n")
        with self.assertRaisesRegex(ValueError, r"PostgreSQL's \(libpq\) options, but DATABASE_ENGINE='mysql'"):
            configure(self.settings_in(release))

    @mock.patch.dict(os.environ, {"DATABASE_URL": "sqlite:////tmp/x/db.sqlite3", "ALLOWED_HOSTS": "from-process"}, clear=True)
    def test_process_environment_wins_over_the_file(self):
        release, env = release_layout()
        env.write_text("ALLOWED_HOSTS=from-file\n")
        s = self.settings_in(release)
        configure(s)
        self.assertEqual(s["ALLOWED_HOSTS"], ["from-process"])
        self.assertEqual(s["DATABASES"]["default"], {"ENGINE": "django.db.backends.sqlite3", "NAME": "/tmp/x/db.sqlite3"})

    @mock.patch.dict(os.environ, {}, clear=True)
    def test_keep_leaves_settings_alone_and_unknown_names_are_refused(self):
        release, env = release_layout()
        env.write_text("DATABASE_URL=postgres://a@b/c\nSTATIC_ROOT=/srv/static\n")
        s = self.settings_in(release)
        configure(s, keep={"DATABASES", "MIDDLEWARE"})
        self.assertEqual(s["DATABASES"], STARTPROJECT["DATABASES"])
        self.assertEqual(s["MIDDLEWARE"], STARTPROJECT["MIDDLEWARE"])
        self.assertEqual(s["STATIC_ROOT"], "/srv/static")
        with self.assertRaisesRegex(ValueError, r"keep=\.\.\.\): DATABASE not managed here"):
            configure(self.settings_in(release), keep={"DATABASE"})

    @mock.patch.dict(os.environ, {}, clear=True)
    def test_outside_a_release_nothing_but_storage_middleware_and_app_changes(self):
        s = self.settings_in(Path(tempfile.mkdtemp()))
        configure(s)
        self.assertIs(s["DEBUG"], True)
        self.assertEqual(s["SECRET_KEY"], "django-insecure-dev")
        self.assertEqual(s["DATABASES"], STARTPROJECT["DATABASES"])
        self.assertNotIn("FLEET_RELEASE", s)
        self.assertNotIn("STATIC_ROOT", s)

    @mock.patch.dict(os.environ, {}, clear=True)
    def test_bad_values_name_the_variable_and_the_value(self):
        release, env = release_layout()
        env.write_text("DATABASE_URL=redis://x/0\n")
        with self.assertRaisesRegex(ValueError, r"DATABASE_URL: unsupported scheme 'redis'"):
            configure(self.settings_in(release))
        env.write_text("DEBUG=maybe\n")
        with self.assertRaisesRegex(ValueError, r"DEBUG='maybe': expected true or false"):
            configure(self.settings_in(release))
        env.write_text("STATIC_ROOT /srv/static\n")
        with self.assertRaisesRegex(ValueError, r"shared/env: line 1 is not KEY=VALUE"):
            configure(self.settings_in(release))
        with self.assertRaisesRegex(ValueError, r"set BASE_DIR"):
            configure({})

    @mock.patch.dict(os.environ, {}, clear=True)
    def test_the_env_files_wsgi_target_is_the_one_the_checks_import(self):
        # components/userData.ts writes the wsgiApplication gunicorn serves into the env file.
        release, env = release_layout()
        env.write_text("WSGI_APPLICATION=shop.asgi_free.wsgi:application\n")
        s = self.settings_in(release)
        configure(s)
        self.assertEqual(s["WSGI_APPLICATION"], "shop.asgi_free.wsgi.application")

    def test_gunicorn_target_becomes_the_django_setting(self):
        self.assertEqual(conf.wsgi_setting("shop.wsgi:application"), "shop.wsgi.application")
        self.assertEqual(conf.wsgi_setting("shop.wsgi.application"), "shop.wsgi.application")
