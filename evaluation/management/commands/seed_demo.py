"""Fill a hall with a year of realistic history: bookings, changes, no-shows and follow-ups,
duties and check-ins, complaints, ratings with bad-review cases, improvement actions.

Why: the supervisors' dashboard (DB1403/T 7.4, 8) must be tried, and measured, on the volume a
city hall has after a year — ``load_demo``'s week of bookings shows every state but says nothing
about speed. The services are built for one booking at a time (locks, messages, history), so
the history here is written directly with ``bulk_create`` in batches: 250 000 bookings take a
few minutes on SQLite. The rows obey the models' constraints and the rules' shapes (online
bookings wait for confirmation; no-shows get a follow-up 30 min after the start; changes are
told mostly 8 h ahead, some late, some as emergencies; about 60 % of services are rated, about
5 % badly, each bad rating with its case), but they are not a record of real events.

Deterministic: the same ``--seed`` and the same day give the same data. Refuses to run twice
on a hall (the seeded bookings' references start with ``SD``); the organisation (halls,
departments, windows, staff) comes from ``load_demo`` when it is missing.
"""

import datetime as dt
import random
import time
from collections import defaultdict

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from appointments.models import (
    Appointment,
    ChangeRequest,
    Channel,
    ContactMethod,
    Matter,
    NoShowFollowUp,
    Status,
)
from complaints.models import Complaint, ComplaintCategory, ComplaintChannel, ComplaintState
from duty.calendar import days_info
from duty.models import DayType, Duty, DutyAssignment, Hall, HolidayYear, ServicePeriod, Window
from duty.roles import Role
from duty.rosters import off_hours_periods
from duty.services import HolidayDataMissing, holiday_year_import
from evaluation.models import (
    BadReviewCase,
    DashboardSummaryState,
    ImprovementAction,
    Rating,
    RatingSource,
)

PREFIX = "SD"
# Seeded references are SD + eight digits: ten characters, never a real booking's (eight
# characters of REFERENCE_ALPHABET, which may well start with "SD").
SEEDED_REFERENCE = rf"^{PREFIX}[0-9]{{8}}$"
BATCH = 5000
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"  # noqa: E501
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红鹏飞鑫宇浩然思雨欣怡子轩梓涵"
# Mobile number blocks in use (a made-up 179… or 154… number is no valid number: the complaint
# and booking forms would refuse it), followed by eight random digits.
MOBILE_PREFIXES = (
    *(f"13{d}" for d in range(10)),
    *("150", "151", "152", "153", "155", "156", "157", "158", "159"),
    *("177", "178"),
    *(f"18{d}" for d in range(10)),
)


def _weighted(rng, table):
    """Pick a key of {key: weight}."""
    return rng.choices(list(table), weights=list(table.values()))[0]


