"""test_scaleout.py: two appserver instances behind nginx (examples/nginx/appserver-pool.conf).

Debian's nginx runs the example file, its addresses replaced by free loopback ports, in
front of two instances of the operations app (GET /pid answers the worker's pid), each with
--health-path. nginx spreads requests over both; its passive health check leaves a stopped
instance out after one refused connection and lets it back in after fail_timeout; and a
rolling restart (each instance stopped with TERM and started again, its health path
answering before the next one goes) costs no failed request, GET or POST, to a load of
fresh and keep-alive clients. docs/deploying.md shows the example file as it is. Skipped without nginx.
Run from this folder:
    APPSERVER_BIN=../../build/appserver /usr/bin/python3 -m unittest -v test_scaleout
"""
import os
import re
import time
import unittest

import harness
import test_nginx
from harness import HOST

POOL_CONF = harness.EXAMPLES_DIR / "nginx" / "appserver-pool.conf"
HEALTH_PATH = "/healthz"
FAIL_TIMEOUT = 2  # fail_timeout in the example file, in seconds
LOAD = {"clients": 4, "keep_alive": 2}  # two fresh-connection and two keep-alive clients


def replace_once(text, old, new):
    """`text` with its one occurrence of `old` replaced; ValueError unless there is one."""
    if text.count(old) != 1:
        raise ValueError(f"{POOL_CONF} no longer has exactly one {old!r}")
    return text.replace(old, new)


def pool_config(app_ports, port):
    """The example file with its two instances on `app_ports` and nginx on `port`."""
    text = replace_once(POOL_CONF.read_text(), "listen 127.0.0.1:8080;", f"listen {HOST}:{port};")
    for example, app_port in zip((8001, 8002), app_ports):
        text = replace_once(text, f"server 127.0.0.1:{example} ", f"server {HOST}:{app_port} ")
    return text


def pids(bodies):
    """The worker pids in a set of GET /pid answers."""
    return {int(body) for body in bodies}


@unittest.skipUnless(os.access(test_nginx.NGINX, os.X_OK), "needs nginx: apt-get install nginx-light")
class ScaleOutTest(unittest.TestCase):
    def setUp(self):
        self.dir = harness.scratch_dir(self.addCleanup, "appserver-scaleout-")
        self.instances = [self.instance() for _ in range(2)]
        for instance in self.instances:
            self.start(instance)
        port = harness.free_port()
        self.nginx = test_nginx.nginx_server(
            self.dir, port, pool_config([i.port for i in self.instances], port))
        self.addCleanup(self.nginx.stop)
        self.nginx.start()

    def instance(self):
        """A Server (not started) of the operations app with two workers and HEALTH_PATH."""
        server = harness.app_server("operations", "--workers", "2", "--health-path", HEALTH_PATH,
                                    env=harness.clean_env())
        self.addCleanup(server.stop)
        return server

    def start(self, instance):
        """Starts `instance` and waits until its health path answers, as a deploy script
        does before it moves on; returns its workers' pids."""
        instance.start()

        def healthy():
            try:
                with instance.connect(timeout=2) as conn:
                    return conn.request("GET", HEALTH_PATH).status == 200
            except OSError:
                return False
        self.assertTrue(harness.wait_until(healthy, 20), instance.output())
        return harness.wait_for_workers(instance.process.pid, 2)

    def get_pid(self):
        """The pid of the worker that answers GET /pid through nginx, on a new connection."""
        with self.nginx.connect() as conn:
            response = conn.request("GET", "/pid")
        self.assertEqual(response.status, 200, response)
        return int(response.body)

    def nginx_log(self):
        """nginx's error log (its stderr)."""
        return self.nginx.output()

    def test_requests_go_to_both_instances(self):
        seen = {self.get_pid() for _ in range(8)}
        for instance in self.instances:
            self.assertTrue(seen & harness.child_pids(instance.process.pid),
                            f"no request reached {instance.argv}")

    def test_a_stopped_instance_is_left_out_then_let_back_in(self):
        down, up = self.instances
        self.assertEqual(down.stop(), 0, down.output())
        started = time.monotonic()
        answered = [self.get_pid() for _ in range(8)]  # few: all within fail_timeout
        self.assertLess(time.monotonic() - started, FAIL_TIMEOUT, "too slow to test fail_timeout")
        self.assertTrue(set(answered) <= harness.child_pids(up.process.pid))
        # Round robin would try the stopped instance for every other request; after its
        # first refused connection nginx leaves it out for fail_timeout.
        refused = re.findall(rf"connect\(\) failed \(111: Connection refused\).*"
                             rf"upstream: \"http://{HOST}:{down.port}/pid\"", self.nginx_log())
        self.assertEqual(len(refused), 1, self.nginx_log())

        workers = self.start(down)
        back = harness.wait_until(lambda: {self.get_pid() for _ in range(4)} & workers,
                                  FAIL_TIMEOUT + 10)
        self.assertTrue(back, f"nginx never sent to the restarted instance:\n{self.nginx_log()}")

    def test_a_rolling_restart_fails_no_request(self):
        with harness.Load(self.nginx, **LOAD, limit=60) as gets, \
                harness.Load(self.nginx, **LOAD, limit=60, method="POST") as posts:
            self.assertTrue(harness.wait_until(lambda: posts.answered > 50, 10))
            for instance in self.instances:
                self.assertEqual(instance.stop(), 0, instance.output())  # TERM: graceful
                workers = self.start(instance)
                # nginx sends to it again after fail_timeout; only then may the next one go.
                back = harness.wait_until(
                    lambda: pids(frozenset(gets.bodies) | frozenset(posts.bodies)) & workers,
                    FAIL_TIMEOUT + 10)
                self.assertTrue(back, f"no request reached the restarted instance:\n"
                                      f"{self.nginx_log()}")
        # nginx never sends a POST twice: none may meet a connection that is reset.
        self.assertEqual((gets.failures, posts.failures), ([], []), self.nginx_log())
        self.assertGreater(min(gets.answered, posts.answered), 100)


class DocumentedConfigurationTest(unittest.TestCase):
    def test_deploying_md_shows_the_example_file(self):
        doc = (harness.REPO_ROOT / "docs" / "deploying.md").read_text()
        shown = [block for block in re.findall(r"```nginx\n(.*?)```", doc, re.S)
                 if "upstream appserver_pool" in block]
        self.assertEqual(shown, [POOL_CONF.read_text()])


if __name__ == "__main__":
    unittest.main()
