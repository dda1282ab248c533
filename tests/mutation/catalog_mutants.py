"""Catalog mutation: does some fixture notice when one condition of a detection is negated or dropped?

    python tests/mutation/catalog_mutants.py [--nested-only] [query ...]
        (default: every detection; `all` for every query)

For each query, the SQL template is parsed with sqlglot (placeholders stand in as identifiers), and,
one at a time: each conjunct of the top-level AND chain of each WHERE and HAVING is negated and
dropped, and each alternative of an OR there is dropped (the first mutants of a query, numbered as
before); then (`nested_mutants`) each condition inside an OR's alternative is negated and dropped,
each condition of each JOIN ... ON is negated and dropped, and each WHEN of a searched CASE is
negated and dropped. The mutant runs on the query's match and no-match fixtures and other cases
(tests/fixtures/queries/<name>/) on the local engine, judged as tests/test_queries.py judges the real
query, plus the documented columns of tests/test_query_findings_mutants.py. Killed: some fixture
fails; survived: all pass, so no fixture pins that condition. The unmutated round trip through
sqlglot must pass first. `--nested-only` runs only the nested mutants and keeps the verdicts of the
others from the last run. Results: tests/mutation/results/catalog.md and catalog.json, and the table
in score.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import sqlglot
from sqlglot import exp

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # tests/, for conftest's helpers
sys.path.insert(0, str(HERE))

from score import RESULTS, equivalents, write_score  # noqa: E402

from conftest import QUERY_FIXTURES, local_session  # noqa: E402
from test_queries import fixture_cases, fixture_params, fixture_problem  # noqa: E402
from test_query_findings_mutants import finding_problem  # noqa: E402
from trailbook.catalog import Query, load_catalog  # noqa: E402

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_STAND_IN = re.compile(r"__tb_([A-Za-z0-9_]+?)__")
DIALECT = "trino"


@dataclasses.dataclass
class Mutant:
    where: str  # the CTE (or `main`) holding the condition
    kind: str  # negate | drop | drop-alternative
    condition: str
    sql: str  # the mutated template
    verdict: str = ""  # killed (by which fixture) | survived | error


def to_tree(template: str) -> exp.Expression:
    return sqlglot.parse_one(_PLACEHOLDER.sub(lambda m: f"__tb_{m.group(1)}__", template), read=DIALECT)


def to_template(tree: exp.Expression) -> str:
    return _STAND_IN.sub(lambda m: "{{ " + m.group(1) + " }}", tree.sql(dialect=DIALECT, pretty=True)) + "\n"


def _text(node: exp.Expression) -> str:
    return _STAND_IN.sub(lambda m: "{{ " + m.group(1) + " }}", node.sql(dialect=DIALECT))


def _conjuncts(node: exp.Expression) -> list[exp.Expression]:
    node = node.unnest()
    if isinstance(node, exp.And):
        return _conjuncts(node.left) + _conjuncts(node.right)
    return [node]


def _disjuncts(node: exp.Expression) -> list[exp.Expression]:
    node = node.unnest()
    if isinstance(node, exp.Or):
        return _disjuncts(node.left) + _disjuncts(node.right)
    return [node]


def _join(parts: list[exp.Expression], op: type[exp.Connector]) -> exp.Expression:
    out = parts[0].copy()
    for part in parts[1:]:
        out = op(this=exp.Paren(this=out), expression=exp.Paren(this=part.copy()))
    return out


def _is_time_filter(node: exp.Expression) -> bool:
    return isinstance(node, exp.Column) and node.name == "__tb_time_filter__"


def _owner(node: exp.Expression) -> str:
    cte = node.find_ancestor(exp.CTE)
    return cte.alias if cte is not None else "main"


def _clauses(tree: exp.Expression) -> list[exp.Expression]:
    """WHERE and HAVING clauses, and aggregate FILTERs inside them; not a FILTER that only shapes an output column."""
    out = []
    for clause in tree.find_all(exp.Where, exp.Having):
        if isinstance(clause.parent, exp.Filter) and clause.parent.find_ancestor(exp.Where, exp.Having) is None:
            continue
        out.append(clause)
    return out


def mutants(template: str) -> Iterator[Mutant]:
    """Every one-condition mutant of a query's WHERE and HAVING clauses."""
    base = to_tree(template)
    clauses = _clauses(base)
    for index in range(len(clauses)):
        conj = _conjuncts(clauses[index].this)
        for i, cond in enumerate(conj):
            if _is_time_filter(cond):
                continue
            text = _text(cond)
            negated = [c if j != i else exp.Not(this=exp.Paren(this=c.copy())) for j, c in enumerate(conj)]
            yield _build(base, index, _join(negated, exp.And), "negate", text)
            rest = [c for j, c in enumerate(conj) if j != i]
            yield _build(base, index, _join(rest, exp.And) if rest else exp.true(), "drop", text)
            alts = _disjuncts(cond)
            for k in range(len(alts) if len(alts) > 1 else 0):
                kept = _join([a for m, a in enumerate(alts) if m != k], exp.Or)
                swapped = [c if j != i else kept for j, c in enumerate(conj)]
                yield _build(base, index, _join(swapped, exp.And), "drop-alternative",
                             f"{_text(alts[k])}  (of {text})")


