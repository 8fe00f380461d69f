"""``X-Release`` on every response: which release answered.

The rehearsal's traffic report and fleet check read this header (a page's title is not a
version). Place it first in MIDDLEWARE, so that the health view, static files served by
WhiteNoise and the maintenance page carry it too (``django_fleet.configure`` does).

Setting: ``FLEET_RELEASE`` (the release directory's name on an instance); no header when unset.
"""

from django.conf import settings

HEADER = "X-Release"


class ReleaseHeaderMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        release = getattr(settings, "FLEET_RELEASE", None)
        self.release = str(release) if release else None

    def __call__(self, request):
        response = self.get_response(request)
        if self.release:
            response[HEADER] = self.release
        return response
