"""The parts of the topology test that stand in for the machine: the deployment rendered from
deploy/ (site variables, environment file, units' ExecStart lines), nginx as a foreground process
under a temporary prefix, the services as process groups, the stand-in SMS gateway, and the
PostgreSQL clean-up. The busy hour itself is in test_busy_hour.py.

It follows docs/DEPLOY.md: `python3 deploy/render.py`, `yuyue-manage` for every manage.py
command, the environment file copied from deploy/yuyue.env.example with the hall's own values,
and each service started with its unit's ExecStart, WorkingDirectory and EnvironmentFile.
"""

import contextlib
import hashlib
import hmac
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
NGINX = "/usr/sbin/nginx"
HOST = "yuyue.test"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- the deployment's files -------------------------------------------------------------------


def lines_set(text: str, values: dict[str, str]) -> str:
    """``text`` of NAME=value lines with the given names' values replaced (or appended), as an
    operator edits deploy/site.vars or yuyue.env."""
    remaining = dict(values)

    def replace(match: re.Match) -> str:
        name = match.group(1)
        return f"{name}={remaining.pop(name)}" if name in remaining else match.group(0)

    text = re.sub(r"(?m)^([A-Z][A-Z0-9_]*)=.*$", replace, text)
    return text + "".join(f"{name}={value}\n" for name, value in remaining.items())


def environment_file_read(path: Path) -> dict[str, str]:
    """What systemd's EnvironmentFile= gives the process: NAME=value lines, outer quotes off."""
    env = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            name, value = line.split("=", 1)
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            env[name.strip()] = value
    return env


def unit_read(path: Path, instance: str) -> dict[str, str]:
    """The unit's [Service] keys (ExecStart, WorkingDirectory, EnvironmentFile), with systemd's
    %i specifier filled in."""
    keys = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith("#"):
            name, value = line.split("=", 1)
            keys.setdefault(name.strip(), value.strip().replace("%i", instance))
    return keys


def render(site_vars: dict[str, str], out: Path) -> None:
    """docs/DEPLOY.md step 5: site.vars from the example, then deploy/render.py."""
    text = lines_set((DEPLOY / "site.vars.example").read_text(encoding="utf-8"), site_vars)
    out.mkdir(parents=True, exist_ok=True)
    vars_path = out / "site.vars"
    vars_path.write_text(text, encoding="utf-8")
    subprocess.run(
        ["python3", str(DEPLOY / "render.py"), str(vars_path), str(out)],
        check=True,
        capture_output=True,
    )


# --- processes --------------------------------------------------------------------------------


class Service:
    """One instance of a unit (yuyue-web@PORT, yuyue-worker@N), started from its ExecStart in
    its own process group, so that it can be killed whole as a crash would."""

    def __init__(self, unit: Path, instance: str, logs: Path):
        self.unit, self.instance = unit, instance
        self.name = unit.name.replace("@.service", f"@{instance}")
        self.log_path = logs / f"{self.name}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> "Service":
        keys = unit_read(self.unit, self.instance)
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
        env.update(environment_file_read(Path(keys["EnvironmentFile"])))
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                shlex.split(keys["ExecStart"]),
                cwd=keys["WorkingDirectory"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self, sig=signal.SIGKILL) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        """As systemctl stop: TERM, then KILL what is left."""
        if self.process is None:
            return
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=20)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        # What the group left behind (a worker process whose parent died).
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        if self.process.poll() is None:
            self.process.wait(timeout=10)

    def log(self, tail: int = 3000) -> str:
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-tail:]


def nginx_conf(prefix: Path, site: Path) -> str:
    """The main configuration that /etc/nginx/nginx.conf is on a Debian server, under a
    temporary prefix; it includes the rendered site unchanged. The access log also names the
    instance that answered and the client's request number, to tell which 5xx came from the
    instance that was killed."""
    return f"""
daemon off;
worker_processes 2;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    fastcgi_temp_path {prefix}/tmp/fastcgi;
    uwsgi_temp_path {prefix}/tmp/uwsgi;
    scgi_temp_path {prefix}/tmp/scgi;
    log_format topology '$http_x_topology_request $status $upstream_addr $upstream_status '
                        '$request_method $request_time';
    access_log {prefix}/access.log topology;
    include {site};
}}
"""


