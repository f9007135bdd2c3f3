"""Personal data out of released text: e-mail addresses, phone numbers, IP addresses,
payment card numbers (Luhn-checked) and URLs that carry credentials or tokens, each
replaced by a placeholder (``[email]``, ``[phone]``, ``[ip]``, ``[card]``, ``[url]``)
and counted.

Patterns, not a model: they catch what has a shape. Names, street addresses and
anything said in free words stay; the dataset card says so.
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter
from collections.abc import Callable

__all__ = ["KINDS", "Scrubber"]

KINDS = ("url", "email", "card", "ip", "phone")

_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-zA-Z]{2,}\b")
_SECRET_PARAM = (
    r"(?:access_?token|api_?key|apikey|auth|code|key|password|passwd|pwd|secret|session|"
    r"sessionid|sig|signature|token|x-amz-signature|x-amz-credential)"
)
_URL = re.compile(r"\b(?:https?|ftp)://[^\s<>\"'`)\]]+", re.IGNORECASE)
_URL_SECRET = re.compile(
    rf"(?:[?&#;]{_SECRET_PARAM}=)|(?://[^/\s:@]+:[^/\s@]+@)|(?:/[A-Za-z0-9_-]{{32,}}(?:/|$))",
    re.IGNORECASE,
)
_CARD = re.compile(r"(?<![\d.])(?:\d[ -]?){12,18}\d(?![\d.])")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
_IPV6 = re.compile(r"(?<![\w:])[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4}){2,7}(?:%\w+)?(?![\w:])")
_PHONE = re.compile(
    # +33 6 12 34 56 78, +1-202-555-0143, (555) 123-4567, 555.123.4567, 020 7946 0958,
    # 06 12 34 56 78, +4915112345678
    r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,4}\)[\s.-]?)?\d{1,4}(?:[\s.-]\d{2,4}){1,5}(?!\w)"
    r"|(?<![\w+])\+\d{8,14}(?!\w)"
)


def _luhn(digits: str) -> bool:
    total, odd = 0, False
    for ch in reversed(digits):
        d = int(ch)
        if odd:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
        odd = not odd
    return total % 10 == 0


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


class Scrubber:
    """Replace personal data in texts; :attr:`counts` says how many of each kind."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def __call__(self, text: str) -> str:
        text = self._sub(_URL, "url", text, lambda m: bool(_URL_SECRET.search(m)))
        text = self._sub(_EMAIL, "email", text)
        text = self._sub(_CARD, "card", text, lambda m: _luhn(re.sub(r"\D", "", m)))
        text = self._sub(_IPV4, "ip", text, _is_ip)
        text = self._sub(_IPV6, "ip", text, _is_ip)
        return self._sub(_PHONE, "phone", text, _phone_like)

    def _sub(
        self,
        pattern: re.Pattern[str],
        kind: str,
        text: str,
        keep_if: Callable[[str], bool] | None = None,
    ) -> str:
        def replace(match: re.Match[str]) -> str:
            found = match.group(0)
            if keep_if is not None and not keep_if(found):
                return found
            self.counts[kind] += 1
            return f"[{kind}]"

        return pattern.sub(replace, text)
