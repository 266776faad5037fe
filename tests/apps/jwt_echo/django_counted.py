"""django_counted.py: the example Django project, with each call recorded (calls.py).

tests/integration/test_jwt_django.py serves `django_counted:application` from
examples/django (--chdir) with this folder on --pythonpath. Importing myproj.wsgi sets
DJANGO_SETTINGS_MODULE, so --jwt-from-django can read the project's settings through this
module as through myproj.wsgi itself.
"""
from calls import record
from myproj.wsgi import application as django_application


def application(environ, start_response):
    record(environ)
    return django_application(environ, start_response)
