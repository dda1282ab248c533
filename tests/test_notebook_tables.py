"""notebook/tables.py renders every table people read: human headers, no index, no NaN/NaT/None,
integers as integers, one UTC time format, whole evidence, unbreakable ids, paging for long tables.
Also the pieces around it: findings rows keep the whole user agent, figures get alt text, report
pages carry alt text and a link back to the index."""

from __future__ import annotations

import datetime as dt
import html
import re
from html.parser import HTMLParser

import nbformat
import numpy as np
import pandas as pd
import pytest

from trailbook.notebook import display, tables
from trailbook.reports import render

KALI_UA = ("aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/linux#6.6.9-amd64 md/arch#x86_64 lang/python#3.11.8 "
           "md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#kali.2024 md/prompt#off "
           "md/command#s3api.list-buckets")


class _Cells(HTMLParser):
    """Header texts, and each body cell as (text, class)."""

    def __init__(self) -> None:
        super().__init__()
        self.headers: list[str] = []
        self.rows: list[list[tuple[str, str]]] = []
        self.row_classes: list[str] = []
        self._in: str | None = None
        self._class = ""
        self._text = ""

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.row_classes.append(dict(attrs).get("class") or "")
        if tag in ("th", "td"):
            self._in, self._class, self._text = tag, dict(attrs).get("class") or "", ""
            if tag == "td" and (not self.rows or self._new_row):
                self.rows.append([])
                self._new_row = False

    def handle_endtag(self, tag):
        if tag == "tr":
            self._new_row = True
        if tag == self._in:
            if tag == "th":
                self.headers.append(self._text)
            else:
                self.rows[-1].append((self._text, self._class))
            self._in = None

    def handle_data(self, data):
        if self._in:
            self._text += data

    _new_row = True


def parse(page: str) -> _Cells:
    cells = _Cells()
    cells.feed(page)
    return cells


@pytest.fixture
def frame():
    long_text = "x" * 300 + " tail-that-proves-it"
    return pd.DataFrame({
        "account_id": ["111122223333", "444455556666"],
        "source_ip": ["45.155.205.233", None],
        "event_count": [3.0, np.nan],  # a count column with a NULL comes back as float
        "first_seen": [pd.Timestamp("2026-10-26T03:14:22Z"), pd.NaT],
        "eventtime": ["2026-10-26T04:00:00.000Z", "2026-10-26T13:37:05Z"],
        "user_agent": [KALI_UA, long_text],
        "event_names": [["ListBuckets", "GetCallerIdentity", "ListUsers", "CreateUser", "StopLogging"], []],
        "severity": ["high", "low"],
    }, index=[7, 8])


def test_headers_are_words_with_known_acronyms():
    assert [tables.header(c) for c in ("account_id", "source_ip", "principal_arn", "event_count", "mfa_used",
                                       "when (UTC)", "Access key")] == \
        ["Account ID", "Source IP", "Principal ARN", "Event count", "MFA used", "When (UTC)", "Access key"]


def test_table_has_no_index_no_missing_markers_and_whole_evidence(frame):
    page = tables.table_html(frame)
    cells = parse(page)
    assert cells.headers == ["Account ID", "Source IP", "Event count", "First seen", "Eventtime", "User agent",
                             "Event names", "Severity"]
    texts = [[t for t, _ in row] for row in cells.rows]
    assert texts[0] == ["111122223333", "45.155.205.233", "3", "2026-10-26 03:14:22Z", "2026-10-26 04:00:00Z",
                        KALI_UA, "ListBuckets, GetCallerIdentity, ListUsers, CreateUser, StopLogging", "high"]
    assert texts[1] == ["444455556666", "", "", "", "2026-10-26 13:37:05Z", "x" * 300 + " tail-that-proves-it",
                        "", "low"]
    for marker in ("NaN", "NaT", "None", "nan", "…", "3.0", ">7<", ">8<"):
        assert marker not in page, marker
    assert cells.row_classes[1:] == ["sev-high", "sev-low"]


def test_short_ids_do_not_break_and_long_text_wraps(frame):
    cells = parse(tables.table_html(frame))
    classes = {text: css for row in cells.rows for text, css in row}
    assert classes["111122223333"] == "tb-id"
    assert classes["45.155.205.233"] == "tb-id"
    assert classes["2026-10-26 03:14:22Z"] == "tb-time"  # breaks between date and time only
    assert classes[KALI_UA] == "tb-long tb-wide"  # the most text: it wraps in the widest column
    assert classes["ListBuckets, GetCallerIdentity, ListUsers, CreateUser, StopLogging"] == ""
    assert classes["3"] == "tb-num"
    # Cells wrap at spaces and at the <wbr> points wrap_html writes, never at any character.
    assert "anywhere" not in tables.TABLE_CSS and "break-all" not in tables.TABLE_CSS
    assert ".tb-nb{white-space:nowrap}" in tables.TABLE_CSS
    assert "anywhere" not in render.notebook_html(_notebook_with_images(), "A page")


