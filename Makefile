# The two commands of the README, and the steps they share.
#   make demo   install what is missing, build, serve the example Django project on :8000
#   make test   install what is missing, build, run every test through ctest
#   make test-asan   the same suite built with ASan + UBSan into build-asan (docs/security.md)
#   make bench  load-test appserver against runserver, Gunicorn, uWSGI, waitress and nginx
#               (about 8 minutes) and regenerate docs/benchmarks.md from the results
#   make fuzz   build the libFuzzer targets with clang into build-fuzz, run each FUZZ_SECONDS
PY      := /usr/bin/python3
BUILD   := build
JOBS    := $(shell nproc)
SUDO    := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)
DJANGO  := examples/django

# Debian packages for building and testing (zlib1g-dev, libexpat1-dev: appserver links
# libpython3.11.a, whose built-in zlib and pyexpat modules need them; wrk: for the test of
# the load-test harness; systemd: systemd-socket-activate and systemd-analyze for
# test_systemd.py; libclang-rt-14-dev: libFuzzer for make fuzz);
# bench-deps adds the load-test peers.
PACKAGES := build-essential cmake pkg-config clang \
  libuv1-dev node-llhttp pybind11-dev python3-dev zlib1g-dev libexpat1-dev libssl-dev \
  libcurl4-openssl-dev ca-certificates \
  libgtest-dev libgmock-dev libbenchmark-dev libcli11-dev libfmt-dev nlohmann-json3-dev \
  python3-django python3-djangorestframework python3-djangorestframework-simplejwt \
  curl openssl nginx-light wrk systemd libclang-rt-14-dev python3-yaml
BENCH_PACKAGES := wrk nginx-light gunicorn uwsgi uwsgi-plugin-python3 python3-waitress \
  python3-matplotlib linux-perf valgrind python3-whitenoise

BUILD_ASAN   := build-asan
BUILD_FUZZ   := build-fuzz
FUZZ_SECONDS ?= 60
BENCH_SECONDS ?= 2
BENCH_ROUNDS  ?= 3
BENCH_ARGS    ?=

.PHONY: all deps bench-deps build test test-asan fuzz bench demo clean

all: build

# Installs only what is missing, so a machine that has everything needs no network.
define apt_install
	@missing=$$(for p in $(1); do \
	  [ "$$(dpkg-query -W -f='$${db:Status-Status}' $$p 2>/dev/null)" = installed ] || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

deps:
	$(call apt_install,$(PACKAGES))

bench-deps: deps
	$(call apt_install,$(BENCH_PACKAGES))

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(BUILD) -j $(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 300

# Rewrites bench/results.json, docs/benchmarks.md and docs/bench/*.png. A quick look:
# make bench BENCH_SECONDS=1 BENCH_ROUNDS=1; one server: BENCH_ARGS=--servers=appserver,nginx
bench: bench-deps build
	$(PY) bench/run.py --binary $(BUILD)/appserver --seconds $(BENCH_SECONDS) \
	  --rounds $(BENCH_ROUNDS) $(BENCH_ARGS)
	$(PY) bench/report.py

# Sanitizer reports of every process (workers too) are collected and fail the run.
test-asan: deps
	cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAPPSERVER_SANITIZE=ON
	tests/sanitizers/run.sh build $(BUILD_ASAN) -j $(JOBS)
	tests/sanitizers/run.sh ctest $(BUILD_ASAN) -j $(JOBS) --timeout 600

# libFuzzer needs clang; fuzz/CMakeLists.txt instruments every library of the project.
fuzz: deps
	cmake -S fuzz -B $(BUILD_FUZZ) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++
	cmake --build $(BUILD_FUZZ) -j $(JOBS) --target fuzzers
	FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run.sh $(BUILD_FUZZ)

demo: build
	cd $(DJANGO) && $(PY) manage.py migrate --noinput && $(PY) manage.py ensure_demo_user && \
	  $(PY) manage.py collectstatic --noinput --verbosity 0
	@echo
	@echo "appserver is serving the example Django project on http://127.0.0.1:8000 (Ctrl-C stops it)."
	@echo "Get a token, then call the protected endpoint with it:"
	@echo "  TOKEN=\$$(curl -s -X POST -d 'username=demo&password=demo-password' http://127.0.0.1:8000/api/token/ | $(PY) -c 'import json,sys; print(json.load(sys.stdin)[\"access\"])')"
	@echo "  curl -H \"Authorization: Bearer \$$TOKEN\" http://127.0.0.1:8000/api/protected/"
	@echo "Static files and the health check are answered without Python:"
	@echo "  curl -I http://127.0.0.1:8000/static/api/hello.txt; curl http://127.0.0.1:8000/healthz"
	@echo
	exec $(BUILD)/appserver --workers 4 --bind 127.0.0.1:8000 --chdir $(DJANGO) \
	  --static /static/=staticfiles --health-path /healthz myproj.wsgi:application

clean:
	rm -rf $(BUILD)
