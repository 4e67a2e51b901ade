"""How staff are named on screen and on paper: by their name (王敏), not their login."""

import re

_CJK = re.compile(r"[\u3400-\u9fff\U00020000-\U0003134f]")


def person_name(first_name: str, last_name: str, username: str) -> str:
    """A person's name as people write it: a Chinese name family name first and without a
    space (王 + 敏 → 王敏), other names "first last"; the login only when no name is recorded."""
    first, last = (first_name or "").strip(), (last_name or "").strip()
    if first and last:
        if _CJK.search(first + last):
            return f"{last}{first}"
        return f"{first} {last}"
    return first or last or username


def staff_name(user) -> str:
    """``person_name`` of a user, or "" for none."""
    if user is None:
        return ""
    return person_name(user.first_name, user.last_name, user.get_username())
