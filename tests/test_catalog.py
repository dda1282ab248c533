"""The catalog lint: the real catalog is valid, and each rule rejects what it should."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from trailbook import catalog as C
from trailbook import params as P
from trailbook.engines.sql import partition_time_filter

GOOD_HEADER = """\
-- name: {name}
-- title: A test query
-- kind: detection
-- description: >
--   A detection used only by the catalog tests to exercise the lint rules.
-- severity: medium
-- mitre: [T1078]
-- engines: [local, athena, lake]
-- tags: [area, console_logins]
-- parameters:
--   start: {{type: timestamp, description: Window start}}
--   end: {{type: timestamp, description: Window end}}
--   user_name: {{type: string, default: alice, description: The user to look for}}
-- remediation:
--   text: Ask the user whether the sign-in was theirs; if not, reset the password.
--   docs: https://docs.aws.amazon.com/IAM/latest/UserGuide/Using_ManagingLogins.html
"""
GOOD_BODY = """\
WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
)
SELECT {{ detection }} AS detection, {{ severity }} AS severity, min(eventtime) AS first_seen,
       max(eventtime) AS last_seen, recipientaccountid AS account_id, awsregion AS region,
       useridentity.arn AS principal_arn, CAST(NULL AS VARCHAR) AS access_key_id,
       sourceipaddress AS source_ip, arbitrary(useragent) AS user_agent,
       array_agg(DISTINCT eventname) AS event_names, count(*) AS event_count,
       slice(array_agg(eventid), 1, {{ max_event_ids }}) AS event_ids, {{ mitre }} AS mitre
