#!/usr/bin/python3
"""manage.py: Django's command-line entry point for the example project.

Run it with Debian's /usr/bin/python3, which has Django, DRF and simplejwt.
"""
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "myproj.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
