"""The production build, as a deployment makes it: `collectstatic` with DEBUG=0 (hashed names,
the manifest, compressed copies) into a fresh folder, `migrate` and `createcachetable` on a fresh
database, then gunicorn serving with DEBUG=0 behind a TLS proxy. A vendored file naming a missing
source map, or a template naming a missing static file, fails here instead of answering 500 in
production."""

import re

import httpx
import pytest

from .subprocesses import Gunicorn, manage

# What an operator sets (README, configuration), and nothing from the developer's environment.
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "production-build-test-" + "k" * 40,
    "ALLOWED_HOSTS": "127.0.0.1",
    "BEHIND_TLS_PROXY": "1",
    "LOG_LEVEL": "WARNING",
}
# The TLS proxy tells the app the request came over HTTPS (else it redirects to https://).
THROUGH_PROXY = {"X-Forwarded-Proto": "https"}
PAGES = ["/", "/admin/login/", "/api/v1/docs", "/complaints/", "/ratings/"]
STATIC_REFERENCE = re.compile(r"""(?:href|src)=["'](/static/[^"']+)["']""")


@pytest.fixture(scope="module")
def static_root(tmp_path_factory):
    folder = tmp_path_factory.mktemp("static-collected")
    built = manage("collectstatic", "--noinput", env={**PRODUCTION, "STATIC_ROOT": str(folder)})
    assert built.returncode == 0, built.stderr[-4000:]
    return folder


@pytest.fixture(scope="module")
def server(static_root, tmp_path_factory):
    """gunicorn with DEBUG=0 on a database of its own, deployed as the README says."""
    folder = tmp_path_factory.mktemp("prod")
    env = {
        **PRODUCTION,
        "STATIC_ROOT": str(static_root),
        "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
    }
    for step in (["migrate", "--noinput"], ["createcachetable"]):
        done = manage(*step, env=env)
        assert done.returncode == 0, done.stderr[-4000:]
    started = Gunicorn(env=env, log_path=folder / "gunicorn.log")
    try:
        started.wait_ready(headers=THROUGH_PROXY)
        yield started
    finally:
        started.stop()


def test_collectstatic_writes_the_manifest_with_every_vendored_file(static_root):
    manifest = (static_root / "staticfiles.json").read_text(encoding="utf-8")
    assert "evaluation/vendor/chartjs/chart.umd.min.js" in manifest
    assert "admin/css/base.css" in manifest


@pytest.mark.parametrize("page", PAGES)
def test_pages_answer_with_debug_off_and_their_static_files_are_served(server, page):
    answer = httpx.get(server.url + page, headers=THROUGH_PROXY, timeout=10)
    assert answer.status_code == 200, f"{page}: {answer.status_code}\n{server.log()}"
    referenced = set(STATIC_REFERENCE.findall(answer.text))
    for url in referenced:
        # Hashed names (name.<12 hex>.ext) may be cached for ever by the proxy and browsers.
        assert re.search(r"\.[0-9a-f]{12}\.\w+$", url), url
        asset = httpx.get(server.url + url, headers=THROUGH_PROXY, timeout=10)
        assert asset.status_code == 200, url
        assert "max-age=315360000" in asset.headers["cache-control"], url


def test_the_console_and_api_docs_load_their_static_files_from_the_build(server):
    """(The citizen site inlines its small stylesheet: nothing to fetch on a slow phone.)"""
    for page, kind in (("/admin/login/", ".css"), ("/api/v1/docs", ".js")):
        text = httpx.get(server.url + page, headers=THROUGH_PROXY, timeout=10).text
        assert any(url.endswith(kind) for url in STATIC_REFERENCE.findall(text)), page


def test_plain_http_is_sent_to_https(server):
    answer = httpx.get(server.url + "/", timeout=10)
    assert answer.status_code == 301
    assert answer.headers["location"].startswith("https://")


def test_favicon_is_served_from_the_build(server):
    """/favicon.ico, asked for by browsers on every page, is the collected icon (no 404)."""
    answer = httpx.get(
        server.url + "/favicon.ico", headers=THROUGH_PROXY, timeout=10, follow_redirects=True
    )
    assert answer.status_code == 200
    assert re.search(r"/static/yuyue/favicon\.[0-9a-f]{12}\.ico$", str(answer.url))
    assert answer.content[:4] == b"\x00\x00\x01\x00"  # an icon file


def test_an_unknown_address_is_the_citizen_sites_404_page_in_chinese(server):
    answer = httpx.get(server.url + "/bookings/NOSUCH00/", headers=THROUGH_PROXY, timeout=10)
    assert answer.status_code == 404
    assert "页面不存在" in answer.text and "我的预约" in answer.text
    english = httpx.get(server.url + "/en/no-such-page/", headers=THROUGH_PROXY, timeout=10)
    assert english.status_code == 404 and "Page not found" in english.text
