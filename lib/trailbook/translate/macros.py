"""The tb_* DuckDB macros that give translated SQL Trino's semantics, and their installer."""

from __future__ import annotations

_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"  # no leading zeros, like Guava
_IPV4 = rf"{_OCTET}(?:\.{_OCTET}){{3}}"
_H16 = "[0-9a-fA-F]{1,4}"
_LS32 = f"(?:{_H16}:{_H16}|{_IPV4})"
# RFC 3986 IPv6address grammar.
_IPV6 = "(?:" + "|".join([
    f"(?:{_H16}:){{6}}{_LS32}",
    f"::(?:{_H16}:){{5}}{_LS32}",
    f"(?:{_H16})?::(?:{_H16}:){{4}}{_LS32}",
    f"(?:(?:{_H16}:){{0,1}}{_H16})?::(?:{_H16}:){{3}}{_LS32}",
    f"(?:(?:{_H16}:){{0,2}}{_H16})?::(?:{_H16}:){{2}}{_LS32}",
    f"(?:(?:{_H16}:){{0,3}}{_H16})?::{_H16}:{_LS32}",
    f"(?:(?:{_H16}:){{0,4}}{_H16})?::{_LS32}",
    f"(?:(?:{_H16}:){{0,5}}{_H16})?::{_H16}",
    f"(?:(?:{_H16}:){{0,6}}{_H16})?::",
]) + ")"