class Command(BaseCommand):
    help = "Fill a hall with a year of realistic history for the dashboard (bulk, deterministic)."

    def add_arguments(self, parser):
        parser.add_argument("--bookings", type=int, default=250_000)
        parser.add_argument("--hall", default="yangquan-city", help="the hall's code")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--days", type=int, default=365, help="how far back (days)")

    def handle(self, *args, bookings, hall, seed, days, **options):
        if bookings < 1 or days < 7:
            raise CommandError("--bookings must be at least 1 and --days at least 7.")
        started = time.monotonic()
        if not Hall.objects.filter(code=hall).exists():
            if hall != "yangquan-city":
                raise CommandError(f"No hall with code {hall!r}.")
            call_command("load_demo", stdout=self.stdout)
        self.hall = Hall.objects.get(code=hall)
        if Appointment.objects.filter(
            window__hall=self.hall, reference__regex=SEEDED_REFERENCE
        ).exists():
            raise CommandError(
                f"{self.hall} is already seeded (bookings {PREFIX}…): seed an empty database, "
                "or another hall with --hall."
            )
        self.rng = random.Random(seed)
        self.today = timezone.localdate()
        self.first = self.today - dt.timedelta(days=days)
        self.last = self.today - dt.timedelta(days=1)
        for year in range(self.first.year, self.last.year + 1):
            if not HolidayYear.objects.filter(year=year).exists():
                try:
                    holiday_year_import(year=year)
                except HolidayDataMissing:
                    self.stderr.write(f"No holiday data for {year}: its holidays are weekdays.")
        self.prepare()
        with transaction.atomic():
            self.seed_duties()
            made = 0
            while made < bookings:
                n = min(BATCH, bookings - made)
                self.seed_batch(made, n)
                made += n
                self.stdout.write(f"  {made} bookings …")
            self.seed_actions()
            # Written in bulk (no signals, no stale marks): the hall's dashboard summary is set
            # aside, counted from the records until the sweep makes it anew.
            DashboardSummaryState.objects.filter(hall=self.hall).delete()
        self.stdout.write(
            self.style.SUCCESS(
                f"Seeded {bookings} bookings from {self.first} to {self.last} in {self.hall} "
                f"({time.monotonic() - started:.0f} s)."
            )
        )

    # --- what the hall has ----------------------------------------------------------------

    def prepare(self):
        User = get_user_model()
        self.windows = list(Window.objects.filter(hall=self.hall, is_active=True))
        if not self.windows:
            raise CommandError(f"{self.hall} has no window.")
        self.matters = list(
            Matter.objects.filter(hall=self.hall, is_active=True).prefetch_related(
                "windows", "departments"
            )
        )
        if not self.matters:
            raise CommandError(f"{self.hall} has no matter.")
        staff = list(User.objects.filter(staff_profile__hall=self.hall, is_active=True))
        by_role = defaultdict(list)
        for user in User.objects.filter(staff_profile__hall=self.hall).prefetch_related("groups"):
            for group in user.groups.all():
                by_role[group.name].append(user)
        self.staff = staff
        self.desk = (by_role[Role.DESK] or staff)[0]
        self.supervisor = (by_role[Role.SUPERVISOR] or by_role[Role.ADMINISTRATOR] or staff)[0]
        self.window_staff = defaultdict(list)
        for user in User.objects.filter(
            staff_profile__hall=self.hall, staff_profile__window__isnull=False
        ).select_related("staff_profile"):
            self.window_staff[user.staff_profile.window_id].append(user)
        self.days = days_info(self.first, self.last)
        tz = timezone.get_default_timezone()
        periods = defaultdict(list)
        for p in ServicePeriod.objects.filter(hall=self.hall):
            periods[(p.day_type, p.kind)].append((p.start, p.end))
        # Candidate times: (day, start, is_no_rest_only), by kind of time.
        self.times = defaultdict(list)
        for day, info in self.days.items():
            if info.day_type == DayType.WORKDAY:
                kinds = [
                    ("working", ServicePeriod.Kind.REGULAR),
                    ("off", ServicePeriod.Kind.NO_REST),
                ]
            else:
                kinds = [(info.day_type, ServicePeriod.Kind.NO_REST)]
            for label, kind in kinds:
                for start, end in periods[(info.day_type, kind)]:
                    moment = dt.datetime.combine(day, start, tzinfo=tz)
                    stop = dt.datetime.combine(day, end, tzinfo=tz)
                    while moment < stop:
                        self.times[label].append(moment)
                        moment += dt.timedelta(minutes=30)
        self.time_weights = {"working": 60, "off": 24, DayType.WEEKEND: 13, DayType.HOLIDAY: 3}
        self.time_weights = {k: w for k, w in self.time_weights.items() if self.times[k]}
        self.workdays_after = self._workdays_after()

    def _workdays_after(self):
        """date → the dates 1..15 working days later (deadlines without a query per row)."""
        extra = days_info(self.last + dt.timedelta(days=1), self.last + dt.timedelta(days=40))
        ordered = sorted({**self.days, **extra}.items())
        workdays = [d for d, info in ordered if info.is_workday]
        result = {}
        index = 0
        for day, _info in ordered:
            while index < len(workdays) and workdays[index] <= day:
                index += 1
            result[day] = workdays[index : index + 15]
        return result

    def add_workdays(self, day: dt.date, n: int) -> dt.date:
        later = self.workdays_after.get(day) or []
        return later[n - 1] if len(later) >= n else day + dt.timedelta(days=n + n // 5 * 2)

    # --- rosters and check-ins (DB1403/T 5.2, 6.2.1) ----------------------------------------

    def seed_duties(self):
        """A duty with one person in every off-hours period of the past year at each no-rest
        window (about 1 % left empty: roster gaps), 4 % of check-ins late."""
        rng = self.rng
        no_rest = [w for w in self.windows if w.is_no_rest]
        periods = off_hours_periods(
            hall_ids=[self.hall.pk], start_date=self.first, end_date=self.last
        )[self.hall.pk]
        existing = set(
            Duty.objects.filter(
                window__in=no_rest, date__gte=self.first, date__lte=self.last
            ).values_list("window_id", "start")
        )
        duties = []
        for window in no_rest:
            for p in periods:
                if p.is_holiday and rng.random() > 0.3:
                    continue
                if (window.pk, p.start) in existing or rng.random() < 0.01:
                    continue
                duties.append(
                    Duty(window=window, date=p.date, start=p.start, end=p.end, head=window.head)
                )
        Duty.objects.bulk_create(duties, batch_size=BATCH)
        created = Duty.objects.filter(
            window__in=no_rest, date__gte=self.first, date__lte=self.last
        ).exclude(assignments__isnull=False)
        assignments = []
        for duty in created.values("pk", "window_id", "start", "end"):
            people = self.window_staff.get(duty["window_id"]) or [
                w.head for w in no_rest if w.pk == duty["window_id"] and w.head
            ]
            if not people:
                continue
            late = rng.random() < 0.04
            checked_in = duty["start"] + dt.timedelta(
                minutes=rng.randint(3, 25) if late else -rng.randint(0, 15)
            )
            assignments.append(
                DutyAssignment(
                    duty_id=duty["pk"],
                    staff=rng.choice(people),
                    is_receiving=True,
                    checked_in_at=checked_in,
                    checked_out_at=duty["end"],
                    is_late=late,
                )
            )
        DutyAssignment.objects.bulk_create(assignments, batch_size=BATCH)
        self.stdout.write(f"  {len(duties)} duties, {len(assignments)} assignments")

    # --- bookings and what follows from them ------------------------------------------------

    def seed_batch(self, offset: int, n: int):
        rng = self.rng
        rows = []
        for i in range(offset, offset + n):
            kind = _weighted(rng, self.time_weights)
            start = rng.choice(self.times[kind])
            matter = rng.choice(self.matters)
            windows = [w for w in matter.windows.all() if w.is_active]
            if kind != "working":
                windows = [w for w in windows if w.is_no_rest] or [
                    w for w in self.windows if w.is_no_rest
                ]
            window = rng.choice(windows or self.windows)
            channel = _weighted(rng, {Channel.ONLINE: 45, Channel.ONSITE: 30, Channel.PHONE: 25})
            status = _weighted(rng, {Status.SERVED: 84, Status.NO_SHOW: 6, Status.CANCELLED: 10})
            created = start - dt.timedelta(days=1, hours=rng.randint(1, 24 * 14))
            if channel == Channel.ONLINE:
                accepted = created + dt.timedelta(minutes=int(rng.lognormvariate(5.0, 1.1)))
                accepted = min(accepted, start - dt.timedelta(hours=1))
            else:
                accepted = created
            # About 3 % served after the hour the service may take (SERVED_ON_TIME_MINUTES).
            late_by = rng.randint(61, 120) if rng.random() < 0.03 else rng.randint(3, 45)
            served = start + dt.timedelta(minutes=late_by) if status == "served" else None
            cancelled = (
                start - dt.timedelta(hours=rng.randint(9, 72)) if status == "cancelled" else None
            )
            staff = self.window_staff.get(window.pk) or [window.head or self.desk]
            rows.append(
                Appointment(
                    reference=f"{PREFIX}{i:08d}",
                    channel=channel,
                    status=status,
                    matter=matter,
                    window=window,
                    start=start,
                    end=start + dt.timedelta(minutes=30),
                    applicant_name=rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, 2)),
                    phone=f"+86{rng.choice(MOBILE_PREFIXES)}{rng.randint(0, 99_999_999):08d}",
                    content=matter.name,
                    created_at=created,
                    accepted_at=accepted,
                    received_by=self.desk if channel != Channel.ONLINE else None,
                    window_head=window.head,
                    responsible_staff=rng.choice(staff),
                    arrived_at=start - dt.timedelta(minutes=rng.randint(0, 10)) if served else None,
                    served_at=served,
                    cancelled_at=cancelled,
                    cancel_reason="申请人取消" if cancelled else "",
                )
            )
        made = Appointment.objects.bulk_create(rows, batch_size=BATCH)
        self.seed_consequences(made)

    def seed_consequences(self, bookings):
        rng = self.rng
        follow_ups, changes, ratings, complaints = [], [], [], []
        for b in bookings:
            if b.status == Status.NO_SHOW:
                due = b.start + dt.timedelta(minutes=30)
                roll = rng.random()
                # Mostly recorded within NO_SHOW_FOLLOW_UP_RECORD_MINUTES (30), some late, a few
                # never.
                recorded = (
                    None
                    if roll < 0.02
                    else due + dt.timedelta(minutes=rng.randint(45, 600))
                    if roll < 0.10
                    else due + dt.timedelta(minutes=rng.randint(1, 28))
                )
                follow_ups.append(
                    NoShowFollowUp(
                        appointment=b,
                        slot_start=b.start,
                        due_at=due,
                        opened_at=due,
                        assigned_to=b.responsible_staff,
                        outcome=rng.choice(["gave_up", "rescheduled", "unreachable"])
                        if recorded
                        else "",
                        recorded_at=recorded,
                        recorded_by=b.responsible_staff if recorded else None,
                    )
                )
            if b.status != Status.CANCELLED and rng.random() < 0.02:
                late = rng.random() < 0.12
                notified = b.start - dt.timedelta(
                    hours=rng.randint(2, 7) if late else rng.randint(9, 96)
                )
                emergency = late and rng.random() < 0.4
                changes.append(
                    ChangeRequest(
                        appointment=b,
                        state=ChangeRequest.State.APPLIED,
                        original_start=b.start,
                        original_window=b.window,
                        new_start=b.start,
                        new_window=b.window,
                        reason="窗口系统升级",
                        requested_by=b.responsible_staff,
                        requested_at=notified - dt.timedelta(hours=2),
                        decided_by=self.supervisor,
                        decided_at=notified - dt.timedelta(hours=1),
                        is_emergency=emergency,
                        emergency_reason="突发停电" if emergency else "",
                        notified_at=notified,
                        notice_method=ContactMethod.PHONE,
                    )
                )
            if b.status == Status.SERVED and rng.random() < 0.6:
                level = _weighted(rng, {5: 60, 4: 25, 3: 10, 2: 3, 1: 2})
                source = _weighted(
                    rng,
                    {
                        RatingSource.SMS_LINK: 60,
                        RatingSource.WINDOW_QR: 20,
                        RatingSource.MY_BOOKING: 10,
                        RatingSource.PAPER: 10,
                    },
                )
                ratings.append(
                    Rating(
                        appointment=b,
                        hall_id=self.hall.pk,
                        window=b.window,
                        department=b.matter.departments.all()[0]
                        if b.matter.departments.all()
                        else None,
                        staff=b.responsible_staff,
                        overall=level,
                        efficiency=max(1, min(5, level + rng.choice((-1, 0, 0, 1)))),
                        service_level=level,
                        attitude=max(1, min(5, level + rng.choice((0, 0, 1)))),
                        comment="" if level > 2 else "等候时间太长",
                        source=source,
                        entered_by=self.desk if source == RatingSource.PAPER else None,
                        rated_at=b.served_at + dt.timedelta(minutes=rng.randint(1, 60 * 48)),
                        excluded=(excluded := level <= 2 and rng.random() < 0.05),
                        excluded_reason="申诉复核：误评" if excluded else "",
                    )
                )
            if rng.random() < 0.002:
                complaints.append(self.complaint(b))
        NoShowFollowUp.objects.bulk_create(follow_ups, batch_size=BATCH)
        ChangeRequest.objects.bulk_create(changes, batch_size=BATCH)
        Complaint.objects.bulk_create(complaints, batch_size=BATCH)
        made = Rating.objects.bulk_create(ratings, batch_size=BATCH)
        cases = []
        for rating in made:
            if rating.overall > 2:
                continue
            opened = timezone.localdate(rating.rated_at)
            rectify_due = self.add_workdays(opened, 5)
            roll = rng.random()
            rectified = None
            if roll < 0.85:
                rectified = rating.rated_at + dt.timedelta(days=rng.randint(1, 6))
            elif roll < 0.95:
                rectified = rating.rated_at + dt.timedelta(days=rng.randint(9, 20))
            if rectified and rectified.date() >= self.today:
                rectified = None
            # A case is coherent: contacted before it is rectified, nothing in the future.
            contacted = rating.rated_at + dt.timedelta(hours=rng.randint(1, 20))
            if timezone.localdate(contacted) >= self.today:
                contacted = None
            if rectified:
                state = BadReviewCase.State.CLOSED
            elif contacted:
                state = BadReviewCase.State.CONTACTED
            else:
                state = BadReviewCase.State.OPEN
            cases.append(
                BadReviewCase(
                    rating=rating,
                    state=state,
                    opened_at=rating.rated_at,
                    handler=rating.window.head,
                    contact_due=self.add_workdays(opened, 1),
                    rectify_due=rectify_due,
                    contacted_at=contacted,
                    verified=True if contacted else None,
                    contact_note="评价人反映等候时间较长。" if contacted else "",
                    rectified_at=rectified,
                    rectification="已提醒窗口人员改进服务" if rectified else "",
                    replied_at=rectified,
                    reply_text="感谢您的评价，已整改。" if rectified else "",
                )
            )
        BadReviewCase.objects.bulk_create(cases, batch_size=BATCH)
        self.bad_cases = getattr(self, "bad_cases", 0) + len(cases)

    def complaint(self, b):
        rng = self.rng
        received = b.start + dt.timedelta(hours=rng.randint(1, 48))
        day = timezone.localdate(received)
        state = _weighted(
            self.rng,
            {
                ComplaintState.ARCHIVED: 60,
                ComplaintState.REPLIED: 15,
                ComplaintState.ACCEPTED: 10,
                ComplaintState.REGISTERED: 8,
                ComplaintState.NOT_ACCEPTED: 7,
            },
        )
        accepted = state not in (ComplaintState.REGISTERED, ComplaintState.NOT_ACCEPTED)
        from complaints.models import RefusalReason, new_tracking_number

        return Complaint(
            tracking_number=new_tracking_number(),
            hall_id=self.hall.pk,
            channel=rng.choice(
                [ComplaintChannel.ON_SITE, ComplaintChannel.PHONE, ComplaintChannel.HOTLINE_12345]
            ),
            category=rng.choice(list(ComplaintCategory.values)),
            window=b.window,
            department=b.matter.departments.all()[0] if b.matter.departments.all() else None,
            appointment=b,
            complainant_name=b.applicant_name,
            complainant_phone=b.phone,
            text="办理时间过长，窗口人员态度不好。",
            state=state,
            received_at=received,
            registered_by=self.desk,
            accept_due=self.add_workdays(day, 1),
            reply_due=self.add_workdays(day, 3) if accepted else None,
            accepted_at=received + dt.timedelta(hours=2) if accepted else None,
            refusal_reason=RefusalReason.DUPLICATE if state == ComplaintState.NOT_ACCEPTED else "",
            substantiated=rng.random() < 0.4 if accepted else None,
            replied_at=received + dt.timedelta(days=2)
            if state in (ComplaintState.REPLIED, ComplaintState.ARCHIVED)
            else None,
            reply_method="phone"
            if state in (ComplaintState.REPLIED, ComplaintState.ARCHIVED)
            else "",
            archived_at=received + dt.timedelta(days=5)
            if state == ComplaintState.ARCHIVED
            else None,
        )

    def seed_actions(self):
        """Improvement actions (DB1403/T 8.3): one for about every 20 bad reviews, linked to
        them; most done, some open, some overdue."""
        rng = self.rng
        cases = list(
            BadReviewCase.objects.filter(rating__hall=self.hall)
            .select_related("rating__window")
            .order_by("pk")[::20]
        )
        owners = [w.head for w in self.windows if w.head] or [self.supervisor]
        actions = []
        for case in cases:
            created = case.opened_at + dt.timedelta(days=2)
            due = timezone.localdate(created) + dt.timedelta(days=rng.randint(10, 45))
            state = _weighted(rng, {"done": 70, "in_progress": 15, "open": 10, "cancelled": 5})
            if due >= self.today and state == "done":
                state = "in_progress"
            actions.append(
                ImprovementAction(
                    hall=self.hall,
                    window=case.rating.window,
                    title="针对差评整改：缩短等候时间",
                    owner=rng.choice(owners),
                    due=due,
                    state=state,
                    created_by=self.supervisor,
                    created_at=created,
                    completed_at=created + dt.timedelta(days=7) if state == "done" else None,
                    outcome="已调整窗口排班" if state == "done" else "",
                )
            )
        made = ImprovementAction.objects.bulk_create(actions, batch_size=BATCH)
        through = ImprovementAction.bad_reviews.through
        through.objects.bulk_create(
            [
                through(improvementaction_id=a.pk, badreviewcase_id=c.pk)
                for a, c in zip(made, cases, strict=True)
            ],
            batch_size=BATCH,
        )
        self.stdout.write(f"  {len(made)} improvement actions")
