"""Credential material in CloudTrail: recognise it, and mask it on the data before anything shows it.

CloudTrail records whatever a caller sent, so request parameters, response elements, user agents and
error messages can hold secrets: a Lambda environment variable named AWS_SECRET_ACCESS_KEY, a password
in a request, an STS session token pasted into a user agent by an attacker. trailbook masks them once,
on every frame a query returns (`Session.run`), so no table, plot, evidence page or export can show
them. The final scan of a run directory (`scan_text`) uses the same patterns as a safety net.

Two rules:
- by key: any value under a key that names a secret (password, secret, private key, session token,
  AWS_SECRET_ACCESS_KEY, ...) in a JSON document, or in `key=value` / `key: value` text;
- by shape: values that are credentials wherever they appear (STS session tokens by their fixed
  prefixes, PEM private keys, JSON web tokens, GitHub and Slack tokens).

Masking keeps the key and says what was there (`[masked: secret]`); an access key *id* is not a
secret and is kept (it is how a responder finds the key).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pandas.api.types import is_object_dtype, is_string_dtype

MASK = "[masked: {kind}]"

# A key whose value is a secret. Matched against the whole key, case-insensitively, with _ and -
# ignored, so SecretAccessKey, secret_access_key and AWS-SECRET-ACCESS-KEY all match.
# Anchored at both ends: SecretArn, PasswordLastUsed and NextToken name something else.
_SECRET_KEY = re.compile(
    r"^(aws)?(secret(access)?key|secret|clientsecret|password|passwd|pwd|passphrase|masterpassword|"
    r"masteruserpassword|newpassword|oldpassword|currentpassword|privatekey|sessiontoken|securitytoken|"
    r"accesstoken|refreshtoken|idtoken|authtoken|apikey|apitoken|token|secretstring|secretbinary|"
    r"xamzsecuritytoken|connectionstring|dbpassword)$")

_B64 = r"A-Za-z0-9/+"
# A quote as it appears in plain text, JSON-in-JSON (\") or HTML (&quot; / &#34; / &#39;).
_Q = r"(?:\\{0,3}[\"']|&quot;|&#34;|&#39;|&#x27;|&apos;)?"
_SEP = r"\s*(?:=>|[:=])\s*"

SHAPES: dict[str, re.Pattern[str]] = {
    # STS session tokens start with a fixed base64 prefix whatever the field is called.
    "session token": re.compile(
        r"(?:IQoJb3JpZ2lu|FwoGZXIvYXdzE|FQoGZXIvYXdzE|AQoDYXdzE|AQoEXAMPLE)[A-Za-z0-9/+=%]{20,}"),
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)"),
    "json web token": re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    "github token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"),
    "slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}\b"),
}
# Secrets recognisable only next to their name, in key/value text (also inside HTML or escaped JSON).
KEYED: dict[str, re.Pattern[str]] = {
    "secret": re.compile(
        rf"(?i)(?P<key>(?:aws_?)?secret_?(?:access_?)?key{_Q}{_SEP}{_Q})(?P<value>[{_B64}]{{40}})(?![{_B64}])"),
    "session token": re.compile(
        rf"(?i)(?P<key>(?:session_?token|security_?token|x-amz-security-token){_Q}{_SEP}{_Q})"
        rf"(?P<value>[{_B64}=%]{{16,}})"),
    "token": re.compile(rf"(?i)(?P<key>token[a-z_]*{_Q}{_SEP}{_Q})(?P<value>[{_B64}]{{100,}}={{0,2}})"),
    "password": re.compile(
        rf"(?i)(?P<key>(?<![a-z])(?:password|passwd|pwd){_Q}{_SEP}{_Q})(?P<value>[^\s\"'&,;}}\]\\]{{4,}})"),
}
# Values that only say a secret was withheld (AWS writes this in place of session tokens).
_PLACEHOLDERS = {"HIDDEN_DUE_TO_SECURITY_REASONS", "", "*", "****", "REDACTED"}


@dataclass(frozen=True)
class Hit:
    """One piece of credential material: what kind, and where (a JSON path or a column)."""

    kind: str
    where: str


def is_secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.match(re.sub(r"[_\-\s.]", "", str(key)).lower()))


def mask_text(text: str, where: str = "", hits: list[Hit] | None = None) -> str:
    """`text` with every credential-shaped or keyed secret value masked."""
    found = hits if hits is not None else []
    for kind, pattern in SHAPES.items():
        if pattern.search(text):
            found.append(Hit(kind, where))
            text = pattern.sub(MASK.format(kind=kind), text)
    for kind, pattern in KEYED.items():
        if pattern.search(text):
            def keep_key(match: re.Match[str], kind: str = kind) -> str:
                if match.group("value") in _PLACEHOLDERS or match.group("value").startswith("[masked"):
                    return match.group(0)
                found.append(Hit(kind, where))
                return match.group("key") + MASK.format(kind=kind)
            text = pattern.sub(keep_key, text)
    return text


def mask_value(value: Any, where: str = "", hits: list[Hit] | None = None) -> Any:
    """A JSON-like value (dicts, lists, text) with secrets masked: by key, then by shape."""
    found = hits if hits is not None else []
    if isinstance(value, dict):
        named = _named_secret(value)
        out = {}
        for key, inner in value.items():
            path = f"{where}.{key}" if where else str(key)
            secret_here = is_secret_key(str(key)) or key == named or _secret_name(str(key))
            if secret_here and _holds_secret(inner) or (_env_name(str(key)) and _secret_shaped(inner)):
                found.append(Hit("secret", path))
                out[key] = MASK.format(kind="secret")
            else:
                out[key] = mask_value(inner, path, found)
        return out
    if isinstance(value, list):
        return [mask_value(item, f"{where}[{i}]", found) for i, item in enumerate(value)]
    if isinstance(value, str):
        return mask_string(value, where, found)
    return value


def mask_string(text: str, where: str = "", hits: list[Hit] | None = None) -> str:
    """One text cell: a JSON document is masked by key and shape and written back; other text by shape."""
    found = hits if hits is not None else []
    stripped = text.lstrip()
    if stripped[:1] in ("{", "[") and _might_hold_secret(text):
        try:
            parsed = json.loads(text)
        except (ValueError, RecursionError):
            parsed = None
        if isinstance(parsed, (dict, list)):
            before = len(found)
            masked = mask_value(parsed, where, found)
            return json.dumps(masked, ensure_ascii=False) if len(found) > before else text
    return mask_text(text, where, found) if _might_hold_secret(text) else text


def _named_secret(pair: dict) -> str | None:
    """In a name/value pair ({"name": "DB_PASSWORD", "value": "..."}, as ECS and CodeBuild log
    environment variables), the key that holds the value when the name is a secret's."""
    for name_key, value_key in (("name", "value"), ("Name", "Value"), ("key", "value"), ("Key", "Value")):
        name = pair.get(name_key)
        if isinstance(name, str) and value_key in pair and (_secret_name(name) or _secret_shaped(pair[value_key])):
            return value_key
    return None