FROM events
WHERE useridentity.username = {{ user_name }}
GROUP BY recipientaccountid, awsregion, useridentity.arn, sourceipaddress
"""


def write(tmp_path, name="sample_query", header=GOOD_HEADER, body=GOOD_BODY):
    (tmp_path / "area").mkdir(exist_ok=True)
    path = tmp_path / "area" / f"{name}.sql"
    path.write_text(header.format(name=name) + body)
    return path


def problems(tmp_path, **kwargs):
    return C.validate(C.load_query(write(tmp_path, **kwargs)))


def test_the_shipped_catalog_is_valid(catalog):
    # Every .sql file under queries/ is one query: counted from the file system, not the loader.
    files = sorted(p.stem for p in (Path(__file__).resolve().parents[1] / "queries").rglob("*.sql"))
    assert sorted(catalog) == files
    for query in catalog.values():
        assert C.validate(query) == [], query.name


def test_detections_in_the_catalog_declare_mitre_and_severity(catalog):
    for query in catalog.values():
        if query.is_detection:
            assert query.mitre and query.severity in C.SEVERITIES


def test_a_good_query_has_no_problems(tmp_path):
    assert problems(tmp_path) == []


def test_name_must_match_file(tmp_path):
    path = write(tmp_path)
    path.rename(tmp_path / "area" / "other_name.sql")
    assert any("differs from the file name" in p for p in C.validate(C.load_query(tmp_path / "area" / "other_name.sql")))


@pytest.mark.parametrize("tags,message", [
    ("", "lacks ['tags']"),
    ("-- tags: []\n", "non-empty list"),
    ("-- tags: [Console-Logins]\n", "snake_case"),
    ("-- tags: [signin]\n", "its folder 'area'"),
])
def test_tags_name_the_area_first(tmp_path, tags, message):
    header = GOOD_HEADER.replace("-- tags: [area, console_logins]\n", tags)
    path = write(tmp_path, header=header)
    if "lacks" in message:
        with pytest.raises(C.CatalogError, match=re.escape(message)):
            C.load_query(path)
    else:
        assert any(message in p for p in C.validate(C.load_query(path)))


def test_notebooks_select_detections_by_tag(catalog):
    logins = C.tagged(catalog, "console_logins")
    assert "console_brute_force" in logins and "password_changed" in logins and "console_logins" not in logins
    assert C.tagged(catalog, "console_logins", kind="context") == ["console_logins"]
    assert "cloudtrail_logging_disabled" in C.tagged(catalog, "key_hunt")
    assert not set(logins) & set(C.tagged(catalog, "key_hunt"))


def test_undeclared_placeholder_is_rejected(tmp_path):
    body = GOOD_BODY.replace("{{ user_name }}", "{{ user }}")
    found = problems(tmp_path, body=body)
    assert any("not declared" in p for p in found)


def test_unused_parameter_is_rejected(tmp_path):
    body = GOOD_BODY.replace("useridentity.username = {{ user_name }}", "TRUE")
    assert any("never used" in p for p in problems(tmp_path, body=body))


def test_source_without_time_filter_is_rejected(tmp_path):
    body = GOOD_BODY.replace("WHERE {{ time_filter }}", "")
    assert any("time_filter" in p for p in problems(tmp_path, body=body))


def test_unnest_in_the_source_select_is_rejected(tmp_path):
    body = GOOD_BODY.replace(
        "SELECT * FROM {{ source }} WHERE {{ time_filter }}",
        "SELECT * FROM {{ source }} CROSS JOIN UNNEST(resources) AS r(arn, accountid, type) WHERE {{ time_filter }}",
    )
    found = problems(tmp_path, body=body)
    assert any("must be followed directly by WHERE {{ time_filter }}" in p for p in found)


def test_control_flow_is_rejected(tmp_path):
    body = GOOD_BODY + "{% if x %}{% endif %}\n"
    assert any("control flow" in p for p in problems(tmp_path, body=body))


def test_unparseable_sql_is_rejected(tmp_path):
    body = GOOD_BODY.replace("GROUP BY", "GROUP BYE")
    assert any("parse" in p for p in problems(tmp_path, body=body))


def test_detection_columns_are_enforced(tmp_path):
    body = GOOD_BODY.replace("min(eventtime) AS first_seen", "min(eventtime) AS started")
    assert any("leading output columns" in p for p in problems(tmp_path, body=body))


def test_bad_severity_mitre_and_engine(tmp_path):
    header = (GOOD_HEADER.replace("severity: medium", "severity: urgent")
              .replace("[T1078]", "[TA0001]").replace("[local, athena, lake]", "[local, bigquery]"))
    found = problems(tmp_path, header=header)
    assert any("severity" in p for p in found)
    assert any("MITRE" in p for p in found)
    assert any("engines" in p for p in found)


def test_unsupported_engine_needs_a_note(tmp_path):
    header = GOOD_HEADER.replace("[local, athena, lake]", "[local, athena]")
    assert any("notes.lake" in p for p in problems(tmp_path, header=header))
    noted = header.replace("-- parameters:", "-- notes: {{lake: needs an UNNEST Lake rejects}}\n-- parameters:")
    assert problems(tmp_path, header=noted) == []


def test_unknown_parameter_type_fails_on_load(tmp_path):
    header = GOOD_HEADER.replace("type: string, default: alice", "type: varchar, default: alice")
    with pytest.raises(C.CatalogError, match="unknown type"):
        C.load_query(write(tmp_path, header=header))


def test_duplicate_names_fail(tmp_path):
    write(tmp_path)
    (tmp_path / "sub").mkdir()
    write(tmp_path / "sub")  # sub/area/sample_query.sql
    with pytest.raises(C.CatalogError, match="duplicate"):
        C.load_catalog(tmp_path)


class _Fragments:
    name = "test"

    def fragments(self, start, end):
        return {"source": "cloudtrail", "time_filter": partition_time_filter(start, end)}


def test_render_types_values_and_rejects_unknown_names(tmp_path):
    query = C.load_query(write(tmp_path))
    rendered = query.render(_Fragments(), start="2026-10-22", end="2026-10-29", user_name="o'neil")
    assert "useridentity.username = 'o''neil'" in rendered.sql
    # The last day holds events up to the end; one more day for files CloudTrail delivers late.
    assert "date_partition BETWEEN '2026/10/22' AND '2026/10/29'" in rendered.sql
    assert "eventtime < '2026-10-29T00:00:00Z'" in rendered.sql
    assert "'sample_query' AS detection" in rendered.sql
    assert rendered.parameters_json()["user_name"] == "o'neil"
    with pytest.raises(P.ParameterError, match="unknown parameter"):
        query.render(_Fragments(), start="2026-10-22", end="2026-10-29", usr="x")
    with pytest.raises(P.ParameterError, match="not before"):
        query.render(_Fragments(), start="2026-10-29", end="2026-10-22")
    with pytest.raises(P.ParameterError, match="required"):
        query.render(_Fragments(), end="2026-10-22")


def test_help_lists_parameters(catalog):
    text = catalog["root_activity"].help()
    assert "start: timestamp" in text and "T1078.004" in text


def test_relative_default_follows_its_anchor(tmp_path):
    header = GOOD_HEADER.replace(
        "--   end: {{type: timestamp, description: Window end}}",
        "--   end: {{type: timestamp, description: Window end}}\n"
        "--   baseline_start: {{type: timestamp, default: start - 14d, description: Baseline start}}",
    ).replace("-- parameters:", "-- window: [baseline_start, end]\n-- parameters:")
    query = C.load_query(write(tmp_path, header=header))
    assert C.validate(query) == []
    typed = query.coerce({"start": "2026-10-22", "end": "2026-10-29"})
    assert typed["baseline_start"] == dt.datetime(2026, 10, 8, tzinfo=dt.timezone.utc)
    rendered = query.render(_Fragments(), start="2026-10-22", end="2026-10-29")
    assert "date_partition BETWEEN '2026/10/08' AND '2026/10/29'" in rendered.sql
    explicit = query.coerce({"start": "2026-10-22", "end": "2026-10-29", "baseline_start": "2026-10-01"})
    assert explicit["baseline_start"] == dt.datetime(2026, 10, 1, tzinfo=dt.timezone.utc)


def test_a_stage_must_be_a_known_python_stage(tmp_path):
    header = GOOD_HEADER.replace("-- tags: [area, console_logins]\n", "-- tags: [area, console_logins]\n-- stage: nope\n")
    assert any("stage 'nope' is not one of ['resource_policy']" in p for p in problems(tmp_path, header=header))
    header = header.replace("stage: nope", "stage: resource_policy")
    assert problems(tmp_path, header=header) == []


def test_a_query_may_not_compute_the_actor_itself(tmp_path):
    own = GOOD_BODY.replace("useridentity.arn AS principal_arn",
                            "coalesce(useridentity.arn, useridentity.principalid) AS principal_arn")
    assert own != GOOD_BODY
    assert any("computes the actor itself" in p for p in problems(tmp_path, body=own))
    shared = GOOD_BODY.replace("useridentity.arn AS principal_arn", "{{ actor_arn }} AS principal_arn")
    assert problems(tmp_path, body=shared) == []
    null_safe = GOOD_BODY.replace("useridentity.arn AS principal_arn", "coalesce(useridentity.arn, '') AS principal_arn")
    assert problems(tmp_path, body=null_safe) == []


def test_the_actor_fragment_renders_the_same_sql_on_every_engine(catalog):
    from trailbook.engines.sql import ACTOR_ARN

    query = catalog["resource_policy_external_access"]
    assert "{{ actor_arn }}" in query.sql
    assert ACTOR_ARN in query.render(C._LintFragments(), start="2026-01-01", end="2026-01-02").sql


# --- the first-seen family: key_new_* detections share one definition -------------------------------

KEY_NEW = ("key_new_region", "key_new_source_ip", "key_new_source_network", "key_new_user_agent",
           "key_new_user_agent_family")
QUERIES = Path(__file__).resolve().parents[1] / "queries"


def test_every_key_new_detection_is_a_member_of_the_first_seen_family(catalog):
    assert sorted(n for n in catalog if n.startswith("key_new_")) == sorted(KEY_NEW)
    for name in KEY_NEW:
        text = (QUERIES / "keys" / f"{name}.sql").read_text()
        assert text.count("{{ key_first_seen }}") == 1, name
        for own_logic in ("known_subjects", "'AKIA%'", "min_baseline_events }}", "{{ actor_arn }}"):
            assert own_logic not in text.split("WITH events AS", 1)[1], (name, own_logic)
        # Loaded, the family is pasted in: the query as run judges subjects against their baseline.
        sql = catalog[name].render(C._LintFragments(), start="2026-10-22T00:00:00Z", end="2026-10-29T00:00:00Z").sql
        assert "HAVING count(*) >= 5" in sql and "known_subjects" in sql and "{{" not in sql


def _member(tmp_path, body: str, name: str = "key_new_example") -> list[str]:
    """A key_new_* query with key_new_region's header and the given body, validated."""
    header, _ = (QUERIES / "keys" / "key_new_region.sql").read_text().split("WITH events AS", 1)
    (tmp_path / "keys").mkdir(exist_ok=True)
    path = tmp_path / "keys" / f"{name}.sql"
    path.write_text(header.replace("key_new_region", name) + body)
    return C.validate(C.load_query(path))


