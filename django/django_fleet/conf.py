"""The environment contract, in one call at the end of a settings module.

    import django_fleet
    django_fleet.configure(globals())

On an instance the release layout is ``<app dir>/releases/<version>`` (the release directory is
``BASE_DIR``) and the instance's settings are in ``<app dir>/shared/env`` (KEY=VALUE lines; the
process environment wins over the file; ``FLEET_ENV_FILE`` names another file). ``configure``
sets, from that environment:

=====================  =========================================================================
setting                from
=====================  =========================================================================
SECRET_KEY             ``SECRET_KEY``
DEBUG                  ``DEBUG`` (true/false); False whenever an env file was found
ALLOWED_HOSTS          ``ALLOWED_HOSTS`` (comma-separated)
CSRF_TRUSTED_ORIGINS   ``CSRF_TRUSTED_ORIGINS`` (comma-separated)
DATABASES["default"]   ``DATABASE_URL`` (postgres://, postgresql://, mysql://, sqlite:///path), or
                       ``DATABASE_HOST``/``PORT``/``NAME``/``USER``/``PASSWORD``
                       (+ ``DATABASE_ENGINE``, default PostgreSQL, and ``DATABASE_SSLMODE``/
                       ``DATABASE_SSLROOTCERT`` as its OPTIONS sslmode/sslrootcert: on an
                       instance verify-full against the RDS CA bundle; a URL says it in its query)
STATIC_ROOT            ``STATIC_ROOT`` (the shared root every instance mounts)
STATIC_URL             ``STATIC_URL``
WSGI_APPLICATION       ``WSGI_APPLICATION`` (gunicorn's ``module:attribute`` or Django's dotted form)
FLEET_RELEASE          ``FLEET_RELEASE``, else the release directory's name
FLEET_MAINTENANCE_FLAG ``FLEET_MAINTENANCE_FLAG``, else ``<app dir>/maintenance.flag``
FLEET_INSTALL_COMMAND  ``FLEET_INSTALL_COMMAND`` (the release's install command, for the checks)
=====================  =========================================================================

and, whatever the environment: the static files storage (``STATICFILES_STORAGE`` on Django < 4.2,
``STORAGES["staticfiles"]`` on 4.2+), ``"django_fleet"`` in INSTALLED_APPS, and the middleware
(``ReleaseHeaderMiddleware`` and ``HealthCheckMiddleware`` first, ``FleetWhiteNoiseMiddleware``
and ``MaintenanceModeMiddleware`` right after SecurityMiddleware, WhiteNoise's own removed).

A variable the environment does not have leaves the setting as the module set it. To override
anything, assign it after the call, or name it in ``keep`` to leave it untouched:
``configure(globals(), keep={"DATABASES", "MIDDLEWARE"})``. ``configure`` returns the
environment it read (a dict), for the app's own variables.

Nothing here imports ``django.conf.settings``: it runs while the settings module is imported.
"""

import os
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

#: Every setting configure() may set (the names ``keep`` accepts).
MANAGED = (
    "SECRET_KEY",
    "DEBUG",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "DATABASES",
    "STATIC_ROOT",
    "STATIC_URL",
    "WSGI_APPLICATION",
    "STATICFILES_STORAGE",
    "STORAGES",
    "INSTALLED_APPS",
    "MIDDLEWARE",
    "FLEET_RELEASE",
    "FLEET_MAINTENANCE_FLAG",
    "FLEET_INSTALL_COMMAND",
)

STORAGE = "django_fleet.storage.LocalManifestStaticFilesStorage"
RELEASE_HEADER = "django_fleet.release.ReleaseHeaderMiddleware"
HEALTH = "django_fleet.health.HealthCheckMiddleware"
SECURITY = "django.middleware.security.SecurityMiddleware"
FLEET_WHITENOISE = "django_fleet.middleware.FleetWhiteNoiseMiddleware"
WHITENOISE = "whitenoise.middleware.WhiteNoiseMiddleware"
MAINTENANCE = "django_fleet.maintenance.MaintenanceModeMiddleware"

DATABASE_ENGINES = {
    "postgres": "django.db.backends.postgresql",
    "postgresql": "django.db.backends.postgresql",
    "pgsql": "django.db.backends.postgresql",
    "mysql": "django.db.backends.mysql",
    "sqlite": "django.db.backends.sqlite3",
}


