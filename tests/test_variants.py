"""Variants: every Stratus detection is proven on more than one shape of its attack (issue 16).

tests/variants.py turns each recording (tests/fixtures/stratus/) into variants: the actor as an IAM
user, an assumed role, a federated user and root; the singular and batch forms of the API; another
account and region; failed calls mixed in; the attack cut by a report's window edge and by midnight;
the demo's background interleaved. A variant is detected when every attack call it carries (its
eventIDs, mapped from malicious_event_ids.json) is cited by a finding of the technique's expected
detection(s), and each expected detection cites one. For window_edge the two windows on either side of
the cut are hunted separately and their findings pooled, as two consecutive scheduled reports would be.

One store per technique holds all its variants, each in an account and on days of its own, so one
hunt serves them all; it runs the technique's expected detections only, with test_stratus's settings
(defaults, a 14-day baseline that holds nothing): the whole hunt's exactness is test_stratus's job.
Classes that cannot apply are in variants.NOT_APPLICABLE with the reason; known gaps are KNOWN_GAPS
(strict xfail). The share table prints at the end of the module:
`.venv/bin/python -m pytest -q -s -p no:xdist tests/test_variants.py` (or run this file).
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import os
from collections import defaultdict
from pathlib import Path

import pandas as pd
import pytest

import variants as V
from conftest import local_session
from test_stratus import EXPECTED, MALICIOUS, STRATUS
from trailbook.analyses import keys as K
from trailbook.session import Session

pytestmark = pytest.mark.slow

TECHNIQUES = sorted(EXPECTED)
NOISE_EVENTS = 150

# (technique, variant name) -> why it is not detected today. Strict: a fix makes the test fail until removed.
# Empty since detections that count or correlate over a span read `lookback` before their window
# (catalog.py): the four window_edge variants it used to list are whole in the later report.
KNOWN_GAPS: dict[tuple[str, str], str] = {}


def _recording(technique: str) -> list[dict]:
    return json.loads((STRATUS / f"{technique}.json").read_text())


def demo_noise(root: Path) -> list[dict]:
    """A small deterministic slice of the demo's clean background (seed 7, 1,000 events)."""
    from trailbook import demo

    demo.generate(root, events=1_000, incidents=False)
    records = []
    for path in sorted((root / "cloudtrail").rglob("*.json.gz")):
        records += json.loads(gzip.decompress(path.read_bytes())).get("Records", [])  # digests hold none
    records.sort(key=lambda r: (r["eventTime"], r["eventID"]))
    middle = len(records) // 2
    return records[middle:middle + NOISE_EVENTS]


def all_variants(technique: str, noise: list[dict]) -> list[V.Variant]:
    events = _recording(technique)
    made = V.variants(technique, events, MALICIOUS[technique]["event_ids"], noise=noise)
    first = min(V.parse_time(e["eventTime"]) for e in events)
    origin = first.replace(hour=0, minute=0, second=0, microsecond=0)
    return [V.place(v, i, origin, TECHNIQUES.index(technique)) for i, v in enumerate(made)]


def verdict(found, v: V.Variant, expected: tuple[str, ...]) -> tuple[bool, str]:
    """Detected when every attack eventID is cited by an expected detection and each of them cites one."""
    hits = found[found["detection"].isin(list(expected))] if not found.empty else found
    cited = {eid for ids in hits["event_ids"] for eid in ids} if not hits.empty else set()
    attack = set(v.attack)
    uncited = attack - cited
    silent = [d for d in expected if not any(attack & set(r.event_ids) for r in hits.itertuples() if r.detection == d)]
    if uncited or silent:
        return False, f"not cited: {len(uncited)} of {len(attack)} attack calls; silent: {silent}"
    return True, ""


