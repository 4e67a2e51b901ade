"""Files the system writes and uploads it keeps (MEDIA_ROOT), written whole or not at all.

A disk that fills up, a folder that cannot be written or a quota run out stops a write half-way;
Django's FileSystemStorage would leave the partial file under the real name. Here a file is
written under a temporary name in the same folder and linked to its real name only once it is
complete; whatever fails, the partial file is removed and the error raised to the caller, which
marks its job failed (appointments/register.py) or tells the person who uploaded it
(yuyue/errors.py). A file under its real name is always a complete one.
"""

import contextlib
import errno
import os
import uuid

from django.core.files.storage import FileSystemStorage
from django.utils.translation import gettext as _


class WholeFileStorage(FileSystemStorage):
    def _save(self, name, content):
        folder, base = os.path.split(name)
        partial = os.path.join(folder, f".partial-{uuid.uuid4().hex}-{base}")
        try:
            return self._link_into_place(super()._save(partial, content), name)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.path(partial))

    def _link_into_place(self, partial: str, name: str) -> str:
        """Give the complete file its real name; a hard link fails rather than replace a file
        that took the name meanwhile, and a new name is chosen then."""
        while True:
            name = self.get_available_name(name)
            try:
                os.link(self.path(partial), self.path(name))
            except FileExistsError:
                continue
            return name


# What a person can be told about a file that could not be written, by the OS error's number.
_DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_NOT_WRITABLE = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EISDIR}


# Every error number that means "the file cannot be written here", whatever the file.
DISK_ERRNOS = _DISK_FULL | _NOT_WRITABLE


def file_write_failure(error: OSError) -> str:
    """Why a file could not be written, in words for the person who asked for it and the
    administrator they tell (not the error's English)."""
    if error.errno in _DISK_FULL:
        reason = _("the server's disk is full")
    elif error.errno in _NOT_WRITABLE:
        reason = _("the server's file folder cannot be written")
    else:
        reason = _("the server could not write it")
    return _(
        "The file could not be saved: %(reason)s. Nothing was kept. Tell the system "
        "administrator, then try again."
    ) % {"reason": reason}
