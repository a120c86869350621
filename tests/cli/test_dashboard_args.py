"""`aioscheduler dashboard` refuses bad arguments before it binds anything (in process)."""

from __future__ import annotations

import pytest

from aioscheduler.cli import build_parser
from aioscheduler.cli._target import UsageError
from aioscheduler.cli.dashboard import TOKEN_ENV, serve_dashboard


async def refused(*argv: str) -> str:
    args = build_parser().parse_args(["dashboard", *argv])
    with pytest.raises(UsageError) as caught:
        await serve_dashboard(args)
    return str(caught.value)


@pytest.mark.parametrize(
    "host",
    [
        pytest.param("0.0.0.0", id="any-address"),
        pytest.param("example.com", id="a-host-name"),
        pytest.param("[2001:db8::1]", id="ipv6"),
    ],
)
async def test_a_reachable_bind_without_a_token_is_refused(
    host: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    message = await refused("--store", "memory://", "--host", host)
    assert message.startswith(f"--host {host} can be reached from other machines")


@pytest.mark.parametrize("host", ["localhost", "127.0.0.2", "[::1]"])
@pytest.mark.parametrize("port", ["-1", "65536"])
async def test_a_loopback_bind_needs_no_token_but_a_valid_port(host: str, port: str) -> None:
    message = await refused("--store", "memory://", "--host", host, "--port", port)
    assert message == f"--port must be between 0 and 65535, got {port}"


async def test_an_unknown_store_scheme_is_one_usage_line() -> None:
    message = await refused("--store", "mongodb://localhost/x")
    assert "mongodb" in message
