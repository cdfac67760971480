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
    (
        "msisdn",
        re.compile(
            r"msisdn|phone|mobile|(?:^|_)(?:contact_number|operator_number|subscriber_number"
            r"|cli_number|a_number|b_number|mdn)(?:$|_)"
        ),
    ),
)

# Every pattern below is matched from a known anchor (an "@", a "://", a keyword, a digit) and
# never from every position of a long run, so masking stays linear in the text's length: it runs
# on samples, alerts and logs, where one 1 MB field must not stall a task.

# A digit run is a number on its own: not part of a longer run and not part of a decimal
# (``1500000000000.25``), so amounts and counts stay readable. Hex digests and UUIDs are
# skipped in ``_NumberMasker``.
_NUMBER_START = r"(?<![0-9+])(?<!\d[.,])"
_NUMBER_END = r"(?!\d)(?![.,]\d)"
# "+62 812-3456-7890": international numbers written with separators (a "+" is required, so
# dates and ranges such as 2024-01-15 are left alone).
_FORMATTED_MSISDN = r"(?P<formatted>\+\d{1,4}(?:[ \-]\d{1,5}){2,5})"
_DIGITS = r"(?P<plus>\+?)(?P<digits>\d{10,15})"
_NUMBER = re.compile(f"{_NUMBER_START}(?:{_FORMATTED_MSISDN}|{_DIGITS}){_NUMBER_END}")
_TOKEN = re.compile(r"[A-Za-z0-9\-]+")  # the word a digit run sits in
_HEX_TOKEN = re.compile(r"(?=[0-9\-]*[A-Fa-f])[0-9A-Fa-f\-]{16,}")
# An email is found from its "@": the local part is the run of these characters before it, the
# domain is matched forward from it.
_EMAIL_LOCAL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-")
_NOT_EMAIL_LOCAL = re.compile(r"[^A-Za-z0-9._%+\-]+")
_EMAIL_DOMAIN = re.compile(r"[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")

# After "scheme://": user, ":", then the password greedy up to the last "@" of the authority,
# so a raw "@" inside the password is hidden too.
_NOT_SCHEME = re.compile(r"[^A-Za-z0-9+.\-]+")
_SCHEME = re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*\Z")  # searched up to the "://" only
_URL_USER_PASSWORD = re.compile(r"[^\s:/@]*:(?P<secret>[^\s/?#<>|]+)@")
_SLACK_WEBHOOK = re.compile(r"(?P<head>hooks\.slack\.com/services/)[^\s\"'<>|]+")
# A key whose name holds one of these words, then "=" or ":", then its value.
_SECRET_WORD = re.compile(r"password|passwd|pwd|token|secret|api[_\-]?key|access[_\-]?key", re.IGNORECASE)
_KEY_CHARS = re.compile(r"[\w\-]*")
_NOT_KEY_CHAR = re.compile(r"[^\w\-]+")
_KEY_VALUE_TAIL = re.compile(r"\s*[=:]\s*(?P<vq>[\"']?)(?P<value>[^\s\"'&;,}|<>]+)(?P=vq)")
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


class _LastMatchBefore:
    """The last match of ``pattern`` ending at or before a position, for positions asked in
    increasing order: one pass over the text however many positions are asked."""

    def __init__(self, pattern: re.Pattern[str], text: str):
        self._matches = pattern.finditer(text)
        self._next = next(self._matches, None)
        self.last: re.Match[str] | None = None

    def before(self, position: int) -> re.Match[str] | None:
        while self._next is not None and self._next.end() <= position:
            self.last, self._next = self._next, next(self._matches, None)
        return self.last


class _Emails:
    """The emails of a text, found from each "@" (never tried from every position)."""

    def __init__(self, text: str):
        self._text = text
        self._separators = _LastMatchBefore(_NOT_EMAIL_LOCAL, text)
        self._at = text.find("@")
        self._domain_end: int | None = None  # of the current "@"; -1: no domain there

    def first(self, position: int) -> tuple[int, int] | None:
        """The span of the first email starting at or after ``position`` (asked in increasing order)."""
        text = self._text
        while self._at != -1:
            at = self._at
            if at > position and text[at - 1] in _EMAIL_LOCAL_CHARS:  # a local part is there
                if self._domain_end is None:
                    domain = _EMAIL_DOMAIN.match(text, at + 1)
                    self._domain_end = domain.end() if domain else -1
                if self._domain_end != -1:
                    separator = self._separators.before(at)
                    return max(position, separator.end() if separator else 0), self._domain_end
            self._at, self._domain_end = text.find("@", at + 1), None
        return None


