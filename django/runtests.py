#!/usr/bin/env python3
"""Runs the django_fleet tests with Django's test runner: python3 runtests.py [labels...]"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402
from django.conf import settings  # noqa: E402
from django.test.utils import get_runner  # noqa: E402

if __name__ == "__main__":
    django.setup()
    runner = get_runner(settings)(verbosity=2)
    try:
        failures = runner.run_tests(sys.argv[1:] or ["tests"])
    finally:
        import shutil

        shutil.rmtree(settings.BASE_DIR, ignore_errors=True)  # the settings' temp dir
    sys.exit(bool(failures))
