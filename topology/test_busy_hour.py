"""The production topology, deployed from deploy/ as docs/DEPLOY.md says, through a busy hour.

nginx (Debian's package, a certificate made now) in front of two gunicorn instances
(yuyue-web@), two django-q2 clusters (yuyue-worker@), the machine's PostgreSQL and Redis,
DEBUG=0 and the `http` SMS backend pointed at a local stand-in gateway. Through nginx over HTTPS:

- 50 citizens, each from their own address, ask for codes and book the same few slots at once
  (more people than places); meanwhile one web instance is killed (SIGKILL) and a backup is
  taken with pg_dump;
- the first text message a worker sends during the rush is held at the gateway and that worker
  cluster is killed with kill -9 mid-delivery, then started again;
- the desk signs in, registers phone bookings and exports the register in the background,
  downloaded through the proxy;
- the schedules run; every message reaches the gateway once, except the one in flight when its
  worker died, which reached it at most once and is shown to the desk as failed;
- the backup is restored into a fresh database: every booking counted before the dump is there.

Then the parts fail under the running deployment (test_parts_fail): Redis is stopped (citizens
still see availability, get codes and book; /readyz names the cache, /healthz stays up) and
started again (the booking's message goes out once, by the same workers); every connection of
the application to PostgreSQL is dropped with pg_terminate_backend, as a restart or failover
drops them (the next requests answer, a booking made then has its message: the web instances,
the workers and their scheduler reconnect by themselves).

Run by `make topology` (not part of `make test`); it prints what it measured. It cleans up after
itself: processes, the databases yuyue_deploy_topology*, and its own redis-server (on a free
port, so that stopping it stops no one else's Redis).
"""

import datetime as dt
import io
import json
import logging
import os
import random
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import openpyxl
import pytest

from tests.subprocesses import RedisServer

from . import harness as h

CITIZENS = 50
SLOTS = 3
DATABASE = os.environ.get("TOPOLOGY_DATABASE", "yuyue_deploy_topology")
RESTORED = f"{DATABASE}_restored"
QUEUE = "topology"
SMS_KEY = "topology-gateway-key"
SETTLE_SECONDS = 200  # the stuck message is failed SMS_STUCK_MINUTES (1) after it was claimed


HALL_TIME = ZoneInfo("Asia/Shanghai")


def hall_today() -> dt.date:
    """The date at the hall (the register's periods and the slots are in its time)."""
    return dt.datetime.now(HALL_TIME).date()


# One line per request from httpx would drown what the test prints.
logging.getLogger("httpx").setLevel(logging.WARNING)


