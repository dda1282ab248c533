"""Secret scanning and pseudonymising, on a real CloudTrail event that carries a session token."""

from __future__ import annotations

import html
import json
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from trailbook import redact

FIXTURES = Path(__file__).parent / "fixtures"
EVENT = json.loads((FIXTURES / "redact" / "get_federation_token.json").read_text())[0]
TOKEN = EVENT["responseElements"]["credentials"]["sessionToken"]
# AWS's documented example secret key (docs.aws.amazon.com), not a live credential.
EXAMPLE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def test_finds_the_session_token_in_every_rendering_of_the_event():
    as_json = json.dumps(EVENT)
    renderings = {
        "json": as_json,
        "notebook json": json.dumps({"text/plain": as_json}),  # quotes escaped as \"
        "html": html.escape(as_json),  # quotes as &quot;
        "dataframe html": pd.DataFrame([{"responseelements": json.dumps(EVENT["responseElements"])}]).to_html(),
    }
    for name, text in renderings.items():
        hits = redact.scan_text(text, name)
        assert {h.pattern for h in hits} >= {"session_token_prefix", "session_token_field"}, name
        assert all(TOKEN not in h.preview for h in hits)  # a report of a secret never repeats it


@pytest.mark.parametrize("text", [
    f"aws_secret_access_key = {EXAMPLE_SECRET}",
    f'{{"SecretAccessKey": "{EXAMPLE_SECRET}"}}',
    f"secretAccessKey: {EXAMPLE_SECRET}\n",
    html.escape(f'{{"secretAccessKey": "{EXAMPLE_SECRET}"}}'),
    "x-amz-security-token=FwoGZXIvYXdzEJr//////////wEaDExampleTokenValue1234567890",
    '"token": "' + "QUJD" * 40 + '"',
])
def test_secret_patterns(text):
    assert redact.scan_text(text), text


@pytest.mark.parametrize("text", [
    '"sessionToken": "HIDDEN_DUE_TO_SECURITY_REASONS"',
    '"accessKeyId": "ASIASTJKC5GCM7ZE6LUP"',  # a key id is not a secret
    "json_extract_scalar(responseelements, '$.credentials.sessionToken')",
    "secret_key = os.environ['X']",
    '<img src="data:image/png;base64,' + "iVBORw0KGgo" * 50 + '">',
])
def test_no_false_positives(text):
    assert redact.scan_text(text) == []


def test_scan_files_names_file_and_line(tmp_path):
    (tmp_path / "clean.html").write_text("<p>nothing here</p>")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "leak.ipynb").write_text("line one\n" + json.dumps(EVENT["responseElements"]))
    hits = redact.scan_files(tmp_path)
    assert {h.path for h in hits} == {"sub/leak.ipynb"}
    assert {h.line for h in hits} == {2}


def test_pseudonyms_are_stable_keyed_and_cover_ids_ips_and_keys():
    first, second = redact.Redactor(b"k" * 32), redact.Redactor(b"other-key-123456")
    text = json.dumps(EVENT)
    masked = first.text(text)
    account = EVENT["recipientAccountId"]
    key_id = EVENT["responseElements"]["credentials"]["accessKeyId"]
    ip = EVENT["sourceIPAddress"]
    for original in (account, key_id, ip):
        assert original not in masked
    assert first.pseudonym("account", account) in masked
    assert first.text(account) == first.text(account) != second.text(account)
    assert first.text(key_id).startswith("ASIA-")  # temporary vs long-term key stays visible
    assert EVENT["eventID"] in masked  # UUIDs are not account ids, even with a 12-digit tail
    assert first.text(masked) == masked  # pseudonyms are not masked again
    assert account in first.seen["account"] and ip in first.seen["ip"]


