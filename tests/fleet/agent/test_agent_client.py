"""The HTTP client's answers to what a server (or a proxy in front of it) may send, on httpx's mock transport."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from agent_helpers import SCREEN

from signage.fleet.agent.client import BadAnswer, Cancelled, HttpFleetClient, ServerAway, TokenRefused
from signage.fleet.protocol import ScreenState

BLOB = bytes(range(256)) * 8
SHA = "ab" * 32


def client_for(
    handler: Callable[[httpx.Request], httpx.Response],
) -> tuple[HttpFleetClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)

    return HttpFleetClient(
        "https://fleet.example.com/base/", "tok-1", transport=httpx.MockTransport(record)
    ), seen


def test_the_state_is_asked_with_the_token_and_the_etag() -> None:
    doc = ScreenState(SCREEN, None).to_json()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers.get("if-none-match") == '"v1"':
            return httpx.Response(304)
        return httpx.Response(200, json=doc, headers={"ETag": '"v1"'})

    client, seen = client_for(handler)
    with client:
        first = client.get_state(None)
        assert first.state == ScreenState(SCREEN, None) and first.etag == '"v1"'
        again = client.get_state(first.etag)
        assert again.not_modified and again.etag == '"v1"'
    assert [str(r.url) for r in seen] == ["https://fleet.example.com/base/fleet/v1/state"] * 2
    assert all(r.headers["authorization"] == "Bearer tok-1" for r in seen)
    assert "if-none-match" not in seen[0].headers


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (httpx.Response(401), TokenRefused),
        (httpx.Response(403), TokenRefused),
        (httpx.Response(503), ServerAway),
        (httpx.Response(302, headers={"Location": "https://elsewhere"}), BadAnswer),
        (httpx.Response(200, content=b"<html>captive portal</html>"), BadAnswer),
        (httpx.Response(200, json={"screen_id": SCREEN, "release": {"files": []}}), BadAnswer),
    ],
)
def test_what_is_not_a_state_is_one_of_three_errors(response: httpx.Response, error: type[Exception]) -> None:
    client, _ = client_for(lambda _request: response)
    with client, pytest.raises(error):
        client.get_state(None)


def test_a_network_failure_is_the_server_away() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client, _ = client_for(handler)
    with client, pytest.raises(ServerAway, match="did not answer"):
        client.get_state(None)


def ranged(request: httpx.Request) -> httpx.Response:
    header = request.headers.get("range")
    if header is None:
        return httpx.Response(200, content=BLOB)
    start = int(header.removeprefix("bytes=").removesuffix("-"))
    if start >= len(BLOB):
        return httpx.Response(416, headers={"Content-Range": f"bytes */{len(BLOB)}"})
    headers = {"Content-Range": f"bytes {start}-{len(BLOB) - 1}/{len(BLOB)}"}
    return httpx.Response(206, content=BLOB[start:], headers=headers)


def test_a_download_appends_the_rest_of_the_part(tmp_path: Path) -> None:
    part = tmp_path / "blob.part"
    part.write_bytes(BLOB[:700])
    client, seen = client_for(ranged)
    with client:
        client.download_blob(SHA, part)
        assert part.read_bytes() == BLOB
        client.download_blob(SHA, part)  # complete already: 416, nothing changes
    assert [r.headers.get("range") for r in seen] == ["bytes=700-", f"bytes={len(BLOB)}-"]
    assert part.read_bytes() == BLOB


def test_a_server_that_ignores_the_range_sends_everything_and_the_part_starts_over(tmp_path: Path) -> None:
    part = tmp_path / "blob.part"
    part.write_bytes(b"x" * 100)
    client, _ = client_for(lambda _request: httpx.Response(200, content=BLOB))
    with client:
        client.download_blob(SHA, part)
    assert part.read_bytes() == BLOB


def test_a_range_from_the_wrong_offset_is_refused(tmp_path: Path) -> None:
    part = tmp_path / "blob.part"
    part.write_bytes(BLOB[:10])
    wrong = httpx.Response(
        206, content=BLOB, headers={"Content-Range": f"bytes 0-{len(BLOB) - 1}/{len(BLOB)}"}
    )
    client, _ = client_for(lambda _request: wrong)
    with client, pytest.raises(BadAnswer, match="wrong offset"):
        client.download_blob(SHA, part)
    assert part.read_bytes() == BLOB[:10]


def test_a_missing_blob_and_a_cancelled_download(tmp_path: Path) -> None:
    part = tmp_path / "blob.part"
    client, _ = client_for(lambda _request: httpx.Response(404, content=b"no such blob"))
    with client, pytest.raises(BadAnswer, match="HTTP 404"):
        client.download_blob(SHA, part)
    client, _ = client_for(ranged)
    with client, pytest.raises(Cancelled):
        client.download_blob(SHA, part, cancelled=lambda: True)
    assert 0 < part.stat().st_size <= len(BLOB) and BLOB.startswith(part.read_bytes())
