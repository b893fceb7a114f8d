"""Every page names Landmark's icon, and the icon is served (browsers asked for a
/favicon.ico that answered 404 on every page)."""

import json
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


def test_the_apple_touch_icon_and_the_web_manifest_are_linked_and_served(
    alice_client: Client,
):
    """A phone adding Landmark to its home screen finds a PNG icon and a manifest whose
    icons are served too (generated once from icon.svg, committed: no runtime download)."""
    page = alice_client.get("/").content.decode()
    touch = re.search(r'<link rel="apple-touch-icon" href="([^"]+)">', page)
    manifest_link = re.search(r'<link rel="manifest" href="([^"]+)">', page)
    assert touch is not None and manifest_link is not None
    assert touch.group(1) in Client().get("/login/").content.decode()

    png = Client().get(touch.group(1))
    assert png.status_code == 200
    assert png["Content-Type"] == "image/png"
    body = b"".join(png.streaming_content)  # type: ignore[attr-defined]
    assert body[:8] == b"\x89PNG\r\n\x1a\n"
    assert int.from_bytes(body[16:20], "big") == 180  # width, from the IHDR chunk

    response = Client().get(manifest_link.group(1))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/manifest+json"
    manifest = json.loads(b"".join(response.streaming_content))  # type: ignore[attr-defined]
    assert manifest["name"] == "Landmark"
    assert manifest["start_url"] == "/"
    base = manifest_link.group(1).rsplit("/", 1)[0]
    sizes = set()
    for icon in manifest["icons"]:
        served = Client().get(f"{base}/{icon['src']}")
        assert served.status_code == 200, icon
        assert served["Content-Type"] == icon["type"]
        sizes.add(icon["sizes"])
    assert {"192x192", "512x512"} <= sizes
