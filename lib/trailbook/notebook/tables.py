"""Every table people read, rendered by one function: `table_html`.

Human headers (snake_case becomes words), no index, empty cells for missing values (never NaN,
NaT or None), integers as integers, every time in one UTC format, and no truncation: the
evidence is shown whole and long values wrap. Text wraps only at spaces and after the separators
of ARNs, paths and lists (`wrap_html`), so account ids, IP addresses, key ids, names and times are
never broken in the middle. A cell holding a very long value scrolls inside a bounded box on screen
(printed in full). Tables longer than `PAGE_SIZE` rows can be sorted, filtered and paged by a small
inline script; nothing is loaded from the network.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

PAGE_SIZE = 25  # rows per page; longer tables get the sort, filter and page controls
TIME_FORMAT = "%Y-%m-%d %H:%M:%SZ"  # the one format every time is shown in (UTC)
_WORDS = {"id": "ID", "ids": "IDs", "ip": "IP", "ips": "IPs", "arn": "ARN", "arns": "ARNs", "mfa": "MFA",
          "utc": "UTC", "iam": "IAM", "aws": "AWS", "cis": "CIS", "sql": "SQL", "ua": "UA", "url": "URL"}
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]00:?00| UTC)?$")
_SHOWN_TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}Z$")  # TIME_FORMAT's output
_IP = re.compile(r"^(\d{1,3}(\.\d{1,3}){3}(/\d{1,2})?|[0-9a-fA-F:]{2,39}(/\d{1,3})?)$")
_ID_LIKE_CHARS = 20  # a token without spaces up to this long is an id: it must not break
_LONG_CHARS = 80  # longer text gets a wider column, so it wraps into a readable block, not a ribbon
_WIDE_MAX_COLUMNS = 10  # ...in tables of at most this many columns
_DENSE_COLUMNS = 12  # a table with more columns is set a size smaller, so it fits the page with every id whole
_MISSING_TEXT = {"nan", "NaN", "NaT", "None", "<NA>"}
_CLIP_CHARS = 300  # a cell with more text scrolls in a bounded box (12 lines), so one row is never a page tall
# Where a token longer than _ID_LIKE_CHARS may wrap: after the separators of ARNs, paths, lists and
# key=value pairs, after a dot between names (elasticloadbalancing.amazonaws.com), and between the
# words of a CamelCase API name (DescribeLoadBalancerAttributes). Every other character stays on its
# line, hyphens too (`2026-10-26` never splits). A colon or dot before a digit is inside a time
# (03:14:22), an ARN's account id or a version: no break there. Upper-case ids (AKIA…) have no humps.
_BREAK_AFTER = re.compile(r"(?<=[/,;=&?@|#_])|(?<=[:.])(?!\d)|(?<=[a-z])(?=[A-Z])")
_SNAKE = re.compile(r"(?<=_)(?=[^_])")  # words of a snake_case name may wrap at any length (never an id)
_MAX_PIECE = 48  # a run this long without a separator (random text) may wrap every _MAX_PIECE characters
_PLAIN_TOKEN = re.compile(r"[^\s\-/:,;=&?@|#_+!%}\])~]+")  # nothing a browser would wrap at

TABLE_CSS = (
    "table.trailbook-table{border-collapse:collapse;font-size:12px;margin:4px 0 12px;width:auto;max-width:100%}"
    "table.trailbook-table th{text-align:left;background:#f3f4f6;padding:4px;border-bottom:1px solid #ccc;"
    "vertical-align:bottom;overflow-wrap:normal;word-break:normal}"
    "table.trailbook-table td{vertical-align:top;padding:3px 4px;border-bottom:1px solid #eee;"
    "overflow-wrap:normal;word-break:normal;white-space:normal;max-width:none}"
    ".tb-nb{white-space:nowrap}"
    "table.trailbook-table td.tb-id{white-space:nowrap}"
    "table.trailbook-table td.tb-time{min-width:6em}"
    "table.trailbook-table td.tb-num{text-align:right;white-space:nowrap}"
    "table.trailbook-table td.tb-long{min-width:8em}"
    "table.trailbook-table td.tb-wide{min-width:14em}"
    "table.trailbook-table.tb-dense{font-size:11px}"
    ".tb-clip{max-height:12em;overflow-y:auto;padding-right:4px}"
    "@media print{.tb-clip{max-height:none;overflow:visible}.tb-controls{display:none}"
    "table.trailbook-table tbody tr{display:table-row!important}}"
    "table.trailbook-table th.tb-sortable{cursor:pointer}"
    "table.trailbook-table th.tb-asc:after{content:' \\25B2'}table.trailbook-table th.tb-desc:after{content:' \\25BC'}"
    "table.trailbook-table tr.sev-critical td:first-child{border-left:4px solid #7f1d1d}"
    "table.trailbook-table tr.sev-high td:first-child{border-left:4px solid #dc2626}"
    "table.trailbook-table tr.sev-medium td:first-child{border-left:4px solid #f59e0b}"
    ".tb-controls{font-size:12px;margin:6px 0 2px}.tb-controls input{font-size:12px;padding:2px 4px;width:16em}"
    ".tb-controls button{font-size:12px;margin:0 2px}.tb-pager{margin-left:1em}"
)

# Sort (click a header), filter (text box) and page one table; the script finds its table as the
# element just before it, so a page may hold any number of tables without ids.
_SCRIPT = """(function(box){
var t=box.querySelector('table'),tb=t.tBodies[0],rows=[].slice.call(tb.rows),size=%d,page=0,shown=rows;
var f=box.querySelector('input'),info=box.querySelector('.tb-info'),prev=box.querySelector('.tb-prev'),
next=box.querySelector('.tb-next'),all=box.querySelector('.tb-all');
function draw(){var pages=Math.max(1,Math.ceil(shown.length/size));page=Math.min(page,pages-1);
rows.forEach(function(r){r.style.display='none';});
shown.forEach(function(r,i){if(size===0||Math.floor(i/size)===page)r.style.display='';});
info.textContent=shown.length+' of '+rows.length+' rows'+(size?', page '+(page+1)+' of '+pages:'');
prev.disabled=!size||page===0;next.disabled=!size||page>=pages-1;}
f.addEventListener('input',function(){var q=f.value.toLowerCase();
shown=rows.filter(function(r){return r.textContent.toLowerCase().indexOf(q)>=0;});page=0;draw();});
prev.addEventListener('click',function(){page--;draw();});next.addEventListener('click',function(){page++;draw();});
all.addEventListener('click',function(){size=size?0:%d;all.textContent=size?'show all':'show pages';draw();});
[].forEach.call(t.tHead.rows[0].cells,function(th,c){th.className+=' tb-sortable';th.title='sort';
th.addEventListener('click',function(){var up=th.className.indexOf('tb-asc')<0;
[].forEach.call(t.tHead.rows[0].cells,function(h){h.className=h.className.replace(/ tb-(asc|desc)/g,'');});
th.className+=up?' tb-asc':' tb-desc';
function key(r){var s=r.cells[c].textContent,n=parseFloat(s.replace(/,/g,''));
return /^-?[0-9.,]+$/.test(s)&&!isNaN(n)?n:s.toLowerCase();}
rows.sort(function(a,b){var x=key(a),y=key(b);if(typeof x!==typeof y){x=String(x);y=String(y);}
return (x<y?-1:x>y?1:0)*(up?1:-1);});
rows.forEach(function(r){tb.appendChild(r);});
shown=rows.filter(function(r){return shown.indexOf(r)>=0;});draw();});});
function reveal(){var id=decodeURIComponent(location.hash.slice(1)),at=-1;if(!id)return;
rows.forEach(function(r,i){if(r.id===id)at=i;});if(at<0)return;
if(shown.indexOf(rows[at])<0){f.value='';shown=rows.slice();}
page=size?Math.floor(shown.indexOf(rows[at])/size):0;draw();rows[at].scrollIntoView();}
window.addEventListener('hashchange',reveal);
draw();reveal();})(document.currentScript.previousElementSibling);"""


def header(name: Any) -> str:
    """A column name as people read it: `source_ip` -> `Source IP`."""
    text = str(name)
    if not re.fullmatch(r"[A-Za-z0-9_]+", text):  # already written for people ("when (UTC)")
        return text[:1].upper() + text[1:]
    words = [_WORDS.get(w.lower(), w) for w in text.split("_") if w]
    if words and words[0] == words[0].lower():
        words[0] = words[0][:1].upper() + words[0][1:]
    return " ".join(words)


def _time_text(value: dt.datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc)
    return value.strftime(TIME_FORMAT)


def cell_text(value: Any) -> str:
    """One value as plain text: empty when missing, integers whole, times in TIME_FORMAT, lists in full."""
    if value is None or value is pd.NaT or value is pd.NA:
        return ""
    if isinstance(value, (np.generic,)):
        value = value.item()
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return ""
        return str(int(value)) if value.is_integer() else f"{value:.4g}"
    if isinstance(value, (bool, int)):
        return str(value)
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return "" if pd.isna(value) else _time_text(value)
    if isinstance(value, (np.ndarray, pd.Series)):
        value = value.tolist()
    if isinstance(value, (list, tuple, set)):
        return ", ".join(t for t in (cell_text(v) for v in value) if t)
    if isinstance(value, Mapping):
        return json.dumps(value, default=str, sort_keys=True)
    text = str(value)
    if text in _MISSING_TEXT:
        return ""
    if _ISO_TIME.match(text):
        try:
            return _time_text(pd.Timestamp(text.replace(" UTC", "Z")).to_pydatetime())
        except ValueError:
            return text
    return text


def _cell_class(value: Any, text: str) -> str:
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return "tb-num"
    if _SHOWN_TIME.match(text):
        return "tb-time"  # may break between date and time, never inside either
    if text and (_IP.match(text) or (len(text) <= _ID_LIKE_CHARS and " " not in text)):
        return "tb-id"
    if text and " " not in text:
        return "tb-token"  # an ARN or a list without spaces: it wraps after its separators only
    if len(text) > _LONG_CHARS:
        return "tb-long"  # prose or a list: it wraps into a block
    return ""


def _pieces(token: str) -> list[str]:
    """A token cut at its wrap points (`_BREAK_AFTER`); a long run without one in _MAX_PIECE-character
    pieces. A token up to _ID_LIKE_CHARS long, and any IP address, is one piece."""
    if _IP.match(token.rstrip(",;")):
        return [token]  # an IPv6 address's colons are not break points
    if len(token) <= _ID_LIKE_CHARS:
        return [p for p in _SNAKE.split(token) if p]
    out = []
    for piece in _BREAK_AFTER.split(token):
        out += [piece[i:i + _MAX_PIECE] for i in range(0, len(piece), _MAX_PIECE)] if piece else []
    return out


def wrap_html(text: str) -> str:
    """Escaped text that wraps only at spaces and after separators (`_BREAK_AFTER`): each piece of a
    token is kept on one line, with a <wbr> between pieces. The text itself is unchanged (copy, search
    and sorting see the whole value); only where a line may break is decided here."""
    out = []
    for part in re.split(r"(\s+)", text):
        pieces = [] if not part or part.isspace() else _pieces(part)
        if len(pieces) <= 1 and (not pieces or _PLAIN_TOKEN.fullmatch(part)):
            out.append(html.escape(part))
            continue
        out.append("<wbr>".join(f"<span class='tb-nb'>{html.escape(p)}</span>" for p in pieces))
    return "".join(out)


def _cell(value: Any, text: str, widest: bool, href: str | None = None) -> str:
    css = _cell_class(value, text)
    if widest and css == "tb-long":
        css += " tb-wide"
    inner = wrap_html(text)
    if href:
        inner = f"<a href='{html.escape(href)}'>{inner}</a>"
    if len(text) > _CLIP_CHARS:
        inner = f"<div class='tb-clip' tabindex='0'>{inner}</div>"
    return (f"<td class='{css}'>" if css else "<td>") + inner + "</td>"


def _widest_column(texts: list[tuple[str, ...]], columns: int) -> int | None:
    """The column holding the most text, when it holds long text: it gets the room to wrap in."""
    totals = [sum(len(row[i]) for row in texts) for i in range(columns)]
    if not totals or max(totals) == 0:
        return None
    best = totals.index(max(totals))
    if columns > _WIDE_MAX_COLUMNS:
        return None  # a table this wide has no room to give: every column keeps its own width
    return best if any(len(row[best]) > _LONG_CHARS for row in texts) else None


def _controls(rows: int) -> str:
    if rows <= PAGE_SIZE:
        return ""
    return ("<div class='tb-controls'><input type='search' placeholder='filter rows' aria-label='filter rows'>"
            "<span class='tb-pager'><button type='button' class='tb-prev'>previous</button>"
            "<span class='tb-info'></span><button type='button' class='tb-next'>next</button>"
            "<button type='button' class='tb-all'>show all</button></span></div>")


def table_html(frame: pd.DataFrame, max_rows: int | None = None, *, css_class: str = "",
               links: Mapping[Any, Sequence[str | None]] | None = None, row_ids: Sequence[str] | None = None,
               with_css: bool = True) -> str:
    """The frame as one readable HTML table (see the module docstring). At most `max_rows` rows are
    written (None: all); the rest are counted below the table, and the JSON output keeps them.
    `links` maps a column to one href per row (None: no link); `row_ids` gives each row an id (an
    anchor: the pager shows the page that holds it). `with_css=False` leaves TABLE_CSS to the page."""
    shown = frame if max_rows is None else frame.head(max_rows)
    columns = list(shown.columns)
    head = "".join(f"<th>{html.escape(header(c))}</th>" for c in columns)
    severity_at = columns.index("severity") if "severity" in columns else None
    records = list(shown.itertuples(index=False, name=None))
    texts = [tuple(cell_text(v) for v in values) for values in records]
    widest = _widest_column(texts, len(columns))
    hrefs = [list((links or {}).get(c) or [None] * len(frame)) for c in columns]
    body = []
    for n, (values, row) in enumerate(zip(records, texts, strict=True)):
        severity = row[severity_at] if severity_at is not None else ""
        css = f" class='sev-{html.escape(severity)}'" if severity else ""
        anchor = f" id='{html.escape(row_ids[n])}'" if row_ids is not None else ""
        cells = (_cell(v, t, i == widest, hrefs[i][n])
                 for i, (v, t) in enumerate(zip(values, row, strict=True)))
        body.append(f"<tr{css}{anchor}>" + "".join(cells) + "</tr>")
    dense = " tb-dense" if len(columns) > _DENSE_COLUMNS else ""
    classes = "trailbook-table" + dense + (f" {css_class}" if css_class else "")
    table = (f"<table class='{classes}'><thead><tr>{head}</tr></thead><tbody>" + "".join(body)
             + "</tbody></table>")
    more = (f"<p><em>{len(frame) - len(shown)} more rows not shown here; the notebook's JSON output and the "
            "run's files keep every row.</em></p>" if len(frame) > len(shown) else "")
    style = f"<style>{TABLE_CSS}</style>" if with_css else ""
    if len(shown) <= PAGE_SIZE:
        return style + f"<div class='tb-box'>{table}</div>" + more
    script = _SCRIPT % (PAGE_SIZE, PAGE_SIZE)
    return style + f"<div class='tb-box'>{_controls(len(shown))}{table}</div><script>{script}</script>" + more
