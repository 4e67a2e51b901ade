"""The schedules run under whatever queue name the workers have (Q_CLUSTER_QUEUE).

django-q2's scheduler runs a schedule only on the cluster it names, and one naming no cluster only
on a cluster called like the site (Q_CLUSTER "name", `yuyue`): setup_schedules therefore names the
configured cluster in every schedule, and what no worker of the queue would run is reported.
"""

import datetime as dt
import time
import uuid
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.models import Schedule, Success
from django_q.scheduler import scheduler

from appointments.checks import schedules_run_by_this_queue
from appointments.management.commands.setup_schedules import SCHEDULES
from tests.subprocesses import manage, qcluster, test_database_url
from yuyue.worker import HEARTBEAT_KEY, schedules_not_run_here, worker_heartbeat_write


def setup_schedules(*args) -> tuple[list[str], str]:
    out, err = StringIO(), StringIO()
    call_command("setup_schedules", *args, stdout=out, stderr=err)
    return out.getvalue().splitlines(), err.getvalue()


@pytest.fixture
def queue(monkeypatch):
    """Workers of this process take tasks from the queue "yuyue-night"."""
    monkeypatch.setattr(Conf, "CLUSTER_NAME", "yuyue-night")
    return "yuyue-night"


class TestSetupSchedules:
    def test_names_the_cluster_and_is_unchanged_when_rerun(self, db):
        lines, _ = setup_schedules()
        assert lines[0] == f'Schedules for the worker cluster "{Conf.CLUSTER_NAME}":'
        assert all(line.endswith(", created") for line in lines[1:])
        assert set(Schedule.objects.values_list("cluster", flat=True)) == {Conf.CLUSTER_NAME}
        lines, err = setup_schedules()
        assert len(lines) == 1 + len(SCHEDULES) and err == ""
        assert all(line.endswith(", unchanged") for line in lines[1:])

    def test_another_queue_name_moves_the_schedules_to_it(self, db, monkeypatch):
        monkeypatch.setattr(Conf, "CLUSTER_NAME", "yuyue")
        setup_schedules()
        monkeypatch.setattr(Conf, "CLUSTER_NAME", "yuyue-night")
        lines, _ = setup_schedules("--dry-run")
        assert lines[0] == 'Schedules for the worker cluster "yuyue-night":'
        assert 'heartbeat: every 1 min, would update (was for the cluster "yuyue")' in lines
        assert set(Schedule.objects.values_list("cluster", flat=True)) == {"yuyue"}
        lines, _ = setup_schedules()
        assert 'sweep no_shows: every 1 min, updated (was for the cluster "yuyue")' in lines
        assert set(Schedule.objects.values_list("cluster", flat=True)) == {"yuyue-night"}
        assert Schedule.objects.count() == len(SCHEDULES)
        lines, _ = setup_schedules()
        assert all(line.endswith(", unchanged") for line in lines[1:])

    def test_schedules_set_up_before_the_cluster_was_named_are_updated(self, db, queue):
        """What setup_schedules wrote before this fix: no cluster, so nothing ran."""
        Schedule.objects.create(
            name="heartbeat",
            func="yuyue.tasks.heartbeat_task",
            schedule_type=Schedule.MINUTES,
            minutes=1,
            repeats=-1,
        )
        lines, err = setup_schedules("--dry-run")
        assert (
            "heartbeat: every 1 min, would update (was for no cluster, which only a cluster named "
            '"yuyue" runs)'
        ) in lines
        assert err == ""  # our own schedule is listed once, not again as a warning
        setup_schedules()
        assert Schedule.objects.get(name="heartbeat").cluster == queue

    def test_warns_of_other_schedules_no_worker_of_the_queue_runs(self, db, queue):
        Schedule.objects.create(name="by hand", func="math.floor", args="1.5")
        Schedule.objects.create(name="elsewhere", func="math.floor", args="1.5", cluster="x")
        Schedule.objects.create(name="here", func="math.floor", args="1.5", cluster=queue)
        _, err = setup_schedules()
        assert 'Schedule "by hand" is for no cluster, which only a cluster named "yuyue"' in err
        assert 'Schedule "elsewhere" is for the cluster "x": no worker of "yuyue-night"' in err
        assert '"here"' not in err
        assert Schedule.objects.get(name="elsewhere").cluster == "x"  # not ours: left alone


def _due_schedule(name: str, *, cluster: str | None) -> Schedule:
    """A schedule of ``cluster`` that is due: the next scheduler pass that takes it runs it."""
    return Schedule.objects.create(
        name=name,
        func="math.floor",
        args="1.5",
        schedule_type=Schedule.MINUTES,
        minutes=1,
        cluster=cluster,
        next_run=timezone.now() - dt.timedelta(minutes=1),
    )


