"""Deterministic AWS-shaped identifiers drawn from a seeded `random.Random`."""

from __future__ import annotations

import base64
import random

_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"  # the alphabet of AWS unique ids and key ids
_ALNUM_MIXED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_V4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_V4_SET = (0x4000 << 64) | (0x8000 << 48)


def uuid4(rng: random.Random) -> str:
    """A version-4 UUID string from the seeded generator (eventID, requestID, sharedEventID)."""
    h = "%032x" % ((rng.getrandbits(128) & _V4_CLEAR) | _V4_SET)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _pick(rng: random.Random, alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def unique_id(rng: random.Random, prefix: str) -> str:
    """An IAM unique id such as AIDA… / AROA… / AGPA… / ANPA… (21 characters)."""
    return prefix + _pick(rng, _B32, 17)


def access_key_id(rng: random.Random, prefix: str = "AKIA") -> str:
    """An access key id: AKIA… long-term, ASIA… temporary (20 characters)."""
    return prefix + _pick(rng, _B32, 16)


def s3_request_id(rng: random.Random) -> str:
    """S3's 16-character request id (upper-case letters and digits); base32 keeps it fast."""
    return base64.b32encode(rng.randbytes(10)).decode()


def file_suffix(rng: random.Random) -> str:
    """The 16-character random tail of a CloudTrail log file name."""
    return _pick(rng, _ALNUM_MIXED, 16)


def hex_id(rng: random.Random, prefix: str, n: int = 17) -> str:
    """Resource ids such as i-0…, vpc-0…, sg-0…, vpce-0… (lower-case hex)."""
    return f"{prefix}{rng.getrandbits(4 * n):0{n}x}"


def token(rng: random.Random, nbytes: int = 180) -> str:
    """An opaque base64 blob standing in for a session token."""
    return "IQoJb3JpZ2luX2Vj" + base64.b64encode(rng.randbytes(nbytes)).decode()
