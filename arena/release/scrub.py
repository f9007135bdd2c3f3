"""Personal data and secrets out of released text, each replaced by a placeholder and
counted by kind:

==========  ===========================================================================
``url``     URLs that carry credentials or tokens (``user:pw@``, ``?token=``, ``key=``...,
            a 32-character random path segment, Slack and Discord webhooks)
``secret``  API keys and tokens of known shapes (``sk-``, ``sk_live_``, ``AKIA``,
            ``ghp_``, ``github_pat_``, ``glpat-``, ``xox?-``, ``AIza``, ``hf_``), JWTs,
            ``Bearer``/``Basic`` credentials, private-key blocks, and random-looking values
            assigned to ``api_key``, ``password``, ``token``... (only the value goes)
``email``   e-mail addresses
``iban``    IBANs that pass their country's length and the ISO 7064 mod-97 check
``card``    payment card numbers that pass the Luhn check
``ssn``     US social security numbers written ``123-45-6789`` (valid area and group)
``ip``      IP addresses other than loopback and unspecified
``phone``   phone numbers with a country or area code, or of 10 digits or more
==========  ===========================================================================

Patterns, not a model: they catch what has a shape. A number is taken as it is written
in prose: a trailing period, comma or parenthesis ends it, a period followed by a digit
(a decimal, a version) does not. Names, street addresses and anything said in free words
stay; the dataset card says so. The IBAN, Luhn and SSN rules are python-stdnum's.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import math
import re
from collections import Counter
from collections.abc import Callable

from stdnum import iban, luhn
from stdnum.us import ssn

__all__ = ["KINDS", "Scrubber"]

KINDS = ("url", "secret", "email", "iban", "card", "ssn", "ip", "phone")

# A number's edges: no digit, and no "digit." before it (1.2.3.4.5 holds no address);
# no digit, and no ".digit" after it (a decimal); a sentence's period is no part of it.
_NUM_START = r"(?<!\d)(?<!\d\.)"
_NUM_END = r"(?!\.?\d)"

_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-zA-Z]{2,}\b")
_SECRET_PARAM = (
    r"(?:access_?token|api_?key|apikey|auth|code|key|password|passwd|pwd|secret|session|"
    r"sessionid|sig|signature|token|x-amz-signature|x-amz-credential)"
)
# A URL ends before the punctuation that closes a sentence or a parenthesis.
_URL = re.compile(r"\b(?:https?|ftp)://[^\s<>\"'`)\]]*[^\s<>\"'`)\].,;:!?]", re.IGNORECASE)
_URL_SECRET = re.compile(
    rf"(?:[?&#;]{_SECRET_PARAM}=)|(?://[^/\s:@]+:[^/\s@]+@)|(?:/[A-Za-z0-9_-]{{32,}}(?:/|$))"
    r"|(?://hooks\.slack\.com/services/)|(?://(?:\w+\.)?discord(?:app)?\.com/api/webhooks/)",
    re.IGNORECASE,
)
_CARD = re.compile(rf"(?=\d){_NUM_START}(?:\d[ -]?){{12,18}}\d{_NUM_END}")
_IBAN = re.compile(
    r"(?=[A-Z])\b[A-Z]{2}\d{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,4})?)\b"
)
_SSN = re.compile(r"(?=\d)(?<![\w-])\d{3}-\d{2}-\d{4}(?![\w-]|\.\d)")
_IPV4 = re.compile(rf"(?=\d){_NUM_START}(?:\d{{1,3}}\.){{3}}\d{{1,3}}{_NUM_END}")
_IPV6 = re.compile(r"(?<![\w:])[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4}){2,7}(?:%\w+)?(?![\w:])")
_PHONE = re.compile(
    # +33 6 12 34 56 78, +1-202-555-0143, (555) 123-4567, 555.123.4567, 020 7946 0958,
    # 06 12 34 56 78, +4915112345678
    r"(?=[\d+(])(?:(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d{1,4}"
    r"(?:[\s.-]\d{2,4}){1,5}(?!\w)|(?<![\w+])\+\d{8,14}(?!\w))"
)

# Each pattern starts with what the regex engine can scan for (a literal, a character
# class, a lookahead on one): a leading \b alone makes it try every position, 2-25 times
# slower on 10,000 prompts.
#
# Secrets. Each provider's published token shape; then the credentials of an HTTP
# header, and random-looking values assigned to a secret's name (only the value, the
# group ``v``, is replaced: ``api_key = [secret]`` keeps the code readable).
_TOKEN = re.compile(
    r"\b(?:sk-[A-Za-z0-9_-]{20,}"  # OpenAI, Anthropic (sk-ant-), OpenRouter, DeepSeek...
    r"|[sr]k_(?:live|test)_[A-Za-z0-9]{16,}"  # Stripe
    r"|(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z2-7]{16}"  # AWS access key id
    r"|gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,}"  # GitHub
    r"|glpat-[A-Za-z0-9_-]{20,}"  # GitLab
    r"|xox[abeoprs](?:\.xox[a-z])?-[A-Za-z0-9-]{10,}"  # Slack
    r"|AIza[A-Za-z0-9_-]{35}"  # Google API key
    r"|hf_[A-Za-z0-9]{34,})"  # Hugging Face
    r"(?![A-Za-z0-9_-])"
)
_JWT = re.compile(r"eyJ(?<![\w-]eyJ)[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")
_PRIVATE_KEY = re.compile(
    r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY(?: BLOCK)?-----"
    r"(?:[\s\S]*?-----END \1PRIVATE KEY(?: BLOCK)?-----|(?:\s+[A-Za-z0-9+/=:,-]+)*)"
)
_HEADER = re.compile(r"(?=[Bb])\b(?P<scheme>[Bb]earer|Basic)\s+(?P<v>[A-Za-z0-9._~+/-]{16,}=*)")
_ASSIGNED = re.compile(
    r"(?i)(?=[apstc])(?:api_?key|apikey|secret|passw(?:or)?d|token|access_?key|credential)"
    r"[\w-]*[\"']?\s*(?:=|:|=>)\s*[\"']?(?P<v>[A-Za-z0-9/+_~.-]{16,}=*)"
)


def _entropy(value: str) -> float:
    """Shannon entropy in bits a character: about 4 for random letters and digits."""
    return -sum(n / len(value) * math.log2(n / len(value)) for n in Counter(value).values())


def _random_like(value: str) -> bool:
    """Letters and digits mixed, in no word-like order: at least 3 bits a character."""
    if not (re.search(r"\d", value) and re.search(r"[A-Za-z]", value)):
        return False
    return _entropy(value) >= 3.0 and not re.fullmatch(r"\w+(?:\.[A-Za-z_]\w*)+", value)


def _token(text: str) -> bool:
    """A provider's token, not a placeholder such as ``sk-your-key-here`` or ``ghp_xxxx``:
    a run of 12 letters and digits at least, in no repetitive order."""
    longest = max(len(run) for run in re.findall(r"[A-Za-z0-9]+", text))
    return longest >= 12 and _entropy(text) >= 3.0


def _jwt(text: str) -> bool:
    """Its header decodes to a JSON object, as every JWT's does."""
    header = text.split(".", 1)[0]
    try:
        decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return False
    return isinstance(decoded, dict)


