"""missing_import: a module whose import fails with ImportError (test_cli.py)."""
import appserver_test_no_such_module  # noqa: F401  (the failure under test)


def application(environ, start_response):
    start_response("200 OK", [])
    return [b"unreachable\n"]