def app_dir_of(base_dir):
    """``<app dir>`` when base_dir is ``<app dir>/releases/<version>``, else None."""
    if not base_dir:
        return None
    base = Path(str(base_dir))
    return base.parent.parent if base.parent.name == "releases" else None


def env_file_path(base_dir, environ=None):
    """The env file: ``FLEET_ENV_FILE``, else ``<app dir>/shared/env`` (None outside a release)."""
    environ = os.environ if environ is None else environ
    if environ.get("FLEET_ENV_FILE"):
        return Path(environ["FLEET_ENV_FILE"])
    app_dir = app_dir_of(base_dir)
    return app_dir / "shared" / "env" if app_dir else None


def parse_env_file(text):
    """KEY=VALUE lines; blank lines and ``#`` comments skipped; one pair of quotes stripped."""
    values = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export "):].lstrip()
        if "=" not in line:
            raise ValueError("line %d is not KEY=VALUE: %r" % (number, raw))
        key, value = line.split("=", 1)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def read_env(base_dir, environ=None):
    """(the environment: the env file's values overridden by the process's, the file or None)."""
    environ = os.environ if environ is None else environ
    path = env_file_path(base_dir, environ)
    values = {}
    found = None
    if path is not None:
        try:
            text = path.read_text()
        except FileNotFoundError:
            if environ.get("FLEET_ENV_FILE"):
                raise ValueError("FLEET_ENV_FILE=%s: no such file" % path)
        else:
            try:
                values = parse_env_file(text)
            except ValueError as error:
                raise ValueError("%s: %s" % (path, error))
            found = path
    values.update(environ)
    return values, found


def split_list(value):
    return [item.strip() for item in value.split(",") if item.strip()]


def parse_bool(name, value):
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off", ""):
        return False
    raise ValueError("%s=%r: expected true or false" % (name, value))


def database_from_url(url):
    """A DATABASES entry from a URL: postgres://user:pass@host:5432/name?sslmode=require."""
    parts = urlsplit(url)
    engine = DATABASE_ENGINES.get(parts.scheme)
    if engine is None:
        raise ValueError(
            "DATABASE_URL: unsupported scheme %r (use one of %s)" % (parts.scheme, ", ".join(sorted(DATABASE_ENGINES)))
        )
    if engine.endswith("sqlite3"):
        # sqlite:///relative/path is not supported: sqlite:////absolute/path, as dj-database-url.
        name = unquote(parts.path[1:] if parts.path.startswith("//") else parts.path)
        if not name:
            raise ValueError("DATABASE_URL: sqlite URL without a path: %r" % url)
        return {"ENGINE": engine, "NAME": name}
    config = {
        "ENGINE": engine,
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
    }
    options = dict(parse_qsl(parts.query))
    if options:
        config["OPTIONS"] = options
    return config


#: libpq's sslmode values (DATABASE_SSLMODE).
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


def database_from_parts(env):
    engine = env.get("DATABASE_ENGINE", "postgresql")
    config = {
        "ENGINE": DATABASE_ENGINES.get(engine, engine),
        "NAME": env.get("DATABASE_NAME", ""),
        "USER": env.get("DATABASE_USER", ""),
        "PASSWORD": env.get("DATABASE_PASSWORD", ""),
        "HOST": env.get("DATABASE_HOST", ""),
        "PORT": env.get("DATABASE_PORT", ""),
    }
    # TLS, as the boot script writes it next to the parts (DATABASE_URL carries it in its query).
    options = {}
    sslmode, sslrootcert = env.get("DATABASE_SSLMODE", ""), env.get("DATABASE_SSLROOTCERT", "")
    if sslmode:
        if sslmode not in SSLMODES:
            raise ValueError("DATABASE_SSLMODE=%r: expected one of %s" % (sslmode, ", ".join(SSLMODES)))
        options["sslmode"] = sslmode
    if sslrootcert:
        options["sslrootcert"] = sslrootcert
    if options:
        if config["ENGINE"] != DATABASE_ENGINES["postgresql"]:
            raise ValueError(
                "DATABASE_SSLMODE/DATABASE_SSLROOTCERT are PostgreSQL's (libpq) options, but DATABASE_ENGINE=%r: unset them or use PostgreSQL" % engine
            )
        config["OPTIONS"] = options
    return config