class _NumberMasker:
    """Masks MSISDN/IMSI-like digit runs, skipping those inside a hash or UUID. Each word is
    looked at once, however many digit runs it holds."""

    def __init__(self, text: str):
        self._tokens = _TOKEN.finditer(text)
        self._token: re.Match[str] | None = None
        self._hex_token: re.Match[str] | None = None

    def _in_hex_token(self, match: re.Match[str]) -> bool:
        while self._token is None or self._token.end() < match.end():
            self._token = next(self._tokens)
        if self._token is not self._hex_token and _HEX_TOKEN.fullmatch(self._token.group()):
            self._hex_token = self._token
        return self._token is self._hex_token

    def __call__(self, match: re.Match[str]) -> str:
        if match.group("formatted"):
            plus, digits = _digits(match.group("formatted"))
            return mask_msisdn(plus + digits) if 10 <= len(digits) <= 15 else match.group(0)
        if not match.group("plus") and self._in_hex_token(match):
            return match.group(0)  # a hash or UUID that happens to hold a digit run, e.g. "3f9a1234567890123b7c"
        if not match.group("plus") and len(match.group("digits")) == 15:
            return mask_imsi(match.group("digits"))
        return mask_msisdn(match.group(0))


def mask_text(text: str) -> str:
    """Mask emails, MSISDN-like (10-15 digits, optional ``+``) and IMSI-like (15 digits) runs.

    Left to right, the leftmost of the next email and the next number is masked first (an
    email wins a tie), as one regular expression alternating the two would, in linear time.
    """
    emails, numbers = _Emails(text), _NumberMasker(text)
    out: list[str] = []
    position = 0
    number = _NUMBER.search(text)
    while True:
        email = emails.first(position)
        if number is not None and number.start() < position:
            number = _NUMBER.search(text, position)
        if email and (number is None or email[0] <= number.start()):
            out.append(text[position : email[0]])
            out.append(mask_email(text[email[0] : email[1]]))
            position = email[1]
        elif number:
            out.append(text[position : number.start()])
            out.append(numbers(number))
            position = number.end()
            number = _NUMBER.search(text, position)
        else:
            break
    out.append(text[position:])
    return "".join(out)


def _redact_url_passwords(text: str) -> str:
    out: list[str] = []
    position = 0
    scheme_starts = _LastMatchBefore(_NOT_SCHEME, text)
    found = text.find("://")
    while found != -1:
        before = scheme_starts.before(found)
        scheme = _SCHEME.search(text, before.end() if before else 0, found)
        credentials = _URL_USER_PASSWORD.match(text, found + 3) if scheme else None
        if credentials:
            out.append(text[position : credentials.start("secret")] + "***")
            position = credentials.end("secret")
        found = text.find("://", found + 3)
    return "".join(out) + text[position:]


def _redact_key_values(text: str) -> str:
    out: list[str] = []
    position = 0
    key_starts = _LastMatchBefore(_NOT_KEY_CHAR, text)
    word = _SECRET_WORD.search(text)
    while word:
        before = key_starts.before(word.start())
        key_start = max(position, before.end() if before else 0)
        key_end = _KEY_CHARS.match(text, word.end()).end()
        quote = text[key_start - 1] if key_start > position and text[key_start - 1] in "\"'" else ""
        tail = None
        if quote and text.startswith(quote, key_end):
            tail = _KEY_VALUE_TAIL.match(text, key_end + 1)
        if tail is None:
            tail = _KEY_VALUE_TAIL.match(text, key_end)
        if tail:
            out.append(text[position : tail.start("value")] + "***")
            position = tail.end("value")
        word = _SECRET_WORD.search(text, max(key_end, position))
    return "".join(out) + text[position:]


def redact_secrets(text: str) -> str:
    """Hide passwords in URLs, ``password=``/``token=``/``secret=``/``api_key=`` values, bearer
    tokens and Slack webhook paths, keeping the key names so the reader knows what was there."""
    text = _redact_url_passwords(text)
    text = _SLACK_WEBHOOK.sub(r"\g<head>***", text)
    text = _redact_key_values(text)
    return _BEARER.sub(r"\g<head>***", text)


def scrub(text: str) -> str:
    """Both nets in the right order: secrets first (a URL password is not an email), then PII."""
    return mask_text(redact_secrets(text))


def scrub_values(value: Any) -> Any:
    """Every text inside a JSON-like value scrubbed, its structure (keys, numbers) untouched."""
    if isinstance(value, dict):
        return {k: scrub_values(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub_values(v) for v in value]
    return scrub(value) if isinstance(value, str) else value
