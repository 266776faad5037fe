"""Import a WSGI application the way appserver's workers do (`--check-config`).

    /usr/bin/python3 -m appserver.check_app MODULE[:CALLABLE]

Exits 0 when MODULE imports and CALLABLE (default `application`, dotted names allowed) is
callable; otherwise prints the traceback or the reason and exits 1.
"""

import importlib
import sys


def main(argv):
    module_name, _, attrs = argv[1].partition(":")
    target = importlib.import_module(module_name)
    for name in (attrs or "application").split("."):
        target = getattr(target, name)
    if not callable(target):
        sys.exit("%s is not callable" % argv[1])


if __name__ == "__main__":
    main(sys.argv)
