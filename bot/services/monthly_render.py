"""Rendering of the monthly security status report and the company engagement report: charts
(matplotlib, Agg), a PDF (fpdf2, with the DejaVu fonts matplotlib ships, which cover every
letter of the five languages) and the tables as CSV files in a zip. In the language asked for;
dates and numbers by Babel. No Telegram."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date
from functools import cache
from pathlib import Path

from babel.dates import format_date, format_datetime
from babel.numbers import format_percent

from bot.i18n import translate
from bot.services.monthly import (
    PILLARS,
    EngagementReport,
    MonthlyReport,
    Rate,
)
from bot.services.reports import CATEGORIES, STATUSES


# matplotlib and fpdf2 cost 0.7 s and 90 MB at import: loaded with the first report rendered
@cache
def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot

    return matplotlib.pyplot


@cache
def _font_dir() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"
PILLAR_LABELS = {
    "company": "Company",
    "host_government": "Host government",
    "public_security": "Public security",
    "private_security": "Private security",
    "civil_society": "Civil society",
    "community": "Community",
    "home_government": "Home government or embassy",
    "international_organisation": "International organisation",
    "other": "Other",
    "": "Pillar not set",
}
CATEGORY_LABELS = {
    "public_security": "Conduct of public security forces",
    "private_security": "Conduct of private security",
    "land": "Land or resettlement",
    "compensation": "Compensation",
    "employment": "Employment",
    "environment": "Environment",
    "harassment": "Harassment or gender-based violence",
    "other": "Other",
}
STATUS_LABELS = {
    "received": "Received",
    "acknowledged": "Acknowledged",
    "under_review": "Under review",
    "referred": "Referred",
    "resolved": "Resolved",
    "closed": "Closed",
}


def pillar_label(pillar: str | None, locale: str) -> str:
    msgid = PILLAR_LABELS.get(pillar or "")
    return translate(msgid, locale) if msgid else str(pillar)


def _pillar_order(pillars) -> list[str]:
    return sorted(pillars, key=lambda p: PILLARS.index(p) if p in PILLARS else len(PILLARS))


def month_label(month: date, locale: str, fmt: str = "LLLL y") -> str:
    return format_date(month, fmt, locale=locale)


def _rate(rate: Rate, locale: str) -> str:
    return "–" if rate.value is None else format_percent(rate.value, locale=locale)


def _rate_csv(rate: Rate) -> str:
    return "" if rate.value is None else f"{rate.value:.3f}"


# -- charts -------------------------------------------------------------------------------------
def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=120)
    _plt().close(figure)
    return buffer.getvalue()


def attendance_chart(report: MonthlyReport, locale: str) -> bytes | None:
    """Attendance rate per pillar over six months."""
    pillars = [p for p in _pillar_order(report.attendance_pillar)
               if any(r.expected for r in report.attendance_pillar[p])]
    if not pillars:
        return None
    figure, axes = _plt().subplots(figsize=(7.5, 3.4))
    labels = [month_label(m, locale, "LLL y") for m in report.months]
    for pillar in pillars:
        values = [r.value * 100 if r.value is not None else float("nan")
                  for r in report.attendance_pillar[pillar]]
        axes.plot(labels, values, marker="o", label=pillar_label(pillar, locale))
    axes.set_ylim(0, 105)
    axes.set_ylabel("%")
    axes.set_title(translate("Attendance rate per pillar, last six months", locale))
    axes.legend(fontsize=7, loc="lower left", ncol=2)
    axes.grid(alpha=0.3)
    axes.tick_params(axis="x", labelsize=7)
    return _png(figure)


def actions_chart(report: MonthlyReport, locale: str) -> bytes | None:
    pillars = _pillar_order(report.actions)
    if not pillars:
        return None
    figure, axes = _plt().subplots(figsize=(7.5, 3.2))
    width = 0.27
    xs = range(len(pillars))
    series = [(translate("Opened", locale), [report.actions[p].opened for p in pillars]),
              (translate("Done", locale), [report.actions[p].done for p in pillars]),
              (translate("Overdue", locale), [report.actions[p].overdue for p in pillars])]
    for i, (label, values) in enumerate(series):
        axes.bar([x + (i - 1) * width for x in xs], values, width, label=label)
    axes.set_xticks(list(xs), [pillar_label(p, locale) for p in pillars], fontsize=7,
                   rotation=15)
    axes.set_title(translate("Action items by owner's pillar", locale))
    axes.legend(fontsize=7)
    axes.yaxis.get_major_locator().set_params(integer=True)
    return _png(figure)


def concerns_chart(report: MonthlyReport, locale: str) -> bytes | None:
    """Concern reports per month; months with fewer than 3 show no bar, only "<3"."""
    trend = report.concerns.trend
    if all(shown == "0" for _, shown in trend):
        return None
    figure, axes = _plt().subplots(figsize=(7.5, 3.0))
    labels = [month_label(m, locale, "LLL yy") for m, _ in trend]
    values = [int(shown) if shown.isdigit() else 0 for _, shown in trend]
    bars = axes.bar(labels, values, color="#4C72B0")
    for bar, (_, shown) in zip(bars, trend, strict=True):
        if not shown.isdigit():
            axes.annotate(shown, (bar.get_x() + bar.get_width() / 2, 0), ha="center",
                          va="bottom", fontsize=8)
    axes.set_title(translate("Concern reports per month (fewer than 3 shown as <3)", locale))
    axes.tick_params(axis="x", labelsize=7, rotation=45)
    axes.yaxis.get_major_locator().set_params(integer=True)
    return _png(figure)


# -- PDF ----------------------------------------------------------------------------------------
@cache
def _pdf_class() -> type:
    from fpdf import FPDF

    return type("_Pdf", (_PdfPages, FPDF), {})


def _Pdf(title: str, footer_text: str):  # noqa: N802
    return _pdf_class()(title, footer_text)


class _PdfPages:  # the FPDF subclass's own methods
    def __init__(self, title: str, footer_text: str) -> None:
        super().__init__(format="A4")
        self.add_font("DejaVu", "", str(_font_dir() / "DejaVuSans.ttf"))
        self.add_font("DejaVu", "B", str(_font_dir() / "DejaVuSans-Bold.ttf"))
        self.set_title(title)
        self.set_creator("wgbot")
        self.footer_text = footer_text
        self.set_auto_page_break(True, margin=15)
        self.add_page()

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font("DejaVu", "", 7)
        self.cell(0, 5, f"{self.footer_text} · {self.page_no()}", align="C")

    def heading(self, text: str, size: int = 12) -> None:
        if self.get_y() > self.h - 40:
            self.add_page()
        self.ln(2)
        self.set_font("DejaVu", "B", size)
        self.multi_cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
        self.set_font("DejaVu", "", 9)

    def para(self, text: str) -> None:
        self.set_font("DejaVu", "", 9)
        self.multi_cell(0, 5, text, align="L", new_x="LMARGIN", new_y="NEXT")

    def grid(self, rows: list[list[str]], widths: tuple | None = None) -> None:
        from fpdf.fonts import FontFace

        self.set_font("DejaVu", "", 8)
        with self.table(rows=rows, col_widths=widths, text_align="LEFT", line_height=5,
                        headings_style=FontFace(emphasis="BOLD", fill_color=(230, 230, 230)),
                        padding=1) as _table:
            pass
        self.ln(2)

    def chart(self, png: bytes | None) -> None:
        if png is None:
            return
        if self.get_y() > self.h - 90:
            self.add_page()
        self.image(io.BytesIO(png), w=self.epw)
        self.ln(2)


def monthly_tables(report: MonthlyReport, locale: str) -> dict[str, list[list[str]]]:
    """Every table of the report: name -> rows (the first row is the header)."""
    zone = report.group.timezone
    months = [f"{m:%Y-%m}" for m in report.months]
    tables: dict[str, list[list[str]]] = {}
    tables["meetings"] = [[translate("Date", locale), translate("Meeting", locale),
                           translate("Held", locale),
                           translate("Present", locale)]] + [
        [format_datetime(m.start, "yyyy-MM-dd HH:mm", tzinfo=_zone(zone), locale=locale),
         m.title, translate("Cancelled", locale) if m.cancelled else translate("Yes", locale),
         str(m.present) if m.marked else "–"] for m in report.meetings]
    tables["attendance_pillar"] = [[translate("Pillar", locale), *months]] + [
        [pillar_label(p, locale), *(_rate_csv(r) for r in report.attendance_pillar[p])]
        for p in _pillar_order(report.attendance_pillar)]
    tables["attendance_organisation"] = [[translate("Organisation", locale), *months]] + [
        [org or translate("Organisation not given", locale),
         *(_rate_csv(r) for r in report.attendance_org[org])]
        for org in sorted(report.attendance_org, key=lambda o: (o == "", o.casefold()))]
    tables["cochair_turns"] = [[translate("Pillar", locale), *months]] + [
        [pillar_label(p, locale), *(str(n) for n in report.cochairs[p])]
        for p in _pillar_order(report.cochairs)]
    tables["decisions"] = [[translate("Date", locale), translate("Decision", locale)]] + [
        [format_datetime(start, "yyyy-MM-dd", tzinfo=_zone(zone), locale=locale), text]
        for start, text in report.decisions]
    tables["action_items"] = [[translate("Owner's pillar", locale), translate("Opened", locale),
                               translate("Done", locale), translate("Overdue", locale),
                               translate("Open at the end of the month", locale)]] + [
        [pillar_label(p, locale), str(c.opened), str(c.done), str(c.overdue), str(c.open_at_end)]
        for p, c in ((p, report.actions[p]) for p in _pillar_order(report.actions))]
    c = report.concerns
    tables["concerns"] = (
        [[translate("Dimension", locale), translate("Value", locale), translate("Reports", locale)]]
        + [[translate("Category", locale), translate(CATEGORY_LABELS[k], locale), c.by_category[k]]
           for k in CATEGORIES]
        + [[translate("Urgency", locale), translate("Urgent", locale), c.by_urgency["urgent"]],
           [translate("Urgency", locale), translate("Not urgent", locale),
            c.by_urgency["not_urgent"]]]
        + [[translate("Status", locale), translate(STATUS_LABELS[k], locale), c.by_status[k]]
           for k in STATUSES]
        + [[translate("Total", locale), "", c.total_shown]])
    tables["concerns_per_month"] = [[translate("Month", locale), translate("Reports", locale)]] + [
        [f"{m:%Y-%m}", shown] for m, shown in c.trend]
    tables["concerns_agenda"] = (
        [[translate("Dimension", locale), translate("Value", locale),
          translate("Concerns", locale)]]
        + [[translate("Status", locale), translate(STATUS_LABELS[k], locale),
            c.agenda_status.get(k, "0")] for k in STATUSES]
        + [[translate("Outcome", locale), translate("Shown to the reporter", locale),
            c.agenda_outcome.get("shown", "0")],
           [translate("Outcome", locale), translate("Not shown", locale),
            c.agenda_outcome.get("not_shown", "0")]]
        + [[translate("Total", locale), "", c.agenda_total]])
    return tables


def _zone(zone: str):
    from zoneinfo import ZoneInfo

    return ZoneInfo(zone)


def csv_zip(tables: dict[str, list[list[str]]], prefix: str) -> bytes:
    """The tables as CSV files (UTF-8 with a byte order mark, which spreadsheets read)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, rows in tables.items():
            text = io.StringIO()
            csv.writer(text).writerows(rows)
            archive.writestr(f"{prefix}_{name}.csv", "\ufeff" + text.getvalue())
    return buffer.getvalue()