def run_technique(technique: str, noise: list[dict], tmp: Path, catalog) -> dict[str, tuple[bool, str]]:
    """One store, one hunt over the shared days, two for each window_edge variant: name -> (detected, why)."""
    placed = all_variants(technique, noise)
    events = [e for v in placed for e in v.events]
    times = sorted(V.parse_time(e["eventTime"]) for e in events)
    start = times[0].replace(hour=0, minute=0, second=0)
    end = times[-1].replace(hour=0, minute=0, second=0) + dt.timedelta(days=1)
    expected = EXPECTED[technique]
    session = local_session(events, tmp, start=start, end=end, catalog=catalog)
    found = K.hunt(session, baseline_days=14, names=list(expected))
    results = {}
    for v in placed:
        if v.cls == "window_edge":
            assert v.split_at is not None
            parts = []
            day = dt.timedelta(days=1)
            for lo, hi in ((v.split_at - day, v.split_at), (v.split_at, v.split_at + day)):
                s = Session(session.engine, start=lo, end=hi, catalog=catalog, prepared=session.prepared)
                parts.append(K.hunt(s, baseline_days=14, names=list(expected)))
            results[v.name] = verdict(pd.concat(parts, ignore_index=True), v, expected)
        else:
            results[v.name] = verdict(found, v, expected)
    return results


# --- the share table ------------------------------------------------------------------------------

_RESULTS: dict[str, dict[str, tuple[bool, str]]] = {}


def share_table(results: dict[str, dict[str, tuple[bool, str]]]) -> str:
    """Detected share per technique and per class; n/a where the class cannot apply."""
    lines = ["| technique | " + " | ".join(V.CLASSES) + " | all |", "|---|" + "---|" * (len(V.CLASSES) + 1)]
    per_class: dict[str, list[bool]] = defaultdict(list)
    for technique in sorted(results):
        cells, row = [], []
        for cls in V.CLASSES:
            got = [ok for name, (ok, _) in results[technique].items() if name.split(":")[0] == cls]
            per_class[cls] += got
            row += got
            cells.append(f"{sum(got)}/{len(got)}" if got else "n/a")
        lines.append(f"| {technique.removeprefix('aws.')} | " + " | ".join(cells) + f" | {sum(row)}/{len(row)} |")
    total = [ok for cls in V.CLASSES for ok in per_class[cls]]
    lines.append("| **all** | " + " | ".join(f"{sum(per_class[c])}/{len(per_class[c])}" if per_class[c] else "n/a"
                                            for c in V.CLASSES) + f" | {sum(total)}/{len(total)} |")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def noise(tmp_path_factory):
    return demo_noise(tmp_path_factory.mktemp("demo_noise"))


@pytest.fixture(scope="module")
def outcomes(noise, tmp_path_factory, catalog, request):
    cache: dict[str, dict[str, tuple[bool, str]]] = {}

    def get(technique: str) -> dict[str, tuple[bool, str]]:
        if technique not in cache:
            cache[technique] = run_technique(technique, noise, tmp_path_factory.mktemp("variants"), catalog)
            _RESULTS[technique] = cache[technique]
        return cache[technique]

    yield get
    if _RESULTS:
        table = share_table(_RESULTS)
        reporter = request.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line("\nVariants detected (share per technique and class):\n" + table)


def _cases():
    for technique in TECHNIQUES:
        for cls in V.CLASSES:
            # one worker builds a technique's store (xdist registers the mark; only its workers collect)
            marks = [pytest.mark.xdist_group(f"variants-{technique}")] if os.environ.get("PYTEST_XDIST_WORKER") else []
            yield pytest.param(technique, cls, marks=marks, id=f"{technique.removeprefix('aws.')}-{cls}")


@pytest.mark.parametrize(("technique", "cls"), list(_cases()))
def test_variant_is_detected(technique, cls, outcomes):
    if (technique, cls) in V.NOT_APPLICABLE:
        pytest.skip(f"n/a: {V.NOT_APPLICABLE[(technique, cls)]}")
    results = {name: r for name, r in outcomes(technique).items() if name.split(":")[0] == cls}
    if not results:
        pytest.skip(f"n/a: {V.ONE_FORM}")
    failed = {name: why for name, (ok, why) in results.items() if not ok and (technique, name) not in KNOWN_GAPS}
    gaps = {name: KNOWN_GAPS[(technique, name)] for name in results if (technique, name) in KNOWN_GAPS}
    assert not failed, f"{technique} {cls}: {failed}"
    for name in gaps:
        assert not results[name][0], f"{technique} {name} is detected now: remove it from KNOWN_GAPS"
    if gaps:
        pytest.xfail("; ".join(f"{n}: {r}" for n, r in gaps.items()))


