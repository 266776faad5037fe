"""wsgi_import_error.py: a module whose import fails (WsgiApp::load must return the traceback)."""


def _fail_on_import():
    raise RuntimeError("wsgi_import_error refuses to import")


_fail_on_import()
