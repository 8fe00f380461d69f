from django.conf import settings
from django.shortcuts import render

from .models import Product


def index(request):
    return render(request, "catalog/index.html", {"products": Product.objects.order_by("id"), "release": getattr(settings, "FLEET_RELEASE", None)})
