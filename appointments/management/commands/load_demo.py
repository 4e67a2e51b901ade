"""Load a demo city hall, its staff, a week of bookings in every state and five weeks of
rosters with their check-ins: a hall that mostly works, with a few problems to find (a late
check-in now and then, two absences, three periods nobody was planned for).

Why: ``make run`` must show a working console on a fresh machine. The bookings are made through
the same service functions as real ones, each with the ``now`` it would have had, so the demo also
shows the rules at work. Loaded once: a second run changes nothing and prints the logins again.
"""

import datetime as dt

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from appointments import services
from appointments.models import ChangeRequest, Channel, ContactMethod, Matter, NoShowFollowUp
from appointments.slots import window_slots
from duty.attendance import duty_absences_record, duty_check_in, duty_check_out
from duty.models import DayType, Department, DutyAssignment, Hall, HolidayYear, StaffProfile, Window
from duty.rosters import CellPlan, off_hours_periods, roster_plan
from duty.services import HolidayDataMissing, hall_calendar_set_defaults, holiday_year_import

CITY_HALL = "yangquan-city"
USERS = [
    # username, full name, role, window number (or None), hall code
    ("desk", "王敏", "desk", None, CITY_HALL),
    ("window", "李强", "window_staff", "A01", CITY_HALL),
    ("window2", "孙丽", "window_staff", "C01", CITY_HALL),
    ("window3", "吴刚", "window_staff", "B01", CITY_HALL),
    ("window4", "郑洁", "window_staff", "D01", CITY_HALL),
    ("head", "张华", "window_head", "A01", CITY_HALL),
    ("approver", "刘洋", "agency_approver", None, CITY_HALL),
    ("supervisor", "陈静", "supervisor", None, CITY_HALL),
    ("admin", "赵磊", "administrator", None, CITY_HALL),
    ("jiaoqu-desk", "周婷", "desk", None, "jiaoqu"),
]
DEPARTMENTS = ["市场监督管理局", "税务局", "不动产登记中心", "人力资源和社会保障局"]
WINDOWS = [
    # number, name, departments, no-rest
    ("A01", "市场主体登记", ["市场监督管理局"], True),
    ("A02", "食品经营许可", ["市场监督管理局"], False),
    ("B01", "税务综合服务", ["税务局"], True),
    ("C01", "不动产登记", ["不动产登记中心"], True),
    ("C02", "不动产抵押登记", ["不动产登记中心"], False),
    ("D01", "社会保险综合服务", ["人力资源和社会保障局"], True),
]
MATTERS = [
    (
        "个体工商户设立登记",
        ["市场监督管理局"],
        ["A01"],
        "经营者身份证原件\n经营场所使用证明（房产证复印件或租赁合同）\n"
        "个体工商户登记（备案）申请书\n委托他人办理的，提交委托书及代理人身份证原件",
        "名称可先在网上自主申报；经营范围涉及许可的，领照后另行申请许可。",
    ),
    (
        "食品经营许可证核发",
        ["市场监督管理局"],
        ["A01", "A02"],
        "食品经营许可申请书\n营业执照复印件\n与食品经营相适应的主要设备设施布局、操作流程等文件\n"
        "食品安全管理制度文本\n法定代表人（负责人）身份证复印件",
        "仅从事预包装食品销售的，办理备案即可。",
    ),
    (
        "增值税发票申领",
        ["税务局"],
        ["B01"],
        "营业执照副本\n经办人身份证原件\n发票专用章\n税控设备（如已领用）",
        "首次申领须已完成税务信息确认和实名认证。",
    ),
    (
        "不动产转移登记（二手房买卖）",
        ["不动产登记中心", "税务局"],
        ["C01", "B01"],
        "买卖双方身份证原件及户口簿\n不动产权证书原件\n房屋买卖合同\n"
        "婚姻状况证明（结婚证或单身声明）\n完税凭证（契税、增值税等，现场可并联办理）",
        "买卖双方须同时到场；委托办理的须提供公证委托书。",
    ),
    (
        "不动产抵押登记",
        ["不动产登记中心"],
        ["C01", "C02"],
        "不动产权证书原件\n主债权合同及抵押合同\n抵押人、抵押权人身份证明\n银行授权委托书",
        "",
    ),
    (
        "社会保障卡补换",
        ["人力资源和社会保障局"],
        ["D01"],
        "本人身份证原件\n近期免冠彩色证件照一张（现场可免费拍摄）",
        "补卡后原卡立即失效；本地银行网点亦可即时制卡。",
    ),
    (
        "灵活就业人员社会保险参保登记",
        ["人力资源和社会保障局"],
        ["D01"],
        "本人身份证原件\n户口簿（外地户籍提供居住证）\n银行卡（用于代扣缴费）",
        "",
    ),
]