class Topology:
    """Everything the test started, for the busy hour to use and for clean-up to stop."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.logs = folder / "logs"
        self.logs.mkdir()
        self.http_port, self.https_port = h.free_port(), h.free_port()
        self.web_ports = [h.free_port(), h.free_port()]
        self.base = f"https://127.0.0.1:{self.https_port}"
        self.gateway = h.Gateway(SMS_KEY, delay=0.05)
        self.webs: list[h.Service] = []
        self.workers: list[h.Service] = []
        self.nginx = None
        self.rendered = folder / "rendered"
        # Redis of its own: the test stops and starts it.
        self.redis = RedisServer(folder)

    def manage(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        """docs/DEPLOY.md: every manage.py command through the rendered yuyue-manage."""
        result = subprocess.run(
            [str(self.rendered / "yuyue-manage"), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
        )
        assert result.returncode == 0, f"yuyue-manage {' '.join(args)}:\n{result.stderr[-3000:]}"
        return result

    def sql(self, query: str, params=(), dbname: str = DATABASE) -> list[tuple]:
        with h.postgres(dbname) as db:
            return db.execute(query, params).fetchall()

    def stop(self) -> None:
        for service in [*self.webs, *self.workers]:
            service.stop()
        if self.nginx is not None and self.nginx.poll() is None:
            self.nginx.terminate()
            try:
                self.nginx.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.nginx.kill()
                self.nginx.wait()
        self.gateway.stop()
        self.redis.stop()


@pytest.fixture(scope="module")
def topology():
    if not Path(h.NGINX).exists():
        pytest.fail(f"nginx not found at {h.NGINX} (`make topology` installs it)")
    folder = Path(tempfile.mkdtemp(prefix="yuyue-topology-"))
    # nginx's worker processes (user nobody) read the static files below it, as www-data reads
    # STATIC_ROOT on a server.
    folder.chmod(0o755)
    h.database_create(DATABASE)
    h.database_drop(RESTORED)
    top = Topology(folder)
    failed = True
    try:
        _deploy(top)
        yield top
        failed = False
    finally:
        top.stop()
        if failed:
            for service in [*top.webs, *top.workers]:
                print(f"--- {service.name}\n{service.log()}")
            error_log = folder / "nginx" / "error.log"
            if error_log.exists():
                print(f"--- nginx error.log\n{error_log.read_text()[-2000:]}")
        h.database_drop(DATABASE)
        h.database_drop(RESTORED)
        shutil.rmtree(folder, ignore_errors=True)


def _deploy(top: Topology) -> None:
    """docs/DEPLOY.md steps 4 to 8, on this machine, with temporary paths and free ports."""
    started = time.monotonic()
    cert, key = h.certificate_make(top.folder)
    static_root, media_root = top.folder / "static", top.folder / "media"
    env_file = top.folder / "yuyue.env"
    h.render(
        {
            "YUYUE_DOMAIN": h.HOST,
            "YUYUE_HOME": str(h.ROOT),
            "YUYUE_USER": "root",
            "YUYUE_ENV_FILE": str(env_file),
            "YUYUE_STATIC_ROOT": str(static_root),
            "YUYUE_TLS_CERT": str(cert),
            "YUYUE_TLS_KEY": str(key),
            "YUYUE_HTTP_PORT": str(top.http_port),
            "YUYUE_HTTPS_PORT": str(top.https_port),
            "YUYUE_UPSTREAM_SERVERS": " ".join(
                f"server 127.0.0.1:{port} max_fails=1 fail_timeout=10s;" for port in top.web_ports
            ),
            "YUYUE_WEB_ADDRESS": "127.0.0.1",
            "YUYUE_WEB_PROCESSES": "2",
            "YUYUE_WEB_THREADS": "4",
        },
        top.rendered,
    )
    env_text = (h.DEPLOY / "yuyue.env.example").read_text(encoding="utf-8")
    env_file.write_text(
        h.lines_set(
            env_text,
            {
                "SECRET_KEY": "topology-" + os.urandom(24).hex(),
                "ALLOWED_HOSTS": h.HOST,
                "CSRF_TRUSTED_ORIGINS": f"https://{h.HOST}",
                "SITE_URL": f"https://{h.HOST}",
                "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{DATABASE}",
                "REDIS_URL": top.redis.url,
                "MEDIA_ROOT": str(media_root),
                "STATIC_ROOT": str(static_root),
                "SMS_HTTP_URL": top.gateway.url,
                "SMS_HTTP_KEY": SMS_KEY,
                "SMS_FILE_PATH": str(top.folder / "sms-outbox"),
                "Q_CLUSTER_QUEUE": QUEUE,
                # A message a dead worker was sending counts as interrupted after 1 minute,
                # not 10: the test waits for it.
                "SMS_STUCK_MINUTES": "1",
                # Every register export from the web goes to the worker.
                "REGISTER_EXPORT_SYNC_MAX_ROWS": "0",
                "LOG_FORMAT": "json",
            },
        ),
        encoding="utf-8",
    )
    top.manage("check", "--deploy", "--fail-level", "WARNING")
    top.manage("migrate", "--noinput")
    top.manage("createcachetable")
    top.manage("collectstatic", "--noinput")
    top.manage("setup_schedules")
    # In place of a hall's own set-up (administrator, calendar, windows, matters, staff, rosters:
    # docs/DEPLOY.md step 7), the demo organisation and its logins.
    top.manage("load_demo")
    year = hall_today().year
    for y in (year, year + 1):  # next year's may be unknown yet: then the weekday rule
        subprocess.run(
            [str(top.rendered / "yuyue-manage"), "import_holidays", str(y)], capture_output=True
        )
    units = top.rendered / "systemd"
    top.webs = [
        h.Service(units / "yuyue-web@.service", str(port), top.logs).start()
        for port in top.web_ports
    ]
    top.workers = [
        h.Service(units / "yuyue-worker@.service", str(n), top.logs).start() for n in (1, 2)
    ]
    top.nginx = h.nginx_start(top.folder / "nginx", top.rendered / "nginx" / "yuyue.conf")
    _wait_ready(top)
    print(f"\ndeployed in {time.monotonic() - started:.1f} s: nginx :{top.https_port}, "
          f"gunicorn {top.web_ports}, 2 workers, database {DATABASE}")  # fmt: skip


def _wait_ready(top: Topology, timeout: float = 120) -> None:
    """docs/DEPLOY.md step 8: /healthz, then /readyz (database, migrations, cache, worker)."""
    deadline = time.monotonic() + timeout
    last = None
    with h.client(top.base) as web:
        while time.monotonic() < deadline:
            try:
                last = web.get("/readyz")
                if last.status_code == 200:
                    return
            except httpx.HTTPError as error:
                last = error
            time.sleep(1)
    raise AssertionError(f"/readyz not 200 after {timeout} s: {getattr(last, 'text', last)}")


# --- the busy hour --------------------------------------------------------------------------


class Measured:
    def __init__(self):
        self.requests = 0
        self.statuses: Counter = Counter()
        self.lock = threading.Lock()
        self.five_xx: list[tuple[str, int]] = []  # (request id, status)

    def count(self, request_id: str, response: httpx.Response | Exception) -> None:
        with self.lock:
            self.requests += 1
            status = response.status_code if isinstance(response, httpx.Response) else "error"
            self.statuses[status] += 1
            if not isinstance(response, httpx.Response) or response.status_code >= 500:
                self.five_xx.append((request_id, status))


def _request(web, measured: Measured, request_id: str, method: str, url: str, **kw):
    headers = {**kw.pop("headers", {}), "X-Topology-Request": request_id}
    try:
        response = web.request(method, url, headers=headers, **kw)
    except httpx.HTTPError as error:
        measured.count(request_id, error)
        return error
    measured.count(request_id, response)
    return response


def _bookable_slots(top: Topology, web) -> tuple[dict, list[dict]]:
    """A matter with a window whose next slots (25 h ahead or more) have places left."""
    matters = web.get("/api/v1/matters/").json()
    today = hall_today()
    for matter in matters:
        slots = web.get(
            "/api/v1/availability/",
            params={
                "matter": matter["id"],
                "from": str(today + dt.timedelta(days=2)),
                "to": str(today + dt.timedelta(days=12)),
            },
        ).json()
        free = [s for s in slots if s["remaining"] >= 2]
        by_window: dict[int, list[dict]] = {}
        for slot in free:
            by_window.setdefault(slot["window"], []).append(slot)
        for window_slots in by_window.values():
            if len(window_slots) >= SLOTS + 3:
                return matter, window_slots
    raise AssertionError("no matter has a window with enough free slots")


def test_busy_hour(topology):  # noqa: PLR0915 - one story, told in order
    top = topology
    measured = Measured()
    t0 = time.monotonic()
    with h.client(top.base) as staff_web:
        _proxy_basics(top, staff_web)
        matter, window_slots = _bookable_slots(top, staff_web)
    rush_slots, desk_slots = window_slots[:SLOTS], window_slots[SLOTS : SLOTS + 3]
    capacity = sum(s["remaining"] for s in rush_slots)

    # 1. Codes: 50 citizens, each from their own address, at once.
    phones = [f"+86139{random.randrange(10**8):08d}" for _ in range(CITIZENS)]
    addresses = [f"127.0.{10 + n // 200}.{10 + n % 200}" for n in range(CITIZENS)]

    def ask_code(n: int):
        with h.client(top.base, address=addresses[n]) as web:
            return _request(
                web, measured, f"code-{n}", "POST", "/api/v1/verification-codes/",
                json={"phone": phones[n]},
            )  # fmt: skip

    with ThreadPoolExecutor(max_workers=CITIZENS) as pool:
        code_answers = list(pool.map(ask_code, range(CITIZENS)))
    code_statuses = Counter(getattr(a, "status_code", "error") for a in code_answers)
    assert set(code_statuses) <= {202, 429}, code_statuses
    codes = {n: top.gateway.code_for(phones[n]) for n in range(CITIZENS)}
    # The client address came through the proxy: each code is counted to its citizen's address.
    recorded = dict(top.sql("SELECT phone, host(client_address) FROM sms_verificationcode"))
    assert all(recorded.get(phones[n]) == addresses[n] for n in range(CITIZENS) if codes[n])

    # 2. The rush: everyone books one of the few slots at once. During it: one web instance is
    # killed, the first message a worker sends is held and its cluster kill -9'd, and pg_dump
    # takes a backup.
    before_dump = {r for (r,) in top.sql("SELECT reference FROM appointments_appointment")}
    dump_path = top.folder / "backup.dump"
    worker_groups = {w.pid for w in top.workers}
    top.gateway.hold_next_from(worker_groups)
    barrier = threading.Barrier(CITIZENS + 1)
    answers: dict[int, httpx.Response | Exception] = {}

    def book(n: int):
        slot = rush_slots[n % SLOTS]
        payload = {
            "matter": matter["id"], "window": slot["window"], "start": slot["start"],
            "name": f"市民{n}", "phone": phones[n], "code": codes[n] or "000000",
        }  # fmt: skip
        with h.client(top.base, address=addresses[n]) as web:
            barrier.wait(timeout=60)
            answer = _request(web, measured, f"book-{n}", "POST", "/api/v1/appointments/",
                              json=payload)  # fmt: skip
            if isinstance(answer, Exception) or answer.status_code in (502, 503, 504):
                # Its connection died with the instance: a real client tries once more.
                time.sleep(0.5)
                answer = _request(web, measured, f"book-{n}-again", "POST",
                                  "/api/v1/appointments/", json=payload)  # fmt: skip
            answers[n] = answer

    killed_web = top.webs[0]
    dump = {}

    def backup():
        started = time.monotonic()
        # docs/DEPLOY.md, "Backups": the custom format, restored with pg_restore.
        subprocess.run(
            ["pg_dump", "-h", "127.0.0.1", "-U", "postgres", "-Fc", "-f", str(dump_path), DATABASE],
            check=True,
        )
        dump["seconds"] = time.monotonic() - started

    with ThreadPoolExecutor(max_workers=CITIZENS + 2) as pool:
        futures = [pool.submit(book, n) for n in range(CITIZENS)]
        barrier.wait(timeout=60)
        rush_started = time.monotonic()
        dump_future = pool.submit(backup)
        time.sleep(0.15)
        killed_web.kill()
        web_killed_at = time.monotonic()
        failover_gap = _failover_gap(top, web_killed_at)
        for future in futures:
            future.result(timeout=180)
        dump_future.result(timeout=180)
    rush_seconds = time.monotonic() - rush_started
    killed_port = top.web_ports[0]

    # The worker kill: wait for the gateway to hold a worker's message (the rush queued one
    # per booking), kill that cluster whole with SIGKILL, let the request go, restart it.
    assert top.gateway.held.wait(timeout=120), "no worker sent a message during the rush"
    held = top.gateway.held_message
    victim = next(w for w in top.workers if w.pid == top.gateway.held_group)
    victim.kill()
    top.gateway.release()
    time.sleep(5)  # RestartSec=5
    victim.start()
    killed_web.start()  # systemd's Restart=always
    restarted_seconds = _instance_check(top, killed_port)

    # 3. The desk: signs in, registers phone bookings, exports the register in the background.
    desk_made, export_rows, export_seconds = _desk(top, matter, desk_slots, measured)

    # 4. Everything settles: no message queued or being sent; the schedules have run.
    settled = _settle(top)

    # --- what happened ------------------------------------------------------------------------
    booking_statuses = Counter(getattr(a, "status_code", "error") for a in answers.values())
    booked = {
        a.json()["reference"]
        for a in answers.values()
        if isinstance(a, httpx.Response) and a.status_code == 201
    }
    per_slot = top.sql(
        """SELECT a.start, count(*) FROM appointments_appointment a
           WHERE a.window_id = %s AND a.start = ANY(%s) AND a.status <> 'cancelled'
           GROUP BY a.start""",
        (rush_slots[0]["window"], [dt.datetime.fromisoformat(s["start"]) for s in rush_slots]),
    )
    messages = top.sql("SELECT id, purpose, status, error, subject_reference FROM sms_message")
    received = top.gateway.counts()
    duplicates = {k: v for k, v in received.items() if v > 1}
    sent = [m for m in messages if m[2] == "sent"]
    failed = [m for m in messages if m[2] == "failed"]
    lost = [m for m in sent if received.get(str(m[0]), 0) != 1]
    unsettled = [m for m in messages if m[2] in ("queued", "sending")]
    booking_messages = top.sql(
        """SELECT a.reference, count(m.id) FROM appointments_appointment a
           LEFT JOIN sms_message m ON m.subject_type = 'appointments.appointment'
                AND m.subject_id = a.id AND m.purpose = 'booking_received'
           WHERE a.reference = ANY(%s) GROUP BY a.reference""",
        (list(booked),),
    )
    nginx_log = _nginx_log(top)
    unexplained_5xx = [
        (rid, status)
        for rid, status in measured.five_xx
        if str(killed_port) not in nginx_log.get(rid, "")
    ]
    # Each schedule by its last finished run (django-q2 files a schedule's tasks under its name
    # as their group). Not by s.task: that is the run just queued, which a busy worker may not
    # have finished yet (a one-minute schedule queues one every minute).
    schedules = top.sql(
        """SELECT s.name, s.minutes,
                  (SELECT t.success FROM django_q_task t WHERE t."group" = s.name
                   ORDER BY t.stopped DESC LIMIT 1)
           FROM django_q_schedule s"""
    )
    restored = _restore(top, dump_path, before_dump)
    log_lines, task_runs = _operations_log(top)
    leaked = [
        line
        for line in log_lines
        if any(p in line or p[3:] in line for p in phones) or any(r in line for r in booked)
    ]
    once_a_minute = [name for name, minutes, _ in schedules if minutes == 1]

    print(
        f"""
