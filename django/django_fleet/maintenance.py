"""Maintenance mode: a 503 page with Retry-After while a flag file exists.

The release sets the flag on the management instance while a version with breaking
migrations goes out (on the fleet, the load balancer's maintenance rule does the same).

Settings:
- ``FLEET_MAINTENANCE_FLAG``: path of the flag file (no flag, no maintenance mode).
  The file may contain the Retry-After value in seconds.
- ``FLEET_MAINTENANCE_RETRY_AFTER`` (default 120).
- ``FLEET_MAINTENANCE_HTML``: the page (a short default is built in).

The health path and STATIC_URL stay available.
"""

import os

from django.conf import settings
from django.http import HttpResponse

from .health import health_path

DEFAULT_HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Down for maintenance</title></head>
<body><h1>Down for maintenance</h1><p>We are releasing a new version. Please try again in a few minutes.</p></body></html>
"""


def flag_path():
    return getattr(settings, "FLEET_MAINTENANCE_FLAG", None)


def maintenance_active():
    path = flag_path()
    return bool(path) and os.path.exists(str(path))


def retry_after():
    default = int(getattr(settings, "FLEET_MAINTENANCE_RETRY_AFTER", 120))
    try:
        with open(str(flag_path())) as handle:
            text = handle.read().strip()
        return int(text) if text.isdigit() else default
    except OSError:
        return default


def maintenance_response():
    html = getattr(settings, "FLEET_MAINTENANCE_HTML", DEFAULT_HTML)
    response = HttpResponse(html, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(retry_after())
    response["Cache-Control"] = "no-store"
    return response


class MaintenanceModeMiddleware:
    """503 for every request but the health path and static files while the flag exists."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if maintenance_active():
            path = request.path_info
            static_url = getattr(settings, "STATIC_URL", None) or ""
            exempt = path == health_path() or (static_url.startswith("/") and path.startswith(static_url))
            if not exempt:
                return maintenance_response()
        return self.get_response(request)
