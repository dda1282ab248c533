"""The query catalog: one Trino SQL file per question, with a YAML header in SQL comments.

    -- name: root_activity                 (equal to the file name)
    -- title: Root user activity
    -- kind: detection                     (detection | context)
    -- description: >
    --   What it finds and why it matters.
    -- severity: high                      (info | low | medium | high | critical)
    -- mitre: [T1078.004]
    -- engines: [local, athena, lake]
    -- tags: [signin, console_logins]      (its area, which is its folder, then who uses it)
    -- parameters:
    --   start: {type: timestamp, description: Window start, inclusive (UTC)}
    --   end:   {type: timestamp, description: Window end, exclusive (UTC)}
    -- window: [start, end]                (the parameters that bound the scan; default start, end)
    -- stage: resource_policy              (optional: a Python stage that decides which rows are findings)
    -- lookback: bucket_minutes            (optional, detections: read this far before the window; see below)
    -- references: [https://...]

Placeholders are `{{ name }}` only (no control flow). Two kinds exist:
declared parameters, rendered by `params` (the single escaping path), and
built-in fragments: `source` and `time_filter` come from the engine; `detection`,
`severity`, `mitre` and `max_event_ids` come from the header; `actor_arn` (who acted, as an
ARN) is the same on every engine and no query may compute it itself. A family (`key_first_seen`)
is shared SQL that itself holds placeholders: it is pasted into the query's text when the file is
loaded, so the rest of the catalog sees one plain query; a family's members (`key_new_*`) must use it
rather than re-implement it. Every read of
`{{ source }}` is followed directly by `WHERE {{ time_filter }}`, in a SELECT
with no joins or UNNEST, so the time window prunes partitions first.

`lookback` closes the gap between consecutive reports for a detection that counts or correlates
events over a span: a burst or a sequence cut by the window's start is whole in the later window.
The query reads from `start - lookback` (an int parameter named `*_minutes`, `*_hours` or `*_days`,
or a fixed duration such as `36h`) and keeps only the findings whose `last_seen` is at or after
`start` (`findings.ending_in_window`): a finding that ended before the window belongs to the
earlier report, and one that continues into this window is reported here with everything it
rests on, its `first_seen` before `start`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import yaml

from . import engines, paths, stages
from . import params as P
from .contract import FINDING_COLUMNS, KINDS, MAX_EVENT_IDS, SEVERITIES
from .engines.sql import ACTOR_ARN, KEY_FIRST_SEEN, partition_time_filter
from .errors import TrailbookError

# libyaml's safe loader when PyYAML was built with it: the same documents, several times faster.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
ENGINE_FRAGMENTS = ("source", "time_filter")
HEADER_FRAGMENTS = ("detection", "severity", "mitre", "max_event_ids")
SHARED_FRAGMENTS = {"actor_arn": ACTOR_ARN}  # the same SQL on every engine
# Shared SQL with placeholders of its own, pasted in on load: name -> (SQL, the members' name prefix).
FAMILIES = {"key_first_seen": (KEY_FIRST_SEEN, "key_new_")}
BUILTINS = ENGINE_FRAGMENTS + HEADER_FRAGMENTS + tuple(SHARED_FRAGMENTS) + tuple(FAMILIES)
# A query that computes the actor itself instead of using {{ actor_arn }}.
_OWN_ACTOR = re.compile(r"coalesce\(\s*(\w+\.)?useridentity\.arn\s*,(?!\s*''\s*\))", re.I)

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_MITRE = re.compile(r"^T\d{4}(\.\d{3})?$")
_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
# A timestamp default relative to another timestamp parameter, e.g. `start - 14d`.
_RELATIVE_DEFAULT = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s*([-+])\s*(\d+)\s*([dhm])\s*$")
_DURATION = re.compile(r"^(\d+)([dhm])$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}
_PARAM_UNITS = {"_minutes": "minutes", "_hours": "hours", "_days": "days"}
_CTE = re.compile(r"\b([a-z_][a-z0-9_]*)\s+AS\s*\(", re.I)
_SOURCE_READ = re.compile(r"\{\{\s*source\s*\}\}(\s+(AS\s+)?[a-z_]+)?\s+WHERE\s+\{\{\s*time_filter\s*\}\}", re.I)


class CatalogError(TrailbookError, ValueError):
    """The catalog, or one query in it, is invalid."""


class FragmentProvider(Protocol):
    name: str

    def fragments(self, start: dt.datetime, end: dt.datetime) -> dict[str, str]: ...


@dataclass(frozen=True)
class Rendered:
    """A query as it will run: the SQL text and the typed values that went into it."""

    query: Query
    sql: str
    values: Mapping[str, Any]
    window: tuple[dt.datetime, dt.datetime]

    def parameters_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in self.values.items():
            if isinstance(value, dt.datetime):
                out[key] = P.iso(value)
            elif isinstance(value, tuple):
                out[key] = list(value)
            else:
                out[key] = value
        return out


@dataclass(frozen=True)
class Query:
    name: str
    title: str
    kind: str
    description: str
    severity: str
    mitre: tuple[str, ...]
    engines: tuple[str, ...]
    params: Mapping[str, P.Param]
    window: tuple[str, ...]  # validate() requires exactly two
    sql: str
    path: Path
    references: tuple[str, ...] = ()
    columns: Mapping[str, str] = field(default_factory=dict)
    notes: Mapping[str, str] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    stage: str | None = None  # a stages.STAGES name: a Python verdict after the SQL
    template: str = ""  # the file's SQL as written, before families are pasted in (`sql` is after)
    remediation: str = ""  # what to do about a finding
    remediation_docs: str = ""  # AWS's documentation for doing it (https://docs.aws.amazon.com/...)
    lookback: str = ""  # how far before the window it reads: an int parameter's name, or a duration like 36h

    @property
    def is_detection(self) -> bool:
        return self.kind == "detection"

    def placeholders(self) -> set[str]:
        return set(_PLACEHOLDER.findall(self.sql))

    def coerce(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Typed values for every declared parameter: given, or the default. Unknown names fail."""
        unknown = sorted(set(values) - set(self.params))
        if unknown:
            raise P.ParameterError(
                f"{self.name}: unknown parameter(s) {unknown}; declared: {sorted(self.params)}"
            )
        typed: dict[str, Any] = {}
        relative: dict[str, tuple[str, dt.timedelta]] = {}
        for name, param in self.params.items():
            if name not in values and self.relative_default(param) is not None:
                relative[name] = self.relative_default(param)  # type: ignore[assignment]
                continue
            value = values.get(name, param.default)
            if value is None and param.type.startswith("list["):
                value = ()
            if value is None:
                raise P.ParameterError(f"{self.name}: parameter {name!r} ({param.type}) is required")
            typed[name] = param.coerce(value)
        for name, (anchor, offset) in relative.items():
            typed[name] = typed[anchor] + offset
        start, end = typed[self.window[0]], typed[self.window[1]]
        if not start < end:
            raise P.ParameterError(f"{self.name}: window start {P.iso(start)} is not before end {P.iso(end)}")
        return typed

    def lookback_span(self, typed: Mapping[str, Any]) -> dt.timedelta:
        """How far before its window this query reads, for these typed values (zero without `lookback`)."""
        if not self.lookback:
            return dt.timedelta(0)
        if self.lookback in self.params:
            unit = next((u for suffix, u in _PARAM_UNITS.items() if self.lookback.endswith(suffix)), "minutes")
            return dt.timedelta(**{unit: int(typed[self.lookback])})
        match = _DURATION.match(self.lookback)
        if match is None:  # validate() rejects it; a query loaded without validation reads no further
            return dt.timedelta(0)
        return dt.timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})

    def read_window(self, values: Mapping[str, Any]) -> tuple[dt.datetime, dt.datetime]:
        """The span the query reads with these values: its window, from `lookback` earlier."""
        return self._read_window(self.coerce(values))

    def _read_window(self, typed: Mapping[str, Any]) -> tuple[dt.datetime, dt.datetime]:
        start, end = typed[self.window[0]], typed[self.window[1]]
        return start - self.lookback_span(typed), end

    def relative_default(self, param: P.Param) -> tuple[str, dt.timedelta] | None:
        """(anchor, offset) when a timestamp's default is written relative to another, like `start - 14d`."""
        if param.type != "timestamp" or not isinstance(param.default, str):
            return None
        match = _RELATIVE_DEFAULT.match(param.default)
        if not match or match.group(1) not in self.params or match.group(1) == param.name:
            return None
        amount = int(match.group(3)) * (1 if match.group(2) == "+" else -1)
        return match.group(1), dt.timedelta(**{_UNITS[match.group(4)]: amount})

    def render(self, engine: FragmentProvider, **values: Any) -> Rendered:
        typed = self.coerce(values)
        window = self._read_window(typed)
        fragments = dict(engine.fragments(*window))
        fragments.update(self.header_fragments())
        fragments.update(SHARED_FRAGMENTS)
        missing = set(ENGINE_FRAGMENTS) - set(fragments)
        if missing:
            raise CatalogError(f"engine {engine.name!r} gave no fragment(s) {sorted(missing)}")

        def substitute(match: re.Match) -> str:
            key = match.group(1)
            if key in self.params:
                return self.params[key].render(typed[key])
            return fragments[key]

        return Rendered(self, _PLACEHOLDER.sub(substitute, self.sql), typed, window)

    def header_fragments(self) -> dict[str, str]:
        return {
            "detection": P.sql_string(self.name),
            "severity": P.sql_string(self.severity),
            "mitre": P.render("list[string]", self.mitre),
            "max_event_ids": str(MAX_EVENT_IDS),
        }

    def help(self) -> str:
        lines = [f"{self.name}: {self.title}  [{self.kind}, {self.severity}]", "", self.description.strip(), ""]
        for param in self.params.values():
            default = "" if param.default is None else f" = {param.default!r}"
            lines.append(f"  {param.name}: {param.type}{default}  {param.description}")
        if self.mitre:
            lines.append(f"  MITRE ATT&CK: {', '.join(self.mitre)}")
        if self.lookback:
            lines.append(f"  reads from {self.lookback} before start; reports the findings that end in the window")
        lines.append(f"  engines: {', '.join(self.engines)}")
        for engine, note in self.notes.items():
            lines.append(f"  note ({engine}): {note}")
        return "\n".join(lines)