MEMBER_HEAD = """WITH events AS (
    SELECT * FROM {{ source }} WHERE {{ time_filter }}
),
seen AS (
    SELECT *, eventsource AS seen_value FROM events
),
"""
MEMBER_TAIL = """
SELECT {{ detection }} AS detection, {{ severity }} AS severity, min(eventtime) AS first_seen,
       max(eventtime) AS last_seen, recipientaccountid AS account_id, min(awsregion) AS region,
       min(principal_arn) AS principal_arn, min(access_key_id) AS access_key_id,
       max_by(sourceipaddress, eventtime) AS source_ip, min(useragent) AS user_agent,
       array_agg(DISTINCT eventname) AS event_names, count(*) AS event_count,
       slice(array_agg(eventid), 1, {{ max_event_ids }}) AS event_ids, {{ mitre }} AS mitre
FROM novel
GROUP BY recipientaccountid, subject
"""
# The first-seen logic written out by hand, as the key_new_* files each did before the family.
OWN_FIRST_SEEN = """activity AS (
    SELECT
        eventtime, eventid, eventname, recipientaccountid, awsregion, sourceipaddress, useragent, seen_value,
        useridentity.arn AS principal_arn, useridentity.accesskeyid AS access_key_id,
        CASE WHEN useridentity.accesskeyid LIKE 'AKIA%' THEN useridentity.accesskeyid
             ELSE {{ actor_arn }} END AS subject,
        from_iso8601_timestamp(eventtime) >= {{ start }} AS in_window
    FROM seen
    WHERE useridentity.invokedby IS NULL
),
known_subjects AS (
    SELECT subject FROM activity WHERE NOT in_window GROUP BY subject HAVING count(*) >= {{ min_baseline_events }}
),
baseline AS (
    SELECT DISTINCT subject, seen_value FROM activity WHERE NOT in_window
),
novel AS (
    SELECT a.* FROM activity a
    JOIN known_subjects k ON k.subject = a.subject
    LEFT JOIN baseline b ON b.subject = a.subject AND b.seen_value = a.seen_value
    WHERE a.in_window AND b.subject IS NULL
)"""