def _pieces(fragment: str) -> list[str]:
    """What may sit on one line: the text between <wbr> points and spaces, each piece unbroken."""
    text = re.sub(r"<(?!wbr>)[^>]+>", "", fragment)
    return [html.unescape(p) for chunk in text.split("<wbr>") for p in chunk.split(" ") if p]


@pytest.mark.parametrize("value,pieces", [
    ("arn:aws:iam::111111111111:user/ci-deploy", ["arn:", "aws:", "iam:", ":111111111111:", "user/", "ci-deploy"]),
    ("arn:aws:sts::222222222222:assumed-role/Admin/alice@example.com",
     ["arn:", "aws:", "sts:", ":222222222222:", "assumed-role/", "Admin/", "alice@", "example.", "com"]),
    ("elasticloadbalancing.amazonaws.com", ["elasticloadbalancing.", "amazonaws.", "com"]),
    ("DescribeLoadBalancerAttributes,", ["Describe", "Load", "Balancer", "Attributes,"]),
    ("AKIATNIVMUDASRHQQCTG", ["AKIATNIVMUDASRHQQCTG"]),  # an id: no humps, no separators, 20 characters
    ("aws-cli/2.15.30", ["aws-cli/2.15.30"]),  # short: one piece
    ("privilege_escalation", ["privilege_", "escalation"]),  # a snake_case name wraps between its words
    ("Boto3/1.34.11_md/Botocore#1.34.11", ["Boto3/", "1.34.11_", "md/", "Botocore#", "1.34.11"]),
    ("AKIAI4JAP3WD3FBDOV54,AKIAFYGV4HPLLQ5F3LJJ", ["AKIAI4JAP3WD3FBDOV54,", "AKIAFYGV4HPLLQ5F3LJJ"]),
    ("2026-10-26 01:44:10Z → 2026-10-26 01:45:02Z", ["2026-10-26", "01:44:10Z", "→", "2026-10-26", "01:45:02Z"]),
    ("45.155.205.233, 2001:db8::1", ["45.155.205.233,", "2001:db8::1"]),
    ("console_login_outside_allowed_countries", ["console_", "login_", "outside_", "allowed_", "countries"]),
    ("x" * 100, ["x" * 48, "x" * 48, "x" * 4]),  # no separator at all: still wraps, nothing is lost
])
def test_wrap_points_keep_ids_whole(value, pieces):
    fragment = tables.wrap_html(value)
    assert _pieces(fragment) == pieces
    # every piece with a character a browser could wrap at is held on one line
    assert all("class='tb-nb'" in part for part in fragment.split("<wbr>") if re.search(r"[-/:,_]", part))


def test_very_long_cells_scroll_in_a_box_and_keep_every_character():
    actions = ", ".join(f"iam:Action{n:04d}" for n in range(200))  # 3,400 characters
    page = tables.table_html(pd.DataFrame({"principal": ["arn:aws:iam::111111111111:role/x"], "actions": [actions]}))
    assert page.count("class='tb-clip'") == 1
    assert parse(page).rows[0][1][0] == actions  # the whole value is in the cell
    assert "@media print{.tb-clip{max-height:none" in page  # printed in full


def test_links_and_row_anchors():
    frame = pd.DataFrame({"incident": [1, None], "report": ["console_logins", "x"]})
    page = tables.table_html(frame, links={"incident": ["#INC-1", None]}, row_ids=["finding-a", "finding-b"],
                             with_css=False)
    assert "<tr id='finding-a'><td class='tb-num'><a href='#INC-1'>1</a></td>" in page
    assert "<tr id='finding-b'><td class='tb-num'></td>" in page and "<style>" not in page


def test_integers_stay_integers_and_other_floats_are_short():
    cells = parse(tables.table_html(pd.DataFrame({"n": pd.array([1, None, 3], dtype="Int64"),
                                                   "share": [0.5, 1 / 3, 2.0]})))
    assert [[t for t, _ in row] for row in cells.rows] == [["1", "0.5"], ["", "0.3333"], ["3", "2"]]


def test_missing_markers_that_arrive_as_text_are_empty():
    # a column that went through str() carries the markers as text: they are still no value
    assert [tables.cell_text(v) for v in ("NaN", "nan", "NaT", "None", "<NA>", "N/A")] == ["", "", "", "", "", "N/A"]


