"""test_kubernetes.py: examples/kubernetes/ agrees with itself and with appserver.

No cluster is at hand, so the manifests are read as YAML (Debian's python3-yaml) and the
web container's arguments are given to the real binary (--print-config, --check-config) in
a copy of the example project with its static files collected, as the image has it. What must agree: both probes ask
the --health-path on the port appserver binds, on all addresses; the grace period outlasts
the preStop sleep plus --graceful-timeout; the workers follow the CPU request; the Service
selects the pods and targets the web port, not the metrics one; the image's Dockerfile
installs a package for every library the binary links, starts appserver in the folder the
project is copied to and exposes the web port.
Run from this folder:
    APPSERVER_BIN=../../build/appserver /usr/bin/python3 -m unittest -v test_kubernetes
"""
import math
import re
import shutil
import subprocess
import unittest

import yaml

import harness

EXAMPLE = harness.EXAMPLES_DIR / "kubernetes"
DJANGO_DIR = harness.EXAMPLES_DIR / "django"
# Packages every Debian image has (apt itself needs them).
BASE_PACKAGES = {"libc6", "libstdc++6", "libgcc-s1"}
SANITIZER_RUNTIME = re.compile(r"lib(a|ub|l|t)san\.so")
# make test-asan's binary links the shared libpython (server/CMakeLists.txt says why).
SHARED_PYTHON = re.compile(r"libpython3\.\d+\.so")


def load(name):
    return list(yaml.safe_load_all((EXAMPLE / name).read_text()))


def cpu_cores(quantity):
    """A Kubernetes CPU quantity ("2", "1500m") rounded up to whole cores, as a
    resourceFieldRef with divisor 1 gives it."""
    quantity = str(quantity)
    if quantity.endswith("m"):
        return math.ceil(int(quantity[:-1]) / 1000)
    return math.ceil(float(quantity))


class KubernetesManifestTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        (cls.deployment,) = load("deployment.yaml")
        (cls.service,) = load("service.yaml")
        cls.pod = cls.deployment["spec"]["template"]["spec"]
        (cls.web,) = [c for c in cls.pod["containers"] if c["name"] == "web"]
        cls.project = cls.image_project()
        cls.config = cls.print_config()

    @classmethod
    def image_project(cls):
        """The project folder as the Dockerfile builds it: a copy, collectstatic run."""
        project = harness.scratch_dir(cls.addClassCleanup, "appserver-k8s-") / "myproj"
        shutil.copytree(DJANGO_DIR, project, ignore=shutil.ignore_patterns(
            "staticfiles", "db.sqlite3", "__pycache__"))
        subprocess.run([harness.PYTHON, "manage.py", "collectstatic", "--noinput"], cwd=project,
                       env=harness.clean_env(), check=True, capture_output=True, timeout=60)
        return project

    @classmethod
    def environment(cls):
        """The web container's environment as the kubelet fills it in (a made-up secret)."""
        env = {}
        for variable in cls.web["env"]:
            source = variable.get("valueFrom", {})
            if "resourceFieldRef" in source:
                ref = source["resourceFieldRef"]
                (container,) = [c for c in cls.pod["containers"]
                                if c["name"] == ref["containerName"]]
                kind, resource = ref["resource"].split(".")
                env[variable["name"]] = str(cpu_cores(container["resources"][kind][resource]))
            elif "secretKeyRef" in source:
                env[variable["name"]] = "a-secret-from-the-cluster"
            else:
                env[variable["name"]] = variable["value"]
        return harness.clean_env(**env)

    @classmethod
    def run_web(cls, *extra):
        """appserver with the web container's args (and `extra`), where the image runs it."""
        return harness.run_to_exit(harness.server_command(*cls.web["args"], *extra),
                                   cwd=cls.project, env=cls.environment(), timeout=30)

    @classmethod
    def print_config(cls):
        result = cls.run_web("--print-config")
        if result.returncode != 0:
            raise AssertionError(f"--print-config failed: {result}")
        return dict(re.findall(r'^([\w-]+)="?(.*?)"?$', result.stdout, re.M))

    def port_number(self, port):
        """A probe's or the Service's port (a number or the web container's port name)."""
        if isinstance(port, int):
            return port
        (number,) = [p["containerPort"] for p in self.web["ports"] if p["name"] == port]
        return number

    def test_the_arguments_start_the_example_project(self):
        result = self.run_web("--check-config")
        self.assertEqual(result.returncode, 0, result)
        self.assertIn("configuration OK; myproj.wsgi:application imports", result.stdout)

    def test_probes_ask_the_health_path_on_the_bound_port(self):
        host, _, port = self.config["bind"].strip("[]").rpartition(":")
        self.assertEqual(host, "0.0.0.0", "the kubelet probes the pod's address, not loopback")
        for probe in ("readinessProbe", "livenessProbe"):
            get = self.web[probe]["httpGet"]
            self.assertEqual(get["path"], self.config["health-path"], probe)
            self.assertEqual(self.port_number(get["port"]), int(port), probe)

    def test_the_grace_period_outlasts_the_prestop_sleep_and_the_graceful_timeout(self):
        command = self.web["lifecycle"]["preStop"]["exec"]["command"]
        self.assertEqual(command[0], "sleep")
        sleep = float(command[1])
        self.assertGreater(sleep, 0)
        self.assertGreater(self.pod["terminationGracePeriodSeconds"],
                           sleep + float(self.config["graceful-timeout"]))

    def test_workers_follow_the_cpu_request(self):
        requests = self.web["resources"]["requests"]
        self.assertIn("memory", requests)
        self.assertEqual(int(self.config["workers"]), cpu_cores(requests["cpu"]))

    def test_the_deployment_and_the_service_select_the_pods(self):
        labels = self.deployment["spec"]["template"]["metadata"]["labels"]
        for selector in (self.deployment["spec"]["selector"]["matchLabels"],
                         self.service["spec"]["selector"]):
            self.assertLessEqual(selector.items(), labels.items())

    def test_the_service_targets_the_web_port_only(self):
        _, _, web_port = self.config["bind"].strip("[]").rpartition(":")
        _, _, metrics_port = self.config["metrics-bind"].rpartition(":")
        targets = [self.port_number(p["targetPort"]) for p in self.service["spec"]["ports"]]
        self.assertEqual(targets, [int(web_port)])
        self.assertNotIn(int(metrics_port), targets)

    def test_every_container_runs_the_same_image(self):
        images = {c["image"] for c in self.pod["containers"] + self.pod["initContainers"]}
        self.assertEqual(len(images), 1, images)