def test_a_key_new_query_that_uses_the_family_is_valid(tmp_path):
    assert _member(tmp_path, MEMBER_HEAD + "{{ key_first_seen }}" + MEMBER_TAIL) == []


def test_a_key_new_query_may_not_re_implement_the_first_seen_logic(tmp_path):
    found = _member(tmp_path, MEMBER_HEAD + OWN_FIRST_SEEN + MEMBER_TAIL)
    assert any("uses {{ key_first_seen }} exactly once" in p for p in found), found
    assert any("re-implements {{ key_first_seen }}" in p for p in found), found
    # Renamed CTEs still re-implement it: the threshold, window split and subject are the family's.
    renamed = OWN_FIRST_SEEN
    for old, new in (("activity", "calls"), ("known_subjects", "judged"), ("baseline", "usual"), ("novel", "fresh")):
        renamed = re.sub(rf"\b{old}\b", new, renamed)
    found = _member(tmp_path, MEMBER_HEAD + renamed + MEMBER_TAIL.replace("FROM novel", "FROM fresh"))
    assert any("re-implements {{ key_first_seen }}" in p for p in found), found
    # Using the family and re-defining one of its steps beside it is a re-implementation too.
    twice = MEMBER_HEAD + "{{ key_first_seen }},\nknown_subjects AS (\n    SELECT subject FROM activity\n)"
    found = _member(tmp_path, twice + MEMBER_TAIL)
    assert any("re-implements {{ key_first_seen }}" in p for p in found), found