@pytest.mark.parametrize("value,kind", [
    ("arn:aws:iam::123456789012:user/alice", "account"),
    ("from 203.0.113.7.", "ip"),
    ("src 2001:db8::1 port", "ip"),
    ("AKIAIOSFODNN7EXAMPLE", "key_id"),
])
def test_each_identifier_kind(value, kind):
    redactor = redact.Redactor(b"0" * 16)
    out = redactor.text(value)
    assert out != value and len(redactor.seen[kind]) == 1


@pytest.mark.parametrize("value", ["16:09:08", "2026-10-22T00:00:00Z", "arn:aws:s3:::bucket", "version 3.11.7",
                                   "1761091200000", "a1b2c3d4-0000-1111-2222-123456789012"])
def test_leaves_other_text_alone(value):
    assert redact.Redactor(b"0" * 16).text(value) == value


def test_notebook_redaction_keeps_images(tmp_path):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x = '111122223333'")
    cell.outputs = [nbformat.v4.new_output("display_data", data={
        "text/plain": "account 111122223333", "image/png": "MTExMTIyMjIzMzMz",
        "application/vnd.trailbook.findings+json": [{"account_id": "111122223333", "source_ip": "192.0.2.1"}]})]
    nb.cells = [cell]
    nb.metadata["papermill"] = {"parameters": {"accounts": ["111122223333"]}}
    redactor = redact.Redactor(b"1" * 16)
    redactor.notebook(nb)
    dumped = json.dumps(nb)
    assert "111122223333" not in dumped.replace("MTExMTIyMjIzMzMz", "")
    assert nb.cells[0].outputs[0]["data"]["image/png"] == "MTExMTIyMjIzMzMz"
    record = nb.cells[0].outputs[0]["data"]["application/vnd.trailbook.findings+json"][0]
    assert record == {"account_id": redactor.pseudonym("account", "111122223333"),
                      "source_ip": redactor.pseudonym("ip", "192.0.2.1")}


# --- plots: every text a figure draws is pseudonymized in a redacted report ---------------------------

RAW_ACCOUNT, RAW_IP, RAW_KEY = "444455556666", "203.0.113.77", "AKIA2EXAMPLEKEY99ABC"


def _sign_ins():
    return pd.DataFrame({
        "eventtime": ["2026-10-22T01:00:00Z", "2026-10-22T02:00:00Z", "2026-10-22T03:00:00Z"],
        "user_name": [f"ops-{RAW_KEY}", "alice", "bob"], "account_id": [RAW_ACCOUNT] * 3,
        "outcome": ["Success", "Failure", "Failure"], "mfa_used": [False, False, True],
        "source_ip": [RAW_IP, RAW_IP, "198.51.100.9"],
    })


def _svg_text(fig) -> str:
    import io

    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):  # text stays text in the SVG
        fig.savefig(buffer, format="svg")
    return buffer.getvalue()


def _png_description(data: bytes) -> str:
    import io

    from PIL import Image

    return Image.open(io.BytesIO(data)).info.get("Description", "")


@pytest.mark.parametrize("draw", ["timeline", "failures_by_source"])
def test_plots_draw_no_raw_id_in_a_redacted_report(draw, monkeypatch):
    from trailbook import plots
    from trailbook.plots import logins

    fig = getattr(logins, draw)(_sign_ins())
    fig.legend([], title=f"from {RAW_IP}")  # a figure-level legend too
    raw = {RAW_ACCOUNT, RAW_IP, RAW_KEY}
    unredacted = plots.png_bytes(fig)
    assert raw & set(" ".join(plots.figure_texts(fig)).split()) or any(r in _png_description(unredacted) for r in raw)

    fig = getattr(logins, draw)(_sign_ins())
    fig.legend([], title=f"from {RAW_IP}")
    monkeypatch.setenv(redact.REDACT_ENV, ("ab" * 32))
    png = plots.png_bytes(fig)
    texts = "\n".join(plots.figure_texts(fig))  # titles, labels, tick labels, legends, after the draw
    described, svg = _png_description(png), _svg_text(fig)
    assert described and "acct-" in described + svg or "ip-" in described + svg
    for value in raw:
        assert value not in texts and value not in described and value not in svg, value
