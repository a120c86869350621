"""The dashboard app without a browser: guards, actions, escaping, errors (httpx + ASGI)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from aioscheduler import Every, Scheduler
from aioscheduler.dashboard import Dashboard
from aioscheduler.errors import InvalidDashboard
from aioscheduler.stores import MemoryStore

from .conftest import mounted

TOKEN = "t0ken-for-the-tests-42"
FORM = {"content-type": "application/x-www-form-urlencoded"}


async def tick() -> None:
    pass


@pytest.fixture
async def scheduler() -> AsyncIterator[Scheduler]:
    s = Scheduler()
    await s.add(tick, Every(minutes=5), id="tick")
    yield s
    await s.stop()


def client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8765"
    )


def csrf_of(dashboard: Dashboard) -> str:
    return dashboard.csrf_token


async def post(c: httpx.AsyncClient, data: dict[str, str], **headers: str) -> httpx.Response:
    return await c.post("/dash/action", data=data, headers=headers)


def the_dashboard(app: Any) -> Dashboard:
    dashboard = app.routes[0].app
    assert isinstance(dashboard, Dashboard)
    return dashboard


async def test_every_page_is_served_with_security_headers(scheduler: Scheduler) -> None:
    async with client(mounted(scheduler)) as c:
        for path in ("/dash/", "/dash/jobs/tick", "/dash/timeline", "/dash/rows", "/dash/api/jobs"):
            response = await c.get(path)
            assert response.status_code == 200, path
            csp = response.headers["content-security-policy"]
            assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
            assert response.headers["x-frame-options"] == "DENY"
        assert (await c.get("/dash/static/dashboard.js")).status_code == 200
        assert (await c.get("/dash/api/jobs")).json()[0]["id"] == "tick"


async def test_the_page_links_no_outside_asset(scheduler: Scheduler) -> None:
    async with client(mounted(scheduler)) as c:
        html = (await c.get("/dash/")).text
    assert "http://" not in html and "https://" not in html and "//" not in html.replace("://", "")


async def test_a_form_post_with_the_csrf_token_pauses(scheduler: Scheduler) -> None:
    app = mounted(scheduler)
    async with client(app) as c:
        data = {"csrf": csrf_of(the_dashboard(app)), "job_id": "tick", "action": "pause"}
        response = await post(c, data)
    assert response.status_code == 303
    assert response.headers["location"] == "/dash/"
    assert (await scheduler.get("tick")).paused


@pytest.mark.parametrize(
    ("csrf", "headers"),
    [
        pytest.param("", {}, id="no-token"),
        pytest.param("wrong", {}, id="wrong-token"),
        pytest.param(None, {"origin": "https://evil.example"}, id="other-origin"),
        pytest.param(None, {"sec-fetch-site": "cross-site"}, id="cross-site-fetch"),
        pytest.param(None, {"origin": "null"}, id="opaque-origin"),
    ],
)
async def test_cross_site_or_tokenless_actions_are_refused(
    scheduler: Scheduler, csrf: str | None, headers: dict[str, str]
) -> None:
    app = mounted(scheduler)
    async with client(app) as c:
        token = csrf_of(the_dashboard(app)) if csrf is None else csrf
        response = await post(c, {"csrf": token, "job_id": "tick", "action": "pause"}, **headers)
    assert response.status_code == 403
    assert not (await scheduler.get("tick")).paused


async def test_actions_only_take_post(scheduler: Scheduler) -> None:
    async with client(mounted(scheduler)) as c:
        response = await c.get("/dash/action", params={"job_id": "tick", "action": "pause"})
    assert response.status_code == 405


async def test_remove_without_confirmation_asks_first(scheduler: Scheduler) -> None:
    app = mounted(scheduler)
    async with client(app) as c:
        data = {"csrf": csrf_of(the_dashboard(app)), "job_id": "tick", "action": "remove"}
        asked = await post(c, data)
        assert asked.status_code == 200 and "Remove tick?" in asked.text
        assert [j.id for j in await scheduler.jobs()] == ["tick"]
        scripted = await post(c, data, **{"x-requested-with": "aioscheduler-dashboard"})
        assert scripted.status_code == 409
        done = await post(c, {**data, "confirmed": "yes"})
    assert done.status_code == 303
    assert await scheduler.jobs() == []


async def test_an_unknown_job_or_action_is_a_clear_error(scheduler: Scheduler) -> None:
    app = mounted(scheduler)
    scripted = {"x-requested-with": "aioscheduler-dashboard"}
    async with client(app) as c:
        csrf = csrf_of(the_dashboard(app))
        missing = await post(c, {"csrf": csrf, "job_id": "nope", "action": "pause"}, **scripted)
        bad = await post(c, {"csrf": csrf, "job_id": "tick", "action": "explode"}, **scripted)
        page = await c.get("/dash/jobs/%3Cb%3Enope")
    assert missing.status_code == 404 and "nope" in missing.json()["error"]
    assert bad.status_code == 400 and "explode" in bad.json()["error"]
    assert page.status_code == 404 and "&lt;b&gt;nope" in page.text and "<b>nope" not in page.text


async def test_read_only_refuses_actions_and_shows_no_button(scheduler: Scheduler) -> None:
    app = mounted(scheduler, read_only=True)
    async with client(app) as c:
        page = await c.get("/dash/")
        response = await post(
            c, {"csrf": csrf_of(the_dashboard(app)), "job_id": "tick", "action": "pause"}
        )
    assert "<button" not in page.text.replace("<noscript><button", "")
    assert response.status_code == 403
    assert not (await scheduler.get("tick")).paused


async def test_a_token_is_required_when_set(scheduler: Scheduler) -> None:
    app = mounted(scheduler, token=TOKEN)
    async with client(app) as c:
        assert (await c.get("/dash/")).status_code == 401
        assert (await c.get("/dash/events")).status_code == 401
        assert (await c.get("/dash/", params={"token": "x" * 22})).status_code == 401
        bearer = await c.get("/dash/", headers={"authorization": f"Bearer {TOKEN}"})
        assert bearer.status_code == 200
        login = await c.get("/dash/jobs/tick", params={"token": TOKEN, "x": "1"})
        assert login.status_code == 303
        assert login.headers["location"] == "/dash/jobs/tick?x=1"
        cookie = login.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/dash" in cookie
        assert (await c.get("/dash/jobs/tick")).status_code == 200  # the client kept the cookie


async def test_hostile_values_are_escaped_everywhere(scheduler: Scheduler) -> None:
    hostile = "<script>alert(1)</script>\"'&"
    await scheduler.add(tick, Every(minutes=5), id=hostile)
    async with client(mounted(scheduler)) as c:
        pages = [
            (await c.get("/dash/")).text,
            (await c.get("/dash/rows")).text,
            (await c.get("/dash/timeline")).text,
            (await c.get("/dash/jobs/%3Cscript%3Ealert%281%29%3C%2Fscript%3E%22%27%26")).text,
        ]
    assert "Run history" in pages[3]  # the job page found the job
    for html in pages:
        assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#x27;&amp;" in pages[0]


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        pytest.param({"token": "short"}, "16 to 256", id="short-token"),
        pytest.param({"token": "a" * 20 + ";"}, "16 to 256", id="cookie-breaking-token"),
        pytest.param({"token": 12345678901234567}, "12345678901234567", id="not-a-string"),
        pytest.param({"read_only": "yes"}, "'yes'", id="read-only-not-bool"),
        pytest.param({"live_interval": -1}, "-1", id="negative-interval"),
        pytest.param({"allowed_hosts": "example.com"}, "example.com", id="hosts-as-a-string"),
    ],
)
def test_bad_arguments_fail_at_construction(kwargs: dict[str, Any], needle: str) -> None:
    with pytest.raises(InvalidDashboard, match=needle):
        Dashboard(Scheduler(), **kwargs)


def test_a_dashboard_needs_a_scheduler() -> None:
    with pytest.raises(InvalidDashboard, match="object"):
        Dashboard(object())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("host", "status"),
    [
        pytest.param("localhost:8765", 200, id="localhost"),
        pytest.param("127.0.0.1", 200, id="ipv4-loopback"),
        pytest.param("[::1]:8765", 200, id="ipv6-loopback"),
        pytest.param("evil.example", 403, id="rebound-domain"),
        pytest.param("10.0.0.5:8765", 403, id="lan-address"),
    ],
)
async def test_without_a_token_only_local_host_names_are_answered(
    scheduler: Scheduler, host: str, status: int
) -> None:
    async with client(mounted(scheduler)) as c:
        response = await c.get("/dash/", headers={"host": host})
    assert response.status_code == status


async def test_allowed_hosts_or_a_token_open_other_host_names(scheduler: Scheduler) -> None:
    async with client(mounted(scheduler, allowed_hosts=["dash.internal"])) as c:
        assert (await c.get("/dash/", headers={"host": "dash.internal"})).status_code == 200
        assert (await c.get("/dash/", headers={"host": "localhost"})).status_code == 403
    async with client(mounted(scheduler, token=TOKEN)) as c:
        response = await c.get(
            "/dash/", headers={"host": "dash.example", "authorization": f"Bearer {TOKEN}"}
        )
        assert response.status_code == 200


class LeasingStore(MemoryStore):
    """A memory store that reports leases the way the PostgreSQL and Redis stores do."""

    async def leases(self) -> list[Any]:
        lease = SimpleNamespace(
            job_id="tick",
            scheduled_at=0.0,
            node="<node-7>",
            owner="o",
            attempt=2,
            expires_in=12.4,
        )
        return [lease]


async def test_stores_with_leases_show_where_firings_run() -> None:
    s = Scheduler(store=LeasingStore())
    await s.add(tick, Every(minutes=5), id="tick")
    await s.add(tick, Every(minutes=7), id="other")
    async with client(mounted(s)) as c:
        page = (await c.get("/dash/")).text
        job = (await c.get("/dash/jobs/tick")).text
        rows = (await c.get("/dash/rows", params={"id": "other"})).text
    await s.stop()
    assert "<th>Running on</th>" in page
    assert "&lt;node-7&gt; (attempt 2, lease 12 s)" in page
    assert "&lt;node-7&gt; (attempt 2, lease 12 s)" in job
    assert '<td class="running"></td>' in rows


async def test_stores_without_leases_have_no_running_column(scheduler: Scheduler) -> None:
    async with client(mounted(scheduler)) as c:
        page = (await c.get("/dash/")).text
    assert "Running on" not in page