def test_only_key_new_queries_use_the_first_seen_family(tmp_path):
    found = _member(tmp_path, MEMBER_HEAD + "{{ key_first_seen }}" + MEMBER_TAIL, name="key_example_first_seen")
    assert any("{{ key_first_seen }} is for the key_new_* queries only" in p for p in found), found


def test_every_header_reads_the_same_with_the_pure_python_safe_loader():
    # The catalog uses libyaml's loader when present; PyYAML's own SafeLoader is the reference.
    import yaml

    from trailbook import catalog as C

    files = sorted((Path(__file__).parent.parent / "queries").rglob("*.sql"))
    assert len(files) > 50
    for path in files:
        text = path.read_text(encoding="utf-8")
        lines = []
        for line in text.strip().splitlines():
            if not line.strip().startswith("--"):
                break
            content = line.strip()[2:]
            lines.append(content[1:] if content.startswith(" ") else content)
        reference = yaml.load("\n".join(lines), Loader=yaml.SafeLoader) or {}
        assert reference and C.parse_header(text, path)[0] == reference, path.name


# A detection without remediation, and one whose remediation links outside AWS's documentation.
NO_REMEDIATION = "\n".join(line for line in GOOD_HEADER.splitlines() if "remediation" not in line
                           and not line.startswith(("--   text:", "--   docs:"))) + "\n"
FOREIGN_DOCS = GOOD_HEADER.replace("https://docs.aws.amazon.com/IAM/latest/UserGuide/Using_ManagingLogins.html",
                                   "https://example.com/aws/reset-a-password")


def test_a_detection_explains_what_to_do_with_a_link_to_aws_docs(tmp_path):
    assert "remediation" not in NO_REMEDIATION and "example.com" in FOREIGN_DOCS
    missing = problems(tmp_path, name="no_remediation", header=NO_REMEDIATION)
    assert any("needs remediation.text" in p for p in missing), missing
    assert any("must link AWS's documentation" in p for p in missing), missing
    foreign = problems(tmp_path, name="foreign_docs", header=FOREIGN_DOCS)
    assert [p for p in foreign if "remediation" in p] == [
        "remediation.docs 'https://example.com/aws/reset-a-password' must link AWS's documentation "
        "(https://docs.aws.amazon.com/...)"], foreign
    short = problems(tmp_path, name="short_text", header=GOOD_HEADER.replace(
        "Ask the user whether the sign-in was theirs; if not, reset the password.", "Reset it."))
    assert any("needs remediation.text" in p for p in short), short
    # A context query needs none.
    as_context = NO_REMEDIATION.replace("kind: detection", "kind: context")
    context = problems(tmp_path, name="context_query", header=as_context)
    assert not any("remediation" in p for p in context), context


def test_every_catalog_detection_says_what_to_do(catalog):
    detections = [q for q in catalog.values() if q.is_detection]
    assert len(detections) >= 58
    for query in detections:
        assert len(query.remediation) >= 30, query.name
        assert query.remediation_docs.startswith("https://docs.aws.amazon.com/"), query.name
        assert not [p for p in C.validate(query) if "remediation" in p], query.name
