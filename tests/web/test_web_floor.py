"""The dashboard's floor page: where people stood in front of one screen, for the admin only."""

from __future__ import annotations

import uuid
from datetime import timedelta

import sqlalchemy as sa
from web_data import NOW, client_for, log_in

from signage.impressions.occupancy import OccupancyCell
from signage.store import StoreWriter
from signage.web.headers import CONTENT_SECURITY_POLICY


def _add_floor(engine: sa.Engine) -> None:
    sink = StoreWriter(engine, migrate=False).start()
    played = (NOW - timedelta(hours=1)).replace(
        minute=0, second=0, microsecond=0
    )  # a play of s1 started then
    sink.write_occupancy("s1", uuid.uuid4(), played, (OccupancyCell(0, 2, 4, 240.0),))
    sink.write_occupancy("s1", uuid.uuid4(), played - timedelta(hours=1), (OccupancyCell(1, 1, 3, 3.0),))
    assert sink.flush(10)
    sink.close()


def test_the_admin_sees_the_floor_heatmap_of_a_screen(fresh_engine: sa.Engine) -> None:
    _add_floor(fresh_engine)
    client = client_for(fresh_engine)
    assert client.get("/admin/screens/s1/floor").status_code == 303  # log in first
    assert log_in(client, "admin") == 303
    assert 'href="/admin/screens/s1/floor"' in client.get("/admin/screens").text
    page = client.get("/admin/screens/s1/floor")
    assert page.status_code == 200
    assert page.text.count('src="data:image/png;base64,') == 1  # an inline image: the CSP allows data: images
    assert "img-src 'self' data:" in page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "<td>0 to 1</td><td>2 to 3</td><td>4</td><td>4.0</td>" in page.text
    assert "<td>1 to 2</td>" not in page.text  # 2 hours before: no play of s1 started in that hour
    assert "over the hours this screen played (screen s1, from " in page.text  # the selection, in brackets
    empty = client.get("/admin/screens/s1/floor?from=2026-06-01")
    assert (
        empty.status_code == 200 and "data:image/png" not in empty.text and "No one was placed" in empty.text
    )
    assert "in the hours it played (screen s1, from 2026-06-01)." in empty.text
    assert client.get("/admin/screens/s1/floor?from=junk").status_code == 400


def test_an_advertiser_gets_404_for_the_floor_page(fresh_engine: sa.Engine) -> None:
    client = client_for(fresh_engine)
    assert log_in(client, "alice") == 303
    assert client.get("/admin/screens/s1/floor").status_code == 404