@pytest.mark.parametrize("cluster", ["yuyue", "yuyue-night"])
def test_schedules_not_run_here_is_what_django_q2_leaves(db, monkeypatch, cluster):
    """The rule the warnings use is django-q2's own: its scheduler, for a cluster named like the
    site and for another name, takes exactly the schedules not reported."""
    monkeypatch.setattr(Conf, "CLUSTER_NAME", cluster)
    # The scheduler closes "old" connections, which is this test's, inside its transaction.
    monkeypatch.setattr("django_q.scheduler.close_old_django_connections", lambda: None)
    for name in (None, "yuyue", "yuyue-night", "x"):
        _due_schedule(f"for {name}", cluster=name)
    stranded = set(schedules_not_run_here().values_list("name", flat=True))
    scheduler(broker=get_broker())
    taken = set(Schedule.objects.filter(task__isnull=False).values_list("name", flat=True))
    assert taken == {f"for {cluster}"} | ({"for None"} if cluster == "yuyue" else set())
    assert stranded == set(Schedule.objects.values_list("name", flat=True)) - taken


class TestSystemCheck:
    def test_warns_while_schedules_are_for_another_cluster(self, db, monkeypatch):
        monkeypatch.setattr(Conf, "CLUSTER_NAME", "yuyue")
        setup_schedules()
        assert schedules_run_by_this_queue(databases=["default"]) == []
        monkeypatch.setattr(Conf, "CLUSTER_NAME", "yuyue-night")
        [warning] = schedules_run_by_this_queue(databases=["default"])
        assert warning.id == "appointments.W001"
        assert f'{len(SCHEDULES)} schedules are not run by the worker cluster "yuyue-night"' in (
            warning.msg
        )
        assert "heartbeat (yuyue)" in warning.msg and "setup_schedules" in warning.hint
        setup_schedules()
        assert schedules_run_by_this_queue(databases=["default"]) == []

    def test_only_with_a_database(self, db, queue):
        Schedule.objects.create(name="by hand", func="math.floor", args="1.5")
        assert schedules_run_by_this_queue(databases=None) == []
        assert len(schedules_run_by_this_queue(databases=["default"])) == 1


def test_staff_pages_warn_when_the_heartbeat_is_stale(client, desk):
    """A worker whose cluster runs none of the schedules writes no heartbeat: the warning."""
    client.force_login(desk)
    worker_heartbeat_write(now=timezone.now() - dt.timedelta(seconds=121))
    assert 'id="worker-down"' in client.get("/admin/").content.decode()
    worker_heartbeat_write(now=timezone.now() - dt.timedelta(seconds=110))
    assert 'id="worker-down"' not in client.get("/admin/").content.decode()


# --- a real cluster ---------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_cluster_under_another_queue_name_runs_the_schedules(tmp_path, admin_client):
    """`Q_CLUSTER_QUEUE=<not yuyue>`: setup_schedules and `manage.py qcluster` with that
    environment, on this test's database; the first scheduler pass (about 30 s after the start)
    runs the heartbeat and the sweeps on that cluster, the staff warning goes, and the schedules
    left without a cluster or for `yuyue` do not run there."""
    queue = f"yuyue-test-{uuid.uuid4().hex[:8]}"
    env = {
        "DATABASE_URL": test_database_url(),
        "Q_CLUSTER_QUEUE": queue,
        "Q_WORKERS": "1",
        "SMS_BACKEND": "file",
        "SMS_FILE_PATH": str(tmp_path / "sms"),
        "DEBUG": "1",
    }
    cache.delete(HEARTBEAT_KEY)
    assert 'id="worker-down"' in admin_client.get("/admin/").content.decode()
    stray = [
        _due_schedule("left without a cluster", cluster=None),
        _due_schedule("left for yuyue", cluster="yuyue"),
    ]

    setup = manage("setup_schedules", env=env, timeout=60)
    assert setup.returncode == 0, setup.stderr
    assert setup.stdout.splitlines()[0] == f'Schedules for the worker cluster "{queue}":'
    assert 'Schedule "left without a cluster" is for no cluster' in setup.stderr
    assert 'Schedule "left for yuyue" is for the cluster "yuyue"' in setup.stderr

    log = tmp_path / "qcluster.log"
    wanted = {"heartbeat", "sweep no_shows"}
    with qcluster(env=env, log_path=log) as worker:
        deadline = time.monotonic() + 75
        ran = set()
        while time.monotonic() < deadline and not wanted <= ran:
            assert worker.poll() is None, log.read_text()
            time.sleep(0.5)
            ran = set(Success.objects.filter(cluster=queue).values_list("group", flat=True))
        assert wanted <= ran, f"no heartbeat and sweep within 75 s; worker log:\n{log.read_text()}"

    assert 'id="worker-down"' not in admin_client.get("/admin/").content.decode()
    for left in stray:
        schedule = Schedule.objects.get(pk=left.pk)
        assert schedule.task is None and schedule.next_run == left.next_run, left.name
    assert not Success.objects.filter(group__startswith="left ").exists()
