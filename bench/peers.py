"""peers.py: what is compared: the endpoints, and each server's command line for them.

Every server runs as its users run it, with 2 workers (the core count of the development
machine) where it has workers, no access log (except runserver, which always logs), and
serves the same two applications from the repository:

  hello   examples/hello.py, the smallest WSGI app (runserver serves it through
          bench/runserver_hello.py, a settings module naming it as WSGI_APPLICATION)
  django  examples/django, the example project: a plain JSON view, a DRF view behind a
          JWT, a static file (served by the server itself where it can: appserver's
          --static, uWSGI's --static-map; else by Django's `serve` view), a 1 MiB streamed
          response and a view that sleeps 5 ms; and appserver once more with the static
          file served by WhiteNoise's middleware instead of --static (static_whitenoise)

nginx answers the same URLs without Python (a fixed body, the file from disk, a 1 MiB file):
the ceiling of what an HTTP server does on this machine.
"""
import dataclasses
import grp
import os
import pwd

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(REPO, "bench")
EXAMPLES = os.path.join(REPO, "examples")
DJANGO = os.path.join(EXAMPLES, "django")
PYTHON = "/usr/bin/python3"  # Debian's, with Django and the peers' packages
WORKERS = 2
THREADS = 4  # gthread always; appserver for the 5 ms view


@dataclasses.dataclass(frozen=True)
class Endpoint:
    path: str
    title: str
    token: str = ""  # "good" or "bad": the Authorization header wrk sends
    status: int = 200


ENDPOINTS = {
    "hello": Endpoint("/", "hello-world WSGI app"),
    "json": Endpoint("/api/hello/", "Django JSON view"),
    "drf_jwt": Endpoint("/api/protected/", "DRF view, JWT verified", token="good"),
    "bad_token": Endpoint("/api/protected/", "bad token refused", token="bad", status=401),
    "static": Endpoint("/static/api/hello.txt", "static file, 47 bytes"),
    "static_whitenoise": Endpoint("/static/api/hello.txt", "static file, 47 bytes, by WhiteNoise"),
    "stream": Endpoint("/api/stream/", "1 MiB streamed response"),
    "slow": Endpoint("/api/slow/", "view sleeping 5 ms"),
}
DJANGO_ENDPOINTS = ("json", "drf_jwt", "bad_token", "static", "stream", "slow")
STREAM_BODY = bytes(range(256)) * 4096  # what api.views.stream sends


@dataclasses.dataclass(frozen=True)
class Deployment:
    """One server with one app: `argv` with {port} and {tmp} placeholders, run in `cwd`."""
    server: str
    app: str
    endpoints: tuple
    argv: tuple
    cwd: str = REPO
    env: tuple = ()  # (name, value) pairs added to the environment
    prepare: object = None  # prepare(port, tmp) writes files the command needs

    @property
    def name(self):
        return "%s/%s" % (self.server, self.app)

    def command(self, port, tmp):
        return [a.format(port=port, tmp=tmp) for a in self.argv]


