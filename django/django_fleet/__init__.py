"""Django helpers for releasing a site onto an auto-scaling fleet.

- ``django_fleet.configure(globals())``: at the end of the settings module, sets the database,
  STATIC_ROOT, ALLOWED_HOSTS, SECRET_KEY, storage and middleware from the instance's
  environment (see ``django_fleet.conf``).
- ``django_fleet.release.ReleaseHeaderMiddleware``: ``X-Release`` on every response.
- ``manage.py check --deploy --tag django_fleet``: what the fleet needs (``django_fleet.checks``).

- ``django_fleet.storage.LocalManifestStaticFilesStorage``: hashed static files go to the
  shared STATIC_ROOT, ``staticfiles.json`` stays in the release directory.
- ``django_fleet.health``: a health view that queries the database, and a middleware that
  answers it for requests addressed by IP without opening ALLOWED_HOSTS.
- ``django_fleet.middleware.FleetWhiteNoiseMiddleware``: serves hashed files that appeared
  in STATIC_ROOT after the worker started, and marks static 404s ``no-store``.
- ``django_fleet.maintenance.MaintenanceModeMiddleware``: a 503 page while a flag file exists.
- ``manage.py fleet_migration_plan``: the pending migrations as JSON.
"""

__version__ = "0.2.0"

from .conf import configure  # noqa: E402,F401  (imports no Django settings)
