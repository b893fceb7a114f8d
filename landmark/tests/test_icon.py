"""Every page names Landmark's icon, and the icon is served (browsers asked for a
/favicon.ico that answered 404 on every page)."""

import re

from django.test import Client

ICON_LINK = re.compile(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">')


def test_every_page_links_the_icon_and_the_icon_is_served(alice_client: Client):
    hrefs = set()
    for client, path in ((Client(), "/login/"), (alice_client, "/")):
        found = ICON_LINK.search(client.get(path).content.decode())
        assert found is not None, path
        hrefs.add(found.group(1))
    [href] = hrefs
    icon = Client().get(href)
    assert icon.status_code == 200
    assert icon["Content-Type"] == "image/svg+xml"
    assert b"<svg" in b"".join(icon.streaming_content)  # type: ignore[attr-defined]  # a FileResponse