def nginx_start(prefix: Path, site: Path) -> subprocess.Popen:
    (prefix / "tmp").mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(nginx_conf(prefix, site), encoding="utf-8")
    test = subprocess.run(
        [NGINX, "-t", "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(conf)],
        capture_output=True,
        text=True,
    )
    assert test.returncode == 0, f"nginx -t refused the rendered site:\n{test.stderr}"
    log = (prefix / "nginx.out").open("ab")
    return subprocess.Popen(
        [NGINX, "-p", str(prefix), "-e", str(prefix / "error.log"), "-c", str(conf)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def certificate_make(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for the test's host name, made now."""
    cert, key = folder / "fullchain.pem", folder / "privkey.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", f"/CN={HOST}", "-addext", f"subjectAltName=DNS:{HOST}",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


def socket_owner_group(local_port: int, remote_port: int) -> int | None:
    """The process group of the process holding the TCP connection 127.0.0.1:local_port →
    127.0.0.1:remote_port (the sender of a request the gateway holds)."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1].endswith(f":{local_port:04X}") and fields[2].endswith(f":{remote_port:04X}"):
            inode = fields[9]
            break
    if inode is None:
        return None
    target = f"socket:[{inode}]"
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                if os.readlink(fd) == target:
                    return os.getpgid(int(proc.name))
        except (FileNotFoundError, PermissionError, ProcessLookupError, NotADirectoryError):
            continue
    return None


# --- the stand-in SMS gateway -------------------------------------------------------------------


class Gateway:
    """A local stand-in for the hall's SMS gateway, speaking the `http` backend's protocol
    (sms/backends.py): it checks the signature, records every message it is given (as a real
    gateway sends it on receipt) and answers {"id": ...}. Each send takes ``delay`` seconds.
    Armed with ``hold_next_from(groups)``, it holds the next request sent by one of those process
    groups (the workers) until ``release()``: the moment to kill the sender mid-delivery."""

    def __init__(self, key: str, delay: float = 0.1):
        self.key, self.delay = key, delay
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/send"
        self.received: list[dict] = []
        self.refused = 0
        self._lock = threading.Lock()
        self._hold_groups: set[int] = set()
        self.held = threading.Event()
        self.held_message: dict | None = None
        self.held_group: int | None = None
        self._release = threading.Event()
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                stamp = self.headers.get("X-Timestamp", "")
                expected = hmac.new(
                    gateway.key.encode(), stamp.encode() + b"." + body, hashlib.sha256
                ).hexdigest()
                if not hmac.compare_digest(expected, self.headers.get("X-Signature", "")):
                    with gateway._lock:
                        gateway.refused += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                message = json.loads(body)
                message["at"] = time.monotonic()
                with gateway._lock:
                    gateway.received.append(message)
                gateway._maybe_hold(message, self.client_address[1])
                time.sleep(gateway.delay)
                answer = json.dumps({"id": f"gw-{message['id']}"}).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:
                    pass  # the sender died while we held its request

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def hold_next_from(self, groups: set[int]) -> None:
        self._hold_groups = set(groups)

    def _maybe_hold(self, message: dict, client_port: int) -> None:
        if not self._hold_groups or self.held.is_set():
            return
        group = socket_owner_group(client_port, self.port)
        if group not in self._hold_groups:
            return
        with self._lock:
            if self.held.is_set():
                return
            self.held_message, self.held_group = message, group
            self.held.set()
        self._release.wait(timeout=60)

    def release(self) -> None:
        self._hold_groups = set()
        self._release.set()

    def counts(self) -> dict[str, int]:
        with self._lock:
            counts: dict[str, int] = {}
            for message in self.received:
                counts[message["id"]] = counts.get(message["id"], 0) + 1
            return counts

    def code_for(self, phone: str) -> str | None:
        with self._lock:
            for message in reversed(self.received):
                if message["phone"] == phone:
                    found = re.search(r"(?<!\d)(\d{6})(?!\d)", message["text"])
                    if found:
                        return found.group(1)
        return None

    def stop(self) -> None:
        self.release()
        self.server.shutdown()
        self.server.server_close()


# --- PostgreSQL ---------------------------------------------------------------------


def postgres(dbname: str = "postgres", **kw) -> psycopg.Connection:
    return psycopg.connect(
        host="127.0.0.1", port=5432, user="postgres", dbname=dbname, autocommit=True, **kw
    )


def database_drop(name: str) -> None:
    with postgres() as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_create(name: str) -> None:
    database_drop(name)
    with postgres() as db:
        db.execute(f'CREATE DATABASE "{name}"')


def client(base_url: str, *, address: str = "127.0.0.2", **kw) -> httpx.Client:
    """An HTTPS client from its own loopback address (the whole of 127/8 is this machine), so
    that nginx sees each citizen as a different client, as on the internet."""
    return httpx.Client(
        base_url=base_url,
        verify=False,
        headers={"Host": HOST},
        transport=httpx.HTTPTransport(local_address=address, verify=False),
        timeout=60,
        **kw,
    )


def python() -> str:
    return sys.executable