# scheme://[userinfo@]host[:port] then a path/query/fragment or the end; group 1 is the host
# ('' quotes a single quote inside the SQL literal).
_URL_HOST = (r"^[A-Za-z][A-Za-z0-9+.-]*://(?:[^/?#@]*@)?"
             r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~%!$&''()*+,;=-]*)(?::[0-9]*)?(?:[/?#]|$)")

# name -> (parameters, body). Bodies nest CASE instead of using AND so that DuckDB never
# evaluates json_type()/json_extract() on malformed JSON (which raises).
_MACROS: dict[str, tuple[str, str]] = {
    # --- JSON ---
    "tb_json_extract_scalar": ("j, p", """
        CASE WHEN json_valid(j) THEN
          CASE WHEN json_type(j, p) IN ('OBJECT', 'ARRAY') THEN NULL
               ELSE json_extract_string(j, p) END
        END"""),
    "tb_json_extract": ("j, p", "CASE WHEN json_valid(j) THEN json_extract(j, p) END"),
    "tb_json_array_length": ("j", """
        CASE WHEN json_valid(j) THEN
          CASE WHEN json_type(j) = 'ARRAY' THEN json_array_length(j) END
        END"""),
    # Compare minified JSON text: a BIGINT only matches integer tokens, a DOUBLE only float
    # tokens, a string only strings - the typed matching of Trino's json_array_contains.
    "tb_json_array_contains": ("j, v", """
        CASE WHEN json_valid(j) THEN
          CASE WHEN json_type(j) = 'ARRAY' THEN
            list_contains(list_transform(json_extract(j, '$[*]'), lambda e: CAST(e AS VARCHAR)),
                          CAST(to_json(v) AS VARCHAR))
          END
        END"""),
    "tb_json_size": ("j, p", """
        CASE WHEN json_valid(j) THEN
          CASE WHEN json_type(j, p) IS NULL THEN NULL
               WHEN json_type(j, p) = 'ARRAY' THEN json_array_length(j, p)
               WHEN json_type(j, p) = 'OBJECT' THEN len(json_keys(j, p))
               ELSE 0 END
        END"""),
    "tb_is_json_scalar": ("j", """
        CASE WHEN json_valid(j) THEN json_type(j) NOT IN ('OBJECT', 'ARRAY')
             WHEN j IS NULL THEN NULL
             ELSE error('Invalid JSON value: ' || j) END"""),
    # --- strings and regexes ---
    "tb_regexp_extract": ("s, p, g", "CASE WHEN regexp_matches(s, p) THEN regexp_extract(s, p, g) END"),
    "tb_split_part": ("s, d, i", """
        CASE WHEN i <= 0 THEN error('Index must be greater than zero')
             WHEN i > len(string_split(s, d)) THEN NULL
             ELSE split_part(s, d, i) END"""),
    "tb_url_extract_host": ("u", f"nullif(regexp_extract(u, '{_URL_HOST}', 1), '')"),
    # --- arrays ---
    "tb_slice": ("a, s, n", """
        CASE WHEN s = 0 THEN error('SQL array indices start at 1')
             WHEN n < 0 THEN error('length must be greater than or equal to 0')
             WHEN (CASE WHEN s < 0 THEN len(a) + s + 1 ELSE s END) < 1 THEN list_slice(a, 1, 0)
             ELSE list_slice(a, CASE WHEN s < 0 THEN len(a) + s + 1 ELSE s END,
                             (CASE WHEN s < 0 THEN len(a) + s + 1 ELSE s END) + n - 1) END"""),
    "tb_contains": ("a, x", """
        CASE WHEN a IS NULL OR x IS NULL THEN NULL
             WHEN list_contains(a, x) THEN true
             WHEN list_count(a) < len(a) THEN NULL
             ELSE false END"""),
    "tb_array_distinct": ("a", "list_filter(a, lambda e, i: list_position(a, e) = i)"),
    "tb_array_union": ("a, b", "tb_array_distinct(list_concat(a, b))"),
    "tb_array_except": ("a, b", """
        CASE WHEN a IS NULL OR b IS NULL THEN NULL
             ELSE tb_array_distinct(list_filter(a, lambda e: list_position(b, e) IS NULL)) END"""),
    "tb_array_intersect": ("a, b", """
        CASE WHEN a IS NULL OR b IS NULL THEN NULL
             ELSE tb_array_distinct(list_filter(a, lambda e: list_position(b, e) IS NOT NULL)) END"""),
    "tb_array_max": ("a", "CASE WHEN list_count(a) < len(a) THEN NULL ELSE list_max(a) END"),
    "tb_array_min": ("a", "CASE WHEN list_count(a) < len(a) THEN NULL ELSE list_min(a) END"),
    "tb_array_position": ("a, x", """
        CASE WHEN a IS NULL OR x IS NULL THEN NULL ELSE coalesce(list_position(a, x), 0) END"""),
    # --- time ---
    "tb_from_iso8601_timestamp": ("s", "date_trunc('millisecond', CAST(s AS TIMESTAMPTZ))"),
    "tb_to_iso8601": ("x", """
        CASE typeof(x)
          WHEN 'DATE' THEN strftime(CAST(x AS DATE), '%Y-%m-%d')
          WHEN 'TIMESTAMP WITH TIME ZONE' THEN strftime(CAST(x AS TIMESTAMP), '%Y-%m-%dT%H:%M:%S.%g') || 'Z'
          ELSE strftime(CAST(x AS TIMESTAMP), '%Y-%m-%dT%H:%M:%S.%g') END"""),
    # --- IP addresses: an IPADDRESS is represented by its canonical text ---
    "tb_try_ipaddress": ("s", f"""
        CASE WHEN regexp_full_match(s, '{_IPV4}') THEN s
             WHEN regexp_full_match(lower(s), '::ffff:{_IPV4}') THEN substr(s, 8)
             WHEN regexp_full_match(s, '{_IPV6}') THEN lower(s)
             ELSE NULL END"""),
    "tb_ipaddress": ("s", """
        CASE WHEN s IS NULL THEN NULL
             WHEN tb_try_ipaddress(s) IS NULL THEN error('Cannot cast value to IPADDRESS: ' || s)
             ELSE tb_try_ipaddress(s) END"""),
    "tb_ipv4_to_int": ("s", """
        CAST(split_part(s, '.', 1) AS BIGINT) * 16777216 + CAST(split_part(s, '.', 2) AS BIGINT) * 65536
        + CAST(split_part(s, '.', 3) AS BIGINT) * 256 + CAST(split_part(s, '.', 4) AS BIGINT)"""),
    "tb_ipv4_in_range": ("ip, lo, hi", f"""
        CASE WHEN ip IS NULL THEN NULL
             WHEN NOT regexp_full_match(ip, '{_IPV4}') THEN false
             ELSE tb_ipv4_to_int(ip) BETWEEN lo AND hi END"""),
}


def install_macros(con) -> None:
    """Create the tb_* macros the translated SQL calls, and pin the session to UTC. Idempotent.

    The macros are TEMP so they never get written into (or need write access to) a store file.
    """
    con.execute("SET TimeZone='UTC'")
    for name, (params, body) in _MACROS.items():
        con.execute(f"CREATE OR REPLACE TEMP MACRO {name}({params}) AS ({body.strip()})")

