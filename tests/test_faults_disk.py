"""A file that cannot be written (issue 20): a register export (DB1403/T 附录A) or an uploaded
investigation document whose disk is full or whose folder cannot be written fails with a clear
message to the person who asked, the job is marked failed, and no partial file is ever kept or
served (yuyue/storage.py writes under a temporary name and links the complete file).

The tests run as root, whom file modes do not stop, so the failures are made for real by other
means: a media folder below a regular file (every write fails with ENOTDIR, whoever runs it),
and a tiny tmpfs mounted for the test and filled up (ENOSPC; mounting needs root with
CAP_SYS_ADMIN, which CI has — elsewhere the test skips, in CI it fails)."""

import contextlib
import datetime as dt
import subprocess

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from appointments.models import RegisterExport
from appointments.register import register_export_request, register_export_run
from complaints.models import ComplaintAttachment
from complaints.services import complaint_accept

from .conftest import missing_part
from .test_complaints_console import NOW as COMPLAINT_NOW
from .test_complaints_console import PDF, complaint, handler, register, step_url  # noqa: F401
from .test_register_export import NOW, september, three  # noqa: F401


@pytest.fixture
def media_below_a_file(settings, tmp_path):
    """MEDIA_ROOT inside a path whose parent is a regular file: not writable, even for root."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the media folder's parent should be")
    settings.MEDIA_ROOT = blocker / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def full_disk(settings, tmp_path):
    """MEDIA_ROOT on a 64 KiB tmpfs that is already full."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    made = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
    )
    if made.returncode != 0:
        missing_part(f"cannot mount a tmpfs ({made.stderr.strip()}): needs root")
    try:
        (mount / "media").mkdir()
        with contextlib.suppress(OSError), (mount / "filler").open("wb") as filler:
            while True:
                filler.write(b"\0" * 4096)
                filler.flush()
        settings.MEDIA_ROOT = mount / "media"
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _export(hall, desk) -> RegisterExport:
    job = RegisterExport.objects.create(
        hall=hall, requested_by=desk, requested_at=NOW, params=september(hall)
    )
    return register_export_run(export_id=job.pk, now=NOW + dt.timedelta(seconds=5))


@pytest.mark.usefixtures("three", "media_below_a_file")
def test_an_export_into_an_unwritable_folder_fails_clearly_and_keeps_nothing(client, hall, desk):
    job = _export(hall, desk)

    assert job.state == RegisterExport.State.FAILED
    assert not job.file
    assert (
        job.error
        == "文件未能保存：服务器的文件目录无法写入。未保留任何内容。请告知系统管理员，然后重试。"
    )
    client.force_login(desk)
    status = client.get(reverse("admin:appointments_register_status", args=[job.pk]))
    assert job.error in status.content.decode()
    assert 'id="export-download"' not in status.content.decode()
    download = client.get(reverse("admin:appointments_register_download", args=[job.pk]))
    assert download.status_code == 404


@pytest.mark.usefixtures("three")
def test_an_export_onto_a_full_disk_fails_clearly_and_leaves_no_partial_file(hall, desk, full_disk):
    job = _export(hall, desk)

    assert job.state == RegisterExport.State.FAILED
    assert "服务器磁盘已满" in job.error
    left = [p.name for p in full_disk.rglob("*") if p.is_file()]
    assert left == ["filler"], left  # no partial .xlsx, under any name


@pytest.mark.usefixtures("three")
def test_an_export_succeeds_once_the_disk_has_room_again(hall, desk, full_disk):
    assert _export(hall, desk).state == RegisterExport.State.FAILED
    (full_disk / "filler").unlink()

    job = _export(hall, desk)

    assert job.state == RegisterExport.State.DONE
    assert job.file.name.endswith(".xlsx") and ".partial-" not in job.file.name
    assert [p.name for p in full_disk.rglob("*.xlsx")] == [job.file.name.rsplit("/", 1)[-1]]


def test_an_upload_onto_a_full_disk_is_a_503_page_saying_so_and_nothing_is_kept(
    handler,  # noqa: F811
    complaint,  # noqa: F811
    supervisor,
    full_disk,
):
    investigating = complaint_accept(complaint=complaint, actor=supervisor, now=COMPLAINT_NOW)
    handler.raise_request_exception = False

    answer = handler.post(
        step_url(investigating, "attach"),
        {"attachment": SimpleUploadedFile("report.pdf", PDF + b"0" * 200_000)},
    )

    page = answer.content.decode()
    assert answer.status_code == 503
    assert "文件未能保存：服务器磁盘已满。未保留任何内容。" in page
    assert 'class="console"' in page  # the console's look: staff uploaded it
    assert not ComplaintAttachment.objects.exists()
    assert [p.name for p in full_disk.rglob("*") if p.is_file()] == ["filler"]


@pytest.mark.usefixtures("three")
def test_a_queued_export_whose_task_was_lost_is_queued_again_and_written(
    hall, desk, settings, tmp_path, monkeypatch, django_capture_on_commit_callbacks
):
    """The broker lost the task (down when it was queued, or a worker killed after taking it):
    the register_exports sweep queues the job again and the worker writes it."""
    from django_q.conf import Conf

    from appointments.sweeps import register_exports_sweep

    settings.MEDIA_ROOT = tmp_path / "media"
    job = register_export_request(register=_filter(hall), actor=desk, now=NOW)  # task not run
    assert RegisterExport.objects.get(pk=job.pk).state == RegisterExport.State.QUEUED

    early = register_exports_sweep(now=NOW + dt.timedelta(minutes=1))
    monkeypatch.setattr(Conf, "SYNC", True)  # the worker, in this process
    with django_capture_on_commit_callbacks(execute=True):
        late = register_exports_sweep(now=NOW + dt.timedelta(minutes=2))

    assert (early.jobs, late.jobs) == (0, 1)
    assert RegisterExport.objects.get(pk=job.pk).state == RegisterExport.State.DONE


def test_an_export_whose_worker_died_while_writing_is_marked_failed(hall, desk, settings):
    from appointments.sweeps import register_exports_sweep

    started = NOW - dt.timedelta(seconds=settings.Q_CLUSTER["timeout"] + 61)
    job = RegisterExport.objects.create(
        hall=hall,
        requested_by=desk,
        requested_at=started,
        started_at=started,
        params=september(hall),
        state=RegisterExport.State.RUNNING,
    )

    register_exports_sweep(now=NOW)

    job.refresh_from_db()
    assert job.state == RegisterExport.State.FAILED
    assert job.error == "导出被中断（其后台任务已停止）。请重新申请导出。"


def _filter(hall):
    from appointments.register import RegisterFilter

    return RegisterFilter.from_json(september(hall))