def _header(match: re.Match[str]) -> bool:
    """Bearer: a random-looking token; Basic: base64 of ``user:password``."""
    value = match.group("v")
    if match.group("scheme") != "Basic":
        return _random_like(value)
    try:
        return b":" in base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False


def _is_ip(text: str) -> bool:
    """A valid address other than loopback or unspecified (::1, 127.0.0.1, 0.0.0.0)."""
    try:
        address = ipaddress.ip_address(text.split("%")[0])
    except ValueError:
        return False
    return not (address.is_loopback or address.is_unspecified)


def _phone_like(text: str) -> bool:
    digits = re.sub(r"\D", "", text)
    marked = text.lstrip().startswith(("+", "("))  # a country or area code
    if not (9 if marked else 10) <= len(digits) <= 15:
        return False
    groups = re.split(r"[\s.()-]+", text.strip("+() "))
    if not marked and not groups[0].startswith("0") and len(groups[-1]) < 3:
        return False  # 10 20 30 40 50 is a list of numbers
    # Dates and times (2024-01-15 10 30) and plain decimals are no phone numbers.
    return not re.fullmatch(r"(?:19|20)\d\d[-./]\d\d[-./]\d\d.*", text.strip())


Check = Callable[[re.Match[str]], bool]

# In this order: a URL or a key holds digits that would read as a card or a phone
# number, an IBAN a card number's worth of digits, an SSN a short phone number.
_RULES: tuple[tuple[re.Pattern[str], str, Check | None], ...] = (
    (_PRIVATE_KEY, "secret", None),
    (_URL, "url", lambda m: bool(_URL_SECRET.search(m.group()))),
    (_JWT, "secret", lambda m: _jwt(m.group())),
    (_TOKEN, "secret", lambda m: _token(m.group())),
    (_HEADER, "secret", _header),
    (_ASSIGNED, "secret", lambda m: _random_like(m.group("v"))),
    (_EMAIL, "email", None),
    (_IBAN, "iban", lambda m: iban.is_valid(m.group())),
    (_CARD, "card", lambda m: luhn.is_valid(re.sub(r"\D", "", m.group()))),
    (_SSN, "ssn", lambda m: ssn.is_valid(m.group())),
    (_IPV4, "ip", lambda m: _is_ip(m.group())),
    (_IPV6, "ip", lambda m: _is_ip(m.group())),
    (_PHONE, "phone", lambda m: _phone_like(m.group())),
)


class Scrubber:
    """Replace personal data and secrets in texts; :attr:`counts` says how many of each
    kind (one of :data:`KINDS`)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def __call__(self, text: str) -> str:
        for pattern, kind, check in _RULES:
            text = self._sub(pattern, kind, text, check)
        return text

    def _sub(self, pattern: re.Pattern[str], kind: str, text: str, check: Check | None) -> str:
        def replace(match: re.Match[str]) -> str:
            if check is not None and not check(match):
                return match.group()
            self.counts[kind] += 1
            if "v" not in pattern.groupindex:
                return f"[{kind}]"
            start, end = match.span("v")  # the value alone: ``api_key = [secret]``
            return f"{text[match.start() : start]}[{kind}]{text[end : match.end()]}"

        return pattern.sub(replace, text)
