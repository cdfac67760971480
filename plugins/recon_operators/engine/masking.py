"""Masking of subscriber PII (MSISDN, IMSI, email) and redaction of secrets in text.

Alerts, logs and sample rows leave the migration's trust boundary (Slack, e-mail, SNS), so
anything that identifies a subscriber or unlocks a system is masked before it is rendered.
Masks keep just enough (operator prefix, last digits, mail domain) for an engineer to find the
row again in the source. Plain Python: the engine, the CLI and the notifiers all use it.
"""

from __future__ import annotations

import re
from typing import Any

# Fixed width, so the mask does not tell how long the hidden part was.
MASK = "*" * 7

# Column names: words found anywhere ("src_msisdn", "phonenumber"), compound names only as
# whole "_"-separated parts (so "data_number" is not mistaken for "a_number").
_COLUMN_KINDS = (
    ("imsi", re.compile(r"imsi")),
    ("email", re.compile(r"email|(?:^|_)(?:e_mail|mail_address)(?:$|_)")),
    ("msisdn", re.compile(r"msisdn|phone|mobile|(?:^|_)(?:contact_number|operator_number|subscriber_number"
                          r"|cli_number|a_number|b_number|mdn)(?:$|_)")),
)

# A digit run is a number on its own: not part of a longer run and not part of a decimal
# (``1500000000000.25``), so amounts and counts stay readable. Hex digests and UUIDs are
# skipped in ``_mask_match``.
_NUMBER_START = r"(?<![0-9+])(?<!\d[.,])"
_NUMBER_END = r"(?!\d)(?![.,]\d)"
_TOKEN_CHAR = re.compile(r"[A-Za-z0-9\-]")
_HEX_TOKEN = re.compile(r"(?=[0-9\-]*[A-Fa-f])[0-9A-Fa-f\-]{16,}")
_EMAIL = r"(?P<email>[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,})"
# "+62 812-3456-7890": international numbers written with separators (a "+" is required, so
# dates and ranges such as 2024-01-15 are left alone).
_FORMATTED_MSISDN = r"(?P<formatted>\+\d{1,4}(?:[ \-]\d{1,5}){2,5})"
_DIGITS = r"(?P<plus>\+?)(?P<digits>\d{10,15})"
_PII = re.compile(f"{_EMAIL}|{_NUMBER_START}(?:{_FORMATTED_MSISDN}|{_DIGITS}){_NUMBER_END}")

# Greedy up to the last "@" of the authority, so a raw "@" inside the password is hidden too.
_URL_PASSWORD = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s:/@]*):(?P<secret>[^\s/?#<>|]+)@")
_SLACK_WEBHOOK = re.compile(r"(?P<head>hooks\.slack\.com/services/)[^\s\"'<>|]+")
_KEY_VALUE = re.compile(
    r"(?P<head>(?P<q>[\"']?)\b[\w\-]*(?:password|passwd|pwd|token|secret|api[_\-]?key|access[_\-]?key)"
    r"[\w\-]*(?P=q)\s*[=:]\s*)(?P<vq>[\"']?)(?P<value>[^\s\"'&;,}|<>]+)(?P=vq)",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(?P<head>\b(?:Bearer|Basic)\s+)[A-Za-z0-9._~+/=\-]{8,}", re.IGNORECASE)


def _digits(value: Any) -> tuple[str, str]:
    """Leading ``+`` (if any) and the digits of a phone-like value, separators dropped."""
    text = str(value).strip()
    return ("+" if text.startswith("+") else ""), re.sub(r"\D", "", text)


def mask_msisdn(value: Any) -> str:
    """``6281234567890`` -> ``62812*******90``: country/operator prefix and last 2 digits stay."""
    plus, digits = _digits(value)
    if len(digits) < 8:
        return MASK
    keep = min(5, len(digits) - 6)  # short local numbers keep less of their prefix
    return f"{plus}{digits[:keep]}{MASK}{digits[-2:]}"


def mask_imsi(value: Any) -> str:
    """``510101234567890`` -> ``51010*******90``: MCC+MNC and the last 2 digits stay."""
    _, digits = _digits(value)
    if len(digits) < 10:
        return MASK
    return f"{digits[:5]}{MASK}{digits[-2:]}"


def mask_email(value: Any) -> str:
    """``john.doe@example.com`` -> ``j***@example.com``: the domain helps triage, the user is hidden."""
    local, at, domain = str(value).strip().rpartition("@")
    if not at or not local or not domain:
        return "***"
    return f"{local[0]}***@{domain}"


def _column_kind(column_name: str) -> str | None:
    name = column_name.lower()
    return next((kind for kind, pattern in _COLUMN_KINDS if pattern.search(name)), None)


def mask_value(column_name: str, value: Any) -> Any:
    """Mask by what the column holds; other columns still get ``mask_text``. ``None`` stays ``None``.

    Values with nothing to mask come back unchanged (numbers stay numbers).
    """
    if value is None:
        return None
    kind = _column_kind(column_name)
    if kind == "imsi":
        return mask_imsi(value)
    if kind == "email":
        return mask_email(value)
    if kind == "msisdn":
        return mask_msisdn(value)
    text = str(value)
    masked = mask_text(text)
    return value if masked == text else masked


def _token_around(match: re.Match[str]) -> str:
    """The word (letters, digits, dashes) a digit run sits in."""
    text, start, end = match.string, match.start(), match.end()
    while start > 0 and _TOKEN_CHAR.match(text[start - 1]):
        start -= 1
    while end < len(text) and _TOKEN_CHAR.match(text[end]):
        end += 1
    return text[start:end]


def _mask_match(match: re.Match[str]) -> str:
    if match.group("email"):
        return mask_email(match.group("email"))
    if _HEX_TOKEN.fullmatch(_token_around(match)):
        return match.group(0)  # a hash or UUID that happens to hold a digit run, e.g. "3f9a1234567890123b7c"
    if match.group("formatted"):
        plus, digits = _digits(match.group("formatted"))
        return mask_msisdn(plus + digits) if 10 <= len(digits) <= 15 else match.group(0)
    if not match.group("plus") and len(match.group("digits")) == 15:
        return mask_imsi(match.group("digits"))
    return mask_msisdn(match.group(0))


def mask_text(text: str) -> str:
    """Mask emails, MSISDN-like (10-15 digits, optional ``+``) and IMSI-like (15 digits) runs."""
    return _PII.sub(_mask_match, text)


def redact_secrets(text: str) -> str:
    """Hide passwords in URLs, ``password=``/``token=``/``secret=``/``api_key=`` values, bearer
    tokens and Slack webhook paths, keeping the key names so the reader knows what was there."""
    text = _URL_PASSWORD.sub(r"\g<head>:***@", text)
    text = _SLACK_WEBHOOK.sub(r"\g<head>***", text)
    text = _KEY_VALUE.sub(r"\g<head>\g<vq>***\g<vq>", text)
    return _BEARER.sub(r"\g<head>***", text)


def scrub(text: str) -> str:
    """Both nets in the right order: secrets first (a URL password is not an email), then PII."""
    return mask_text(redact_secrets(text))
