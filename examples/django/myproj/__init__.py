"""myproj: the example Django project served by appserver (settings, URLs, WSGI app)."""