def parse_header(text: str, path: Path) -> tuple[dict, str]:
    """Split a query file into its YAML header (leading `--` lines) and the SQL body."""
    header_lines, body_start = [], 0
    lines = text.splitlines()
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("--"):
            content = stripped[2:]
            header_lines.append(content[1:] if content.startswith(" ") else content)
            body_start = i + 1
        elif stripped == "" and not header_lines:
            continue
        else:
            break
    try:
        header = yaml.load("\n".join(header_lines), Loader=_SAFE_LOADER) or {}
    except yaml.YAMLError as exc:
        raise CatalogError(f"{path.name}: header is not valid YAML: {exc}") from None
    if not isinstance(header, dict):
        raise CatalogError(f"{path.name}: header must be a mapping of key: value lines")
    return header, "\n".join(lines[body_start:]).strip() + "\n"


def _param_from_header(name: str, spec: Any, path: Path) -> P.Param:
    if not isinstance(spec, dict) or "type" not in spec:
        raise CatalogError(f"{path.name}: parameter {name!r} needs a mapping with at least 'type'")
    unknown = set(spec) - {"type", "description", "default", "min", "max", "choices"}
    if unknown:
        raise CatalogError(f"{path.name}: parameter {name!r} has unknown keys {sorted(unknown)}")
    if not P.is_known_type(str(spec["type"])):
        raise CatalogError(f"{path.name}: parameter {name!r} has unknown type {spec['type']!r}; "
                           f"known: {P.type_names()}")
    return P.Param(
        name=name,
        type=str(spec["type"]),
        description=str(spec.get("description", "")),
        default=spec.get("default"),
        minimum=spec.get("min"),
        maximum=spec.get("max"),
        choices=tuple(spec.get("choices") or ()),
    )