def monthly_pdf(report: MonthlyReport, locale: str) -> bytes:
    group = report.group
    month = month_label(report.month, locale)
    title = translate("Monthly security status report", locale)
    pdf = _Pdf(f"{title}: {group.name}, {month}", f"{group.name} · {month}")
    tables = monthly_tables(report, locale)
    pdf.set_font("DejaVu", "B", 16)
    pdf.multi_cell(0, 9, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 11)
    pdf.multi_cell(0, 6, f"{group.name} · {month}", new_x="LMARGIN", new_y="NEXT")
    pdf.para(translate("Generated on {date} from the records of the working group. "
                       "Times in {zone}.",
                locale,
                date=format_date(report.generated_at.date(), "long", locale=locale),
                zone=group.timezone))

    pdf.heading(translate("Summary", locale))
    late = sum(c.overdue for c in report.actions.values())
    pdf.grid([[translate("Figure", locale), translate("This month", locale)],
              [translate("Meetings held", locale), str(report.held)],
              [translate("Meetings cancelled", locale), str(report.cancelled)],
              [translate("Decisions", locale), str(len(report.decisions))],
              [translate("Action items opened", locale),
               str(sum(c.opened for c in report.actions.values()))],
              [translate("Action items done", locale),
               str(sum(c.done for c in report.actions.values()))],
              [translate("Action items overdue at the end of the month", locale), str(late)],
              [translate("Concern reports received", locale), report.concerns.total_shown]],
             widths=(3, 1))

    pdf.heading(translate("Meetings", locale))
    if report.meetings:
        pdf.grid(tables["meetings"], widths=(2, 4, 1.3, 1))
    else:
        pdf.para(translate("No meeting this month.", locale))

    pdf.heading(translate("Attendance", locale))
    pdf.para(translate("Rate: members present out of the members of the group at the "
                       "meetings where "
                       "attendance was taken.", locale))
    pillars = _pillar_order(report.attendance_pillar)
    if pillars:
        pdf.grid([[translate("Pillar", locale), *(month_label(m, locale, "LLL yy")
                                            for m in report.months)]] +
                 [[pillar_label(p, locale), *(_rate(r, locale)
                                              for r in report.attendance_pillar[p])]
                  for p in pillars], widths=(3, *([1] * len(report.months))))
        pdf.chart(attendance_chart(report, locale))
        orgs = sorted(report.attendance_org, key=lambda o: (o == "", o.casefold()))
        pdf.heading(translate("Attendance per organisation", locale), size=10)
        pdf.grid([[translate("Organisation", locale), month_label(report.month, locale, "LLL yy"),
                   translate("Six months", locale)]] +
                 [[org or translate("Organisation not given", locale),
                   _rate(report.attendance_org[org][-1], locale),
                   _rate(Rate(sum(r.present for r in report.attendance_org[org]),
                              sum(r.expected for r in report.attendance_org[org])), locale)]
                  for org in orgs], widths=(4, 1, 1))
    else:
        pdf.para(translate("No attendance was taken in the last six months.", locale))

    pdf.heading(translate("Co-chair turns served", locale))
    if report.cochairs:
        pdf.grid([[translate("Pillar", locale), translate("This month", locale),
                   translate("Six months", locale)]] +
                 [[pillar_label(p, locale), str(report.cochairs[p][-1]),
                   str(sum(report.cochairs[p]))] for p in _pillar_order(report.cochairs)],
                 widths=(3, 1, 1))
    else:
        pdf.para(translate("No co-chair turn served in the last six months.", locale))

    pdf.heading(translate("Decisions", locale))
    if report.decisions:
        pdf.grid(tables["decisions"], widths=(1, 5))
    else:
        pdf.para(translate("No decision recorded this month.", locale))

    pdf.heading(translate("Action items", locale))
    if report.actions:
        pdf.grid(tables["action_items"], widths=(3, 1, 1, 1, 1.4))
        pdf.chart(actions_chart(report, locale))
    else:
        pdf.para(translate("No action item this month.", locale))

    pdf.heading(translate("Concern reports", locale))
    pdf.para(translate("Reports received this month by category, urgency and current "
                       "status. So that nobody can be recognised, counts of 1 and 2 are "
                       "shown as \"<3\", and other counts are hidden (\"*\") where they "
                       "would let a reader work a small count out from the total.", locale))
    pdf.grid(tables["concerns"], widths=(1.3, 4, 1))
    pdf.chart(concerns_chart(report, locale))

    pdf.heading(translate("Concerns that reached the agenda", locale))
    pdf.para(translate("Concern reports put on the agenda of a meeting of this month, by "
                       "their current status and whether the reporter was shown the "
                       "outcome; small counts are suppressed as above.", locale))
    pdf.grid(tables["concerns_agenda"], widths=(1.3, 4, 1))
    return bytes(pdf.output())


