from django.apps import AppConfig


class ProjectConfig(AppConfig):
    """The project package as an app (it holds no models): connects the task log line."""

    name = "yuyue"
    verbose_name = "yuyue"

    def ready(self):
        from django_q.signals import post_execute_in_worker

        from . import retention  # noqa: F401 (registers the anonymise sweep)
        from .oplog import task_finished_log

        post_execute_in_worker.connect(task_finished_log, dispatch_uid="yuyue.task_finished_log")
