"""Read a Gunicorn configuration file for appserver's master (`-c FILE`).

The master never embeds Python, so it runs this module to evaluate the file, as Gunicorn
does (the file is plain Python), and prints JSON on stdout:

    {"args": [appserver command-line arguments], "unsupported": [setting names]}

Every Gunicorn setting that appserver implements becomes the equivalent option; a Gunicorn
setting it does not implement is listed by name unless it keeps Gunicorn's default (so
`preload_app = False` is fine, `preload_app = True` is reported). Names that are not
Gunicorn settings (helper variables, imports) are ignored, as Gunicorn ignores them.

    /usr/bin/python3 -m appserver.gunicorn_config gunicorn.conf.py
"""

import contextlib
import json
import os
import sys

# Gunicorn setting -> appserver option (same meaning).
OPTIONS = {
    "bind": "--bind",
    "backlog": "--backlog",
    "worker_connections": "--worker-connections",
    "workers": "--workers",
    "threads": "--threads",
    "max_requests": "--max-requests",
    "max_requests_jitter": "--max-requests-jitter",
    "timeout": "--timeout",
    "graceful_timeout": "--graceful-timeout",
    "keepalive": "--keep-alive",
    "limit_request_line": "--limit-request-line",
    "limit_request_fields": "--limit-request-fields",
    "limit_request_field_size": "--limit-request-field_size",
    "chdir": "--chdir",
    "raw_env": "--env",
    "pidfile": "--pid",
    "user": "--user",
    "group": "--group",
    "umask": "--umask",
    "proc_name": "--name",
    "worker_tmp_dir": "--worker-tmp-dir",
    "forwarded_allow_ips": "--forwarded-allow-ips",
    "proxy_allow_ips": "--proxy-allow-from",
    "accesslog": "--access-logfile",
    "access_log_format": "--access-logformat",
    "errorlog": "--error-logfile",
    "loglevel": "--log-level",
    "pythonpath": "--pythonpath",
    "certfile": "--certfile",
    "keyfile": "--keyfile",
    "ca_certs": "--ca-certs",
    "cert_reqs": "--cert-reqs",
    "ciphers": "--ciphers",
    "ssl_version": "--ssl-version",  # a name or Python's ssl.PROTOCOL_* number, as Gunicorn
    # appserver's own settings, which Gunicorn lacks
    "static": "--static",  # {"/static/": STATIC_ROOT}, or ["/static/=DIR", ...]
    "health_path": "--health-path",
    "metrics_bind": "--metrics-bind",
    "max_pending": "--max-pending",
    "queue_timeout": "--queue-timeout",
}
FLAGS = {"check_config": "--check-config", "print_config": "--print-config",
         "daemon": "--daemon", "preload_app": "--preload", "proxy_protocol": "--proxy-protocol",
         "access_log_json": "--access-log-json"}  # appserver's own
LISTS = {"bind", "raw_env", "static"}  # one option per item
JOINED = {"forwarded_allow_ips", "proxy_allow_ips", "pythonpath"}  # a list becomes one comma-separated value

# Gunicorn settings appserver does not implement, with Gunicorn's defaults: a file that
# leaves them at the default loses nothing. (initgroups is not among them: appserver always
# gives workers the supplementary groups of --user, what initgroups = True asks for.)
UNSUPPORTED_DEFAULTS = {
    "reload": False, "reload_engine": "auto",
    "reload_extra_files": [], "spew": False, "sendfile": None,
    "reuse_port": False, "tmp_upload_dir": None,
    "secure_scheme_headers": {"X-FORWARDED-PROTOCOL": "ssl", "X-FORWARDED-PROTO": "https",
                              "X-FORWARDED-SSL": "on"},
    "disable_redirect_access_to_syslog": False, "capture_output": False,
    "logger_class": "gunicorn.glogging.Logger", "logconfig": None, "logconfig_dict": {},
    "syslog_addr": "udp://localhost:514", "syslog": False, "syslog_prefix": None,
    "syslog_facility": "user", "enable_stdio_inheritance": False, "statsd_host": None,
    "dogstatsd_tags": "", "statsd_prefix": "",
    "default_proc_name": "gunicorn", "paste": None, "suppress_ragged_eofs": True,
    "do_handshake_on_connect": False, "raw_paste_global_conf": [], "strip_header_spaces": False,
    "tolerate_dangerous_framing": False,
}
# Server hooks: Python callables Gunicorn runs in its arbiter; any definition is reported.
HOOKS = {
    "on_starting", "on_reload", "when_ready", "pre_fork", "post_fork", "post_worker_init",
    "worker_int", "worker_abort", "pre_exec", "pre_request", "post_request", "child_exit",
    "worker_exit", "nworkers_changed", "on_exit",
}
WORKER_CLASSES = {"sync", "gthread"}  # both are what appserver's workers do


def _arguments(name, value):
    option = OPTIONS[name]
    if value is None:
        return []
    if name in LISTS:
        if isinstance(value, dict):
            value = [f"{key}={item}" for key, item in value.items()]
        items = [value] if isinstance(value, str) else list(value)
        return [arg for item in items for arg in (option, str(item))]
    if name in JOINED and not isinstance(value, str):
        value = ",".join(str(v) for v in value)
    if isinstance(value, bool):
        value = int(value)
    return [option, str(value)]


def translate(settings):
    """(args, unsupported) for the module-level names of a configuration file."""
    args, unsupported = [], []
    for name, value in settings.items():
        if name in OPTIONS:
            args.extend(_arguments(name, value))
        elif name in FLAGS:
            args.extend([FLAGS[name]] if value else [])
        elif name == "wsgi_app":
            args.extend([str(value)] if value else [])
        elif name == "worker_class":
            if value not in WORKER_CLASSES:
                unsupported.append(name)
        elif name in HOOKS:
            unsupported.append(name)
        elif name in UNSUPPORTED_DEFAULTS:
            default = UNSUPPORTED_DEFAULTS[name]
            if value != default:
                unsupported.append(name)
    return args, unsupported


def main(argv):
    if len(argv) != 2:
        sys.exit("usage: python3 -m appserver.gunicorn_config FILE")
    path = argv[1]
    namespace = {"__file__": os.path.abspath(path), "__name__": "__config__"}
    with open(path, "rb") as f:
        code = compile(f.read(), path, "exec")
    # What Gunicorn does with its configuration file; what it prints goes to stderr, so
    # stdout carries nothing but the answer.
    with contextlib.redirect_stdout(sys.stderr):
        exec(code, namespace)
    args, unsupported = translate(namespace)
    json.dump({"args": args, "unsupported": unsupported}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv)