def _bool_leaves(node: exp.Expression, parent: str = "and", in_or: bool = False):
    """(leaf, its boolean parent `and`/`or`, whether an OR encloses it) for every leaf of an AND/OR tree."""
    inner = node.unnest()
    if isinstance(inner, (exp.And, exp.Or)):
        kind = "and" if isinstance(inner, exp.And) else "or"
        for side in (inner.left, inner.right):
            yield from _bool_leaves(side, kind, in_or or kind == "or")
    else:
        yield inner, parent, in_or


def _targets(tree: exp.Expression) -> list[tuple[str, exp.Expression, str, str]]:
    """The nodes the nested mutants change, in a fixed order: (kind, node, owner, text).

    Conditions inside an OR alternative of a WHERE/HAVING (the top-level conjuncts and the
    alternatives of a top-level OR are the mutants above); every condition of a JOIN ... ON; every
    WHEN of a searched CASE. The order is a walk of the tree, so a copy yields the same list.
    """
    out: list[tuple[str, exp.Expression, str, str]] = []
    for clause in _clauses(tree):
        for conj in _conjuncts(clause.this):
            alts = _disjuncts(conj)
            if len(alts) < 2:
                continue
            for alt in alts:
                for leaf, parent, _ in _bool_leaves(alt, "or", True):
                    if _is_time_filter(leaf):
                        continue
                    out.append(("nested-negate", leaf, _owner(leaf), f"{_text(leaf)}  (in {_text(alt)})"))
                    if leaf is not alt:  # dropping a whole alternative is drop-alternative
                        out.append((f"nested-drop-{parent}", leaf, _owner(leaf), f"{_text(leaf)}  (in {_text(alt)})"))
    for join in tree.find_all(exp.Join):
        on = join.args.get("on")
        if on is None:
            continue
        for leaf, parent, _ in _bool_leaves(on):
            out.append(("on-negate", leaf, _owner(join), f"{_text(leaf)}  (ON of {_text(join.this)})"))
            out.append((f"on-drop-{parent}", leaf, _owner(join), f"{_text(leaf)}  (ON of {_text(join.this)})"))
    for case in tree.find_all(exp.Case):
        if case.args.get("this") is not None:  # a simple CASE compares values; no condition to flip
            continue
        alias = case.find_ancestor(exp.Alias)
        column = f" -> {alias.alias}" if alias is not None else ""
        for when in case.args.get("ifs") or []:
            out.append(("case-negate", when, _owner(case), f"WHEN {_text(when.this)}{column}"))
            out.append(("case-drop", when, _owner(case), f"WHEN {_text(when.this)}{column}"))
    return out


def _apply(kind: str, node: exp.Expression) -> None:
    """Change one target node of a copied tree in place."""
    if kind.endswith("negate"):
        target = node.this if kind == "case-negate" else node
        target.replace(exp.Not(this=exp.Paren(this=target.copy())))
    elif kind.endswith("drop-and"):
        node.replace(exp.true())
    elif kind.endswith("drop-or"):
        node.replace(exp.false())
    elif kind == "case-drop":
        case = node.parent
        ifs = [w for w in case.args["ifs"] if w is not node]
        if ifs:
            case.set("ifs", ifs)
        else:  # the CASE had one WHEN: what is left is its ELSE (NULL without one)
            default = case.args.get("default")
            case.replace(default.copy() if default is not None else exp.null())
    else:
        raise ValueError(kind)


def nested_mutants(template: str) -> Iterator[Mutant]:
    """Every one-condition mutant of conditions nested in an OR alternative, in JOIN ... ON, and in CASE WHEN."""
    base = to_tree(template)
    for i, (kind, _, owner, text) in enumerate(_targets(base)):
        tree = base.copy()
        _apply(kind, _targets(tree)[i][1])
        yield Mutant(owner, kind, text, to_template(tree))


def _build(base: exp.Expression, index: int, condition: exp.Expression, kind: str, text: str) -> Mutant:
    tree = base.copy()
    clause = _clauses(tree)[index]
    owner = _owner(clause)
    clause.set("this", condition)
    return Mutant(owner, kind, text, to_template(tree))


def _fixture_fails(session, query: Query, case: str, params: dict) -> str | None:
    """Why `case` fails for this query text (tests/test_queries.py's own judgement), or None when it passes."""
    session.catalog[query.name] = query
    rows = session.run(query.name, **params)
    problem = fixture_problem(query, case, rows) or finding_problem(query.name, case, rows)
    return f"{case}: {problem.splitlines()[0]}" if problem else None


NESTED_KINDS = ("nested-", "on-", "case-")


