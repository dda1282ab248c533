"""Keep secrets out of reports, and mask identifiers for sharing outside the company.

Two separate jobs:

* `scan_text` / `scan_files` look for AWS secrets (secret access keys in key/value
  context, STS session tokens by their fixed prefixes or in token fields). Reports mask
  what they find and publish it as a finding (`trailbook.reports.secrets`); masking
  itself is `trailbook.mask`.
* `Redactor` replaces account ids, IP addresses and access key ids with stable
  pseudonyms (a keyed hash), so the same account reads the same in every file of a
  run — and across runs when the key is kept (`TRAILBOOK_REDACT_KEY`). In a redacted
  report, the kernel's `active()` redactor pseudonymizes every frame a notebook shows
  and every plot's text; the report worker redacts the executed notebook once more.

Rendered HTML escapes quotes, and notebook JSON escapes them with backslashes, so
the key/value patterns accept `"`, `'`, `\\"`, `&quot;` and `&#34;` around names and values.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The environment variable through which a report worker hands its redaction key to the kernel.
REDACT_ENV = "TRAILBOOK_REDACT_KEY_HEX"

# A quote as it appears in plain text, JSON-in-JSON (\") or HTML (&quot; / &#34; / &#39;).
_Q = r"(?:\\{0,3}[\"']|&quot;|&#34;|&#39;|&#x27;|&apos;)?"
_SEP = r"\s*(?:=>|[:=])\s*"
_B64 = r"A-Za-z0-9/+"

SECRET_PATTERNS: dict[str, re.Pattern[str]] = {
    # aws_secret_access_key = ..., "SecretAccessKey": "...", secretAccessKey: ... (40 chars of base64)
    "secret_access_key": re.compile(
        rf"(?i)(?:aws_?)?secret_?(?:access_?)?key{_Q}{_SEP}{_Q}[{_B64}]{{40}}(?![{_B64}])"),
    # STS session tokens start with a fixed base64 prefix whatever the field is called.
    "session_token_prefix": re.compile(
        r"(?:IQoJb3JpZ2lu|FwoGZXIvYXdzE|FQoGZXIvYXdzE|AQoDYXdzE|AQoEXAMPLE)[A-Za-z0-9/+=%]{20,}"),
    # sessionToken / session_token / SecurityToken / x-amz-security-token fields holding a value
    "session_token_field": re.compile(
        rf"(?i)(?:session_?token|security_?token|x-amz-security-token){_Q}{_SEP}{_Q}[{_B64}=%]{{16,}}"),
    # any *token* field holding a long base64 value
    "long_token_value": re.compile(rf"(?i)token[a-z_]*{_Q}{_SEP}{_Q}[{_B64}]{{100,}}={{0,2}}"),
}


@dataclass(frozen=True)
class SecretHit:
    """Where a secret-looking value is; `preview` shows only its first characters."""

    path: str
    line: int
    pattern: str
    preview: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.pattern} ({self.preview}…)"


def scan_text(text: str, path: str = "<text>") -> list[SecretHit]:
    hits = []
    for name, pattern in SECRET_PATTERNS.items():
        for match in pattern.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            hits.append(SecretHit(path, line, name, match.group(0)[:12]))
    return sorted(hits, key=lambda h: (h.path, h.line, h.pattern))


def scan_files(root: str | Path, files: Iterable[Path] | None = None) -> list[SecretHit]:
    """Scan every file under root (or the given files) as text; binary files are read with replacement."""
    root = Path(root)
    chosen = sorted(files) if files is not None else sorted(p for p in root.rglob("*") if p.is_file())
    hits: list[SecretHit] = []
    for path in chosen:
        text = path.read_bytes().decode("utf-8", errors="replace")
        hits.extend(scan_text(text, str(path.relative_to(root))))
    return hits


_ACTIVE: dict[str, Redactor] = {}

# --- pseudonyms ----------------------------------------------------------------------

# UUIDs (event ids, execution ids) are matched first and kept, so their 12-digit tails stay intact.
_UUID = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
_KEY_ID = re.compile(r"(?<![A-Z0-9])(AKIA|ASIA)[A-Z0-9]{16}(?![A-Z0-9])")
_ACCOUNT = re.compile(rf"(?P<uuid>{_UUID})|(?<![0-9])(?P<account>\d{{12}})(?![0-9])")
_OCTET = r"(?:25[0-5]|2[0-4]\d|[01]?\d?\d)"  # leading zeros too: anonymised logs write 255.090.254.5
_IPV4 = re.compile(rf"(?<![\d.])(?:{_OCTET}\.){{3}}{_OCTET}(?!\d|\.\d)")
_IPV6_CANDIDATE = re.compile(r"(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?![\w:])")


def _is_ipv6(text: str) -> bool:
    if not any(c.isalnum() for c in text):
        return False  # a bare "::" in prose or ARNs
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def active() -> Redactor | None:
    """The redactor of this process, when a redacted report runs it (its worker sets REDACT_ENV)."""
    key = os.environ.get(REDACT_ENV, "")
    if not key:
        return None
    cached = _ACTIVE.get(key)
    if cached is None:
        cached = _ACTIVE[key] = Redactor(bytes.fromhex(key))
    return cached


class Redactor:
    """Replaces account ids, IPs and access key ids with keyed-hash pseudonyms.

    The same value always gets the same pseudonym under one key; without the key the
    pseudonyms cannot be reversed or recomputed from a guessed account id.
    """

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the redaction key must be at least 16 bytes")
        self._key = key
        self.seen: dict[str, set[str]] = {"account": set(), "ip": set(), "key_id": set()}

    @classmethod
    def from_env(cls) -> tuple[Redactor, str]:
        """A redactor keyed by TRAILBOOK_REDACT_KEY (stable pseudonyms across runs), else a fresh random key."""
        given = os.environ.get("TRAILBOOK_REDACT_KEY", "")
        if given:
            return cls(hashlib.sha256(given.encode()).digest()), "TRAILBOOK_REDACT_KEY"
        return cls(os.urandom(32)), "ephemeral"

    @property
    def key_hex(self) -> str:
        """The key, for handing to a worker process (never written to an output)."""
        return self._key.hex()

    def pseudonym(self, kind: str, value: str) -> str:
        digest = hmac.new(self._key, f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()[:10]
        self.seen[kind].add(value)
        if kind == "account":
            return f"acct-{digest}"
        if kind == "key_id":
            return f"{value[:4]}-{digest.upper()}"  # keeps AKIA (long-term) vs ASIA (temporary)
        return f"ip-{digest}"

    def text(self, text: str) -> str:
        text = _KEY_ID.sub(lambda m: self.pseudonym("key_id", m.group(0)), text)
        text = _ACCOUNT.sub(lambda m: m.group("uuid") or self.pseudonym("account", m.group("account")), text)
        text = _IPV6_CANDIDATE.sub(lambda m: self.pseudonym("ip", m.group(0)) if _is_ipv6(m.group(0)) else m.group(0),
                                   text)
        return _IPV4.sub(lambda m: self.pseudonym("ip", m.group(0)), text)

    def frame(self, frame: Any) -> Any:
        """A copy of a DataFrame with every text cell, list of text and column name pseudonymized."""
        out = frame.rename(columns=lambda c: self.text(c) if isinstance(c, str) else c)
        for column in out.columns:
            # pandas 3 names text columns `str` (DuckDB's results too); `string` and `category` hold text as well
            if out[column].dtype == object or str(out[column].dtype).startswith(("str", "category")):
                out[column] = [self.value(v.tolist() if hasattr(v, "tolist") else v) for v in out[column]]
        return out

    def value(self, value: Any) -> Any:
        """Redact every string inside nested dicts/lists (keys included)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(k) if isinstance(k, str) else k: self.value(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self.value(v) for v in value)
        return value

    def notebook(self, nb: Any) -> Any:
        """Redact a notebook in place: cell sources, outputs and papermill's parameters.

        Raster images are left as they are (they are base64 data, and masking digits would corrupt
        them); text drawn inside a PNG plot is therefore not redacted.
        """
        for cell in nb.cells:
            cell["source"] = self.text(cell.get("source", ""))
            for output in cell.get("outputs", []):
                if "text" in output:
                    output["text"] = self.value(output["text"])
                if "evalue" in output:
                    output["evalue"] = self.text(output["evalue"])
                    output["traceback"] = self.value(output.get("traceback", []))
                data = output.get("data", {})
                for mime in list(data):
                    if mime.startswith("image/") and mime != "image/svg+xml":
                        continue
                    data[mime] = self.value(data[mime])
        papermill = nb.metadata.get("papermill")
        if papermill:
            for key in ("parameters", "default_parameters"):
                if key in papermill:
                    papermill[key] = self.value(papermill[key])
        return nb