_SECRET_SUFFIXES = ("secretaccesskey", "secretkey", "password", "passwd", "secret", "apikey", "privatekey",
                    "sessiontoken", "authtoken", "accesstoken")


def _secret_name(name: str) -> bool:
    """An environment-variable or parameter name that holds a secret (AWS_SECRET_ACCESS_KEY, DB_PASSWORD)."""
    normal = re.sub(r"[_\-\s.]", "", name).lower()
    return is_secret_key(normal) or normal.endswith(_SECRET_SUFFIXES)


# An AWS secret access key's shape: 40 characters of base64 with upper, lower case and a digit or / +.
_SECRET_SHAPE = re.compile(r"^(?=.*[a-z])(?=.*[A-Z])(?=.*[0-9/+])[A-Za-z0-9/+]{40}$")
_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")


def _env_name(key: str) -> bool:
    """An environment-variable-style name (Lambda, ECS, CodeBuild): under it any value may be a secret."""
    return bool(_ENV_NAME.match(key))


def _secret_shaped(value: Any) -> bool:
    """A value shaped like an AWS secret access key (never hex-only: commit ids and hashes are not secrets)."""
    return isinstance(value, str) and bool(_SECRET_SHAPE.match(value.strip()))


def _holds_secret(value: Any) -> bool:
    """A value under a secret's key that is worth masking (not a placeholder, a flag or a number)."""
    if isinstance(value, str):
        return value.strip() not in _PLACEHOLDERS and not value.startswith("[masked")
    return isinstance(value, (dict, list)) and bool(value)


# Cheap test before the regexes: most cells hold none of these. Every word of _SECRET_KEY must be
# matched here, or a JSON text cell skips key masking.
_HINTS = re.compile(r"(?i)secret|passw|passphrase|pwd|token|key|credential|auth|IQoJ|FwoG|FQoG|AQoDYXdz|AQoEXAMPLE|"
                    r"eyJ|gh[pousr]_|xox[abprs]-|connection|[A-Za-z0-9/+]{40}")


def _might_hold_secret(text: str) -> bool:
    return bool(_HINTS.search(text))


def mask_frame(frame: Any, hits: list[Hit] | None = None) -> Any:
    """A copy of a DataFrame whose text (and list-of-text) cells have secrets masked."""
    found = hits if hits is not None else []
    out = frame
    for column in frame.columns:
        if not (is_object_dtype(frame[column].dtype) or is_string_dtype(frame[column].dtype)):
            continue
        values = list(frame[column])
        before = len(found)
        masked = [_mask_cell(v, str(column), found) for v in values]
        if len(found) > before:
            if out is frame:
                out = frame.copy()
            out[column] = masked
    return out


def _mask_cell(value: Any, column: str, found: list[Hit]) -> Any:
    if isinstance(value, str):
        return mask_string(value, column, found)
    if isinstance(value, (list, tuple)) or (hasattr(value, "tolist") and not isinstance(value, (str, bytes))):
        items = value.tolist() if hasattr(value, "tolist") else list(value)
        return [mask_string(v, column, found) if isinstance(v, str) else v for v in items]
    if isinstance(value, dict):
        return mask_value(value, column, found)
    return value


def scan_text(text: str) -> list[str]:
    """The kinds of credential material in `text` (empty when there is none)."""
    hits: list[Hit] = []
    mask_text(text, "", hits)
    return sorted({hit.kind for hit in hits})


def kinds(hits: Iterable[Hit]) -> list[str]:
    return sorted({hit.kind for hit in hits})