def deployments(binary):
    """Every deployment, grouped by server in the order the report lists them."""
    bind = "127.0.0.1:{port}"
    hello = ("hello:application",)
    django = ("myproj.wsgi:application",)
    appserver = (binary, "--workers", str(WORKERS), "--bind", bind)
    # The server verifies the token (settings from the project's simplejwt settings) and
    # DRF takes the user from its claims; the other views need no token. Servers that can
    # serve files themselves do, from the folder Django's `serve` view reads for the others.
    appserver_django = appserver + (
        "--chdir", DJANGO, "--jwt-from-django", "--jwt-protect", "/api/protected/",
        "--static", "/static/=api/static")
    gunicorn = ("/usr/bin/gunicorn", "--workers", str(WORKERS), "--bind", bind)
    gthread = gunicorn + ("--worker-class", "gthread", "--threads", str(THREADS))
    uwsgi = ("/usr/bin/uwsgi", "--plugin", "python3", "--http-socket", bind, "--master",
             "--processes", str(WORKERS), "--die-on-term", "--need-app", "--disable-logging")
    uwsgi_django = uwsgi + ("--static-map", "/static=api/static", "--module")
    waitress = ("/usr/bin/waitress-serve", "--listen=" + bind)
    runserver = (PYTHON, os.path.join(DJANGO, "manage.py"), "runserver", "--noreload", bind)
    settings_appserver = (("DJANGO_SETTINGS_MODULE", "myproj.settings_appserver"),)
    runserver_hello = (("DJANGO_SETTINGS_MODULE", "runserver_hello"),
                       ("PYTHONPATH", BENCH + ":" + EXAMPLES))
    return [
        Deployment("appserver", "hello", ("hello",), appserver + ("--chdir", EXAMPLES) + hello),
        Deployment("appserver", "django", DJANGO_ENDPOINTS[:-1], appserver_django + django,
                   env=settings_appserver),
        Deployment("appserver", "django-threads", ("slow",),
                   appserver_django + ("--threads", str(THREADS)) + django,
                   env=settings_appserver),
        Deployment("appserver", "django-whitenoise", ("static_whitenoise",),
                   appserver + ("--chdir", DJANGO) + django,
                   env=(("DJANGO_SETTINGS_MODULE", "whitenoise_settings"), ("PYTHONPATH", BENCH))),
        Deployment("runserver", "hello", ("hello",), runserver, DJANGO, runserver_hello),
        Deployment("runserver", "django", DJANGO_ENDPOINTS, runserver, DJANGO),
        Deployment("gunicorn-sync", "hello", ("hello",), gunicorn + hello, EXAMPLES),
        Deployment("gunicorn-sync", "django", DJANGO_ENDPOINTS, gunicorn + django, DJANGO),
        Deployment("gunicorn-gthread", "hello", ("hello",), gthread + hello, EXAMPLES),
        Deployment("gunicorn-gthread", "django", DJANGO_ENDPOINTS, gthread + django, DJANGO),
        Deployment("uwsgi", "hello", ("hello",), uwsgi + ("--module",) + hello, EXAMPLES),
        Deployment("uwsgi", "django", DJANGO_ENDPOINTS, uwsgi_django + django, DJANGO),
        Deployment("waitress", "hello", ("hello",), waitress + hello, EXAMPLES),
        Deployment("waitress", "django", DJANGO_ENDPOINTS, waitress + django, DJANGO),
        Deployment("nginx", "fixed", ("hello", "static", "stream"),
                   ("/usr/sbin/nginx", "-p", "{tmp}", "-c", "{tmp}/nginx.conf", "-e", "stderr"),
                   prepare=write_nginx_conf),
    ]


SERVERS = ("appserver", "runserver", "gunicorn-sync", "gunicorn-gthread", "uwsgi", "waitress",
           "nginx")


def write_nginx_conf(port, tmp):
    """nginx.conf for `port` and the 1 MiB file nginx streams, under `tmp`."""
    with open(os.path.join(tmp, "stream.bin"), "wb") as f:
        f.write(STREAM_BODY)
    user = ""
    if os.geteuid() == 0:  # nginx's workers would become nobody, who cannot read `tmp`
        user = "user %s %s;" % (pwd.getpwuid(0).pw_name, grp.getgrgid(os.getegid()).gr_name)
    with open(os.path.join(BENCH, "nginx.conf")) as f:
        conf = f.read()
    for name, value in (("USER", user), ("WORKERS", str(WORKERS)), ("PORT", str(port)),
                        ("TMP", tmp), ("STATIC", os.path.join(DJANGO, "api", "static"))):
        conf = conf.replace("@%s@" % name, value)
    with open(os.path.join(tmp, "nginx.conf"), "w") as f:
        f.write(conf)
