"""arena/guard.py over HTTP: requests from another web site, and the headers every
response carries (the browser's side of both is in tests/test_browser_trust.py)."""

from __future__ import annotations

import base64
import hashlib
import shutil
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from arena.backends.supervisor import free_port
from arena.deploy import run_nginx
from arena.guard import SameOrigin, SecurityHeaders, inline_script_hashes

EVIL = "http://evil.example"


def _app(allowed: str = "") -> SameOrigin:
    async def handler(request: Request) -> JSONResponse:
        # As Gradio's CORS middleware answers when the Host is not localhost.
        return JSONResponse(
            {"done": request.method},
            headers={
                "access-control-allow-origin": request.headers.get("origin", "*"),
                "access-control-allow-credentials": "true",
            },
        )

    inner = Starlette(routes=[Route("/api/vote", handler, methods=["GET", "POST", "OPTIONS"])])
    return SameOrigin(inner, allowed=lambda: allowed)


async def _request(method: str, headers: dict[str, str], allowed: str = "") -> httpx.Response:
    transport = httpx.ASGITransport(app=_app(allowed))
    async with httpx.AsyncClient(transport=transport, base_url="http://arena.example") as http:
        return await http.request(method, "/api/vote", headers=headers)


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": EVIL},
        {"origin": "http://arena.example:8080"},  # same host, another port: same site
        {"origin": "null"},  # a sandboxed frame or a data: page
        {"sec-fetch-site": "same-site"},  # a browser that sent no Origin
        {"sec-fetch-site": "cross-site"},
    ],
)
async def test_a_post_from_another_site_is_refused_before_the_handler(
    headers: dict[str, str],
) -> None:
    response = await _request("POST", headers)
    assert response.status_code == 403
    assert "from another web site" in response.json()["detail"]
    assert "access-control-allow-origin" not in response.headers


async def test_a_preflight_from_another_site_is_refused() -> None:
    response = await _request("OPTIONS", {"origin": EVIL, "access-control-request-method": "POST"})
    assert response.status_code == 403
    assert "access-control-allow-origin" not in response.headers


async def test_another_sites_get_passes_but_cannot_be_read_with_cookies() -> None:
    response = await _request("GET", {"origin": EVIL})
    assert response.status_code == 200
    assert not [k for k in response.headers if k.startswith("access-control-allow-")]


@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "http://arena.example"},  # the arena's own page
        {"origin": "HTTP://Arena.Example:80"},  # the same, spelt otherwise
        {"sec-fetch-site": "same-origin"},
        {},  # a script or gradio_client: no browser, no voter's cookies to abuse
    ],
)
async def test_the_arenas_own_page_and_scripts_pass(headers: dict[str, str]) -> None:
    response = await _request("POST", headers)
    assert response.status_code == 200 and response.json() == {"done": "POST"}


async def test_an_allowed_origin_passes_and_the_refusal_quotes_only_an_excerpt() -> None:
    allowed = "https://front.example, https://other.example"
    assert (await _request("POST", {"origin": "https://front.example"}, allowed)).status_code == 200
    refused = await _request("POST", {"origin": "https://x" + "y" * 10_000 + ".example"}, allowed)
    assert refused.status_code == 403 and len(refused.text) < 600


async def test_every_response_carries_the_policy_and_a_page_its_script_hashes() -> None:
    page = "<html><head><script>window.x = 1;</script><script src='/a.js'></script></head></html>"

    async def html(request: Request) -> HTMLResponse:
        return HTMLResponse(page)

    async def data(request: Request) -> JSONResponse:
        return JSONResponse({})

    app = SecurityHeaders(
        Starlette(routes=[Route("/", html), Route("/data", data)]), scripts=["own();"]
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://arena.example"
    ) as http:
        shown, other = await http.get("/"), await http.get("/data")
    digest = base64.b64encode(hashlib.sha256(b"window.x = 1;").digest()).decode()
    own = base64.b64encode(hashlib.sha256(b"own();").digest()).decode()
    policy = shown.headers["content-security-policy"]
    assert f"'sha256-{digest}'" in policy and f"'sha256-{own}'" in policy
    assert shown.text == page  # the body passes unchanged
    for directive in (
        "img-src 'self' data: blob:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "object-src 'none'",
    ):
        assert directive in policy and directive in other.headers["content-security-policy"]
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    for response in (shown, other):
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-content-type-options"] == "nosniff"