# -- the company engagement report --------------------------------------------------------------
def engagement_tables(report: EngagementReport, locale: str) -> dict[str, list[list[str]]]:
    summary = [[translate("Working group", locale), translate("Meetings held", locale),
                translate("Meetings attended", locale), translate("Attendance rate", locale),
                translate("Co-chair turns", locale), translate("Action items owned", locale),
                translate("Action items done", locale), translate("Done by the due date", locale)]]
    for row in [*report.groups, report.totals]:
        rate = Rate(row.attended, row.marked)
        summary.append([row.name or translate("Total", locale), str(row.held), str(row.attended),
                        _rate(rate, locale), str(row.cochair_turns), str(row.actions_owned),
                        str(row.actions_done), str(row.actions_done_on_time)])
    return {
        "summary": summary,
        "meetings_attended": [[translate("Date", locale), translate("Working group", locale),
                               translate("Meeting", locale),
                               translate("Representatives present", locale)]]
        + [[m.day.isoformat(), m.group, m.title, str(m.representatives)]
           for m in report.meetings],
        "cochair_turns": [[translate("Date", locale), translate("Working group", locale),
                           translate("Meeting", locale)]]
        + [[day.isoformat(), group, title] for day, group, title
           in report.cochair_turns],
        "action_items": [[translate("Working group", locale), translate("Due", locale),
                          translate("Status", locale),
                          translate("Done on", locale), translate("Action item", locale)]]
        + [[group, due.isoformat(), translate("Done", locale) if status == "done" else
            translate("Open", locale), done.isoformat() if done else "", text]
           for group, due, status, done, text in report.actions],
    }