# --- the generator itself ---------------------------------------------------------------------------

def test_every_class_is_generated_or_explained():
    noise = [{"eventTime": "2024-01-01T00:00:00Z", "eventID": "n", "recipientAccountId": "111111111111",
              "awsRegion": "us-east-1", "userIdentity": {"accountId": "111111111111"}, "eventName": "ListBuckets"}]
    for technique in TECHNIQUES:
        made = {v.name.split(":")[0] for v in V.variants(technique, _recording(technique),
                                                          MALICIOUS[technique]["event_ids"], noise=noise)}
        for cls in V.CLASSES:
            assert (cls in made) != ((technique, cls) in V.NOT_APPLICABLE) or cls == "api_form", (technique, cls)


def test_variants_are_deterministic_and_renumbered():
    technique = "aws.credential-access.secretsmanager-retrieve-secrets"
    one = all_variants(technique, [])
    two = all_variants(technique, [])
    assert [[e["eventID"] for e in v.events] for v in one] == [[e["eventID"] for e in v.events] for v in two]
    recorded = {e["eventID"] for e in _recording(technique)}
    ids = [e["eventID"] for v in one for e in v.events]
    assert len(ids) == len(set(ids)) and not set(ids) & recorded
    for v in one:
        assert set(v.attack) <= {e["eventID"] for e in v.events}
        assert {m for src in v.attack.values() for m in src} == set(MALICIOUS[technique]["event_ids"])


def test_identity_shapes_follow_the_cloudtrail_reference():
    technique = "aws.persistence.sts-federation-token"
    events, mal = _recording(technique), MALICIOUS[technique]["event_ids"]
    root = V.as_identity(events, mal, "root", "t")
    token = next(e for e in root if e["eventName"] == "GetFederationToken")
    assert token["userIdentity"]["type"] == "Root"
    assert token["userIdentity"]["arn"] == f"arn:aws:iam::{token['recipientAccountId']}:root"
    assert "userName" not in token["userIdentity"]
    session = next(e for e in root if e["userIdentity"]["type"] == "FederatedUser")
    assert session["userIdentity"]["sessionContext"]["sessionIssuer"]["type"] == "Root"
    other = "aws.credential-access.secretsmanager-retrieve-secrets"
    role = V.as_identity(_recording(other), MALICIOUS[other]["event_ids"], "assumed_role", "t")
    ui = next(e for e in role if e["eventName"] == "GetSecretValue")["userIdentity"]
    assert ui["arn"].startswith("arn:aws:sts::") and ":assumed-role/deploy-pipeline/" in ui["arn"]
    assert ui["sessionContext"]["sessionIssuer"]["type"] == "Role"
    assert ui["sessionContext"]["sessionIssuer"]["arn"].endswith(":role/deploy-pipeline")
    assert ui["principalId"].endswith(":" + ui["arn"].rsplit("/", 1)[1]) and ui["accessKeyId"].startswith("ASIA")
    fed = V.as_identity(_recording(other), MALICIOUS[other]["event_ids"], "federated_user", "t")
    ui = next(e for e in fed if e["eventName"] == "GetSecretValue")["userIdentity"]
    assert ui["type"] == "FederatedUser" and ":federated-user/" in ui["arn"]
    assert ui["sessionContext"]["sessionIssuer"]["type"] == "IAMUser"


if __name__ == "__main__":  # the README table: python tests/test_variants.py
    import sys
    import tempfile

    sys.path.insert(0, str(Path(__file__).parent))
    from trailbook.catalog import load_catalog

    with tempfile.TemporaryDirectory() as d:
        noise_events = demo_noise(Path(d) / "demo")
        cat = load_catalog()
        for t in TECHNIQUES:
            _RESULTS[t] = run_technique(t, noise_events, Path(d) / t, cat)
            bad = {n: w for n, (ok, w) in _RESULTS[t].items() if not ok}
            print(t, "ok" if not bad else bad, flush=True)
    print(share_table(_RESULTS))
