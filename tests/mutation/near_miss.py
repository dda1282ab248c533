"""Append a near miss to a query's no-match fixture: its match records with one condition made false.

    python tests/mutation/near_miss.py console_brute_force --set eventSource='"iam.amazonaws.com"'
    python tests/mutation/near_miss.py console_brute_force --unset errorMessage \
        --set responseElements.ConsoleLogin='"Success"'

The match fixture's records are copied, with text replaced (`--replace OLD=NEW`, e.g. a new key id so
copies cannot pair with the originals), records left out (`--drop PATH=VALUE`), and edits
(`--set PATH=JSON`, `--unset PATH`; a path is dotted keys) applied to every record or only to those
`--only PATH=VALUE` selects (a bare VALUE is an eventName). Every eventID is made new
(`nearmiss<N>-` + the old one) and the copies are appended to nomatch.json (`--case LABEL`: to
nomatch_<LABEL>.json, a case of its own run with the match case's parameters, for a condition nested
in an OR's alternative whose near misses fall outside the no-match window). The query must still
return nothing on it (tests/test_queries.py checks), while the mutant that drops the condition finds
the copies: the fixture then differs from the match fixture in that condition alone, which is what
kills the mutant. With `--to match` the copies join the match fixture instead (a second case the
query must find, for a mutant that drops an alternative of an OR).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "queries"


def _walk(record: dict, path: str) -> tuple[dict, str]:
    keys = path.split(".")
    node = record
    for key in keys[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    return node, keys[-1]


def _selects(record: dict, selector: str | None) -> bool:
    """`PATH=VALUE` (dotted path, compared as text) or a bare eventName."""
    if selector is None:
        return True
    path, sep, value = selector.partition("=")
    if not sep:
        path, value = "eventName", selector
    node: object = record
    for key in path.split("."):
        node = node.get(key) if isinstance(node, dict) else None
    return str(node) == value


def near_miss(records: list[dict], sets: dict[str, object], unsets: list[str], tag: str,
              only: str | None = None, replace: dict[str, str] | None = None,
              drop: list[str] | None = None) -> list[dict]:
    out = []
    for record in records:
        if any(_selects(record, d) for d in drop or ()):
            continue
        text = json.dumps(record)
        for old, new_text in (replace or {}).items():
            text = text.replace(old, new_text)
        new = json.loads(text)
        if not _selects(record, only):
            new["eventID"] = f"{tag}-{record.get('eventID', '')}"
            out.append(new)
            continue
        for path, value in sets.items():
            node, key = _walk(new, path)
            node[key] = value
        for path in unsets:
            node, key = _walk(new, path)
            node.pop(key, None)
        new["eventID"] = f"{tag}-{record.get('eventID', '')}"
        out.append(new)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("query")
    parser.add_argument("--set", action="append", default=[], metavar="PATH=JSON")
    parser.add_argument("--unset", action="append", default=[], metavar="PATH")
    parser.add_argument("--to", choices=("nomatch", "match"), default="nomatch",
                        help="match: a second case the query must find (its eventIDs join expect_event_ids.json)")
    parser.add_argument("--expect", metavar="[PATH=]VALUE",
                        help="with --to match: only these copies must be reported (default: all)")
    parser.add_argument("--only", metavar="[PATH=]VALUE", help="edit only these records (default path: eventName)")
    parser.add_argument("--drop", action="append", default=[], metavar="PATH=VALUE", help="leave these records out")
    parser.add_argument("--case", metavar="LABEL", help="append to nomatch_LABEL.json, run with the match parameters")
    parser.add_argument("--replace", action="append", default=[], metavar="OLD=NEW",
                        help="replace text in every copy (a new key id, so copies cannot pair with the originals)")
    args = parser.parse_args(argv)
    folder = FIXTURES / args.query
    # Copies are made from the original match records only, never from earlier near misses.
    match = [r for r in json.loads((folder / "match.json").read_text())
             if not str(r.get("eventID", "")).startswith("nearmiss")]
    nomatch_path = folder / (f"nomatch_{args.case}.json" if args.case else f"{args.to}.json")
    nomatch = json.loads(nomatch_path.read_text()) if nomatch_path.exists() else []
    if args.case:  # the case runs with the match case's parameters (its window holds the copies)
        params_path = folder / "params.json"
        params = json.loads(params_path.read_text()) if params_path.exists() else {}
        match_params = params.get("match") if isinstance(params.get("match"), dict) else {
            k: v for k, v in params.items() if not k.startswith(("match", "nomatch"))}
        nomatch_params = params.get("nomatch") if isinstance(params.get("nomatch"), dict) else match_params
        if match_params != nomatch_params and f"nomatch_{args.case}" not in params:
            params[f"nomatch_{args.case}"] = match_params
            params_path.write_text(json.dumps(params, indent=1) + "\n", encoding="utf-8")
    sets = {}
    for item in args.set:
        path, _, value = item.partition("=")
        sets[path] = json.loads(value)
    used = [str(r.get("eventID", "")).split("-", 1)[0] for r in nomatch]
    tag = f"nearmiss{1 + max((int(u[8:]) for u in used if u[:8] == 'nearmiss' and u[8:].isdigit()), default=0)}"
    replace = dict(item.split("=", 1) for item in args.replace)
    added = near_miss(match, sets, args.unset, tag, args.only, replace, args.drop)
    kept = [r for r in match if not any(_selects(r, d) for d in args.drop)]
    nomatch_path.write_text(json.dumps(nomatch + added, indent=1) + "\n", encoding="utf-8")
    if args.to == "match":  # a second finding the query must report, event by event
        expected_path = folder / "expect_event_ids.json"
        expected = json.loads(expected_path.read_text()) if expected_path.exists() else []
        ids = [new["eventID"] for old, new in zip(kept, added, strict=True) if _selects(old, args.expect)]
        expected_path.write_text(json.dumps(expected + ids, indent=1) + "\n", encoding="utf-8")
    print(f"{args.query}: {len(added)} near-miss records ({tag}) appended to {nomatch_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