def expand_families(template: str) -> str:
    """The query's SQL with every {{ family }} replaced by the family's SQL (whose placeholders stay)."""
    return _PLACEHOLDER.sub(lambda m: FAMILIES[m.group(1)][0] if m.group(1) in FAMILIES else m.group(0), template)


def load_query(path: Path) -> Query:
    path = Path(path)
    header, sql = parse_header(path.read_text(encoding="utf-8"), path)
    required = ("name", "title", "kind", "description", "severity", "engines", "parameters", "tags")
    missing = [key for key in required if key not in header]
    if missing:
        raise CatalogError(f"{path.name}: header lacks {missing}")
    known = set(required) | {"mitre", "window", "references", "columns", "notes", "stage", "remediation", "lookback"}
    unknown = set(header) - known
    if unknown:
        raise CatalogError(f"{path.name}: unknown header keys {sorted(unknown)}")
    params = {name: _param_from_header(name, spec, path) for name, spec in (header["parameters"] or {}).items()}
    window = tuple(header.get("window") or ("start", "end"))
    remediation = header.get("remediation") or {}
    if not isinstance(remediation, dict) or set(remediation) - {"text", "docs"}:
        raise CatalogError(f"{path.name}: remediation must be a mapping of text: and docs:")
    return Query(
        name=str(header["name"]),
        title=str(header["title"]),
        kind=str(header["kind"]),
        description=str(header["description"]),
        severity=str(header["severity"]),
        mitre=tuple(str(m) for m in header.get("mitre") or ()),
        engines=tuple(str(e) for e in header["engines"]),
        params=params,
        window=tuple(str(w) for w in window),
        sql=expand_families(sql),
        path=path,
        references=tuple(header.get("references") or ()),
        columns={str(k): str(v) for k, v in (header.get("columns") or {}).items()},
        notes={str(k): str(v) for k, v in (header.get("notes") or {}).items()},
        tags=tuple(str(t) for t in header.get("tags") or ()),
        stage=str(header["stage"]) if header.get("stage") else None,
        template=sql,
        remediation=" ".join(str(remediation.get("text") or "").split()),
        remediation_docs=str(remediation.get("docs") or ""),
        lookback=str(header.get("lookback") or ""),
    )


