"""The statutory holidays of any year, from the law (DB1403/T 4: holidays are by appointment).

《全国年节及纪念日放假办法》 (as revised in 2024, in force from 2025) fixes which days are holidays
for everyone: 元旦 (1 January), 春节 (除夕 and 正月初一 to 初三), 清明节 (the day of the 清明 solar
term), 劳动节 (1–2 May), 端午节 (五月初五), 中秋节 (八月十五) and 国庆节 (1–3 October). Only the
bridging arrangement (调休: extra rest days and make-up working days) is published each year by the
State Council. So a year whose arrangement is not yet entered still has its statutory days, computed
here from the lunar calendar and the solar terms (``lunar-python``, not a hand-kept table); the
calendar treats them as *provisional* holidays until the official arrangement replaces them.
"""

import datetime as dt
from functools import lru_cache

from lunar_python import Lunar

# The names as the State Council's notices and the holiday table write them.
NEW_YEAR = "元旦"
SPRING_FESTIVAL = "春节"
QINGMING = "清明节"
LABOUR_DAY = "劳动节"
DRAGON_BOAT = "端午节"
MID_AUTUMN = "中秋节"
NATIONAL_DAY = "国庆节"


def _solar(lunar: Lunar) -> dt.date:
    solar = lunar.getSolar()
    return dt.date(solar.getYear(), solar.getMonth(), solar.getDay())


def _lunar_day(year: int, month: int, day: int) -> dt.date:
    """The Gregorian date of ``month``/``day`` of lunar year ``year`` (never a leap month)."""
    return _solar(Lunar.fromYmd(year, month, day))


def _qingming(year: int) -> dt.date:
    """The day (Beijing time) of the 清明 solar term of Gregorian year ``year``."""
    solar = Lunar.fromYmd(year, 3, 1).getJieQiTable()["清明"]
    return dt.date(solar.getYear(), solar.getMonth(), solar.getDay())


@lru_cache(maxsize=64)
def statutory_holidays(year: int) -> dict[dt.date, str]:
    """Every statutory holiday of Gregorian ``year`` with its name (the 2024 revision's rules),
    without the year's bridging arrangement."""
    new_year = _lunar_day(year, 1, 1)
    days: dict[dt.date, str] = {}

    def add(day: dt.date, name: str) -> None:
        # Two festivals may fall on one day (中秋节 on 3 October 2028): the day is named by both.
        days[day] = f"{days[day]}、{name}" if day in days else name

    add(dt.date(year, 1, 1), NEW_YEAR)
    # 除夕 is the day before 正月初一, whether the twelfth month has 29 or 30 days.
    for offset in range(-1, 3):
        add(new_year + dt.timedelta(days=offset), SPRING_FESTIVAL)
    add(_qingming(year), QINGMING)
    for day in (1, 2):
        add(dt.date(year, 5, day), LABOUR_DAY)
    add(_lunar_day(year, 5, 5), DRAGON_BOAT)
    add(_lunar_day(year, 8, 15), MID_AUTUMN)
    for day in (1, 2, 3):
        add(dt.date(year, 10, day), NATIONAL_DAY)
    return dict(sorted(days.items()))
