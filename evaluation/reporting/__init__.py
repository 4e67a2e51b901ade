"""Reporting (DB1403/T 7.4, and the published 好评率 of 8.2): the monthly assessment of windows
and staff (``assessment``, its Excel export, links and console page), the supervisors' dashboard
(``dashboard``, ``dashboard_records``, ``periods``, ``dashboard_views``) and the public 好评率
page (``public_ratings``), mounted by ``urls``.

Reporting reads every app and sits on top inside ``evaluation``: clause 8's modules (ratings,
self-evaluation, improvement actions, the models, the citizens' rating pages) never import it
(an import-linter contract in pyproject.toml). The definitions it shares with them stay below:
``evaluation.figures`` (好评率 and the on-time rules) and ``evaluation.months`` /
``evaluation.month_counts`` (a month's counts per window and staff member, also prefilling the
self-evaluation).
"""