class _LintFragments:
    """Athena-shaped fragments, used to render a query for validation."""

    name = "lint"

    def fragments(self, start: dt.datetime, end: dt.datetime) -> dict[str, str]:
        return {"source": '"cloudtrail"."cloudtrail_logs"', "time_filter": partition_time_filter(start, end)}


def validate(query: Query) -> list[str]:
    """Every problem with one query, as messages. An empty list means it is valid."""
    problems: list[str] = []
    say = problems.append
    if not _NAME.match(query.name):
        say(f"name {query.name!r} is not snake_case")
    if query.path.stem != query.name:
        say(f"name {query.name!r} differs from the file name {query.path.name!r}")
    if query.kind not in KINDS:
        say(f"kind {query.kind!r} is not one of {KINDS}")
    if query.severity not in SEVERITIES:
        say(f"severity {query.severity!r} is not one of {SEVERITIES}")
    for mitre in query.mitre:
        if not _MITRE.match(mitre):
            say(f"MITRE id {mitre!r} is not a technique id like T1078 or T1078.004")
    if query.kind == "detection" and not query.mitre:
        say("a detection declares at least one MITRE ATT&CK technique")
    # Every finding tells the responder what to do, and where AWS documents how.
    if query.kind == "detection" and len(query.remediation.strip()) < 30:
        say("a detection needs remediation.text (at least 30 characters): what to do about a finding")
    if query.kind == "detection" and not query.remediation_docs.startswith("https://docs.aws.amazon.com/"):
        say(f"remediation.docs {query.remediation_docs!r} must link AWS's documentation (https://docs.aws.amazon.com/...)")
    known = engines.names()
    bad_engines = set(query.engines) - set(known)
    if bad_engines or not query.engines:
        say(f"engines {sorted(bad_engines) or '[]'} are not a non-empty subset of {known}")
    for engine in set(known) - set(query.engines):
        if engine not in query.notes:
            say(f"engine {engine!r} is not supported but notes.{engine} does not say why")
    if query.stage is not None and query.stage not in stages.STAGES:
        say(f"stage {query.stage!r} is not one of {sorted(stages.STAGES)}")
    if not query.tags or any(not _NAME.match(tag) for tag in query.tags):
        say(f"tags {list(query.tags)} must be a non-empty list of snake_case names")
    elif query.path.parent.name != query.tags[0]:
        say(f"the first tag names the query's area, its folder {query.path.parent.name!r}; got {query.tags[0]!r}")
    if len(query.description.strip()) < 20:
        say("description is too short to tell an analyst what this finds")
    problems.extend(_validate_params(query))
    problems.extend(_validate_lookback(query))
    bounds = [query.params.get(w) for w in query.window]
    if len(bounds) != 2 or any(b is None or b.type != "timestamp" for b in bounds):
        say(f"window {list(query.window)} must name two declared timestamp parameters")
        return problems
    if _OWN_ACTOR.search(query.sql):
        say("the query computes the actor itself: use {{ actor_arn }} (defined once in engines/sql.py)")
    if "{%" in query.sql or "{#" in query.sql:
        say("templates carry no control flow or comments ({% %} / {# #})")
    used = query.placeholders()
    undeclared = used - set(query.params) - set(BUILTINS)
    if undeclared:
        say(f"placeholders {sorted(undeclared)} are not declared parameters")
    anchors = {r[0] for r in map(query.relative_default, query.params.values()) if r}
    unused = set(query.params) - used - set(query.window) - anchors
    if unused:
        say(f"parameters {sorted(unused)} are declared but never used")
    reads = len(re.findall(r"\{\{\s*source\s*\}\}", query.sql))
    if reads == 0:
        say("the query never reads {{ source }}")
    if len(_SOURCE_READ.findall(query.sql)) != reads:
        say("every {{ source }} must be followed directly by WHERE {{ time_filter }} (partition pruning)")
    problems.extend(_validate_family(query))
    if problems:
        return problems
    problems.extend(_validate_sql(query))
    return problems


