"""runserver_hello.py: settings that make `manage.py runserver` serve examples/hello.py.

runserver serves whatever WSGI_APPLICATION names, so the hello-world row of the load test
can include it: DJANGO_SETTINGS_MODULE=runserver_hello with bench/ and examples/ on
PYTHONPATH (bench/peers.py). Everything else is the example project's settings.
"""
from myproj.settings import *  # noqa: F401,F403 (a settings variant)

WSGI_APPLICATION = "hello.application"