=== topology: busy hour measured (total {time.monotonic() - t0:.0f} s) ===
requests through nginx: {measured.requests}, answers by status: {dict(measured.statuses)}
codes asked: {CITIZENS} -> {dict(code_statuses)}
bookings: {CITIZENS} citizens for {capacity} places in {SLOTS} slots in {rush_seconds:.1f} s
  -> {dict(booking_statuses)}; per slot in the database: {sorted(c for _, c in per_slot)}
web instance :{killed_port} killed {web_killed_at - rush_started:.2f} s into the rush, answering
  again {restarted_seconds:.1f} s after its restart;
  failover gap (kill -> next 200 through nginx): {failover_gap * 1000:.0f} ms;
  5xx: {len(measured.five_xx)}, all on the killed instance's connections: {not unexplained_5xx}
worker cluster {victim.name} kill -9'd holding message {held["id"]} (restarted)
desk: {desk_made} phone bookings; register export of {export_rows} rows in {export_seconds:.1f} s
messages: {len(messages)} in the log, {len(sent)} sent, {len(failed)} failed, gateway received
  {sum(received.values())} ({len(received)} distinct), duplicates {len(duplicates)},
  settled in {settled:.0f} s
schedules run: {sum(1 for s in schedules if s[2])}/{len(schedules)}; runs of the 1-minute ones:
  {dict(sorted((name, task_runs[name]) for name in once_a_minute))}
