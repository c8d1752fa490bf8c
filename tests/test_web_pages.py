"""The web app as files: every page path answers the shell, assets are
served from Rateline itself and stay within the size budget."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient

from server.routes.webapp import PAGE_PATHS, WEB_ROOT

BUDGET_BYTES = 150 * 1024


def assets() -> list[str]:
    return sorted(
        str(path.relative_to(WEB_ROOT / "static"))
        for path in (WEB_ROOT / "static").rglob("*")
        if path.suffix in {".js", ".css"}
    )


def test_the_router_and_the_server_know_the_same_pages() -> None:
    app_js = (WEB_ROOT / "static" / "app.js").read_text()
    routed = re.findall(r'^\s+"(/[a-z-]*)": (?:async )?\(\) =>', app_js, flags=re.M)
    assert sorted(routed) == sorted(PAGE_PATHS)


def test_javascript_and_css_fit_the_budget_and_load_nothing_from_elsewhere() -> None:
    total = 0
    for name in assets():
        text = (WEB_ROOT / "static" / name).read_text()
        total += len(text.encode())
        assert not re.search(r"(src|href)=[\"']https?://|@import\s+url\(https?:", text), name
        assert not re.search(r"import[^;]*from \"https?://", text), name
    assert 0 < total <= BUDGET_BYTES


async def test_every_page_path_answers_the_shell(app_client: TestClient) -> None:
    for path in PAGE_PATHS:
        response = await app_client.get(path)
        assert response.status == 200, path
        assert response.content_type == "text/html"
        assert '<script type="module" src="/static/app.js">' in await response.text()


async def test_assets_are_served_with_their_types(app_client: TestClient) -> None:
    for name in assets():
        response = await app_client.get(f"/static/{name}")
        assert response.status == 200, name
        expected = "text/css" if name.endswith(".css") else "javascript"
        assert expected in response.content_type, (name, response.content_type)
    assert (await app_client.get("/static/../index.html")).status in (403, 404)
    assert (await app_client.get("/no-such-page")).status == 404


async def test_an_emailed_verification_link_opened_in_a_browser_lands_on_the_page(
    app_client: TestClient,
) -> None:
    response = await app_client.get(
        "/api/auth/verify?token=abc", headers={"Accept": "text/html"}, allow_redirects=False
    )
    assert response.status == 303
    assert response.headers["Location"] == "/verify?token=abc"
    api = await app_client.get("/api/auth/verify?token=abc")
    assert api.status == 410 and api.content_type == "application/problem+json"