def test_times_in_other_zones_are_shown_in_utc():
    when = dt.datetime(2026, 10, 26, 5, 14, 22, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert tables.cell_text(when) == "2026-10-26 03:14:22Z"


def test_long_tables_get_controls_and_short_ones_do_not():
    short = tables.table_html(pd.DataFrame({"a": range(tables.PAGE_SIZE)}))
    long = tables.table_html(pd.DataFrame({"a": range(tables.PAGE_SIZE + 1)}))
    assert "<script>" not in short and "<input" not in short
    assert long.count("<script>") == 1 and "type='search'" in long and "tb-next" in long
    assert len(parse(long).rows) == tables.PAGE_SIZE + 1  # every row is in the page; the script pages them
    assert "http" not in long and "src=" not in long  # nothing from the network


def test_max_rows_says_how_many_more():
    page = tables.table_html(pd.DataFrame({"a": range(10)}), 4)
    assert len(parse(page).rows) == 4 and "6 more rows not shown" in page


def test_findings_rows_keep_the_whole_user_agent():
    found = pd.DataFrame([{"detection": "offensive_tool_user_agent", "severity": "high",
                           "first_seen": "2026-10-26T01:12:07Z", "last_seen": "2026-10-26T01:15:00Z",
                           "account_id": "111111111111", "region": "us-east-1", "mitre": ["T1078.004"],
                           "principal_arn": "arn:aws:iam::111111111111:user/ci",
                           "access_key_id": "AKIAIOSFODNN7EXAMPLE", "source_ip": "45.155.205.233",
                           "event_count": 3, "event_names": ["ListBuckets"], "event_ids": ["a", "b", "c"],
                           "user_agent": KALI_UA}])
    bundle = display.show_findings(found)
    page = bundle._repr_mimebundle_()["text/html"]
    cells = [text for row in parse(page).rows for text, _ in row]
    assert any(KALI_UA in text for text in cells)  # the whole user agent, tail included
    assert "…" not in page.replace("→", "")
    assert "2026-10-26 01:12:07Z → 2026-10-26 01:15:00Z" in cells


def test_figure_alt_says_what_it_shows():
    from matplotlib.figure import Figure

    figure = Figure()
    axes = figure.add_subplot()
    axes.set_title("Console sign-ins per day")
    axes.set_xlabel("day")
    axes.set_ylabel("sign-ins")
    assert display.figure_alt(figure) == "Console sign-ins per day (x: day, y: sign-ins)"
    assert display.figure_alt(Figure()) == "Plot without a title"
    heat = Figure()
    axes = heat.add_subplot()
    axes.set_title("Calls per access key and day")
    axes.set_xlabel("day (UTC)")
    bar = heat.add_axes((0.9, 0.1, 0.02, 0.8))  # a colour bar: no title, a label
    bar.set_ylabel("calls")
    assert display.figure_alt(heat) == "Calls per access key and day (x: day (UTC), colour: calls)"


def _notebook_with_images() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
    titled = nbformat.v4.new_output("display_data", data={"image/png": png},
                                    metadata={"image/png": {"alt": "Failures by source address"}})
    untitled = nbformat.v4.new_output("display_data", data={"image/png": png})
    nb.cells = [nbformat.v4.new_markdown_cell("# A page\n## Key activity heatmap"),
                nbformat.v4.new_code_cell("plot()", outputs=[titled, untitled])]
    return nb


def test_report_page_images_have_alt_text_and_the_page_links_home():
    page = render.notebook_html(_notebook_with_images(), "A page")
    assert 'alt="Failures by source address"' in page
    assert 'alt="Plot: Key activity heatmap"' in page  # no alt from the kernel: the section heading
    assert '<a href="index.html">' in page
    assert "max-width: none" in page


def test_hostile_values_never_crash_and_are_escaped():
    frame = pd.DataFrame({"value": ["<script>alert(1)</script>", b"\x00\xff", {"k": [1, {"x": None}]},
                                    "9999-12-31T23:59:59Z", "2026-13-45T99:99:00Z", float("inf"), object()]})
    page = tables.table_html(frame)
    texts = [row[0][0] for row in parse(page).rows]
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/" in page
    assert texts[:6] == ["<script>alert(1)</script>", "b'\\x00\\xff'", '{"k": [1, {"x": null}]}',
                         "9999-12-31 23:59:59Z", "2026-13-45T99:99:00Z", ""]


def test_a_section_that_displays_nothing_says_so():
    def ran(source, outputs=()):
        return nbformat.v4.new_code_cell(source, outputs=list(outputs), execution_count=1)

    nb = nbformat.v4.new_notebook()
    empty_html = nbformat.v4.new_output("execute_result", data={"text/html": "", "text/plain": "Scope()"},
                                        execution_count=1)  # a silent object's empty HTML repr
    table = nbformat.v4.new_output("display_data", data={"text/html": "<table><tr><td>1</td></tr></table>"})
    nb.cells = [nbformat.v4.new_markdown_cell("# Title\n\nIntro."),
                ran("session.show()"),  # the title's cells: no note
                nbformat.v4.new_markdown_cell("## Incident scope (incident mode only)"),
                ran("scope = make()"), ran("scope", [empty_html]),
                nbformat.v4.new_markdown_cell("## Runbook"), ran("print_runbook()"),
                nbformat.v4.new_markdown_cell("## The snapshot\n\nOnly explained here."),
                ran("snapshot = open_snapshot()"),  # assigns: shows nothing by design, no note
                nbformat.v4.new_markdown_cell("## Findings"), ran("show()", [table]),
                nbformat.v4.new_markdown_cell("## After a failure"),
                nbformat.v4.new_code_cell("show()")]  # never ran: the failure is reported, no note
    page = render.notebook_html(nb, "Title")
    note = "Nothing to show for this run"
    assert page.count(note) == 2
    assert page.index("Incident scope") < page.index(note) < page.index("Runbook") < page.rindex(note) \
        < page.index("The snapshot")
