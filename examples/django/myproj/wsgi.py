"""wsgi.py: the WSGI entry point, `myproj.wsgi:application`.

appserver (or Gunicorn) imports this module in each worker, with
examples/django as the working directory (--chdir).
"""
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "myproj.settings")

application = get_wsgi_application()
