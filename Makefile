# Two commands on a fresh machine with Python 3.11: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000

.PHONY: install lock upgrade run lint suite test topology messages bench bench-pg bench-export bench-load bench-load-pg bench-sweeps bench-sweeps-pg capacity bench-dashboard bench-dashboard-pg bench-dashboard-city

# Everything installed comes from requirements.lock (exact versions and hashes); the project
# itself is installed without fetching anything (its build backend, setuptools, is in the lock;
# PYTHONWARNINGS quiets setuptools' notice that an editable install is editable).
$(VENV)/.installed: requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r requirements.lock
	PYTHONWARNINGS=ignore $(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

install: $(VENV)/.installed

# requirements.lock is made from pyproject.toml by pip-compile (pip-tools, itself in the lock).
# `make lock` after editing pyproject.toml keeps every other pin; `make upgrade` takes the newest
# versions pyproject.toml allows, reinstalls and runs the whole suite on them.
PIP_COMPILE = $(VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras \
	--no-emit-find-links --no-emit-index-url --no-emit-trusted-host \
	--extra dev --extra bench --output-file requirements.lock pyproject.toml
lock: install
	$(PIP_COMPILE)
	$(MAKE) install

upgrade: install
	$(PIP_COMPILE) --upgrade
	$(MAKE) test

# Browser tests drive Debian's Chromium through Playwright (no browser download); the CJK fonts
# make the screenshots legible.
BROWSER := /usr/bin/chromium /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
$(BROWSER):
	apt-get update -qq && apt-get install -y -qq chromium fonts-noto-cjk

# axe-core (npm) checks the citizen pages' accessibility in the browser tests.
AXE := node_modules/axe-core/axe.min.js
$(AXE): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

# Web server and django-q2 worker on SQLite; demo data is loaded once and kept afterwards.
# Links in text messages (rating, "My booking") point at this server unless SITE_URL is set.
run: export SITE_URL ?= http://127.0.0.1:$(PORT)
run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py createcachetable
	$(PY) manage.py load_demo
	$(PY) manage.py setup_schedules
	@echo "Citizen site: http://127.0.0.1:$(PORT)/  API: /api/v1/docs  Staff console: /admin/"
	@echo "(Ctrl-C stops web and worker)"
	@# Ctrl-C reaches both; the shell then stops the worker and waits for it. (A trap that ran
	@# `kill 0` signalled its own shell and re-entered itself until dash overflowed its stack:
	@# make printed "Segmentation fault".)
	@$(PY) manage.py qcluster & worker=$$!; \
	trap 'kill $$worker 2>/dev/null; wait $$worker; exit 0' INT TERM; \
	$(PY) manage.py runserver 0.0.0.0:$(PORT); status=$$?; \
	kill $$worker 2>/dev/null; wait $$worker; exit $$status

# lint-imports checks the apps' layers and that no app's modules import each other in a circle
# (the contracts in pyproject.toml, [tool.importlinter]).
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

# The test suite alone (CI runs it a second time with DATABASE_URL on PostgreSQL).
suite: install $(BROWSER) $(AXE)
	$(VENV)/bin/pytest

test: lint suite

# The production topology built from deploy/ (docs/DEPLOY.md) through a busy hour: nginx
# (Debian's package, installed like Chromium above), two gunicorn, two workers, PostgreSQL on
# 127.0.0.1:5432 and a redis-server of its own on a free port (it stops and starts it); a few
# minutes. Not part of `make test`: .ci/run runs it after the PostgreSQL suite. It drops the
# databases yuyue_deploy_topology* before and after.
NGINX := /usr/sbin/nginx
$(NGINX):
	apt-get update -qq && RUNLEVEL=1 apt-get install -y -qq nginx-light

topology: install $(NGINX)
	$(VENV)/bin/pytest topology -o testpaths=topology -p no:cacheprovider -s -q

# Refresh the translation catalogue and compile it (the .mo is committed).
messages: install
	cd $(CURDIR) && $(PY) manage.py makemessages -l zh_Hans --no-obsolete --ignore=.venv --ignore=tests --ignore=bench --ignore=node_modules
	$(PY) manage.py compilemessages -l zh_Hans --ignore=.venv

# Benchmarks (results go to docs/PERFORMANCE.md by hand, with the machine).
# Availability and desk registration as the table grows, and one citizen booking through the
# API against /healthz (CPU per request, queries, commits): SQLite in a temporary directory
# without Redis, or PostgreSQL (the scratch database yuyue_bench_booking, created and dropped)
# with Redis db 3 (flushed first).
bench: install
	env -u DATABASE_URL -u REDIS_URL $(PY) bench/booking.py

BENCH_PG_URL ?= postgres://postgres@127.0.0.1:5432/yuyue_bench_booking
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/3
bench-pg: install
	DATABASE_URL=$(BENCH_PG_URL) REDIS_URL=$(BENCH_REDIS_URL) $(PY) bench/booking.py

# The register (附录A) export against CSV and xlsxwriter at 1 000, 10 000 and 100 000 rows, in
# process and as whole processes (manage.py export_register against a stand-alone xlsxwriter
# script). bench-export: SQLite (a file kept in the temporary directory) without Redis;
# bench-export-pg: a scratch PostgreSQL database (created and dropped) with Redis db 4 (flushed).
# BENCH_EXPORT_ARGS shortens a run, e.g. BENCH_EXPORT_ARGS="--sizes 1000,10000 --repeat 1".
.PHONY: bench-export-pg
bench-export: install
	DATABASE_URL= REDIS_URL= $(PY) bench/export_register.py $(BENCH_EXPORT_ARGS)

bench-export-pg: install
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/yuyue_export_bench \
	REDIS_URL=redis://127.0.0.1:6379/4 $(PY) bench/export_register.py $(BENCH_EXPORT_ARGS)

# The citizen API under gunicorn, driven by wrk (Debian's, installed if missing): SQLite in a
# temporary directory without Redis; -pg: PostgreSQL (creates and drops yuyue_bench_load) with
# Redis database 2 (flushed first). BENCH_SECONDS=3 etc. for a quick run (bench/booking_load.py).
WRK := /usr/bin/wrk
$(WRK):
	apt-get update -qq && apt-get install -y -qq wrk

bench-load: install $(WRK)
	$(PY) bench/booking_load.py

bench-load-pg: install $(WRK)
	$(PY) bench/booking_load.py --pg

# The background sweeps over 1 000 and 100 000 bookings (queries and time). bench-sweeps: SQLite
# in a temporary file, no Redis; bench-sweeps-pg: PostgreSQL (its test database
# test_yuyue_bench_sweeps, created and dropped) with Redis db 15.
bench-sweeps: install
	env -u DATABASE_URL -u REDIS_URL $(PY) bench/sweeps.py

bench-sweeps-pg: install
	$(VENV)/bin/python -c "import redis; redis.Redis.from_url('redis://127.0.0.1:6379/15').flushdb()"
	DATABASE_URL=postgres://postgres@127.0.0.1:5432/yuyue_bench_sweeps \
	REDIS_URL=redis://127.0.0.1:6379/15 $(PY) bench/sweeps.py

# The capacity model of docs/SCALE.md (no database: assumptions and measured costs).
capacity: install
	$(PY) bench/capacity.py

# The supervisors' dashboard over seed_demo's year of 250 000 bookings: p50/p95 server time and
# queries per request, after ANALYZE and the summary's sweep. The seeded database is kept between
# runs (keyed by bench/dashboard.py's SEED_VERSION); ARGS=--drop seeds it anew.
# bench-dashboard: SQLite file in /tmp, no Redis. bench-dashboard-pg: PostgreSQL database
# yuyue_bench_dash_…, Redis db 6. bench-dashboard-city: PostgreSQL, 2 500 000 bookings over 20
# halls (seed_city), a hall's year and the city-wide view (all halls) of a city supervisor.
bench-dashboard: install
	$(PY) bench/dashboard.py $(ARGS)

bench-dashboard-pg: install
	$(PY) bench/dashboard.py --pg $(ARGS)

bench-dashboard-city: install
	$(PY) bench/dashboard.py --city $(ARGS)
