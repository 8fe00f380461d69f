"""System checks for what a release onto the fleet needs: ``manage.py check --deploy --tag django_fleet``.

Deployment checks (``--deploy``), so that ``runserver`` on a laptop is not held up by them. The
release runs them on the management instance while it inspects a version (``manage.py
fleet_migration_plan`` runs them first), so a mis-wired app is refused before anything is applied.

=================  ==========================================================================
django_fleet.E001  static files storage is not django_fleet's LocalManifestStaticFilesStorage
django_fleet.E002  STATIC_ROOT unset, or not the STATIC_ROOT of the instance's environment
django_fleet.E003  FleetWhiteNoiseMiddleware / MaintenanceModeMiddleware missing or out of order
django_fleet.E004  the health view is not reachable by the instance's IP (HealthCheckMiddleware)
django_fleet.E005  the WSGI module (WSGI_APPLICATION) cannot be imported
django_fleet.E006  no requirements.txt (or pyproject.toml / setup.py) and no FLEET_INSTALL_COMMAND
django_fleet.W001  ReleaseHeaderMiddleware missing or not first: responses carry no X-Release
=================  ==========================================================================
"""

import os
from importlib import import_module

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from . import conf

TAG = "django_fleet"
CONFIGURE_HINT = "django_fleet.configure(globals()) at the end of the settings module sets it."


def storage_backend():
    storages = getattr(settings, "STORAGES", None)
    if isinstance(storages, dict) and "staticfiles" in storages:
        return storages["staticfiles"].get("BACKEND")
    return getattr(settings, "STATICFILES_STORAGE", None)


def is_fleet_storage(backend):
    if backend == conf.STORAGE:
        return True
    try:
        module, name = backend.rsplit(".", 1)
        cls = getattr(import_module(module), name)
        from .storage import LocalManifestStaticFilesStorage

        return isinstance(cls, type) and issubclass(cls, LocalManifestStaticFilesStorage)
    except Exception:
        return False


def check_storage():
    backend = storage_backend()
    if backend and is_fleet_storage(backend):
        return []
    return [
        Error(
            "The static files storage is %r, not %s: each release must keep its own staticfiles.json "
            "while all hashed files live in the shared STATIC_ROOT." % (backend, conf.STORAGE),
            hint="Set STATICFILES_STORAGE (Django < 4.2) or STORAGES['staticfiles'] to %s; %s" % (conf.STORAGE, CONFIGURE_HINT),
            id="django_fleet.E001",
        )
    ]


def check_static_root(env):
    root = getattr(settings, "STATIC_ROOT", None)
    wanted = env.get("STATIC_ROOT")
    if not root:
        return [
            Error(
                "STATIC_ROOT is not set: collectstatic has nowhere to put the hashed files.",
                hint="Read it from the environment's STATIC_ROOT (the shared root every instance mounts); %s" % CONFIGURE_HINT,
                id="django_fleet.E002",
            )
        ]
    if wanted and os.path.abspath(str(root)) != os.path.abspath(wanted):
        return [
            Error(
                "STATIC_ROOT is %s but the instance's environment says STATIC_ROOT=%s: the release "
                "checks the hashed files in the shared root and old instances serve new files from it." % (root, wanted),
                hint="Set STATIC_ROOT from the environment (the env file or os.environ), not a fixed path; %s" % CONFIGURE_HINT,
                id="django_fleet.E002",
            )
        ]
    return []


def check_middleware_order():
    mw = list(getattr(settings, "MIDDLEWARE", None) or [])
    errors = []
    if conf.WHITENOISE in mw:
        errors.append(
            Error(
                "MIDDLEWARE has %s: an old instance would 404 the hashed files of a newer release." % conf.WHITENOISE,
                hint="Use %s instead; %s" % (conf.FLEET_WHITENOISE, CONFIGURE_HINT),
                id="django_fleet.E003",
            )
        )
    for name in (conf.FLEET_WHITENOISE, conf.MAINTENANCE):
        if name not in mw:
            errors.append(Error("MIDDLEWARE lacks %s." % name, hint="Expected order: %s; %s" % (", ".join(conf.fleet_middleware([conf.SECURITY, "..."])), CONFIGURE_HINT), id="django_fleet.E003"))
    if errors:
        return errors
    wn, mm = mw.index(conf.FLEET_WHITENOISE), mw.index(conf.MAINTENANCE)
    if conf.SECURITY in mw and wn < mw.index(conf.SECURITY):
        errors.append(Error("%s comes before %s." % (conf.FLEET_WHITENOISE, conf.SECURITY), hint="Put it right after SecurityMiddleware; %s" % CONFIGURE_HINT, id="django_fleet.E003"))
    if mm < wn:
        errors.append(
            Error(
                "%s comes before %s: static files would get the maintenance page." % (conf.MAINTENANCE, conf.FLEET_WHITENOISE),
                hint="Put MaintenanceModeMiddleware right after FleetWhiteNoiseMiddleware; %s" % CONFIGURE_HINT,
                id="django_fleet.E003",
            )
        )
    return errors