class DockerfileTest(unittest.TestCase):
    """examples/kubernetes/Dockerfile, read: no image is built here (no Docker daemon)."""

    @classmethod
    def setUpClass(cls):
        text = (EXAMPLE / "Dockerfile").read_text().replace("\\\n", " ")
        cls.build, cls.runtime = re.split(r"^FROM .*$", text, flags=re.M)[1:]
        (cls.deployment,) = load("deployment.yaml")
        (cls.web,) = cls.deployment["spec"]["template"]["spec"]["containers"]

    def test_the_runtime_image_has_every_library_the_binary_links(self):
        installed = set(re.search(r"apt-get install (.*?)&&", self.runtime)[1].split())
        dynamic = subprocess.run(["readelf", "-d", harness.server_binary()],
                                 capture_output=True, text=True, check=True).stdout
        libraries = re.findall(r"\(NEEDED\).*\[(.+)\]", dynamic)
        sanitized = any(SANITIZER_RUNTIME.match(library) for library in libraries)
        for library in libraries:
            if sanitized and (SANITIZER_RUNTIME.match(library) or SHARED_PYTHON.match(library)):
                continue  # make test-asan's binary; the image builds without sanitizers
            owners = subprocess.run(["dpkg", "-S", f"*/{library}"], capture_output=True,
                                    text=True).stdout
            packages = {line.split(":")[0] for line in owners.splitlines()}
            self.assertTrue(packages & (installed | BASE_PACKAGES),
                            f"{library} (from {packages}) is not installed in the image")

    def test_it_starts_appserver_in_the_project_folder_on_the_web_port(self):
        workdir = re.search(r"^WORKDIR (\S+)$", self.runtime, re.M)[1]
        self.assertRegex(self.runtime, rf"(?m)^COPY examples/django {re.escape(workdir)}$")
        self.assertRegex(self.runtime, r'(?m)^ENTRYPOINT \["\S*/appserver"\]')
        exposed = {int(p) for p in re.findall(r"^EXPOSE (\d+)", self.runtime, re.M)}
        self.assertEqual(exposed, {p["containerPort"] for p in self.web["ports"]
                                   if p["name"] == "http"})

    def test_the_python_helpers_stay_where_the_binary_was_built(self):
        source = re.search(r"^COPY \. (\S+)$", self.build, re.M)[1]
        self.assertIn(f"COPY --from=build {source}/embed/python {source}/embed/python",
                      self.runtime)


if __name__ == "__main__":
    unittest.main()
