"""A real django-q2 cluster on Redis delivers a queued SMS (the deployment at scale).

Needs Redis on 127.0.0.1:6379 (CI has it): the test fails rather than skips without it.
"""

import os
import time
import uuid

import pytest
import redis
from django_q.brokers.redis_broker import Redis
from django_q.conf import Conf
from django_q.tasks import async_task

from sms.models import Message
from tests.conftest import at
from tests.subprocesses import qcluster, test_database_url

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/7")


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_qcluster_on_redis_delivers_a_queued_sms(tmp_path, monkeypatch):
    folder = tmp_path / "sms"
    cluster = f"yuyue-test-{uuid.uuid4().hex[:8]}"
    message = Message.objects.create(
        phone="+8613800138000",
        text="预约提醒：测试",
        purpose=Message.Purpose.REMINDER,
        created_at=at(2026, 9, 15, 18),
    )
    env = {
        "DATABASE_URL": test_database_url(),
        "REDIS_URL": REDIS_URL,
        "Q_CLUSTER_QUEUE": cluster,
        "Q_WORKERS": "1",
        "SMS_BACKEND": "file",
        "SMS_FILE_PATH": str(folder),
        "DEBUG": "1",
    }
    log = tmp_path / "qcluster.log"
    connection = redis.from_url(REDIS_URL)
    try:
        with qcluster(env=env, log_path=log) as worker:
            monkeypatch.setattr(Conf, "REDIS", REDIS_URL)
            broker = Redis(list_key=cluster)
            async_task("sms.tasks.message_deliver_task", message.pk, broker=broker)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not list(folder.glob("*.txt")):
                assert worker.poll() is None, log.read_text()
                time.sleep(0.25)
        files = list(folder.glob("*.txt"))
        assert files, f"no SMS delivered within 60 s; worker log:\n{log.read_text()}"
        assert files[0].read_text(encoding="utf-8") == "To: +8613800138000\n\n预约提醒：测试\n"
        message.refresh_from_db()
        assert message.status == Message.Status.DELIVERED
    finally:
        for key in connection.scan_iter(f"django_q:{cluster}:*"):
            connection.delete(key)