def check_health_middleware():
    mw = list(getattr(settings, "MIDDLEWARE", None) or [])
    if conf.HEALTH not in mw:
        return [
            Error(
                "MIDDLEWARE lacks %s: the load balancer checks the health path by the instance's IP, which "
                "ALLOWED_HOSTS rejects (400), so no instance would ever be healthy." % conf.HEALTH,
                hint="Put it first in MIDDLEWARE (after ReleaseHeaderMiddleware only); %s" % CONFIGURE_HINT,
                id="django_fleet.E004",
            )
        ]
    before = [m for m in mw[: mw.index(conf.HEALTH)] if m != conf.RELEASE_HEADER]
    if before:
        return [
            Error(
                "%s comes after %s: those see the health check (Host: the instance's IP) first and may reject or redirect it."
                % (conf.HEALTH, ", ".join(before)),
                hint="Put it first in MIDDLEWARE (after ReleaseHeaderMiddleware only); %s" % CONFIGURE_HINT,
                id="django_fleet.E004",
            )
        ]
    return []


def check_wsgi():
    target = getattr(settings, "WSGI_APPLICATION", None)
    if not target:
        return [
            Error(
                "WSGI_APPLICATION is not set: gunicorn needs the app's WSGI module.",
                hint="Set WSGI_APPLICATION = '<project package>.wsgi.application' (django-admin startproject writes <project package>/wsgi.py), "
                "or WSGI_APPLICATION=<module>:<attribute> in the environment",
                id="django_fleet.E005",
            )
        ]
    module, _, attribute = target.rpartition(".")
    try:
        found = getattr(import_module(module), attribute, None)
    except Exception as error:  # any import error: it is the one gunicorn would hit at start
        return [
            Error(
                "WSGI_APPLICATION %r cannot be imported: %s: %s" % (target, type(error).__name__, error),
                hint="gunicorn serves %s:%s; add that module (django-admin startproject writes <project package>/wsgi.py) "
                "or set WSGI_APPLICATION (and the release's wsgi target) to the module the app has" % (module, attribute),
                id="django_fleet.E005",
            )
        ]
    if not callable(found):
        return [Error("WSGI_APPLICATION %r: %s has no callable %r." % (target, module, attribute), hint="application = get_wsgi_application()", id="django_fleet.E005")]
    return []


INSTALL_FILES = ("requirements.txt", "pyproject.toml", "setup.py")


def check_install(base_dir):
    if getattr(settings, "FLEET_INSTALL_COMMAND", None):
        return []
    if base_dir and any(os.path.isfile(os.path.join(str(base_dir), f)) for f in INSTALL_FILES):
        return []
    return [
        Error(
            "%s has no requirements.txt, pyproject.toml or setup.py: the release's default install command "
            "(venv/bin/pip install -r requirements.txt) would fail." % base_dir,
            hint="Add requirements.txt next to manage.py (django-fleet, gunicorn, your database driver, ...), or set the "
            "release's install command (release:installCommand; rehearsal --install) and FLEET_INSTALL_COMMAND to the same",
            id="django_fleet.E006",
        )
    ]


def check_release_header():
    mw = list(getattr(settings, "MIDDLEWARE", None) or [])
    if mw[:1] == [conf.RELEASE_HEADER]:
        return []
    return [
        Warning(
            "%s is not first in MIDDLEWARE: responses do not all say which release answered (X-Release)." % conf.RELEASE_HEADER,
            hint=CONFIGURE_HINT,
            id="django_fleet.W001",
        )
    ]


@register(TAG, Tags.staticfiles, deploy=True)
def fleet_checks(app_configs=None, **kwargs):
    base_dir = getattr(settings, "BASE_DIR", None)
    try:
        env, _ = conf.read_env(base_dir)
    except ValueError as error:
        return [Error("The instance's environment cannot be read: %s" % error, id="django_fleet.E002")]
    return (
        check_storage()
        + check_static_root(env)
        + check_middleware_order()
        + check_health_middleware()
        + check_wsgi()
        + check_install(base_dir)
        + check_release_header()
    )
