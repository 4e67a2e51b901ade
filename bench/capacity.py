"""The capacity model of docs/SCALE.md: a province's peak, priced with the measured costs.

Run with `make capacity` (or `.venv/bin/python bench/capacity.py`). It needs no database: the
inputs are the assumptions about a province (ASSUMED, each with where it comes from) and the
per-request costs measured by the benchmarks (MEASURED, from docs/PERFORMANCE.md). Change
either and run it again; it prints the tables that docs/SCALE.md shows.

A cost is in core-milliseconds per request, everything included (gunicorn, Django, PostgreSQL,
Redis on the same cores): the benchmark machine's cores divided by the throughput it reached
with the cores saturated. That overstates a web process's share (the database ran on the same
cores) and so errs on the side of more processes.
"""

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Province:
    """What is assumed about the province (docs/SCALE.md, "Assumptions", gives the reasons)."""

    cities: int = 11
    city_halls: int = 11
    county_halls: int = 119
    # Visits a day to a city hall and to a county hall, and the share of visits booked ahead.
    city_hall_visits_per_day: int = 1_500
    county_hall_visits_per_day: int = 300
    booked_share: float = 0.30
    # Text messages per booking: code (online only), registration or confirmation, reminder,
    # rating link; a change or a no-show follow-up now and then.
    sms_per_booking: float = 3.4
    # The busiest minutes: when a day's places open (放号), the share of a day's bookings made
    # in the first PEAK_MINUTES, and how often a person waiting for a place asks again.
    peak_minutes: int = 10
    peak_share_of_day_bookings: float = 0.40
    lookers_at_peak: int = 20_000
    # Matters a hall offers for booking, and the distinct weeks people ask about (the horizon is
    # 60 days: about 9 weeks, asked from any day).
    matters_per_hall: int = 60
    horizon_days: int = 60
    seconds_between_looks: float = 5.0
    # Failed attempts (409: someone else was faster) per booking made, at the peak.
    attempts_per_booking: float = 2.0
    # Bookings kept in the table: the retention period before anonymising (they stay counted).
    retention_years: float = 3.0
    working_days_per_year: int = 250


@dataclass(frozen=True)
class Measured:
    """Throughputs of `make bench-load-pg` (docs/PERFORMANCE.md, issue 19's quiet run) and sizes
    read off the benchmark databases."""

    bench_cores: int = 2
    healthz_per_second: float = 3_430.0
    availability_per_second: float = 1_785.0  # random weeks over the next 50 days
    bookings_per_second: float = 83.0
    # Bytes per booking in PostgreSQL with its indexes, ratings, history and the rest of the
    # database (bench-dashboard-pg: 210 MB for 250 000 bookings).
    bytes_per_booking: int = 850
    # One cached availability piece (a matter's day at 6 windows, ~100 slots of JSON).
    piece_bytes: int = 9_000
    # A rate-limit counter in Redis (key, value, expiry, Redis's own overhead).
    rate_limit_key_bytes: int = 120

    def cost_ms(self, per_second: float) -> float:
        """Core-milliseconds per request, everything on the benchmark machine included."""
        return self.bench_cores * 1000 / per_second


@dataclass(frozen=True)
class Deployment:
    """How the processes are shaped (deploy/: gunicorn gthread, django-q2 workers)."""

    threads_per_web_process: int = 4
    target_utilisation: float = 0.6
    cores_per_web_machine: int = 8
    worker_processes_per_cluster: int = 4
    sms_sends_per_worker_process_per_second: float = 5.0  # one HTTPS call of ~200 ms each


def bookings_per_day(p: Province) -> float:
    visits = p.city_halls * p.city_hall_visits_per_day + p.county_halls * (
        p.county_hall_visits_per_day
    )
    return visits * p.booked_share


def peak_load(p: Province) -> dict[str, float]:
    looks = p.lookers_at_peak / p.seconds_between_looks
    bookings = bookings_per_day(p) * p.peak_share_of_day_bookings / (p.peak_minutes * 60)
    return {"availability": looks, "booking": bookings * (1 + p.attempts_per_booking)}


def web_cores(p: Province, m: Measured, d: Deployment) -> dict[str, float]:
    load = peak_load(p)
    core_seconds = (
        load["availability"] * m.cost_ms(m.availability_per_second) / 1000
        + load["booking"] * m.cost_ms(m.bookings_per_second) / 1000
    )
    return {"core_seconds_per_second": core_seconds, "cores": core_seconds / d.target_utilisation}


def report(p: Province, m: Measured, d: Deployment) -> str:
    per_day = bookings_per_day(p)
    load = peak_load(p)
    cores = web_cores(p, m, d)
    machines = math.ceil(cores["cores"] / d.cores_per_web_machine)
    web_processes = machines * d.cores_per_web_machine  # one gunicorn process per core
    connections = web_processes * d.threads_per_web_process
    rows = per_day * p.working_days_per_year * p.retention_years
    sms_per_day = per_day * p.sms_per_booking
    sms_peak_per_second = load["booking"] / (1 + p.attempts_per_booking) * 2  # code + notice
    # Pieces live PIECE_SECONDS (60 s): at most every (hall, matter, day) asked within a minute.
    pieces = (p.city_halls + p.county_halls) * p.matters_per_hall * p.horizon_days
    redis_mb = (pieces * m.piece_bytes + p.lookers_at_peak * 3 * m.rate_limit_key_bytes) / 1e6
    sms_workers = math.ceil(sms_peak_per_second / d.sms_sends_per_worker_process_per_second)
    look_ms = m.cost_ms(m.availability_per_second)
    booking_ms = m.cost_ms(m.bookings_per_second)
    lines = [
        "| quantity | value |",
        "|---|---:|",
        f"| bookings a day (province) | {per_day:,.0f} |",
        f"| availability requests a second at the peak | {load['availability']:,.0f} |",
        f"| booking requests a second at the peak (with 409s) | {load['booking']:,.1f} |",
        f"| cost of an availability answer (core-ms) | {look_ms:.2f} |",
        f"| cost of a booking (core-ms) | {booking_ms:.2f} |",
        f"| cores busy at the peak | {cores['core_seconds_per_second']:,.1f} |",
        f"| cores to provision at {d.target_utilisation:.0%} | {cores['cores']:,.1f} |",
        f"| web machines of {d.cores_per_web_machine} cores | {machines} |",
        f"| web processes (one per core, {d.threads_per_web_process} threads) | {web_processes} |",
        f"| database connections from web processes | {connections} |",
        f"| bookings kept ({p.retention_years:g} years) | {rows:,.0f} |",
        f"| their size in PostgreSQL with indexes (GB) | {rows * m.bytes_per_booking / 1e9:,.1f} |",
        f"| Redis memory if every piece of every hall were cached at once (MB) | {redis_mb:,.0f} |",
        f"| text messages a day | {sms_per_day:,.0f} |",
        f"| text messages a second at the peak | {sms_peak_per_second:,.1f} |",
        f"| worker processes sending them | {sms_workers} |",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(Province(), Measured(), Deployment()))