operations log: {len(log_lines)} JSON lines from the services, {len(leaked)} with a phone number
  or a booking reference
backup: pg_dump in {dump["seconds"]:.1f} s during the rush; {len(before_dump)} bookings before it,
  {restored["count"]} in the restored database, missing {len(restored["missing"])}
"""
    )

    # --- what must hold -----------------------------------------------------------------------
    assert set(booking_statuses) <= {201, 409, 429}, booking_statuses
    assert len(per_slot) == SLOTS and all(
        count == slot["remaining"]
        for (start, count), slot in zip(
            sorted(per_slot), sorted(rush_slots, key=lambda s: s["start"]), strict=True
        )
    ), f"places: {[s['remaining'] for s in rush_slots]}, booked: {per_slot}"
    # No half-made booking: each booking has its message; each booking answered 201 is there.
    assert all(count == 1 for _, count in booking_messages), booking_messages
    assert len(booking_messages) == len(booked)
    assert not unexplained_5xx, unexplained_5xx
    assert not duplicates, duplicates
    assert not lost, lost
    assert not unsettled, unsettled
    # The message in flight when its worker died: reached the gateway once, shown as failed.
    held_row = next(m for m in messages if str(m[0]) == held["id"])
    assert received[held["id"]] == 1
    assert held_row[2] == "failed" and "interrupted" in held_row[3], held_row
    assert all(m[2] == "failed" and "interrupted" in m[3] for m in failed), failed
    assert _desk_sees_failed(top, held_row[4]), "the failed message is not on the desk's list"
    not_run = [(name, success) for name, _, success in schedules if not success]
    assert not not_run, not_run  # success None: never run; False: its last run failed
    assert not restored["missing"], restored["missing"]
    assert all(task_runs[name] >= 2 for name in once_a_minute), task_runs
    assert not leaked, leaked[:3]


def _proxy_basics(top: Topology, web) -> None:
    """HTTP → HTTPS, static files from nginx (compressed, cached), JSON gzipped, media never
    served from disk, the readiness check answered through the proxy."""
    plain = httpx.get(f"http://127.0.0.1:{top.http_port}/ratings/", headers={"Host": h.HOST})
    assert plain.status_code == 301
    assert plain.headers["location"].startswith(f"https://{h.HOST}")
    page = web.get("/admin/login/")
    assert page.status_code == 200, page.text[:500]
    css = re.search(r'href="(/static/[^"]+\.css)"', page.text).group(1)
    static = web.get(css, headers={"Accept-Encoding": "gzip"})
    assert static.status_code == 200
    assert "immutable" in static.headers.get("cache-control", "")
    matters = web.get("/api/v1/matters/", headers={"Accept-Encoding": "gzip"})
    assert matters.headers.get("content-encoding") == "gzip"
    assert web.get("/media/anything.xlsx").status_code == 404
    ready = web.get("/readyz").json()
    assert ready["ready"] and set(ready["checks"]) == {"database", "migrations", "cache", "worker"}


def _instance_check(top: Topology, port: int) -> float:
    """docs/DEPLOY.md, “Upgrading”: the restarted instance asked directly, as nginx asks it;
    the seconds until it answered."""
    started = time.monotonic()
    result = subprocess.run(
        ["curl", "-fsS", "--retry", "60", "--retry-connrefused", "--retry-delay", "1",
         "-H", f"Host: {h.HOST}", "-H", "X-Forwarded-Proto: https",
         f"http://127.0.0.1:{port}/healthz"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0 and result.stdout == "ok", result.stderr
    return time.monotonic() - started


def _failover_gap(top: Topology, killed_at: float) -> float:
    """Seconds from the kill to the first good answer through nginx; then 20 more requests,
    all of which must be answered by the surviving instance."""
    with h.client(top.base, address="127.0.0.3") as web:
        while True:
            try:
                if web.get("/healthz").status_code == 200:
                    gap = time.monotonic() - killed_at
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() - killed_at < 30, "nginx did not fail over in 30 s"
        after = [web.get("/healthz").status_code for _ in range(20)]
    assert after == [200] * 20, after
    return gap


def _desk(top: Topology, matter: dict, slots: list[dict], measured: Measured):
    """The desk through the console: sign in, three phone bookings, the register in the
    background, downloaded through the proxy."""
    with h.client(top.base, address="127.0.0.4", follow_redirects=False) as web:
        login = web.get("/admin/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text).group(1)
        referer = {"Referer": f"https://{h.HOST}/admin/login/"}
        signed_in = web.post(
            "/admin/login/?next=/admin/",
            data={"csrfmiddlewaretoken": token, "username": "desk", "password": "desk-demo"},
            headers=referer,
        )
        assert signed_in.status_code == 302, signed_in.text[:800]
        made = 0
        for n, slot in enumerate(slots):
            form = web.get("/admin/appointments/appointment/add/")
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
            start = dt.datetime.fromisoformat(slot["start"])
            answer = _request(
                web, measured, f"desk-{n}", "POST", "/admin/appointments/appointment/add/",
                data={
                    "csrfmiddlewaretoken": token, "channel": "phone", "matter": matter["id"],
                    "window": slot["window"], "start_0": f"{start:%Y-%m-%d}",
                    "start_1": f"{start:%H:%M:%S}", "applicant_name": f"电话预约{n}",
                    "phone": f"1370000{random.randrange(10**4):04d}", "content": "电话预约",
                    "remarks": "", "short_notice_reason": "",
                },
                headers={"Referer": f"https://{h.HOST}/admin/appointments/appointment/add/"},
            )  # fmt: skip
            assert answer.status_code == 302, answer.text[-1500:]
            made += 1
        page = web.get("/admin/appointments/appointment/register/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        hall = re.search(r'<option value="(\d+)"[^>]*>阳泉市政务服务中心', page.text).group(1)
        today = hall_today()
        started = time.monotonic()
        queued = web.post(
            "/admin/appointments/appointment/register/",
            data={
                "csrfmiddlewaretoken": token, "hall": hall, "by": "registration",
                "date_from": str(today - dt.timedelta(days=40)), "date_to": str(today),
            },
            headers={"Referer": f"https://{h.HOST}/admin/appointments/appointment/register/"},
        )  # fmt: skip
        assert queued.status_code == 302, queued.text[-1500:]
        status_url = queued.headers["location"]
        deadline = time.monotonic() + 120
        while True:
            status = web.get(status_url)
            found = re.search(r'id="export-download" href="([^"]+)"', status.text)
            if found:
                break
            assert time.monotonic() < deadline, "the register export did not finish in 120 s"
            time.sleep(1)
        download = web.get(found.group(1))
        seconds = time.monotonic() - started
        assert download.status_code == 200
        assert download.headers["content-type"].startswith("application/vnd.openxmlformats")
        sheet = openpyxl.load_workbook(io.BytesIO(download.content)).active
        rows = sum(1 for row in sheet.iter_rows(min_row=5, values_only=True) if row[2])
        assert rows >= made
        # Not to anyone else: the same link without the desk's session.
        with h.client(top.base, address="127.0.0.5", follow_redirects=False) as stranger:
            assert stranger.get(found.group(1)).status_code in (302, 403, 404)
    return made, rows, seconds


def _settle(top: Topology) -> float:
    """Wait until no message is queued or being sent (the interrupted one is failed after
    SMS_STUCK_MINUTES) and every schedule has run once; the seconds it took."""
    started = time.monotonic()
    while time.monotonic() - started < SETTLE_SECONDS:
        open_messages = top.sql(
            "SELECT count(*) FROM sms_message WHERE status IN ('queued', 'sending')"
        )[0][0]
        not_run = top.sql(
            """SELECT count(*) FROM django_q_schedule s
               WHERE NOT EXISTS (SELECT 1 FROM django_q_task t WHERE t."group" = s.name)"""
        )[0][0]
        if not open_messages and not not_run:
            break
        time.sleep(2)
    return time.monotonic() - started


def _desk_sees_failed(top: Topology, reference: str) -> bool:
    """The desk's list of failed messages for upcoming bookings (linked from its front page)."""
    with h.client(top.base, address="127.0.0.4") as web:
        login = web.get("/admin/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login.text).group(1)
        web.post(
            "/admin/login/",
            data={"csrfmiddlewaretoken": token, "username": "desk", "password": "desk-demo"},
            headers={"Referer": f"https://{h.HOST}/admin/login/"},
        )
        front = web.get("/admin/").text
        listed = web.get("/admin/sms/message/?status__exact=failed&booking=upcoming").text
    return "status__exact=failed" in front and reference in listed


def _nginx_log(top: Topology) -> dict[str, str]:
    """Request id → the upstream addresses nginx tried for it."""
    lines = (top.folder / "nginx" / "access.log").read_text().splitlines()
    by_id = {}
    for line in lines:
        fields = line.split(" ", 2)
        if len(fields) == 3 and fields[0] != "-":
            by_id[fields[0]] = fields[2]
    return by_id


def _operations_log(top: Topology) -> tuple[list[str], Counter]:
    """Every line the services logged after they started (LOG_FORMAT=json: each one JSON, but
    for gunicorn's own start-up lines), and the task runs per schedule from yuyue.tasks."""
    lines, runs, not_json = [], Counter(), []
    for service in [*top.webs, *top.workers]:
        for line in service.log_path.read_text(encoding="utf-8").splitlines():
            if re.match(r"\[[-0-9: +]+\] \[\d+\] \[[A-Z]+\] ", line):
                continue  # gunicorn's own lines (booting, workers), not the application's
            try:
                entry = json.loads(line)
            except ValueError:
                not_json.append(f"{service.name}: {line}")
                continue
            lines.append(line)
            if entry["logger"] == "yuyue.tasks" and entry["outcome"] == "ok":
                runs[entry["group"]] += 1
    assert not not_json, "\n".join(not_json[:10])
    return lines, runs


def _restore(top: Topology, dump_path: Path, before_dump: set[str]) -> dict:
    """docs/DEPLOY.md, "Restore": a fresh database, pg_restore, count the bookings."""
    h.database_create(RESTORED)
    subprocess.run(
        ["pg_restore", "-h", "127.0.0.1", "-U", "postgres", "--no-owner", "-d", RESTORED,
         str(dump_path)],
        check=True, capture_output=True,
    )  # fmt: skip
    references = {r for (r,) in top.sql("SELECT reference FROM appointments_appointment",
                                        dbname=RESTORED)}  # fmt: skip
    return {"count": len(references), "missing": sorted(before_dump - references)}


# --- the parts fail -----------------------------------------------------------------------------


def _book_once(top: Topology, matter: dict, slot: dict, phone: str, address: str) -> str:
    """A citizen through nginx: a code, then the booking; its reference."""
    with h.client(top.base, address=address) as web:
        asked = web.post("/api/v1/verification-codes/", json={"phone": phone})
        assert asked.status_code == 202, asked.text
        payload = {
            "matter": matter["id"], "window": slot["window"], "start": slot["start"],
            "name": "故障演练", "phone": phone, "code": top.gateway.code_for(phone),
        }  # fmt: skip
        booked = web.post("/api/v1/appointments/", json=payload)
        assert booked.status_code == 201, booked.text
        return booked.json()["reference"]


def _message_received(top: Topology, reference: str, within: float) -> int:
    """Wait until the booking's "received" message reached the gateway; how many times it
    did (0 if not within ``within`` seconds)."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        rows = top.sql(
            """SELECT m.id FROM sms_message m JOIN appointments_appointment a
               ON m.subject_type = 'appointments.appointment' AND m.subject_id = a.id
               WHERE a.reference = %s AND m.purpose = 'booking_received'
               AND m.status = 'sent'""",
            (reference,),
        )
        if rows:
            time.sleep(1)  # a duplicate would arrive by now
            return top.gateway.counts().get(str(rows[0][0]), 0)
        time.sleep(1)
    return 0


def test_parts_fail(topology):
    """Issue 20 under the deployment: a Redis restart and a PostgreSQL connection drop."""
    top = topology
    with h.client(top.base, address="127.0.0.6") as web:
        matter, slots = _bookable_slots(top, web)
    slot = slots[-1]
    phones = [f"+86138{random.randrange(10**8):08d}" for _ in range(2)]

    # Redis stops: the cache, the rate limits' store and the task broker go away.
    top.redis.stop()
    stopped_at = time.monotonic()
    with h.client(top.base, address="127.0.0.6") as web:
        availability = web.get(
            "/api/v1/availability/",
            params={"matter": matter["id"], "from": slot["start"][:10], "to": slot["start"][:10]},
        )
        ready, live = web.get("/readyz"), web.get("/healthz")
    during = _book_once(top, matter, slot, phones[0], "127.0.0.7")
    assert availability.status_code == 200 and availability.json()
    assert ready.status_code == 503 and ready.json()["checks"]["cache"] == "failed"
    assert live.status_code == 200
    top.redis.start()
    redis_sent = _message_received(top, during, within=180)
    redis_recovered = time.monotonic() - stopped_at
    _wait_ready(top)  # the workers' heartbeat is back in the new Redis: ready again

    # PostgreSQL drops every connection of the application (a restart, a failover).
    with h.postgres() as db:
        dropped = db.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (DATABASE,),
        ).fetchone()[0]
    dropped_at = dt.datetime.now(dt.UTC)
    with h.client(top.base, address="127.0.0.8") as web:
        answers = Counter(web.get("/api/v1/matters/").status_code for _ in range(20))
        page = web.get("/")
    after = _book_once(top, matter, slot, phones[1], "127.0.0.9")
    pg_sent = _message_received(top, after, within=120)
    deadline = time.monotonic() + 120
    while not top.sql(  # the scheduler reconnected: a schedule ran after the drop
        "SELECT 1 FROM django_q_task WHERE started > %s AND success", (dropped_at,)
    ):
        assert time.monotonic() < deadline, "no schedule ran after the connections were dropped"
        time.sleep(2)

    print(
        f"""
=== topology: parts fail ===
Redis stopped: availability {availability.status_code}, a booking 201, /readyz
  {ready.status_code} failing {ready.json()["failing"]}, /healthz {live.status_code}; started again:
  the booking's message reached the gateway {redis_sent} time(s), {redis_recovered:.0f} s after
  the stop
PostgreSQL: {dropped} connections dropped; next 20 requests {dict(answers)}, home page
  {page.status_code}; a booking after it: message reached the gateway {pg_sent} time(s)
"""
    )
    assert redis_sent == 1
    assert dropped >= 2
    assert answers == Counter({200: 20}) and page.status_code == 200
    assert pg_sent == 1
