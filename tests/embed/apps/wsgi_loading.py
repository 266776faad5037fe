"""wsgi_loading.py: targets for WsgiApp::load() (embed/wsgi_app.cc).

The default name `application`, a named callable, a callable reached through a dotted
attribute path, and a name bound to something that cannot be called. Each app answers with
its own name, so a test can tell which one load() found.
"""


def _answer(name):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [name.encode()]

    return app


application = _answer("default")
named = _answer("named")


class holder:
    class inner:
        app = staticmethod(_answer("dotted"))


not_callable = 42
