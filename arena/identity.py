"""Who a voter is, as far as the arena knows: a browser, by a signed first-party cookie.

Every browser gets a random id in the cookie ``arena_voter`` (HttpOnly, SameSite=Lax,
a year long), signed with the arena's secret so that no one can present another's id.
The id, and the IP address, are stored only as keyed hashes (HMAC-SHA-256 with the same
secret). The secret is never in the database: it is ``ARENA_SECRET`` when set (the same
on every machine of a deployment), else the file ``secret_file`` (by default beside a
SQLite database: ``arena.db`` -> ``arena.secret``), made on first start. Without the
secret a copy of the database cannot be hashed against the 4.3 billion IPv4 addresses.

Limits, the one-vote rule, terms consent and the anomalous-voter screen all key on the
browser, so a reload does not reset them. A client that keeps no cookies is known by its
page session (as before), which each reload renews.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from pathlib import Path
from typing import Any, TypeVar

from arena.errors import ConfigError
from arena.integrity.proof import PROOF_COOKIE, PROOF_HEADER, ProofOfWork

T = TypeVar("T")

__all__ = ["BROWSER_HEADER", "COOKIE", "BrowserCookies", "Identity", "load_secret", "secret_path"]

COOKIE = "arena_voter"
# The verified browser id travels from the middleware to the page's handlers in this
# request header; one a client sends itself is removed first.
BROWSER_HEADER = "x-arena-browser"
MAX_AGE = 365 * 24 * 3600
_COOKIE = COOKIE.encode()
_BROWSER = BROWSER_HEADER.encode()
_PROOF = PROOF_HEADER.encode()
_PROOF_COOKIE = PROOF_COOKIE.encode()

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
    Awaitable[None],
]


def secret_path(secret_file: str, db: str) -> Path:
    """``secret_file``, or by default beside a SQLite database (``arena.db`` ->
    ``arena.secret``), else ``arena.secret`` in the working directory."""
    if secret_file:
        return Path(secret_file).expanduser()
    if db.startswith("sqlite"):
        from sqlalchemy.engine import make_url

        database = make_url(db).database
        if database and database != ":memory:":
            return Path(database).with_suffix(".secret")
    return Path("arena.secret")


def load_secret(secret: str, secret_file: str, db: str = "") -> bytes:
    """``secret`` when given, else the contents of the secret file (see
    :func:`secret_path`), made (mode 600) with a new random secret when it does not
    exist; two processes starting at once read the same one.

    Raises:
        ConfigError: the file cannot be read or made, or is empty.
    """
    if secret:
        return secret.encode()
    path = secret_path(secret_file, db)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32) + "\n")
        value = path.read_text().strip()
    except OSError as exc:
        raise ConfigError(
            f"cannot read or make the arena's secret {path}: {exc.strerror}; set "
            "secret_file to a writable place, or ARENA_SECRET"
        ) from None
    if not value:
        raise ConfigError(f"the arena's secret {path} is empty; delete it to make a new one")
    return value.encode()


class Identity:
    """Keyed hashes and signed browser ids under one secret."""

    def __init__(self, secret: bytes) -> None:
        self._key = self.derive(secret, "hashes")
        self._sign_key = self.derive(secret, "cookies")
        self.proofs = ProofOfWork(self.derive(secret, "proof of work"))

    @staticmethod
    def derive(secret: bytes, label: str) -> bytes:
        """A key of its own for each use of the one secret."""
        return hashlib.sha256(f"arena {label}:".encode() + secret).digest()

    def hash(self, value: str) -> str:
        """How ``value`` (a browser id, an IP address) is stored."""
        return hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()

    def _signature(self, browser: str) -> str:
        return hmac.new(self._sign_key, browser.encode(), hashlib.sha256).hexdigest()[:32]

    def new_cookie(self) -> str:
        """A cookie value for a new browser: ``id.signature``."""
        browser = secrets.token_urlsafe(18)
        return f"{browser}.{self._signature(browser)}"

    def browser(self, cookie: str | None) -> str | None:
        """The browser id a cookie value carries, or None when it is not one we signed."""
        if not cookie or "." not in cookie:
            return None
        browser, _, signature = cookie.rpartition(".")
        # Bytes: compare_digest refuses a str with non-ASCII characters (a 500 on every
        # request of a browser given such a cookie by a sibling site).
        expected = self._signature(browser).encode()
        if browser and hmac.compare_digest(signature.encode(errors="replace"), expected):
            return browser
        return None


class BrowserCookies:
    """ASGI middleware: give each browser its signed cookie, and hand the page's handlers
    the verified id in :data:`BROWSER_HEADER` and the vote count its proof of work was
    made at in :data:`~arena.integrity.proof.PROOF_HEADER` (see
    :func:`arena.ui.common.voter_of`); the same headers sent by a client are dropped."""

    def __init__(self, app: ASGIApp, identity: Identity) -> None:
        self.app = app
        self.identity = identity

    async def __call__(
        self,
        scope: Scope,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ours = (_BROWSER, _PROOF)
        headers = [(k, v) for k, v in scope["headers"] if k not in ours]
        cookies: dict[bytes, list[str]] = {_COOKIE: [], _PROOF_COOKIE: []}
        for key, value in headers:
            if key == b"cookie":
                for part in value.split(b";"):
                    name, _, cookie = part.strip().partition(b"=")
                    if name in cookies:
                        cookies[name].append(cookie.decode("latin-1"))
        # Every cookie of the name, the first that verifies: a sibling site can add one
        # of the same name (cookie tossing), which the browser may send first or last.
        browser = _first(self.identity.browser(c) for c in cookies[_COOKIE])
        if browser is not None:
            headers.append((_BROWSER, browser.encode()))
            proofs = cookies[_PROOF_COOKIE]
            proof = _first(self.identity.proofs.read(c, browser) for c in proofs)
            if proof is not None:
                headers.append((_PROOF, str(proof).encode()))
            await self.app({**scope, "headers": headers}, receive, send)
            return
        # No valid cookie: this request goes on as the page's session; the response
        # gives the browser its id for the next ones.
        https = scope.get("scheme") == "https" or (b"x-forwarded-proto", b"https") in headers
        cookie = (
            f"{COOKIE}={self.identity.new_cookie()}; Path=/; Max-Age={MAX_AGE}; HttpOnly; "
            f"SameSite=Lax{'; Secure' if https else ''}"
        ).encode()

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message["headers"], (b"set-cookie", cookie)]}
            await send(message)

        await self.app({**scope, "headers": headers}, receive, send_with_cookie)


def _first(values: Iterable[T | None]) -> T | None:
    """The first of ``values`` that is not None."""
    return next((v for v in values if v is not None), None)