def test_inline_scripts_are_hashed_whatever_their_attributes() -> None:
    html = b'<script data-gradio-mode>a()</script><SCRIPT type="module" src="x.js"></SCRIPT>'
    assert inline_script_hashes(html) == [
        f"'sha256-{base64.b64encode(hashlib.sha256(b'a()').digest()).decode()}'"
    ]


def test_the_served_page_and_share_page_carry_the_policy(live_server: dict[str, str]) -> None:
    for path in ("", "share/no-such-battle", "api/health"):
        response = httpx.get(live_server["url"] + path, headers={"accept-encoding": "br"})
        policy = response.headers["content-security-policy"]
        assert "img-src 'self' data: blob:" in policy, path
    page = httpx.get(live_server["url"], headers={"accept-encoding": "identity"})
    for digest in inline_script_hashes(page.content):
        assert digest in page.headers["content-security-policy"]


def test_a_garbled_or_tossed_cookie_neither_breaks_the_page_nor_replaces_the_voter(
    live_server: dict[str, str],
) -> None:
    """A sibling site can set cookies of the arena's names (cookie tossing), with any
    bytes in them: the page still loads, and the voter's own signed cookie still counts,
    whichever order the browser sends them in."""
    from arena.identity import COOKIE

    url = live_server["url"]
    own = httpx.get(url).cookies[COOKIE]
    for garbled in (b"abc.\xc3\xa9", b"\xff\xfe", "é.é".encode()):
        page = httpx.get(url, headers={"cookie": b"arena_voter=" + garbled})
        assert page.status_code == 200, garbled
        assert page.headers["set-cookie"].startswith(f"{COOKIE}=")  # a fresh one
    for order in ((own, "tossed.x"), ("tossed.x", own)):
        cookies = "; ".join(f"{COOKIE}={c}" for c in order)
        proof = "arena_proof=\u00b2.abc; arena_proof=1.\u00e9".encode()
        page = httpx.get(url, headers={"cookie": cookies.encode() + b"; " + proof})
        assert page.status_code == 200 and "set-cookie" not in page.headers, order


def test_nobody_can_upload_files_to_the_arena(live_server: dict[str, str]) -> None:
    """The page takes no files: Gradio's upload route is closed (it stored anyone's
    files on the server's disk and served them back from the arena's origin)."""
    url = live_server["url"]
    sent = httpx.post(url + "gradio_api/upload", files={"files": ("x.html", b"<script>")})
    assert sent.status_code == 404 and "no uploads" in sent.text
    assert httpx.get(url + "gradio_api/upload_progress").status_code == 404
    recording = httpx.post(url + "gradio_api/process_recording", files={"video": ("v", b"x")})
    assert recording.status_code == 404


def test_the_arenas_own_page_behind_nginx_on_another_port_may_post(
    live_server: dict[str, str], tmp_path: Path
) -> None:
    """nginx passes the Host with its port (``$http_host``): with ``$host`` a page served
    on port 8080 sent ``Origin: http://host:8080`` to an arena told ``Host: host``, and
    every prompt, vote and proof of work was refused as from another site."""
    if not Path(shutil.which("nginx") or "/usr/sbin/nginx").exists():
        pytest.skip("needs Debian's nginx (apt-get install nginx; make test does it)")
    port = free_port()
    replica = live_server["url"].split("/")[2]
    with run_nginx(tmp_path / "nginx", port, [replica]):
        origin = f"http://127.0.0.1:{port}"
        own = httpx.post(f"{origin}/api/stop", json={"battle": "x"}, headers={"origin": origin})
        other = httpx.post(
            f"{origin}/api/stop", json={"battle": "x"}, headers={"origin": "http://127.0.0.1:1"}
        )
    assert own.status_code != 403 or "another web site" not in own.text, own.text
    assert other.status_code == 403 and "another web site" in other.text