def engagement_pdf(report: EngagementReport, locale: str) -> bytes:
    title = translate("Engagement in security and human rights working groups", locale)
    pdf = _Pdf(f"{title}: {report.organisation}, {report.year}",
               f"{report.organisation} · {report.year}")
    tables = engagement_tables(report, locale)
    pdf.set_font("DejaVu", "B", 15)
    pdf.multi_cell(0, 8, title, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 11)
    pdf.multi_cell(0, 6, f"{report.organisation} · {report.year}", new_x="LMARGIN",
                   new_y="NEXT")
    pdf.para(translate("For the organisation's annual report on the Voluntary Principles on "
                       "Security "
                       "and Human Rights: participation in multi-stakeholder working groups, as "
                       "recorded by their secretariats. Prepared on {date}.", locale,
                date=format_date(report.generated_at.date(), "long", locale=locale)))
    pdf.para(translate("Representatives of the organisation in these groups: {count}.", locale,
                count=report.representatives))
    pdf.heading(translate("Summary", locale))
    pdf.grid(tables["summary"], widths=(3, 1, 1, 1, 1, 1, 1, 1.2))
    pdf.para(translate("Attendance rate: meetings with at least one representative present "
                       "out of the "
                       "meetings where attendance was taken.", locale))
    pdf.heading(translate("Meetings attended", locale))
    if report.meetings:
        pdf.grid(tables["meetings_attended"], widths=(1.2, 2.5, 3, 1.3))
    else:
        pdf.para(translate("None recorded.", locale))
    pdf.heading(translate("Co-chair turns", locale))
    if report.cochair_turns:
        pdf.grid(tables["cochair_turns"], widths=(1.2, 2.5, 3))
    else:
        pdf.para(translate("None recorded.", locale))
    pdf.heading(translate("Action items owned", locale))
    if report.actions:
        pdf.grid(tables["action_items"], widths=(2, 1.2, 1, 1.2, 4))
    else:
        pdf.para(translate("None recorded.", locale))
    return bytes(pdf.output())


def file_stem(name: str) -> str:
    keep = "".join(ch if ch.isalnum() else "_" for ch in name).strip("_")
    return keep[:40] or "report"


def monthly_files(report: MonthlyReport, locale: str) -> tuple[tuple[str, bytes],
                                                              tuple[str, bytes]]:
    """(PDF name, bytes) and (zip name, bytes) of the monthly report."""
    stem = f"{file_stem(report.group.name)}_{report.month:%Y-%m}"  # as in the outbox renderer
    return ((f"{stem}.pdf", monthly_pdf(report, locale)),
            (f"{stem}_tables.zip", csv_zip(monthly_tables(report, locale), stem)))


def engagement_files(report: EngagementReport, locale: str) -> tuple[tuple[str, bytes],
                                                                    tuple[str, bytes]]:
    stem = f"{file_stem(report.organisation)}_{report.year}"
    return ((f"{stem}_engagement.pdf", engagement_pdf(report, locale)),
            (f"{stem}_engagement.zip", csv_zip(engagement_tables(report, locale), stem)))

