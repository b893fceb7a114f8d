"""Every page names Landmark's icon, and the icon is served (browsers asked for a
/favicon.ico that answered 404 on every page)."""

import re

from django.test import Client


def test_every_page_links_the_icon_and_the_icon_is_served(alice_client: Client):
    for path in ("/login/", "/"):
        client = Client() if path == "/login/" else alice_client
        page = client.get(path).content.decode()
        found = re.search(
            r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', page
        )
        assert found, path
    icon = Client().get(found.group(1))
    assert icon.status_code == 200
    assert icon["Content-Type"] == "image/svg+xml"
    assert b"<svg" in b"".join(icon.streaming_content)