def _validate_family(query: Query) -> list[str]:
    """A family's member uses the family once and leaves the family's own logic to it: it neither
    defines the family's CTEs nor uses the family's placeholders (its window split, threshold, subject)."""
    problems: list[str] = []
    template = query.template or query.sql
    used = _PLACEHOLDER.findall(template)
    for family, (sql, prefix) in FAMILIES.items():
        if not query.name.startswith(prefix):
            if family in used:
                problems.append(f"{{{{ {family} }}}} is for the {prefix}* queries only")
            continue
        if used.count(family) != 1:
            problems.append(f"a {prefix}* query uses {{{{ {family} }}}} exactly once (defined in engines/sql.py); "
                            f"it uses it {used.count(family)} time(s)")
        own = sorted({c.lower() for c in _CTE.findall(template)} & {c.lower() for c in _CTE.findall(sql)})
        if own:
            problems.append(f"a {prefix}* query re-implements {{{{ {family} }}}}: it defines the family's CTE(s) {own}")
        logic = sorted(set(used) & set(_PLACEHOLDER.findall(sql)))
        if logic or "'AKIA%'" in template:
            problems.append(f"a {prefix}* query re-implements {{{{ {family} }}}}: the window split, the baseline "
                            f"threshold and the subject belong to the family (uses {logic or ['AKIA%']})")
    return problems


def _validate_lookback(query: Query) -> list[str]:
    if not query.lookback:
        return []
    if query.kind != "detection":
        return ["lookback is for detections (it keeps the findings whose last_seen is in the window)"]
    param = query.params.get(query.lookback)
    if param is not None:
        if param.type != "int" or not query.lookback.endswith(tuple(_PARAM_UNITS)):
            return [f"lookback {query.lookback!r} must name an int parameter ending in {sorted(_PARAM_UNITS)}"]
        return []
    if not _DURATION.match(query.lookback):
        return [f"lookback {query.lookback!r} is neither an int parameter nor a duration like 36h or 90m"]
    return []