def judge(name: str, catalog: dict[str, Query], tmp: Path, kept: list[dict] | None = None,
          ) -> tuple[list[Mutant], str | None]:
    """All mutants of one query with verdicts; or a reason the query could not be mutated.

    `kept`: an earlier run's results for this query; a top-level mutant (not NESTED_KINDS) found there at
    the same place, with the same condition, keeps its verdict instead of being run again (`--nested-only`).
    """
    query = catalog[name]
    sessions = {}
    for case in fixture_cases(name):
        params = fixture_params(name, case)
        records = json.loads((QUERY_FIXTURES / name / f"{case}.json").read_text())
        session = local_session(records, tmp / case, start=params.pop("start"), end=params.pop("end"),
                                catalog=catalog)
        sessions[case] = (session, params)
    try:
        roundtrip = dataclasses.replace(query, sql=to_template(to_tree(query.sql)))
    except sqlglot.errors.SqlglotError as exc:
        return [], f"does not parse: {exc}"
    for case, (session, params) in sessions.items():
        why = _fixture_fails(session, roundtrip, case, params)
        if why:
            return [], f"the unmutated round trip through sqlglot fails its fixtures ({why})"
    found = list(mutants(query.sql)) + list(nested_mutants(query.sql))
    for i, mutant in enumerate(found):
        old = kept[i] if kept is not None and i < len(kept) else None
        if old and not mutant.kind.startswith(NESTED_KINDS) and (old["kind"], old["condition"]) == (
                mutant.kind, mutant.condition):
            mutant.verdict = old["verdict"]
            continue
        mutated = dataclasses.replace(query, sql=mutant.sql)
        try:
            reasons = [r for case, (s, p) in sessions.items() if (r := _fixture_fails(s, mutated, case, dict(p)))]
        except Exception as exc:  # a mutant that cannot run is noticed by every test run
            mutant.verdict = f"killed (error: {str(exc).splitlines()[0][:80]})"
            continue
        mutant.verdict = f"killed ({'; '.join(reasons)})" if reasons else "survived"
    for session, _ in sessions.values():
        session.close()
    return found, None


def report(results: dict[str, tuple[list[Mutant], str | None]]) -> None:
    """Merge this run into results/catalog.json (queries not run keep their last result); rewrite catalog.md."""
    path = RESULTS / "catalog.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    for name, (found, problem) in results.items():
        data[name] = {"problem": problem, "mutants": [
            {"where": m.where, "kind": m.kind, "condition": m.condition, "verdict": m.verdict} for m in found]}
    RESULTS.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    equiv = equivalents()
    lines = ["# Catalog mutation results", "",
             "Generated by tests/mutation/catalog_mutants.py. Verdicts on survivors: ../survivors.md.", ""]
    for name, entry in sorted(data.items()):
        lines += [f"## {name}", ""]
        if entry["problem"]:
            lines += [f"not mutated: {entry['problem']}", ""]
            continue
        found = entry["mutants"]
        killed = sum(m["verdict"].startswith("killed") for m in found)
        lines += [f"{killed}/{len(found)} killed", "",
                  "| id | where | mutation | condition | verdict |", "|---|---|---|---|---|"]
        for i, m in enumerate(found):
            cond = m["condition"].replace("|", "\\|").replace("\n", " ")
            verdict = m["verdict"].replace("|", "/")
            if verdict == "survived" and f"catalog:{name}#{i}" in equiv:
                verdict = f"survived, equivalent: {equiv[f'catalog:{name}#{i}']}"
            lines.append(f"| catalog:{name}#{i} | {m['where']} | {m['kind']} | `{cond}` | {verdict} |")
        lines.append("")
    (RESULTS / "catalog.md").write_text("\n".join(lines), encoding="utf-8")
    write_score(HERE / "score.md")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("queries", nargs="*", help="default: every detection; `all`: every query")
    parser.add_argument("--nested-only", action="store_true",
                        help="run only the nested mutants (OR alternatives, JOIN ON, CASE WHEN); keep the "
                             "others' verdicts from results/catalog.json")
    args = parser.parse_args(argv)
    catalog = load_catalog()
    detections = sorted(name for name, query in catalog.items() if query.is_detection)
    names = sorted(catalog) if args.queries == ["all"] else (args.queries or detections)
    unknown = sorted(set(names) - set(catalog))
    if unknown:
        print(f"unknown query name(s) {unknown}", file=sys.stderr)
        return 2
    results = {}
    earlier = json.loads((RESULTS / "catalog.json").read_text()) if args.nested_only else {}
    with tempfile.TemporaryDirectory(prefix="trailbook-catalog-mutants-") as tmp:
        for name in names:
            kept = earlier.get(name, {}).get("mutants") if args.nested_only else None
            results[name] = judge(name, catalog, Path(tmp) / name, kept)
            found, problem = results[name]
            survived = sum(m.verdict == "survived" for m in found)
            print(f"{name}: {problem or f'{len(found) - survived}/{len(found)} killed'}", flush=True)
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