class Command(BaseCommand):
    help = "Load demo halls, staff and a week of bookings (once)."

    def handle(self, *args, **options):
        if Hall.objects.filter(code=CITY_HALL).exists():
            self.stdout.write("Demo data already loaded; nothing changed.")
        else:
            with transaction.atomic():
                self.load()
            self.stdout.write(self.style.SUCCESS("Demo data loaded."))
        self.print_logins()

    def print_logins(self):
        self.stdout.write("Demo logins (username / password):")
        for username, name, role, _window, hall in USERS:
            self.stdout.write(f"  {username:<12} / {username}-demo   {name} · {role} · {hall}")

    # --- organisation ---------------------------------------------------------------------

    def load(self):
        self.now = timezone.now()
        for year in (2025, 2026):
            if not HolidayYear.objects.filter(year=year).exists():
                try:
                    holiday_year_import(year=year)
                except HolidayDataMissing:
                    self.stderr.write(f"No holiday data for {year}.")
        city = Hall.objects.create(
            name="阳泉市政务服务中心",
            code=CITY_HALL,
            is_city_hall=True,
            address="阳泉市城区桃北中路",
            phone="0353-12345",
        )
        district = Hall.objects.create(
            name="阳泉市郊区政务服务中心", code="jiaoqu", address="阳泉市郊区", phone="0353-2345678"
        )
        for hall in (city, district):
            hall_calendar_set_defaults(hall=hall)
        departments = {
            name: Department.objects.create(hall=city, name=name) for name in DEPARTMENTS
        }
        Department.objects.create(hall=district, name="市场监督管理局")
        self.windows = {}
        for number, name, deps, no_rest in WINDOWS:
            window = Window.objects.create(hall=city, number=number, name=name, is_no_rest=no_rest)
            window.departments.set([departments[d] for d in deps])
            self.windows[number] = window
        self.matters = {}
        for name, deps, windows, materials, notes in MATTERS:
            matter = Matter.objects.create(hall=city, name=name, materials=materials, notes=notes)
            matter.departments.set([departments[d] for d in deps])
            matter.windows.set([self.windows[w] for w in windows])
            self.matters[name] = matter
        self.users = {}
        halls = {CITY_HALL: city, "jiaoqu": district}
        User = get_user_model()
        for username, full_name, role, window, hall in USERS:
            user = User.objects.create_user(
                username=username,
                password=f"{username}-demo",
                first_name=full_name,
                is_staff=True,
            )
            user.groups.add(Group.objects.get(name=role))
            StaffProfile.objects.create(
                user=user, hall=halls[hall], window=self.windows.get(window)
            )
            self.users[username] = User.objects.get(pk=user.pk)  # fresh permission cache
        for window in self.windows.values():
            window.head = self.users["head"]
            window.save(update_fields=["head"])
        self.load_rosters()
        self.load_bookings()
        self.load_check_ins()

    # --- rosters (DB1403/T 5.2) -----------------------------------------------------------

    # Who is on duty at each no-rest window: a two-week rotation at A01 (the staff member on
    # working days' rest periods one week, at the weekend the next; the head the other half),
    # one staff member at each of the others.
    ROTATION = {
        "A01": (("window", "head"), ("head", "window")),
        "B01": (("window3", "window3"), ("window3", "window3")),
        "C01": (("window2", "window2"), ("window2", "window2")),
        "D01": (("window4", "window4"), ("window4", "window4")),
    }

    # The few duties the head forgot to plan (window, days before today, period of the day): the
    # dashboard's "periods with nobody on duty" has something to find, not a month of them.
    UNPLANNED = (("C01", 4, -1), ("D01", 11, 0), ("B01", 17, -1))

    def load_rosters(self):
        """A standing rotation from the first day of last month to beyond the booking horizon,
        so the dashboard's 30 days and last month's assessment cover a planned roster, planned
        through roster_plan as the head would have planned it the day before; holidays
        (provisional ones of a year not entered yet included) stay by appointment."""
        today = timezone.localdate()
        last_month = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
        first = min(last_month, today - dt.timedelta(days=35))
        first -= dt.timedelta(days=first.weekday())
        last = today + dt.timedelta(days=settings.BOOKING_HORIZON_DAYS + 7)
        planned_at = timezone.make_aware(dt.datetime.combine(first, dt.time())) - dt.timedelta(
            days=1
        )
        head = self.users["head"]
        for number, weeks in self.ROTATION.items():
            window = self.windows[number]
            periods = off_hours_periods(hall_ids=[window.hall_id], start_date=first, end_date=last)
            unplanned = self._unplanned(number, periods[window.hall_id], today)
            cells = []
            for period in periods[window.hall_id]:
                if period.is_holiday or period.start in unplanned:
                    continue
                weekday_person, weekend_person = weeks[((period.date - first).days // 7) % 2]
                who = weekday_person if period.day_type == DayType.WORKDAY else weekend_person
                cells.append(CellPlan(start=period.start, staff=[self.users[who]]))
            roster_plan(
                window=window,
                start_date=first,
                end_date=last,
                cells=cells,
                actor=head,
                now=planned_at,
            )

    def _unplanned(self, number, periods, today) -> set:
        """The starts of the periods left out of window ``number``'s roster (``UNPLANNED``)."""
        starts = set()
        for window_number, days_ago, index in self.UNPLANNED:
            day = today - dt.timedelta(days=days_ago)
            of_day = [p for p in periods if p.date == day and not p.is_holiday]
            if window_number == number and of_day:
                starts.add(of_day[index].start)
        return starts

    def load_check_ins(self):
        """Check-ins of every duty begun (DB1403/T 6.2.1): nearly all on time, about one in
        twenty-five late, and two not at all — recorded absent by the sweep."""
        assignments = DutyAssignment.objects.filter(
            duty__window__in=self.windows.values(), duty__start__lt=self.now
        ).select_related("duty", "staff")
        for i, assignment in enumerate(assignments.order_by("duty__start", "duty__window")):
            if i in (23, 101):
                continue  # absent
            minutes = 7 if i % 25 == 12 else -5
            checked = duty_check_in(
                assignment=assignment,
                actor=assignment.staff,
                now=min(assignment.duty.start + dt.timedelta(minutes=minutes), self.now),
            )
            if assignment.duty.end <= self.now:
                duty_check_out(assignment=checked, actor=assignment.staff, now=assignment.duty.end)
        duty_absences_record(now=self.now, hall=self.windows["A01"].hall)

    # --- bookings -------------------------------------------------------------------------

    def slot(self, number, day_offset, index, off_hours=None):
        """The index-th slot of window ``number`` on today + day_offset, or None."""
        day = timezone.localdate() + dt.timedelta(days=day_offset)
        slots = window_slots(window=self.windows[number], start_date=day, end_date=day)
        if off_hours is not None:
            slots = [s for s in slots if s.is_off_hours == off_hours]
        return slots[index].start if index < len(slots) else None

    def past(self, moment):
        """A history stays in the past: events up to six hours before the real now."""
        return min(moment, self.now - dt.timedelta(hours=6))

    def register(self, number, matter, start, name, phone, channel=Channel.ONSITE, **kw):
        user = self.users["desk"]
        registered_at = kw.pop("now", self.past(start - dt.timedelta(days=3)))
        return services.appointment_register(
            matter=self.matters[matter],
            window=self.windows[number],
            start=start,
            applicant_name=name,
            phone=phone,
            channel=channel,
            actor=user,
            now=registered_at,
            content=kw.pop("content", matter),
            **kw,
        )

    def online(self, number, matter, start, name, phone):
        return services.appointment_book_online(
            matter=self.matters[matter],
            window=self.windows[number],
            start=start,
            applicant_name=name,
            phone=phone,
            now=self.past(start - dt.timedelta(days=4)),
            content=matter,
        )

    def last_evening(self):
        """19:30 of the latest day before the history's edge: the phone line is closed then."""
        edge = timezone.localtime(self.past(self.now))
        evening = edge.replace(hour=19, minute=30, second=0, microsecond=0)
        return evening if evening <= edge else evening - dt.timedelta(days=1)

    def hand_over(self, appt):
        at = appt.created_at + dt.timedelta(minutes=10)
        appt = services.appointment_hand_over(
            appointment=appt, contact_person=self.users["window"], actor=self.users["desk"], now=at
        )
        services.appointment_give_notice(
            appointment=appt,
            method=ContactMethod.PHONE,
            time_reconfirmed=True,
            actor=self.users["window"],
            now=at + dt.timedelta(minutes=15),
            outcome="申请人已知悉所需材料，确认按时到场。",
        )
        return appt

    def serve(self, appt, arrive_minutes=-5, serve_minutes=15):
        window = self.users["window"]
        appt = services.appointment_check_in(
            appointment=appt, actor=window, now=appt.start + dt.timedelta(minutes=arrive_minutes)
        )
        return services.appointment_serve(
            appointment=appt, actor=window, now=appt.start + dt.timedelta(minutes=serve_minutes)
        )

    def load_bookings(self):
        now = self.now
        people = iter(
            [
                ("张伟", "13800138001"),
                ("王芳", "13900139002"),
                ("李娜", "13700137003"),
                ("刘洋", "15000150004"),
                ("陈杰", "15100151005"),
                ("杨静", "18600186006"),
                ("赵磊", "18800188007"),
                ("黄敏", "13600136008"),
                ("周勇", "13500135009"),
                ("吴霞", "13300133010"),
                ("徐涛", "13200132011"),
                ("孙艳", "0353-2021012"),
                ("马超", "15800158013"),
                ("朱琳", "15900159014"),
                ("胡军", "18900189015"),
                ("郭蕾", "17700177016"),
                ("何平", "18100181017"),
                ("高峰", "18200182018"),
            ]
        )
        w = self.users["window"]

        # Served, in the past days: lunch-break, evening and weekend service.
        for offset, number, matter, idx, off in [
            (-3, "A01", "个体工商户设立登记", 0, True),
            (-2, "B01", "增值税发票申领", 1, True),
            (-1, "D01", "社会保障卡补换", 2, None),
        ]:
            start = self.slot(number, offset, idx, off)
            if start:
                name, phone = next(people)
                self.serve(self.hand_over(self.register(number, matter, start, name, phone)))

        # No-show: followed up 30 min later, the applicant gave up.
        start = self.slot("A01", -2, 0, None)
        name, phone = next(people)
        appt = self.hand_over(self.register("A01", "食品经营许可证核发", start, name, phone))
        follow_up = services.no_show_follow_up_open(
            appointment=appt, now=start + dt.timedelta(minutes=31)
        )
        services.no_show_follow_up_record(
            follow_up=follow_up,
            outcome=NoShowFollowUp.Outcome.GAVE_UP,
            method=ContactMethod.PHONE,
            actor=w,
            now=start + dt.timedelta(minutes=40),
            note="申请人临时有事，放弃本次预约。",
        )

        # Past bookings not yet arrived: the no-show follow-up is due.
        start = self.slot("C01", -1, 1, None)
        name, phone = next(people)
        self.hand_over(self.register("C01", "不动产抵押登记", start, name, phone))

        # Arrived and waiting: the latest slot already begun today (or yesterday's last one,
        # a service the window has not closed yet).
        d01 = self.windows["D01"]
        today = timezone.localdate()
        begun = [
            s.start
            for s in window_slots(
                window=d01, start_date=today - dt.timedelta(days=1), end_date=today
            )
            if s.start < now - dt.timedelta(minutes=5)
        ]
        name, phone = next(people)
        appt = self.hand_over(
            self.register("D01", "灵活就业人员社会保险参保登记", begun[-1], name, phone)
        )
        services.appointment_check_in(appointment=appt, actor=w, now=begun[-1])

        # Future: online bookings waiting for confirmation, one confirmed.
        for offset, number, matter, idx in [
            (2, "A01", "个体工商户设立登记", 0),
            (3, "D01", "社会保障卡补换", 1),
            (4, "B01", "增值税发票申领", 2),
        ]:
            start = self.slot(number, offset, idx, True)
            if start:
                name, phone = next(people)
                appt = self.online(number, matter, start, name, phone)
        services.appointment_confirm(
            appointment=appt,
            method=ContactMethod.SMS,
            actor=w,
            now=appt.created_at + dt.timedelta(hours=1),
            note="短信确认，申请人回复确认。",
        )

        # Future: desk registrations, accepted and handed over; a phone booking taken after hours.
        start = self.slot("C01", 2, 2, True)
        name, phone = next(people)
        self.register("C01", "不动产转移登记（二手房买卖）", start, name, phone)
        start = self.slot("C01", 3, 0, True)
        name, phone = next(people)
        self.hand_over(self.register("C01", "不动产抵押登记", start, name, phone))
        start = self.slot("A01", 4, 1, True)
        name, phone = next(people)
        self.register(
            "A01",
            "食品经营许可证核发",
            start,
            name,
            phone,
            channel=Channel.PHONE,
            now=self.last_evening(),
            remarks="下班后来电登记",
        )
        # A short-notice registration with its reason (5.1.1).
        soon = [
            s.start
            for s in window_slots(
                window=self.windows["D01"], start_date=today, end_date=today + dt.timedelta(days=1)
            )
            if now + dt.timedelta(hours=1) < s.start <= now + dt.timedelta(hours=20)
        ]
        if soon:
            name, phone = next(people)
            self.register(
                "D01",
                "社会保障卡补换",
                soon[0],
                name,
                phone,
                now=soon[0] - dt.timedelta(hours=20),
                short_notice_reason="社保卡遗失，次日需就医结算。",
            )

        # Changes (6.2.2): one waiting for approval, one approved, one applied.
        for state in ("requested", "approved", "applied"):
            start = self.slot("B01", 5, {"requested": 0, "approved": 1, "applied": 2}[state], True)
            new_start = self.slot(
                "B01", 6, {"requested": 0, "approved": 1, "applied": 2}[state], True
            )
            if not (start and new_start):
                continue
            name, phone = next(people)
            appt = self.register("B01", "增值税发票申领", start, name, phone)
            change = services.change_request_create(
                appointment=appt,
                new_start=new_start,
                reason="窗口税控系统升级，需顺延一天。",
                actor=w,
                now=appt.created_at + dt.timedelta(hours=1),
            )
            if state in ("approved", "applied"):
                change = services.change_request_approve(
                    change=change,
                    actor=self.users["approver"],
                    now=change.requested_at + dt.timedelta(hours=1),
                )
            if state == "applied":
                services.change_request_notify_and_apply(
                    change=ChangeRequest.objects.get(pk=change.pk),
                    method=ContactMethod.PHONE,
                    actor=w,
                    now=change.decided_at + dt.timedelta(minutes=30),
                )

        # Cancelled: by the applicant online, and by staff with a reason.
        start = self.slot("A01", 3, 2, True)
        name, phone = next(people)
        appt = self.online("A01", "个体工商户设立登记", start, name, phone)
        services.appointment_cancel_by_citizen(
            appointment=appt, now=appt.created_at + dt.timedelta(hours=3)
        )
        start = self.slot("D01", 4, 0, True)
        name, phone = next(people)
        appt = self.register("D01", "社会保障卡补换", start, name, phone)
        services.appointment_cancel_by_staff(
            appointment=appt,
            at_applicants_request=True,
            reason="申请人来电表示已在银行网点补卡。",
            actor=self.users["desk"],
            now=appt.created_at + dt.timedelta(hours=5),
        )