def _validate_params(query: Query) -> list[str]:
    problems: list[str] = []
    say = problems.append
    for param in query.params.values():
        if len(param.description) < 5:
            say(f"parameter {param.name!r} has no description")
        if param.name in BUILTINS:
            say(f"parameter {param.name!r} shadows a built-in fragment")
        relative = query.relative_default(param)
        if relative is not None and query.params[relative[0]].type != "timestamp":
            say(f"default of {param.name!r} is relative to {relative[0]!r}, which is not a timestamp")
        elif relative is None and param.default is not None:
            try:
                param.coerce(param.default)
            except P.ParameterError as exc:
                say(f"default of {param.name!r} is invalid: {exc}")
    return problems


def _sample_values(query: Query) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, param in query.params.items():
        if query.relative_default(param) is not None:
            continue
        if param.default is None and param.type == "timestamp":
            values[name] = "2026-10-01T00:00:00Z" if name == query.window[0] else "2026-10-29T00:00:00Z"
        elif param.default is None and not param.type.startswith("list["):
            values[name] = {"account_id": "111111111111", "access_key_id": "AKIAEXAMPLEEXAMPLE12",
                            "arn": "arn:aws:iam::111111111111:user/example", "ip": "192.0.2.1",
                            "cidr": "192.0.2.0/24", "int": 1, "float": 1.0, "bool": True,
                            "region": "us-east-1"}.get(param.type, "example")
    return values


def _validate_sql(query: Query) -> list[str]:
    import sqlglot
    from sqlglot import exp

    problems: list[str] = []
    try:
        rendered = query.render(_LintFragments(), **_sample_values(query))
    except (P.ParameterError, CatalogError) as exc:
        return [f"cannot render with sample values: {exc}"]
    try:
        statements = sqlglot.parse(rendered.sql, read="athena")
    except sqlglot.errors.ParseError as exc:
        return [f"does not parse as Athena/Trino SQL: {str(exc).splitlines()[0]}"]
    statements = [s for s in statements if s is not None]
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        return ["must be exactly one SELECT statement"]
    tree = statements[0]
    for table in tree.find_all(exp.Table):
        if table.name == "cloudtrail_logs":
            select = table.find_ancestor(exp.Select)
            if select is not None and (select.args.get("joins") or list(select.find_all(exp.Unnest))):
                problems.append("the SELECT that reads {{ source }} must not join or UNNEST (prune first, in a CTE)")
    if query.is_detection:
        names = [sel.alias_or_name for sel in tree.selects]
        if tuple(names[: len(FINDING_COLUMNS)]) != FINDING_COLUMNS:
            problems.append(f"a detection's leading output columns must be {list(FINDING_COLUMNS)}; got {names}")
    return problems


def tagged(catalog: Mapping[str, Query], tag: str, *, engine: str | None = None,
           kind: str = "detection") -> list[str]:
    """Names of the queries of `kind` that carry `tag` (and run on `engine`, when given), sorted."""
    return sorted(name for name, query in catalog.items() if tag in query.tags and query.kind == kind
                  and (engine is None or engine in query.engines))


def load_catalog(root: Path | str | None = None, *, strict: bool = True) -> dict[str, Query]:
    """Every query under `root` (default: the repository's queries/), by name.

    With `strict`, any invalid query or duplicate name raises CatalogError listing all problems.
    """
    root = Path(root) if root is not None else paths.queries_dir()
    if not root.is_dir():
        raise CatalogError(f"query catalog folder {root} does not exist")
    catalog: dict[str, Query] = {}
    problems: list[str] = []
    for path in sorted(root.rglob("*.sql")):
        try:
            query = load_query(path)
        except CatalogError as exc:
            problems.append(str(exc))
            continue
        if query.name in catalog:
            problems.append(f"{path.name}: duplicate query name {query.name!r} (also {catalog[query.name].path})")
            continue
        if strict:
            problems.extend(f"{path.name}: {p}" for p in validate(query))
        catalog[query.name] = query
    if strict and problems:
        raise CatalogError("invalid query catalog:\n  " + "\n  ".join(problems))
    return catalog
