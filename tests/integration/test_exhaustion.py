"""test_exhaustion.py: many open connections, --worker-connections, and what they cost.

A worker holds at most --worker-connections connections. At the limit it first closes a
kept-alive connection that waits for its next request (as nginx does); when none is idle it
stops accepting, so the next client waits in the kernel's listen queue until a connection
closes. 2,000 silent connections on one worker must leave a normal client served, and the
worker's resident memory is reported (and bounded per connection).
Run from this folder:
    APPSERVER_BIN=../../build/appserver /usr/bin/python3 -m unittest -v test_exhaustion
"""
import os
import resource
import socket
import time
import unittest

import harness

IDLE_CONNECTIONS = 2000
MAX_BYTES_PER_IDLE_CONNECTION = 16 * 1024  # a Connection, its parser and libuv handles


def open_files(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def resident_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def silent_connection(port):
    """A connected client that sends nothing."""
    return socket.create_connection((harness.HOST, port), timeout=10)


class WorkerConnectionsLimit(unittest.TestCase):
    def start(self, limit):
        server = harness.app_server("body_digest", "--workers", "1", "--worker-connections",
                                    str(limit), "--keep-alive", "30", "--header-timeout", "30")
        self.addCleanup(server.stop)
        server.start()
        worker, = harness.wait_for_workers(server.process.pid, 1)
        time.sleep(0.2)  # the readiness probe's connection is closed by now
        return server, worker

    def test_an_idle_keep_alive_connection_makes_room_for_a_new_client(self):
        server, _ = self.start(limit=3)
        kept = [server.connect() for _ in range(3)]
        for conn in kept:
            self.addCleanup(conn.close)
            self.assertEqual(conn.request("GET", "/").status, 200)
        newcomer = server.connect(timeout=5)
        self.addCleanup(newcomer.close)
        self.assertEqual(newcomer.request("GET", "/").status, 200)
        closed = [conn for conn in kept if conn.closed_by_peer(timeout=2)]
        self.assertEqual(len(closed), 1, "exactly one idle connection should have been closed")

    def test_a_client_beyond_the_limit_waits_until_a_connection_closes(self):
        server, worker = self.start(limit=3)
        files = open_files(worker)
        silent = [silent_connection(server.port) for _ in range(3)]
        for sock in silent:
            self.addCleanup(sock.close)
        harness.wait_until(lambda: open_files(worker) >= files + 3, 5)
        waiting = server.connect(timeout=1)
        self.addCleanup(waiting.close)
        waiting.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        with self.assertRaises(socket.timeout, msg="served beyond --worker-connections"):
            waiting.read_response()
        silent[0].close()  # a place frees up: the waiting client is accepted and served
        waiting.sock.settimeout(5)
        self.assertEqual(waiting.read_response().status, 200)
        self.assertIn("--worker-connections is not enough", server.output())


class ManyIdleConnections(unittest.TestCase):
    def setUp(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = IDLE_CONNECTIONS + 256
        if hard != resource.RLIM_INFINITY and hard < wanted:
            self.skipTest(f"the open-file hard limit ({hard}) is below {wanted}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
        self.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE, (soft, hard))

    def test_2000_silent_connections_leave_a_normal_client_served(self):
        server = harness.app_server("body_digest", "--workers", "1", "--worker-connections",
                                    str(IDLE_CONNECTIONS + 100), "--header-timeout", "60")
        self.addCleanup(server.stop)
        server.start()
        worker, = harness.wait_for_workers(server.process.pid, 1)
        with server.connect() as warm:  # the app's first request allocates once
            self.assertEqual(warm.request("GET", "/").status, 200)
        time.sleep(0.2)
        files_before, rss_before = open_files(worker), resident_kib(worker)

        idle = []
        self.addCleanup(lambda: [sock.close() for sock in idle])
        for _ in range(IDLE_CONNECTIONS):
            idle.append(silent_connection(server.port))
        harness.wait_until(
            lambda: open_files(worker) >= files_before + IDLE_CONNECTIONS, 20)
        self.assertGreaterEqual(open_files(worker), files_before + IDLE_CONNECTIONS,
                                "the worker did not accept every connection")

        started = time.monotonic()
        with server.connect(timeout=5) as client:
            self.assertEqual(client.request("GET", "/").status, 200)
        served_in = time.monotonic() - started
        self.assertLess(served_in, 2.0)

        grown_kib = resident_kib(worker) - rss_before
        print(f"\n{IDLE_CONNECTIONS} idle connections: worker RSS {rss_before} KiB -> "
              f"{rss_before + grown_kib} KiB (+{grown_kib * 1024 // IDLE_CONNECTIONS} bytes "
              f"per connection); a request beside them took {served_in * 1000:.1f} ms")
        self.assertLess(grown_kib * 1024, IDLE_CONNECTIONS * MAX_BYTES_PER_IDLE_CONNECTION)


if __name__ == "__main__":
    unittest.main()
