from django.apps import AppConfig


class DjangoFleetConfig(AppConfig):
    name = "django_fleet"
    verbose_name = "Django fleet releases"

    def ready(self):
        from . import checks  # noqa: F401  (registers the django_fleet.E0xx system checks)