def fleet_middleware(middleware):
    """The app's MIDDLEWARE with the fleet's pieces in their places (see the module docstring)."""
    ours = (RELEASE_HEADER, HEALTH, FLEET_WHITENOISE, WHITENOISE, MAINTENANCE)
    rest = [m for m in middleware if m not in ours]
    after_security = [FLEET_WHITENOISE, MAINTENANCE]
    if SECURITY in rest:
        at = rest.index(SECURITY) + 1
        rest[at:at] = after_security
    else:
        rest[0:0] = after_security
    return [RELEASE_HEADER, HEALTH] + rest


def wsgi_setting(value):
    """gunicorn's "pkg.wsgi:application" as Django's "pkg.wsgi.application"."""
    return value.replace(":", ".") if ":" in value else value


def configure(settings, env_file=None, keep=()):
    """Sets the fleet's settings in ``settings`` (a settings module's ``globals()``) from the environment.

    ``env_file``: read this file instead of ``<app dir>/shared/env``. ``keep``: names of settings
    to leave as they are. Returns the environment read (the env file's values and the process's).
    """
    keep = set(keep)
    unknown = keep - set(MANAGED)
    if unknown:
        raise ValueError("django_fleet.configure(keep=...): %s not managed here (managed: %s)" % (", ".join(sorted(unknown)), ", ".join(MANAGED)))
    base_dir = settings.get("BASE_DIR")
    if not base_dir:
        raise ValueError("django_fleet.configure(): set BASE_DIR (the project directory, the release directory on an instance) before the call")
    environ = dict(os.environ)
    if env_file is not None:
        environ["FLEET_ENV_FILE"] = str(env_file)
    env, found = read_env(base_dir, environ)
    app_dir = app_dir_of(base_dir)

    def put(name, value):
        if name not in keep:
            settings[name] = value

    if "SECRET_KEY" in env:
        put("SECRET_KEY", env["SECRET_KEY"])
    if "DEBUG" in env:
        put("DEBUG", parse_bool("DEBUG", env["DEBUG"]))
    elif found is not None:
        put("DEBUG", False)
    if "ALLOWED_HOSTS" in env:
        put("ALLOWED_HOSTS", split_list(env["ALLOWED_HOSTS"]))
    if "CSRF_TRUSTED_ORIGINS" in env:
        put("CSRF_TRUSTED_ORIGINS", split_list(env["CSRF_TRUSTED_ORIGINS"]))
    if env.get("DATABASE_URL") or env.get("DATABASE_HOST") or env.get("DATABASE_NAME"):
        default = database_from_url(env["DATABASE_URL"]) if env.get("DATABASE_URL") else database_from_parts(env)
        databases = dict(settings.get("DATABASES") or {})
        databases["default"] = default
        put("DATABASES", databases)
    if env.get("STATIC_ROOT"):
        put("STATIC_ROOT", env["STATIC_ROOT"])
    if env.get("STATIC_URL"):
        put("STATIC_URL", env["STATIC_URL"])
    if env.get("WSGI_APPLICATION"):
        put("WSGI_APPLICATION", wsgi_setting(env["WSGI_APPLICATION"]))
    if env.get("FLEET_INSTALL_COMMAND"):
        put("FLEET_INSTALL_COMMAND", env["FLEET_INSTALL_COMMAND"])
    release = env.get("FLEET_RELEASE") or (Path(str(base_dir)).name if app_dir else None)
    if release:
        put("FLEET_RELEASE", release)
    flag = env.get("FLEET_MAINTENANCE_FLAG") or (str(app_dir / "maintenance.flag") if app_dir else None)
    if flag:
        put("FLEET_MAINTENANCE_FLAG", flag)

    import django  # the version only: django.conf is not touched

    if django.VERSION >= (4, 2):
        storages = dict(settings.get("STORAGES") or {"default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}})
        storages["staticfiles"] = {"BACKEND": STORAGE}
        put("STORAGES", storages)
    else:
        put("STATICFILES_STORAGE", STORAGE)
    apps = list(settings.get("INSTALLED_APPS") or [])
    if "django_fleet" not in apps:
        put("INSTALLED_APPS", apps + ["django_fleet"])
    put("MIDDLEWARE", fleet_middleware(list(settings.get("MIDDLEWARE") or [])))
    return env
