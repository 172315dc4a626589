# SPDX-License-Identifier: AGPL-3.0-or-later
"""Federation interop: the real kring binary against an independent ActivityPub server
(Fedify 1.5.9, fedify-peer/peer.mjs), both on 127.0.0.1.

kring user alice (created with `kring admin create-user`, password-grant token) and the
peer's actor `peer` (driven through the peer's /_control/ API):

  a. kring's WebFinger, actor document and NodeInfo (validated against the NodeInfo
     2.0 / 2.1 JSON schemas);
  b. peer follows alice -> kring answers a signed Accept; alice's followers list the peer;
  c. alice posts public and followers-only -> the peer gets both Creates, addressed right;
  d. alice follows the peer (search with resolve=true + follow) -> peer Accepts ->
     the relationship shows following: true;
  e. the peer posts (public, followers-only) -> alice's home timeline shows it;
     pictures with alt text both ways (issue 13): alice's reaches the peer as an `Image`
     (mediaType, url, name, blurhash, size) whose url serves it without EXIF; the peer's
     (a JPEG with GPS EXIF, served by the peer) shows at alice's with its description,
     through Kring's media proxy, without EXIF;
  f. unsigned / badly signed POSTs to kring's inboxes are refused with 401 (and a
     correctly signed one is accepted);
  g. alice edits and deletes a post -> the peer gets Update and Delete; friends-only and
     circle posts reach it by name only; interaction controls (GoToSocial's vocabulary, the
     peer speaking it by hand): Reject, ReplyRequest and Accept, the peer's policy enforced;
     A chat of alice, bob and the peer (issue 12): each message reaches the peer as a direct
     Note by name with the chat's `context`, its reply lands in the chat, and nothing after
     its removal reaches it;
  h. (extra) unfollows both ways: Undo(Follow) in both directions.

The steps run in order and share `Flow`; a step whose prerequisite failed is skipped
with the name of that prerequisite. Both servers' logs are attached to every failure.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import html
import json
import os
import secrets
import struct
import time
from pathlib import Path
from typing import Any, Callable

import jsonschema
import pytest
import requests

PASSWORD = "correct horse battery staple 7"
AS_PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
PUBLIC_FORMS = {AS_PUBLIC, "as:Public", "Public"}
AP_ACCEPT = 'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
TIMEOUT = float(os.environ.get("KRING_FED_TIMEOUT", "10"))
SCHEMA_DIR_CANDIDATES = [
    Path(os.environ["KRING_NODEINFO_SCHEMAS"]) if os.environ.get("KRING_NODEINFO_SCHEMAS") else None,
    Path(__file__).resolve().parents[1] / "fixtures" / "nodeinfo",
]
NODEINFO_REL = "http://nodeinfo.diaspora.software/ns/schema/"


# -- helpers ------------------------------------------------------------------------


def eventually(fn: Callable[[], Any], timeout: float = TIMEOUT, interval: float = 0.25,
               what: str = "condition") -> Any:
    """Call fn until it returns something truthy; return that. On timeout fail with
    `what` and the last value or exception fn produced."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            value = fn()
            if value:
                return value
            last = value
        except (AssertionError, requests.RequestException, KeyError, ValueError) as exc:
            last = f"{type(exc).__name__}: {exc}"
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for: {what}\nlast result: "
                        f"{_short(last)}", pytrace=False)
        time.sleep(interval)


def _short(value: Any, limit: int = 3000) -> str:
    text = value if isinstance(value, str) else json.dumps(value, indent=1, default=str)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text) - limit} more)"


def check(resp: requests.Response, status: int | tuple[int, ...] = 200, what: str = "") -> requests.Response:
    allowed = (status,) if isinstance(status, int) else status
    assert resp.status_code in allowed, (
        f"{what or resp.request.method + ' ' + resp.url}: expected HTTP {allowed}, got "
        f"{resp.status_code}\n{resp.text[:3000]}"
    )
    return resp


def without_raw(entry: dict) -> dict:
    return {k: v for k, v in entry.items() if k != "raw"}


def audience(entry: dict) -> set[str]:
    """to + cc of a received activity and of its object (Fedify-normalized URIs)."""
    obj = entry.get("object") or {}
    return set(entry.get("to") or []) | set(entry.get("cc") or []) | set(obj.get("to") or []) | set(
        obj.get("cc") or []
    )


def plain(text_html: str | None) -> str:
    return html.unescape(text_html or "")


class Flow:
    """State shared by the ordered steps."""

    def __init__(self, kring, peer):
        self.kring = kring
        self.peer = peer
        self.api = requests.Session()
        self.done: set[str] = set()
        self.token = ""
        self.alice_id = ""
        self.alice_acct = "alice"
        self.actor_url = ""
        self.actor: dict = {}
        self.peer_account_id = ""
        self.public_status: dict = {}

    def need(self, *steps: str) -> None:
        for step in steps:
            if step not in self.done:
                pytest.skip(f"needs step {step!r}, which did not pass")

    def url(self, path: str) -> str:
        return f"{self.kring.base_url}{path}"

    def get(self, path: str, **kw) -> requests.Response:
        return self.api.get(self.url(path), timeout=30, **kw)

    def post(self, path: str, **kw) -> requests.Response:
        return self.api.post(self.url(path), timeout=30, **kw)


@pytest.fixture(scope="module")
def flow(kring, peer) -> Flow:
    f = Flow(kring, peer)
    kring.create_user("alice", "alice@example.org", PASSWORD)
    app = check(requests.post(f.url("/api/v1/apps"), json={
        "client_name": "kring federation tests",
        "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
        "scopes": "read write follow",
    }, timeout=30), what="POST /api/v1/apps").json()
    token = check(requests.post(f.url("/oauth/token"), json={
        "grant_type": "password",
        "username": "alice@example.org",
        "password": PASSWORD,
        "client_id": app["client_id"],
        "client_secret": app["client_secret"],
        "scope": "read write follow",
    }, timeout=30), what="POST /oauth/token (password grant)").json()
    f.token = token["access_token"]
    f.api.headers["Authorization"] = f"Bearer {f.token}"
    me = check(f.get("/api/v1/accounts/verify_credentials")).json()
    f.alice_id = str(me["id"])
    return f


def received_one(flow: Flow, type_: str, pred: Callable[[dict], bool], what: str) -> dict:
    """Wait until the peer has received an activity of type_ matching pred."""

    def find():
        for entry in flow.peer.received(type_):
            if entry.get("handled") and pred(entry):
                return entry
        return None

    def seen():
        return "\n".join(
            f"  #{e.get('seq')} {e.get('type')} {e.get('id')} from {e.get('actor')} "
            f"(object {(e.get('object') or {}).get('type')} {(e.get('object') or {}).get('id')})"
            for e in flow.peer.received()[-15:]
        ) or "  (nothing)"

    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        hit = find()
        if hit:
            return hit
        time.sleep(0.25)
    pytest.fail(f"the peer did not receive {what} within {TIMEOUT:.0f}s; the last activities it "
                f"received:\n{seen()}", pytrace=False)


def post_status(flow: Flow, text: str, visibility: str) -> dict:
    resp = check(flow.post("/api/v1/statuses", json={"status": text, "visibility": visibility}),
                 what=f"POST /api/v1/statuses ({visibility})")
    status = resp.json()
    assert status.get("uri", "").startswith(flow.kring.base_url), (
        f"a local status's uri must be on {flow.kring.base_url}: {status.get('uri')!r}"
    )
    return status


def _load_schema(version: str) -> dict:
    for directory in SCHEMA_DIR_CANDIDATES:
        if directory is not None and (directory / f"schema-{version}.json").is_file():
            return json.loads((directory / f"schema-{version}.json").read_text())
    pytest.fail(f"NodeInfo schema-{version}.json not found (set KRING_NODEINFO_SCHEMAS to the "
                "folder holding the NodeInfo JSON schemas)", pytrace=False)


# -- a. discovery ------------------------------------------------------------------------


def test_a_webfinger_actor_and_nodeinfo(flow: Flow):
    k = flow.kring
    resource = f"acct:alice@{k.domain}"
    resp = check(requests.get(k.base_url + "/.well-known/webfinger", params={"resource": resource},
                              timeout=30), what=f"WebFinger {resource}")
    jrd = resp.json()
    assert "json" in resp.headers.get("Content-Type", ""), f"WebFinger Content-Type: {resp.headers}"
    assert jrd.get("subject") == resource, f"WebFinger subject must be {resource!r}: {jrd}"
    selfs = [ln for ln in jrd.get("links", []) if ln.get("rel") == "self"
             and ("activity+json" in (ln.get("type") or "") or "ld+json" in (ln.get("type") or ""))]
    assert selfs, f"WebFinger needs a rel=self link of type application/activity+json: {jrd}"
    flow.actor_url = selfs[0]["href"]
    assert flow.actor_url.startswith(k.base_url + "/"), f"actor URL not on {k.base_url}: {flow.actor_url}"

    resp = check(requests.get(flow.actor_url, headers={"Accept": AP_ACCEPT}, timeout=30),
                 what=f"GET actor {flow.actor_url}")
    actor = resp.json()
    flow.actor = actor
    assert actor.get("id") == flow.actor_url, f"actor id must equal its URL: {actor.get('id')!r}"
    assert actor.get("type") == "Person", f"actor type: {actor.get('type')!r}"
    assert actor.get("preferredUsername") == "alice", actor
    for key in ("inbox", "outbox", "followers", "following"):
        assert isinstance(actor.get(key), str) and actor[key].startswith(k.base_url), (
            f"actor {key} must be a URL on {k.base_url}: {actor.get(key)!r}")
    pk = actor.get("publicKey") or {}
    assert "BEGIN PUBLIC KEY" in (pk.get("publicKeyPem") or ""), f"actor publicKey: {pk}"
    assert pk.get("owner") == flow.actor_url, f"publicKey.owner must be the actor: {pk}"

    resp = check(requests.get(k.base_url + "/.well-known/nodeinfo", timeout=30), what="/.well-known/nodeinfo")
    links = resp.json().get("links", [])
    versions = {}
    for link in links:
        rel = link.get("rel", "")
        if rel.startswith(NODEINFO_REL):
            versions[rel[len(NODEINFO_REL):]] = link.get("href")
    assert "2.1" in versions, f"/.well-known/nodeinfo must link the 2.1 schema: {links}"
    assert versions["2.1"] == f"{k.base_url}/nodeinfo/2.1", f"NodeInfo 2.1 href: {versions['2.1']!r}"
    direct_20 = requests.get(k.base_url + "/nodeinfo/2.0", timeout=30)
    if "2.0" not in versions and direct_20.status_code == 200:
        versions["2.0"] = k.base_url + "/nodeinfo/2.0"
    validated = []
    for version in ("2.0", "2.1"):
        if version not in versions:
            continue
        doc = check(requests.get(versions[version], timeout=30), what=f"NodeInfo {version}").json()
        schema = _load_schema(version)
        errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(doc), key=lambda e: list(e.path))
        assert not errors, f"NodeInfo {version} at {versions[version]} violates schema-{version}.json:\n" + (
            "\n".join(f"  {list(e.path)}: {e.message}" for e in errors) + f"\ndocument: {_short(doc)}")
        assert doc["version"] == version
        assert doc["software"]["name"] == "kring", f"NodeInfo software.name: {doc['software']}"
        assert "activitypub" in doc["protocols"]
        validated.append(version)
    print(f"NodeInfo validated: {validated}")
    flow.done.add("a")


# -- b. the peer follows alice ------------------------------------------------------------


def test_b_peer_follows_kring_user(flow: Flow):
    flow.need("a")
    peer = flow.peer
    follow = peer.control("POST", "follow", {"target": flow.actor_url})
    assert follow["target"] == flow.actor_url
    assert follow["inbox"] == flow.actor["inbox"]

    accept = received_one(flow, "Accept", lambda e: e.get("actor") == flow.actor_url,
                          f"an Accept from {flow.actor_url} for its Follow {follow['id']}")
    assert accept.get("matched_follow") == follow["id"], (
        f"kring's Accept must name the peer's Follow ({follow['id']}) as its object: {without_raw(accept)}"
        f"\nraw: {_short(accept.get('raw'))}")
    sig = accept.get("signature") or {}
    assert sig.get("scheme") in ("draft-cavage", "rfc9421") and sig.get("keyId"), (
        f"the Accept must be HTTP-signed (Fedify verified it): {sig}")
    assert sig["keyId"].split("#")[0] == flow.actor_url or sig["keyId"] == flow.actor["publicKey"]["id"], (
        f"the Accept's keyId must be alice's key {flow.actor['publicKey']['id']}: {sig}")
    state = peer.state()
    assert any(f["id"] == follow["id"] and f["state"] == "accepted" for f in state["following"]), state

    def followers_have_peer():
        resp = check(flow.get(f"/api/v1/accounts/{flow.alice_id}/followers"))
        accts = [a.get("acct") for a in resp.json()]
        return accts if peer.acct in accts else None

    eventually(followers_have_peer, what=f"GET /api/v1/accounts/{flow.alice_id}/followers lists {peer.acct}")
    flow.done.add("b")


# -- c. alice's posts reach the peer -------------------------------------------------------


def test_c_kring_posts_reach_peer(flow: Flow):
    flow.need("b")
    token = secrets.token_hex(4)
    public = post_status(flow, f"Hello fediverse, public {token}", "public")
    private = post_status(flow, f"Hello followers only {token}", "private")
    flow.public_status = public
    followers_url = flow.actor["followers"]

    got_public = received_one(flow, "Create", lambda e: (e.get("object") or {}).get("id") == public["uri"],
                              f"a Create whose object id is {public['uri']} (public status)")
    got_private = received_one(flow, "Create", lambda e: (e.get("object") or {}).get("id") == private["uri"],
                               f"a Create whose object id is {private['uri']} (followers-only status)")

    for entry, status, label in ((got_public, public, "public"), (got_private, private, "followers-only")):
        obj = entry["object"]
        detail = f"\n{label} Create: {_short(without_raw(entry))}\nraw: {_short(entry.get('raw'))}"
        assert entry.get("actor") == flow.actor_url, f"Create actor must be alice{detail}"
        assert obj.get("type") == "Note", f"object type must be Note{detail}"
        assert obj.get("attributedTo") == flow.actor_url, f"attributedTo must be alice{detail}"
        assert token in plain(obj.get("content")), f"content must carry the posted text{detail}"
        assert (entry.get("signature") or {}).get("scheme") != "none", f"delivery must be signed{detail}"

    pub_aud = audience(got_public)
    assert AS_PUBLIC in set(got_public.get("to") or []) | set(got_public["object"].get("to") or []), (
        f"a public post must have as:Public in `to`: to={got_public.get('to')} "
        f"object.to={got_public['object'].get('to')}")
    assert followers_url in pub_aud, f"a public post should also address {followers_url}: {pub_aud}"

    priv_aud = audience(got_private)
    assert followers_url in priv_aud, (
        f"a followers-only post must address alice's followers {followers_url}: {priv_aud}")
    assert not (priv_aud & PUBLIC_FORMS), f"a followers-only post must not address as:Public: {priv_aud}"
    flow.done.add("c")


# -- d. alice follows the peer ---------------------------------------------------------------


def test_d_kring_user_follows_peer(flow: Flow):
    flow.need("a")
    peer = flow.peer
    resp = check(flow.get("/api/v2/search", params={"q": peer.acct, "resolve": "true", "type": "accounts"}),
                 what=f"GET /api/v2/search?q={peer.acct}&resolve=true")
    accounts = resp.json().get("accounts", [])
    match = [a for a in accounts if a.get("acct") == peer.acct]
    assert match, f"search with resolve=true must find {peer.acct}: {_short(resp.json())}"
    account = match[0]
    flow.peer_account_id = str(account["id"])
    assert account.get("url") == peer.actor_url or account.get("uri") == peer.actor_url, (
        f"the remote account should point at {peer.actor_url}: {_short(account)}")

    rel = check(flow.post(f"/api/v1/accounts/{flow.peer_account_id}/follow"),
                what=f"POST /api/v1/accounts/{flow.peer_account_id}/follow").json()
    assert rel.get("following") or rel.get("requested"), f"follow answered {rel}"

    got = received_one(flow, "Follow", lambda e: e.get("actor") == flow.actor_url,
                       f"a Follow from {flow.actor_url}")
    assert (got.get("object") or {}).get("id") == peer.actor_url, f"Follow object: {without_raw(got)}"
    assert (got.get("signature") or {}).get("scheme") != "none", f"Follow must be signed: {got.get('signature')}"
    assert got.get("accept_sent"), f"the peer could not answer Accept: {without_raw(got)}"

    def following():
        r = check(flow.get("/api/v1/accounts/relationships", params={"id[]": flow.peer_account_id})).json()
        return r[0] if r and r[0].get("following") is True else None

    rel = eventually(following, what=f"relationship with {peer.acct} to become following: true "
                                     f"(the peer sent Accept {got.get('accept_sent')})")
    assert rel.get("requested") is False, f"after the Accept, requested must be false: {rel}"
    flow.done.add("d")


def test_d_remote_avatar_through_the_media_proxy(flow: Flow):
    """The peer's avatar is served by Kring (never hotlinked): the API and the web profile point
    at Kring's proxy, the bytes are the peer's, fetched once and then cached; the peer's "header"
    is an SVG with a script behind an image URL, which the proxy refuses."""
    flow.need("d")
    peer = flow.peer
    account = check(flow.get(f"/api/v1/accounts/{flow.peer_account_id}")).json()
    proxy = f"{flow.kring.base_url}/proxy/accounts/{flow.peer_account_id}"
    assert account["avatar"] == f"{proxy}/avatar", f"avatar must go through the proxy: {account['avatar']}"
    assert account["avatar_static"] == account["avatar"]
    assert account["header"] == f"{proxy}/header", account["header"]

    page = requests.get(f"{flow.kring.base_url}/@{peer.acct}", timeout=30,
                        headers={"Accept": "text/html"})
    assert page.status_code == 200, page.status_code
    assert f'src="/proxy/accounts/{flow.peer_account_id}/avatar"' in page.text, "the web profile shows the proxied avatar"
    assert f"127.0.0.1:{peer.port}/media" not in page.text, "no page may point a browser at the peer's media"

    before = peer.state().get("mediaRequests", {}).get("/media/avatar.png", 0)
    with open(Path(__file__).parent / "fedify-peer" / "peer.mjs", encoding="utf-8") as f:
        encoded = f.read().split('"iVBOR', 1)[1].split('"', 1)[0]
    png = base64.b64decode("iVBOR" + encoded)
    for _ in range(3):
        img = requests.get(f"{proxy}/avatar", timeout=30)
        assert img.status_code == 200, img.status_code
        assert img.headers["content-type"] == "image/png"
        assert img.content == png, "the proxied bytes are the peer's avatar"
    after = peer.state().get("mediaRequests", {}).get("/media/avatar.png", 0)
    assert after - before <= 1, f"the avatar is fetched once and then cached ({after - before} fetches)"

    # Refused, the header shows Kring's own placeholder instead (never the peer's SVG).
    header = requests.get(f"{proxy}/header", timeout=30, allow_redirects=False)
    assert header.status_code in (302, 303), f"an SVG passed off as an image is refused: {header.status_code}"
    assert header.headers["location"].startswith("/static/header.svg"), header.headers["location"]
    header = requests.get(f"{proxy}/header", timeout=30)
    assert header.status_code == 200 and header.url.startswith(flow.kring.base_url + "/static/")
    assert b"<script" not in header.content


def test_d_report_is_forwarded_without_the_reporters_name(flow: Flow):
    """Alice reports the peer's account and asks to forward it: the peer receives a signed Flag
    from Kring's instance actor, naming the account but not Alice."""
    flow.need("d")
    report = check(flow.post("/api/v1/reports", json={
        "account_id": flow.peer_account_id, "comment": "forwarded report", "forward": True,
    }), what="POST /api/v1/reports (forward)").json()
    assert report["forwarded"] is True, report
    got = received_one(flow, "Flag", lambda e: (e.get("raw") or {}).get("content") == "forwarded report",
                       "a Flag from Kring's instance actor")
    assert got["actor"] == f"{flow.kring.base_url}/actor", without_raw(got)
    assert (got.get("signature") or {}).get("scheme") != "none", got.get("signature")
    raw = json.dumps(got["raw"])
    assert flow.peer.actor_url in raw, f"the Flag names the reported account: {raw}"
    assert flow.actor_url not in raw, f"the Flag must not name the reporter: {raw}"


# -- e. the peer's posts reach alice's home timeline ------------------------------------------


def _home_has(flow: Flow, token: str):
    def find():
        for status in check(flow.get("/api/v1/timelines/home", params={"limit": 40})).json():
            if token in plain(status.get("content")):
                return status
        return None

    return find


@pytest.mark.parametrize("to,visibility", [("public", "public"), ("followers", "private")])
def test_e_peer_post_reaches_home_timeline(flow: Flow, to: str, visibility: str):
    flow.need("d")
    token = secrets.token_hex(4)
    sent = flow.peer.control("POST", "post", {"content": f"<p>Hello from Fedify, {to} {token}</p>", "to": to})
    assert flow.actor_url in sent["delivered_to_followers"], (
        f"the peer must count alice among its followers: {sent}")
    status = eventually(_home_has(flow, token), what=f"alice's home timeline to show the peer's {to} "
                                                      f"post {sent['note']}")
    assert status["account"]["acct"] == flow.peer.acct, f"status account: {status['account']}"
    assert status.get("uri") == sent["note"], f"status uri must be the Note id {sent['note']}: {status.get('uri')}"
    assert status.get("visibility") == visibility, f"visibility: {status.get('visibility')!r} != {visibility!r}"
    flow.done.add(f"e-{to}")



# -- e2. pictures with alt text, both ways (issue 13) ----------------------------------------

# A 40 x 20 JPEG (ffmpeg's test pattern) and text that an EXIF block put in front of it carries.
JPEG_40X20 = base64.b64decode(
    "/9j/4AAQSkZJRgABAgAAAQABAAD//gAQTGF2YzU5LjM3LjEwMAD/2wBDAAgQEBMQExYWFhYWFhoYGhsbGxoaGhobGxsdHR0iIiId"
    "HR0bGx0dICAiIiUmJSMjIiMmJigoKDAwLi44ODpFRVP/xACMAAADAQEBAQAAAAAAAAAAAAAGBwQFAwAIAQEBAQEAAAAAAAAAAAAA"
    "AAAFBgcEEAABAgMEBgcDDQEAAAAAAAABAgMEABESIRMFcjJBBiJRg3Gxw0QzMZPSwqGjsxSRFYFTVEJSc2JhEQACAgEDBAMAAwEA"
    "AAAAAAACAREDBBIAIRMFYVEiQTEjQzMy/8AAEQgAFAAoAwEiAAIRAAMRAP/aAAwDAQACEQMRAD8AVGTtY8WEelUmvUCCaXG+npLG"
    "zBIRjJFwDdB1BsSJ5BDviNSotOBNlfFYVT050pJvmLThU9RCzVN1Em/g2XS/2w6RsJs60TcckK4Wn29pYtxhmdMy0VDgXEkXxXUK"
    "5J/sc6RULfbdLxfQ95NuZar+n8cy7soVDCKLyS0DhUxAUVpiVpapWlZ9mD7Sw8EuNqJVcApJJ4/+Gc+7zXZZ3vJMAMxfQghFkP8A"
    "lX9pRuaRIr+26WijLrbhzC6i5cfm2TkT5iIQqVrBwpVsqQlN/wBhH4yZysN34hliEWHXW2yXlEBa0pNLCL6Ei6Tn6/B/qYf2qPel"
    "8WTSZzqjmeHumyMVUXWBVWSrRPSkLhJ8woX5638pZbmkYhwgO0ASTqN8x/mT2LjHylSrVDhhYoBcS2FbQdvOVHl/mq0D2iWRE+Uf"
    "6E/RCert2NRZk2a6ai+I/wDQC/vytrIAyAr6ojbNWU3rSOWiph/KeVLj1OyLd91eYCJEQcQIwrNwTS1brqWeQmGOgodrGWhFFJVQ"
    "G0o/uptM990vF9D3k25lqv6fxyJ3PJvx+7ZFVNtlVa6MV1mQAprBuBFpKX43n1YBVf2/QIhryq0WlJakzXBR+rw9mUHlME61xtWi"
    "DSpWsbB/FQHyTq/ceXfkfOO+/N+X+UrTPYJ3JcubI225fnnb+NlZDpH+a37/ALC9vzv/2Q=="
)
CAMERA = b"KringTestCam-SN4242"


def _jpeg_with_gps() -> bytes:
    """JPEG_40X20 with an EXIF block: made by CAMERA, at latitude 52 22' 12.34" N."""
    def entry(tag, kind, count, value):
        return struct.pack(">HHII", tag, kind, count, value)

    make_at = 8 + 2 + 2 * 12 + 4
    gps_at = make_at + len(CAMERA) + 1
    lat_at = gps_at + 2 + 2 * 12 + 4
    tiff = b"MM\x00\x2a" + struct.pack(">IH", 8, 2)
    tiff += entry(0x010F, 2, len(CAMERA) + 1, make_at) + entry(0x8825, 4, 1, gps_at)
    tiff += struct.pack(">I", 0) + CAMERA + b"\x00" + struct.pack(">H", 2)
    tiff += entry(0x0001, 2, 2, int.from_bytes(b"N\x00\x00\x00", "big")) + entry(0x0002, 5, 3, lat_at)
    tiff += struct.pack(">I", 0) + struct.pack(">IIIIII", 52, 1, 22, 1, 1234, 100)
    app1 = b"\xff\xe1" + struct.pack(">H", 2 + 6 + len(tiff)) + b"Exif\x00\x00" + tiff
    return JPEG_40X20[:2] + app1 + JPEG_40X20[2:]


def test_e2_a_picture_with_alt_text_reaches_the_peer(flow: Flow):
    """alice posts a picture with alt text: the peer gets an `Image` with mediaType, url, name,
    blurhash, width and height, and the url serves the picture without its EXIF."""
    flow.need("b")
    photo = _jpeg_with_gps()
    alt = f"A test card with coloured bars {secrets.token_hex(3)}"
    media = check(flow.post("/api/v2/media", files={"file": ("card.jpg", photo, "image/jpeg")},
                            data={"description": alt}), what="POST /api/v2/media").json()
    status = check(flow.post("/api/v1/statuses", json={"status": "a picture for the peer",
                                                        "media_ids": [media["id"]]}),
                   what="POST /api/v1/statuses with media").json()
    got = received_one(flow, "Create", lambda e: (e.get("object") or {}).get("id") == status["uri"],
                       f"the Create of {status['uri']} (with a picture)")
    parsed = got["object"].get("attachment") or []
    raw = (got.get("raw") or {}).get("object") or {}
    raw_attachments = raw.get("attachment")
    if isinstance(raw_attachments, dict):
        raw_attachments = [raw_attachments]
    detail = f"\nparsed by Fedify: {parsed}\nraw: {_short(raw_attachments)}"
    assert len(parsed) == 1 and len(raw_attachments or []) == 1, f"one attachment{detail}"
    image, sent = parsed[0], raw_attachments[0]
    assert image["type"] == "Image", detail
    assert image["mediaType"] == "image/jpeg", detail
    assert image["name"] == alt, f"the alt text travels as name{detail}"
    assert (image["width"], image["height"]) == (40, 20), detail
    assert image["url"] == media["url"] and image["url"].startswith(flow.kring.base_url), detail
    assert sent.get("blurhash") == media["blurhash"], detail

    served = requests.get(image["url"], timeout=30)
    assert served.status_code == 200 and served.headers["content-type"] == "image/jpeg"
    assert served.content[:3] == b"\xff\xd8\xff"
    assert b"Exif" not in served.content and CAMERA not in served.content, "the EXIF block is gone"


def test_e2_the_peers_picture_through_kring(flow: Flow):
    """The peer posts a Note with an `Image` (served by the peer: a JPEG with GPS EXIF) and alt
    text: alice sees the attachment with its description at Kring's /proxy/media/..., whose
    bytes carry no EXIF."""
    flow.need("d")
    peer = flow.peer
    tok = secrets.token_hex(4)
    photo = _jpeg_with_gps()
    path = f"/media/photo-{tok}.jpg"
    url = peer.control("POST", "media", {"path": path, "contentType": "image/jpeg",
                                         "base64": base64.b64encode(photo).decode()})["url"]
    assert requests.get(url, timeout=30).content == photo, "the peer serves the picture as it is"
    alt = f"Bars of colour on a test card {tok}"
    note = _peer_note(flow, tok, f"<p>a picture from the peer {tok}</p>", attachment=[{
        "type": "Image", "mediaType": "image/jpeg", "url": url, "name": alt,
        "width": 40, "height": 20,
    }])
    _signed(flow, _create(flow, note))
    status = eventually(_home_has(flow, tok), what=f"the peer's picture post {note['id']} at alice's")
    attachments = status["media_attachments"]
    assert len(attachments) == 1, attachments
    media = attachments[0]
    assert media["type"] == "image", media
    assert media["description"] == alt, media
    assert media["remote_url"] == url, media
    proxy = f"{flow.kring.base_url}/proxy/media/"
    assert media["url"].startswith(proxy) and media["preview_url"].startswith(proxy), media
    assert f"127.0.0.1:{peer.port}" not in media["url"], "the app is never sent to the peer"

    served = requests.get(media["url"], timeout=30)
    assert served.status_code == 200, served.status_code
    assert served.headers["content-type"] == "image/jpeg"
    assert served.content[:3] == b"\xff\xd8\xff"
    assert b"Exif" not in served.content and CAMERA not in served.content, "the peer's EXIF is gone"
    assert served.content != photo, "re-encoded by Kring"

# -- f. inbox authentication -------------------------------------------------------------------


def _inboxes(flow: Flow) -> list[str]:
    inboxes = [flow.actor["inbox"]]
    shared = (flow.actor.get("endpoints") or {}).get("sharedInbox")
    if shared:
        inboxes.append(shared)
    return inboxes


def test_f_unsigned_post_refused(flow: Flow):
    flow.need("a")
    for inbox in _inboxes(flow):
        res = flow.peer.control("POST", "unsigned-inbox", {"inbox": inbox})
        assert res["status"] == 401, (
            f"an unsigned Create POSTed to {inbox} must be refused with 401, got {res['status']}: {res['body']}")


def test_f_garbage_signature_refused(flow: Flow):
    flow.need("a")
    peer = flow.peer
    body = json.dumps({
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": f"{peer.actor_url}/probes/{secrets.token_hex(8)}",
        "type": "Create",
        "actor": peer.actor_url,
        "to": [AS_PUBLIC],
        "object": {"type": "Note", "attributedTo": peer.actor_url, "content": "garbage signature",
                   "to": [AS_PUBLIC]},
    }).encode()
    for inbox in _inboxes(flow):
        path = requests.utils.urlparse(inbox).path
        headers = {
            "Content-Type": "application/activity+json",
            "Date": email.utils.formatdate(usegmt=True),
            "Digest": "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode(),
            "Host": flow.kring.domain,
            "Signature": (f'keyId="{peer.actor_url}#main-key",algorithm="rsa-sha256",'
                          f'headers="(request-target) host date digest",'
                          f'signature="{base64.b64encode(b"not a signature" * 16).decode()}"'),
        }
        resp = requests.post(inbox, data=body, headers=headers, timeout=30)
        assert resp.status_code == 401, (
            f"POST {path} with a garbage Signature (keyId of a real, fetchable key) must be refused "
            f"with 401, got {resp.status_code}: {resp.text[:500]}")


@pytest.mark.parametrize("tamper", ["body", "signature"])
def test_f_tampered_signature_refused(flow: Flow, tamper: str):
    flow.need("a")
    for inbox in _inboxes(flow):
        res = flow.peer.control("POST", "signed-inbox", {"inbox": inbox, "tamper": tamper})
        assert res["status"] == 401, (
            f"a Create signed by the peer then changed ({tamper}) POSTed to {inbox} must be refused "
            f"with 401, got {res['status']}: {res['body']}\nSignature: {res['signature']}")


def test_f_correct_signature_accepted(flow: Flow):
    """Control for the refusals above: the same request, correctly signed, is accepted."""
    flow.need("a")
    for inbox in _inboxes(flow):
        res = flow.peer.control("POST", "signed-inbox", {"inbox": inbox, "tamper": "none"})
        assert 200 <= res["status"] < 300, (
            f"a correctly signed Create (draft-cavage, rsa-sha256) POSTed to {inbox} must be accepted, "
            f"got {res['status']}: {res['body']}\nSignature: {res['signature']}")


# -- g. edit and delete reach the peer -------------------------------------------------------


def test_g_edit_and_delete_reach_peer(flow: Flow):
    flow.need("c")
    status = flow.public_status
    token = secrets.token_hex(4)
    edited = check(flow.api.put(flow.url(f"/api/v1/statuses/{status['id']}"),
                                json={"status": f"Edited text {token}"}, timeout=30),
                   what=f"PUT /api/v1/statuses/{status['id']}").json()
    assert token in plain(edited.get("content")), f"the API must return the edited status: {edited}"

    upd = received_one(flow, "Update", lambda e: (e.get("object") or {}).get("id") == status["uri"],
                       f"an Update whose object id is {status['uri']}")
    detail = f"\n{_short(without_raw(upd))}\nraw: {_short(upd.get('raw'))}"
    assert upd.get("actor") == flow.actor_url, f"Update actor must be alice{detail}"
    assert token in plain(upd["object"].get("content")), f"Update must carry the new content{detail}"
    assert upd["object"].get("updated"), f"the updated Note should carry `updated`{detail}"

    check(flow.api.delete(flow.url(f"/api/v1/statuses/{status['id']}"), timeout=30),
          what=f"DELETE /api/v1/statuses/{status['id']}")
    dele = received_one(flow, "Delete", lambda e: (e.get("object") or {}).get("id") == status["uri"],
                        f"a Delete whose object (or Tombstone) id is {status['uri']}")
    assert dele.get("actor") == flow.actor_url, f"Delete actor must be alice: {without_raw(dele)}"
    assert (dele.get("signature") or {}).get("scheme") != "none"
    flow.done.add("g")


# -- g2. friends-only, circle and local-only posts (issue 10) -----------------------------------


def test_g_narrowed_posts_reach_the_peer_only_by_name(flow: Flow):
    """Now alice and the peer follow each other: they are friends. A friends-only post and a
    post to a circle holding the peer reach it addressed to the peer alone (never as:Public,
    never a followers collection); a post to a circle without it and a local-only post never
    reach it at all (asserted on the peer itself)."""
    flow.need("b", "d")
    peer = flow.peer
    token = secrets.token_hex(4)

    def circle(title: str, members: list[str]) -> str:
        c = check(flow.post("/api/v1/circles", json={"title": title}), what="POST /api/v1/circles").json()
        if members:
            check(flow.post(f"/api/v1/circles/{c['id']}/accounts", json={"account_ids": members}),
                  what=f"POST /api/v1/circles/{c['id']}/accounts")
        return c["id"]

    with_peer = circle("with the peer", [flow.peer_account_id])
    without_peer = circle("without the peer", [])

    def post(body: dict) -> dict:
        return check(flow.post("/api/v1/statuses", json=body), what=f"POST /api/v1/statuses {body}").json()

    friends = post({"status": f"friends only {token}", "visibility": "friends"})
    in_circle = post({"status": f"circle with peer {token}", "visibility": "circle", "circle_ids": [with_peer]})
    outside = post({"status": f"circle without peer {token}", "visibility": "circle",
                    "circle_ids": [without_peer]})
    local = post({"status": f"local only {token}", "visibility": "public", "local_only": True})
    marker = post({"status": f"public marker {token}", "visibility": "public"})

    received_one(flow, "Create", lambda e: (e.get("object") or {}).get("id") == marker["uri"],
                 f"the public marker post {marker['uri']}")
    for status, label in ((friends, "friends-only"), (in_circle, "circle")):
        got = received_one(flow, "Create", lambda e, u=status["uri"]: (e.get("object") or {}).get("id") == u,
                           f"the {label} post {status['uri']}")
        aud = audience(got)
        assert aud == {peer.actor_url}, (
            f"a {label} post must be addressed to its recipient alone: {aud}\n{_short(without_raw(got))}")
        assert token in plain(got["object"].get("content")), f"{label} content: {_short(without_raw(got))}"
    creates = {(e.get("object") or {}).get("id") for e in flow.peer.received("Create")}
    for status, label in ((outside, "circle without the peer"), (local, "local-only")):
        assert status["uri"] not in creates, f"the peer received the {label} post {status['uri']}"
    everything = json.dumps([without_raw(e) for e in flow.peer.received()])
    assert outside["uri"] not in everything and local["uri"] not in everything, (
        "the peer heard of a post it is not in the audience of")


# -- g3. interaction controls (issue 10) --------------------------------------------------------


def _signed(flow: Flow, activity: dict) -> None:
    """The peer signs `activity` and POSTs it to alice's inbox, which must take it."""
    res = flow.peer.control("POST", "signed-activity", {"inbox": flow.actor["inbox"], "activity": activity})
    assert res["status"] in (200, 202), f"alice's inbox refused {activity.get('type')}: {res}"


def _peer_note(flow: Flow, tok: str, content: str, **extra) -> dict:
    me = flow.peer.actor_url
    return {
        "id": f"{me}/notes/{tok}", "type": "Note", "attributedTo": me, "content": content,
        "to": [AS_PUBLIC], "cc": [flow.actor_url],
        "published": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **extra,
    }


def _create(flow: Flow, note: dict) -> dict:
    return {"@context": ["https://www.w3.org/ns/activitystreams", "https://gotosocial.org/ns"],
            "id": f"{note['id']}/activity", "type": "Create", "actor": flow.peer.actor_url,
            "to": note["to"], "cc": note["cc"], "object": note}


def _context_uris(flow: Flow, status_id: str) -> list[str]:
    ctx = check(flow.get(f"/api/v1/statuses/{status_id}/context")).json()
    return [s["uri"] for s in ctx["descendants"]]


def test_g_interaction_controls_with_the_peer(flow: Flow):
    """GoToSocial's interaction controls with a peer speaking them by hand: alice's posts carry
    `interactionPolicy` (both vocabularies); a reply the policy forbids is answered with a
    `Reject` and never attached; a polite `ReplyRequest` waits in alice's queue and her approval
    is an `Accept` naming a `ReplyAuthorization` Kring serves; Kring reads the peer's policy and
    refuses alice a reply it forbids, and a reply needing the peer's approval waits for its
    `Accept`, then goes out carrying `replyAuthorization` and `approvedBy`."""
    flow.need("b", "d")
    peer = flow.peer
    tok = secrets.token_hex(4)

    def post(body: dict) -> dict:
        return check(flow.post("/api/v1/statuses", json=body), what=f"POST /api/v1/statuses {body}").json()

    closed = post({"status": f"nobody answers {tok}", "interaction_policy": {"can_reply": {"automatic_approval": []}}})
    asking = post({"status": f"ask me {tok}", "interaction_policy": {"can_reply": {"manual_approval": ["public"]}}})
    got = received_one(flow, "Create", lambda e: (e.get("object") or {}).get("id") == closed["uri"],
                       f"the Create of {closed['uri']}")
    policy = got["raw"]["object"]["interactionPolicy"]
    assert policy["canReply"]["automaticApproval"] == [flow.actor_url], _short(policy)
    assert policy["canReply"]["always"] == [flow.actor_url], "the pre-v0.20 vocabulary too"
    assert AS_PUBLIC in policy["canLike"]["automaticApproval"], _short(policy)
    context = got["raw"]["@context"]
    assert any(isinstance(c, dict) and c.get("gts") == "https://gotosocial.org/ns#" for c in context), context

    # A reply the policy forbids: Reject, and not attached.
    note = _peer_note(flow, f"r{tok}", "<p>a reply nobody may make</p>", inReplyTo=closed["uri"])
    _signed(flow, _create(flow, note))
    rej = received_one(flow, "Reject", lambda e: (e.get("raw") or {}).get("object") == note["id"],
                       f"a Reject of the reply {note['id']}")
    assert rej["actor"] == flow.actor_url and rej["raw"].get("target") == closed["uri"], _short(rej["raw"])
    assert (rej.get("signature") or {}).get("scheme") != "none"
    assert note["id"] not in _context_uris(flow, closed["id"])

    # A polite ReplyRequest: queued, then accepted with an authorization.
    note = _peer_note(flow, f"q{tok}", "<p>may I?</p>", inReplyTo=asking["uri"])
    request_id = f"{peer.actor_url}/reply_requests/{tok}"
    _signed(flow, {"@context": ["https://www.w3.org/ns/activitystreams", "https://gotosocial.org/ns"],
                   "id": request_id, "type": "ReplyRequest", "actor": peer.actor_url,
                   "to": [flow.actor_url], "object": asking["uri"], "instrument": note})

    def queued():
        q = check(flow.get("/api/v1/interaction_requests")).json()
        return next((r for r in q if (r.get("reply") or {}).get("uri") == note["id"]), None)

    req = eventually(queued, what=f"the ReplyRequest {request_id} in alice's queue")
    assert req["type"] == "reply" and req["account"]["acct"] == peer.acct, _short(req)
    assert note["id"] in _context_uris(flow, asking["id"]), "alice reads the reply she decides on"
    check(flow.post(f"/api/v1/interaction_requests/{req['id']}/authorize"))

    # The Accept names the request inline, as GoToSocial sends (and reads) it. Fedify 1.5.9's
    # vocabulary has no `ReplyRequest`, so it answers 400 and the peer keeps the refused POST.
    def accept_sent():
        for entry in peer.state().get("refused", []):
            raw = entry.get("raw") or {}
            if raw.get("type") == "Accept" and (raw.get("object") or {}).get("id") == request_id:
                return entry
        return None

    acc = eventually(accept_sent, what=f"an Accept of the ReplyRequest {request_id} at the peer")
    assert acc["signature"].get("scheme") != "none", acc
    raw = acc["raw"]
    assert raw["actor"] == flow.actor_url and raw["to"] == [peer.actor_url], _short(raw)
    assert raw["object"]["type"] == "ReplyRequest" and raw["object"]["instrument"] == note["id"], _short(raw)
    authorization = check(requests.get(raw["result"], headers={"Accept": AP_ACCEPT}, timeout=30),
                          what=f"GET the authorization {raw['result']}").json()
    assert authorization["type"] == "ReplyAuthorization", authorization
    assert authorization["interactingObject"] == note["id"], authorization
    assert authorization["interactionTarget"] == asking["uri"], authorization
    assert authorization["attributedTo"] == flow.actor_url, authorization

    # Kring reads the peer's policy: only the peer may reply, so alice may not.
    theirs = _peer_note(flow, f"p{tok}", f"<p>mine alone {tok}</p>", interactionPolicy={
        "canReply": {"automaticApproval": [peer.actor_url], "manualApproval": []},
        "canLike": {"automaticApproval": [AS_PUBLIC]},
    })
    _signed(flow, _create(flow, theirs))
    shown = eventually(_home_has(flow, f"mine alone {tok}"), what="the peer's post with a policy in alice's home")
    assert shown["interaction_policy"]["can_reply"]["automatic_approval"] == ["author", "mentioned"], _short(shown)
    resp = flow.post("/api/v1/statuses", json={"status": "may I?", "in_reply_to_id": shown["id"]})
    assert resp.status_code == 403, f"alice may not reply: {resp.status_code} {resp.text}"
    check(flow.post(f"/api/v1/statuses/{shown['id']}/favourite"), what="favourite (allowed)")

    # Replies need the peer's approval: alice's waits, goes to the peer alone, and once the peer
    # accepts, goes out with its proof.
    asks = _peer_note(flow, f"m{tok}", f"<p>ask me too {tok}</p>", interactionPolicy={
        "canReply": {"always": [peer.actor_url], "approvalRequired": [AS_PUBLIC]},
    })
    _signed(flow, _create(flow, asks))
    shown = eventually(_home_has(flow, f"ask me too {tok}"), what="the peer's asking post in alice's home")
    assert shown["interaction_policy"]["can_reply"]["manual_approval"] == ["public"], _short(shown)
    mine = post({"status": "if you agree", "in_reply_to_id": shown["id"]})
    assert mine["kring"]["pending_approval"] is True, _short(mine)
    first = received_one(flow, "Create", lambda e: (e.get("object") or {}).get("id") == mine["uri"],
                         f"alice's reply {mine['uri']}, for approval")
    assert first["raw"]["object"]["inReplyTo"] == asks["id"]
    accept_id = f"{peer.actor_url}/accepts/{tok}"
    auth_id = f"{peer.actor_url}/authorizations/{tok}"
    _signed(flow, {"@context": "https://www.w3.org/ns/activitystreams", "id": accept_id, "type": "Accept",
                   "actor": peer.actor_url, "to": [flow.actor_url], "object": mine["uri"],
                   "target": asks["id"], "result": auth_id})

    def approved():
        s = check(flow.get(f"/api/v1/statuses/{mine['id']}")).json()
        return s if s["kring"]["pending_approval"] is False else None

    eventually(approved, what="the peer's Accept to approve alice's reply")
    again = received_one(flow, "Create", lambda e: (e.get("object") or {}).get("id") == mine["uri"]
                         and (e.get("raw") or {}).get("object", {}).get("replyAuthorization") == auth_id,
                         "alice's approved reply, with its proof")
    assert again["raw"]["object"]["approvedBy"] == accept_id, _short(again["raw"])


def _peer_got(flow: Flow, pred: Callable[[dict], bool], what: str) -> dict:
    """An activity the peer received or refused (Fedify 1.5.9 knows no FEP-044f types, so it
    answers 400 to some and keeps the POST), matching `pred` on its raw JSON."""

    def find():
        got = list(flow.peer.received()) + list(flow.peer.state().get("refused", []))
        for entry in got:
            if pred(entry.get("raw") or {}):
                return entry
        return None

    return eventually(find, what=what)


def test_g_quotes_with_the_peer(flow: Flow):
    """Quote posts with consent (FEP-044f) with a peer speaking them by hand: alice's posts carry
    `canQuote`; the peer's `QuoteRequest` is answered with an `Accept` naming a served
    `QuoteAuthorization`, the quote is listed under alice's post, and her revocation is a
    `Delete` of the authorization; alice quoting the peer's post sends it a `QuoteRequest`, and
    the peer's `Accept` makes her quote accepted and sent again with `quoteAuthorization`."""
    flow.need("b", "d")
    peer = flow.peer
    tok = secrets.token_hex(4)
    mine = check(flow.post("/api/v1/statuses", json={"status": f"quote me {tok}"})).json()
    got = received_one(flow, "Create", lambda e: (e.get("object") or {}).get("id") == mine["uri"],
                       f"the Create of {mine['uri']}")
    policy = got["raw"]["object"]["interactionPolicy"]
    assert AS_PUBLIC in policy["canQuote"]["automaticApproval"], _short(policy)

    # The peer asks to quote alice's post: accepted at once, with an authorization.
    note = _peer_note(flow, f"qt{tok}", "<p>quoting alice</p>", quote=mine["uri"])
    request_id = f"{peer.actor_url}/quote_requests/{tok}"
    _signed(flow, {"@context": ["https://www.w3.org/ns/activitystreams",
                                {"QuoteRequest": "https://w3id.org/fep/044f#QuoteRequest"}],
                   "id": request_id, "type": "QuoteRequest", "actor": peer.actor_url,
                   "to": [flow.actor_url], "object": mine["uri"], "instrument": note})
    acc = _peer_got(flow, lambda r: r.get("type") == "Accept"
                    and (r.get("object") or {}).get("id") == request_id,
                    f"an Accept of the QuoteRequest {request_id}")
    raw = acc["raw"]
    assert raw["object"]["type"] == "QuoteRequest" and raw["object"]["instrument"] == note["id"], _short(raw)
    authorization = check(requests.get(raw["result"], headers={"Accept": AP_ACCEPT}, timeout=30),
                          what=f"GET the authorization {raw['result']}").json()
    assert authorization["type"] == "QuoteAuthorization", authorization
    assert authorization["interactingObject"] == note["id"], authorization
    assert authorization["interactionTarget"] == mine["uri"], authorization
    quotes = eventually(lambda: [s for s in check(flow.get(f"/api/v1/statuses/{mine['id']}/quotes")).json()
                                 if s["uri"] == note["id"]] or None,
                        what="the peer's quote listed under alice's post")
    assert quotes[0]["quote"]["state"] == "accepted", _short(quotes[0])

    # alice revokes it: the peer is sent a Delete of the authorization.
    check(flow.post(f"/api/v1/statuses/{mine['id']}/quotes/{quotes[0]['id']}/revoke"))
    _peer_got(flow, lambda r: r.get("type") == "Delete" and r.get("object") == raw["result"],
              f"a Delete of the authorization {raw['result']}")
    gone = requests.get(raw["result"], headers={"Accept": AP_ACCEPT}, timeout=30)
    assert gone.status_code == 404, f"a revoked authorization is still served: {gone.status_code}"

    # alice quotes the peer's post: a QuoteRequest goes to the peer; its Accept approves it.
    theirs = _peer_note(flow, f"qp{tok}", f"<p>quote me too {tok}</p>", interactionPolicy={
        "canQuote": {"automaticApproval": [AS_PUBLIC]},
    })
    _signed(flow, _create(flow, theirs))
    shown = eventually(_home_has(flow, f"quote me too {tok}"), what="the peer's post in alice's home")
    assert shown["quote_approval"]["automatic"] == ["public"], _short(shown)
    q = check(flow.post("/api/v1/statuses", json={"status": "quoting you", "quoted_status_id": shown["id"]})).json()
    assert q["quote"]["state"] == "pending", _short(q)
    req = _peer_got(flow, lambda r: r.get("type") == "QuoteRequest" and r.get("object") == theirs["id"],
                    "alice's QuoteRequest")["raw"]
    assert (req.get("instrument") or {}).get("id") == q["uri"], _short(req)
    auth_id = f"{peer.actor_url}/quote_authorizations/{tok}"
    _signed(flow, {"@context": "https://www.w3.org/ns/activitystreams",
                   "id": f"{peer.actor_url}/accepts/quote/{tok}", "type": "Accept",
                   "actor": peer.actor_url, "to": [flow.actor_url], "object": req, "result": auth_id})
    eventually(lambda: check(flow.get(f"/api/v1/statuses/{q['id']}")).json()["quote"]["state"] == "accepted" or None,
               what="alice's quote accepted by the peer")
    _peer_got(flow, lambda r: r.get("type") == "Update"
              and (r.get("object") or {}).get("quoteAuthorization") == auth_id,
              "alice's quote again, with its authorization")


def test_g_groups_with_the_peer(flow: Flow):
    """A Kring group with the peer as a Lemmy-style member (FEP-1b12): the peer joins a public
    group by following its Group actor and is accepted; its post addressed to the group is
    carried and announced back to it; alice's post to the group reaches the peer as the group's
    Announce; alice's removal of the peer's post from the group reaches the peer as an Undo of
    the group's Announce and an Announce of her Delete with the reason. A post to a closed
    group the peer is not a member of is refused with the group's Reject."""
    flow.need("a")
    peer = flow.peer
    tok = secrets.token_hex(4)
    group = check(flow.post("/api/v1/groups", json={
        "display_name": f"Commons {tok}", "username": f"commons{tok}", "kind": "public"})).json()
    actor = check(requests.get(group["uri"], headers={"Accept": AP_ACCEPT}, timeout=30),
                  what="GET the group's actor").json()
    assert actor["type"] == "Group", _short(actor)

    def to_group(activity: dict, inbox: str) -> None:
        res = peer.control("POST", "signed-activity", {"inbox": inbox, "activity": activity})
        assert res["status"] in (200, 202), f"the group's inbox refused {activity.get('type')}: {res}"

    follow_id = f"{peer.actor_url}/follows/group/{tok}"
    to_group({"@context": "https://www.w3.org/ns/activitystreams", "id": follow_id, "type": "Follow",
              "actor": peer.actor_url, "object": actor["id"]}, actor["inbox"])
    _peer_got(flow, lambda r: r.get("type") == "Accept" and r.get("actor") == actor["id"]
              and ((r.get("object") or {}).get("id") if isinstance(r.get("object"), dict)
                   else r.get("object")) == follow_id, "the group's Accept of the peer's Follow")
    members = eventually(lambda: [m for m in check(flow.get(f"/api/v1/groups/{group['id']}/memberships")).json()
                                  if m["account"]["url"] == peer.actor_url or m["account"]["uri"] == peer.actor_url]
                         or None, what="the peer listed as a member")
    assert members[0]["role"] == "user", _short(members)

    # The peer posts to the group as Lemmy does: addressed to it (and public).
    note = {"id": f"{peer.actor_url}/notes/group{tok}", "type": "Note", "attributedTo": peer.actor_url,
            "content": f"<p>hello commons {tok}</p>", "to": [AS_PUBLIC, actor["id"]], "cc": [],
            "audience": actor["id"],
            "published": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    to_group({"@context": "https://www.w3.org/ns/activitystreams", "id": f"{note['id']}/activity",
              "type": "Create", "actor": peer.actor_url, "to": note["to"], "cc": [], "object": note},
             actor["inbox"])
    carried = eventually(lambda: [s for s in check(flow.get(f"/api/v1/timelines/group/{group['id']}")).json()
                                  if s["uri"] == note["id"]] or None, what="the peer's post in the group's timeline")
    assert carried[0]["group"]["id"] == group["id"], _short(carried[0])
    _peer_got(flow, lambda r: r.get("type") == "Announce" and r.get("actor") == actor["id"]
              and r.get("object") == note["id"], "the group's Announce of the peer's post")

    # Lemmy may name the community in `audience` alone, the post addressed only to the public.
    lone = dict(note, id=f"{peer.actor_url}/notes/audience{tok}", to=[AS_PUBLIC], cc=[],
                content=f"<p>by audience alone {tok}</p>")
    to_group({"@context": "https://www.w3.org/ns/activitystreams", "id": f"{lone['id']}/activity",
              "type": "Create", "actor": peer.actor_url, "to": lone["to"], "cc": [],
              "audience": actor["id"], "object": lone}, actor["inbox"])
    eventually(lambda: [s for s in check(flow.get(f"/api/v1/timelines/group/{group['id']}")).json()
                        if s["uri"] == lone["id"]] or None, what="the post addressed by audience alone, carried")
    _peer_got(flow, lambda r: r.get("type") == "Announce" and r.get("actor") == actor["id"]
              and r.get("object") == lone["id"], "the group's Announce of the post addressed by audience")

    # alice's post to the group reaches the peer as the group's Announce.
    mine = check(flow.post("/api/v1/statuses", json={"status": f"welcome {tok}", "group_id": group["id"]})).json()
    _peer_got(flow, lambda r: r.get("type") == "Announce" and r.get("actor") == actor["id"]
              and r.get("object") == mine["uri"], "the group's Announce of alice's post")

    # Likes pass on too (FEP-1b12): alice's like of the peer's post and its withdrawal, and the
    # peer's own like of alice's post, reach the members in the group's Announce.
    check(flow.post(f"/api/v1/statuses/{carried[0]['id']}/favourite"), what="alice likes the peer's post")
    _peer_got(flow, lambda r: r.get("type") == "Announce" and r.get("actor") == actor["id"]
              and isinstance(r.get("object"), dict) and r["object"].get("type") == "Like"
              and r["object"].get("actor") == flow.actor_url and r["object"].get("object") == note["id"],
              "the group's Announce of alice's like")
    check(flow.post(f"/api/v1/statuses/{carried[0]['id']}/unfavourite"), what="alice takes her like back")
    _peer_got(flow, lambda r: r.get("type") == "Announce" and r.get("actor") == actor["id"]
              and isinstance(r.get("object"), dict) and r["object"].get("type") == "Undo"
              and (r["object"].get("object") or {}).get("object") == note["id"],
              "the group's Announce of alice's withdrawn like")
    alice_doc = check(requests.get(flow.actor_url, headers={"Accept": AP_ACCEPT}, timeout=30)).json()
    like_id = f"{peer.actor_url}/likes/group{tok}"
    to_group({"@context": "https://www.w3.org/ns/activitystreams", "id": like_id, "type": "Like",
              "actor": peer.actor_url, "object": mine["uri"]}, alice_doc["inbox"])
    _peer_got(flow, lambda r: r.get("type") == "Announce" and r.get("actor") == actor["id"]
              and isinstance(r.get("object"), dict) and r["object"].get("id") == like_id,
              "the group's Announce of the peer's like of alice's post")

    # alice (the owner) removes the peer's post from the group.
    check(flow.api.delete(flow.url(f"/api/v1/groups/{group['id']}/statuses/{carried[0]['id']}"),
                          json={"reason": f"off topic {tok}"}, timeout=30))
    _peer_got(flow, lambda r: r.get("type") == "Undo" and r.get("actor") == actor["id"]
              and (r.get("object") or {}).get("type") == "Announce"
              and (r.get("object") or {}).get("object") == note["id"], "the group's Undo of its Announce")
    removal = _peer_got(flow, lambda r: r.get("type") == "Announce" and r.get("actor") == actor["id"]
                        and isinstance(r.get("object"), dict) and r["object"].get("type") == "Delete"
                        and r["object"].get("object") == note["id"], "the group's Announce of the removal")
    assert removal["raw"]["object"]["actor"] == flow.actor_url, _short(removal["raw"])
    assert removal["raw"]["object"]["summary"] == f"off topic {tok}", _short(removal["raw"])
    gone = check(flow.get(f"/api/v1/timelines/group/{group['id']}")).json()
    assert note["id"] not in [s["uri"] for s in gone], _short(gone)

    # A closed group the peer has not joined refuses its post, and says so.
    closed = check(flow.post("/api/v1/groups", json={
        "display_name": f"Porch {tok}", "username": f"porch{tok}", "kind": "closed"})).json()
    closed_actor = check(requests.get(closed["uri"], headers={"Accept": AP_ACCEPT}, timeout=30)).json()
    stray = dict(note, id=f"{peer.actor_url}/notes/stray{tok}", to=[AS_PUBLIC, closed_actor["id"]],
                 audience=closed_actor["id"], content=f"<p>let me in {tok}</p>")
    to_group({"@context": "https://www.w3.org/ns/activitystreams", "id": f"{stray['id']}/activity",
              "type": "Create", "actor": peer.actor_url, "to": stray["to"], "cc": [], "object": stray},
             closed_actor["inbox"])
    refusal = _peer_got(flow, lambda r: r.get("type") == "Reject" and r.get("actor") == closed_actor["id"]
                        and r.get("object") == stray["id"], "the closed group's Reject of the peer's post")
    assert "member" in refusal["raw"].get("summary", ""), _short(refusal["raw"])
    assert check(flow.get(f"/api/v1/timelines/group/{closed['id']}")).json() == []


def test_g_a_private_group_stays_off_the_peer(flow: Flow):
    """A private group reaches its members' servers only (issue 11): the peer follows alice, the
    group's owner, but hosts no member, so alice's post to the group must not reach it in any
    form (no Create, no group Announce, nothing naming the post), and the group's actor and
    collections do not answer the peer's (unsigned or non-member) requests."""
    flow.need("a", "b")
    peer = flow.peer
    tok = secrets.token_hex(4)
    group = check(flow.post("/api/v1/groups", json={
        "display_name": f"Attic {tok}", "username": f"attic{tok}", "kind": "private"})).json()
    secret = check(flow.post("/api/v1/statuses", json={"status": f"members only {tok}", "group_id": group["id"]}),
                   what="alice posts to her private group").json()
    assert secret["group"]["id"] == group["id"], _short(secret)
    # A public post after it: once the peer has it, the group post had its chance to arrive.
    marker = post_status(flow, f"after the attic {tok}", "public")
    received_one(flow, "Create", lambda e: (e.get("object") or {}).get("id") == marker["uri"],
                 "alice's public post after the group post")
    time.sleep(1)
    got = list(peer.received()) + list(peer.state().get("refused", []))
    leaked = [without_raw(e) for e in got if secret["uri"] in json.dumps(e) or f"members only {tok}" in json.dumps(e)]
    assert not leaked, f"the private group's post reached a server with no member: {leaked}"
    for path in ("", "/outbox", "/followers"):
        res = requests.get(group["uri"] + path, headers={"Accept": AP_ACCEPT}, timeout=30)
        assert res.status_code in (401, 403, 404), f"{group['uri'] + path} answered {res.status_code}: {_short(res.text)}"


def test_g_a_community_on_the_peer(flow: Flow):
    """A remote community Kring people join (issue 11): the peer's Group actor, which behaves as
    a Lemmy community. alice finds it as an account with `group: true` and as a group, joins it
    (a Follow the community accepts), sees the community's announced posts in the group's
    timeline here and in her home timeline, posts to it with `group_id` (a Create addressed to
    the community, which announces it to its members), and leaves (an Undo of the Follow)."""
    flow.need("a")
    peer = flow.peer
    tok = secrets.token_hex(4)
    community = peer.state()["community"]
    found = check(flow.get("/api/v2/search", params={"q": community["handle"], "resolve": "true",
                                                       "type": "accounts"})).json().get("accounts", [])
    match = [a for a in found if a.get("uri") == community["actor"] or a.get("url") == community["actor"]]
    assert match, f"search must resolve {community['handle']}: {_short(found)}"
    assert match[0]["group"] is True, _short(match[0])
    gid = str(match[0]["id"])
    group = check(flow.get(f"/api/v1/groups/{gid}"), what="the remote community as a group").json()
    assert group["kring"]["kind"] == "public", _short(group)

    check(flow.post(f"/api/v1/groups/{gid}/join", json={}), what="join the community")
    follow = received_one(flow, "Follow", lambda e: e.get("actor") == flow.actor_url
                          and (e.get("object") or {}).get("id") == community["actor"],
                          "alice's Follow of the community")
    assert follow.get("accept_sent"), f"the community did not accept: {without_raw(follow)}"
    eventually(lambda: [r for r in check(flow.get("/api/v1/groups/relationships",
                                                  params={"id[]": gid})).json()
                        if r.get("member")] or None, what="alice a member of the community")

    # The community announces a post by the peer's person: it reaches the group's timeline and
    # alice's home timeline here.
    posted = peer.control("POST", "community-post", {"content": f"<p>community news {tok}</p>"})
    assert flow.actor_url in posted["to"], f"the community's members: {posted}"
    in_group = eventually(lambda: [s for s in check(flow.get(f"/api/v1/timelines/group/{gid}")).json()
                                   if s["uri"] == posted["note"]] or None,
                          what="the community's post in its group timeline here")
    assert f"community news {tok}" in plain(in_group[0]["content"]), _short(in_group[0])
    eventually(lambda: [s for s in check(flow.get("/api/v1/timelines/home")).json()
                        if s["uri"] == posted["note"] or (s.get("reblog") or {}).get("uri") == posted["note"]]
               or None, what="the community's post in alice's home timeline")

    # As a Lemmy private community does, it announces a post addressed to itself alone (no
    # as:Public) to its followers: alice, a member, reads it; another person here does not.
    hidden = peer.control("POST", "community-post", {"content": f"<p>members only {tok}</p>",
                                                     "private": True})
    in_group = eventually(lambda: [s for s in check(flow.get(f"/api/v1/timelines/group/{gid}")).json()
                                   if s["uri"] == hidden["note"]] or None,
                          what="the private community's post in its group timeline here")
    assert in_group[0]["visibility"] == "private", _short(in_group[0])
    assert in_group[0]["kring"]["visibility"] == "group", _short(in_group[0])
    eventually(lambda: [s for s in check(flow.get("/api/v1/timelines/home")).json()
                        if (s.get("reblog") or {}).get("uri") == hidden["note"]] or None,
               what="the private community's post in alice's home timeline")
    outsider, _ = _local_user(flow, f"outsider{tok}")
    st = outsider.get(flow.url(f"/api/v1/statuses/{in_group[0]['id']}"), timeout=30)
    assert st.status_code == 404, f"a non-member reads the members' post: {st.status_code}"
    found = check(outsider.get(flow.url("/api/v2/search"), params={
        "q": hidden["note"], "type": "statuses", "resolve": "true"}, timeout=30)).json()
    assert found["statuses"] == [], _short(found)
    outsider_tl = check(outsider.get(flow.url(f"/api/v1/timelines/group/{gid}"), timeout=30)).json()
    assert hidden["note"] not in [s["uri"] for s in outsider_tl], _short(outsider_tl)

    # alice posts to the community: addressed to it, and announced by it to its members.
    mine = check(flow.post("/api/v1/statuses", json={"status": f"hello community {tok}", "group_id": gid}),
                 what="POST a status with group_id of the remote community").json()
    create = received_one(flow, "Create", lambda e: (e.get("object") or {}).get("id") == mine["uri"],
                          "alice's post to the community")
    assert community["actor"] in audience(create), (
        f"alice's post must be addressed to the community: {without_raw(create)}")
    assert create.get("community_announce"), f"the community did not announce it: {without_raw(create)}"
    ours = check(flow.get(f"/api/v1/timelines/group/{gid}")).json()
    assert mine["uri"] in [s["uri"] for s in ours], _short(ours)

    # alice leaves: the community hears an Undo of her Follow and drops her.
    check(flow.post(f"/api/v1/groups/{gid}/leave", json={}), what="leave the community")
    received_one(flow, "Undo", lambda e: e.get("actor") == flow.actor_url
                 and e.get("note") == "member left the community", "alice's Undo of her Follow")
    assert flow.actor_url not in [f["id"] for f in peer.state()["community"]["followers"]]
    rel = check(flow.get("/api/v1/groups/relationships", params={"id[]": gid})).json()
    assert not rel or not rel[0].get("member"), _short(rel)


# -- g5. group chats (issue 12) ------------------------------------------------------------------


def _local_user(flow: Flow, username: str) -> tuple[requests.Session, dict]:
    """Another kring user, made like alice: a session with a password-grant token, and the
    account."""
    flow.kring.create_user(username, f"{username}@example.org", PASSWORD)
    app = check(requests.post(flow.url("/api/v1/apps"), json={
        "client_name": "kring federation tests", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob",
        "scopes": "read write follow"}, timeout=30)).json()
    token = check(requests.post(flow.url("/oauth/token"), json={
        "grant_type": "password", "username": f"{username}@example.org", "password": PASSWORD,
        "client_id": app["client_id"], "client_secret": app["client_secret"],
        "scope": "read write follow"}, timeout=30)).json()["access_token"]
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    me = check(session.get(flow.url("/api/v1/accounts/verify_credentials"), timeout=30)).json()
    return session, me


def test_g_chats_with_the_peer(flow: Flow):
    """A Kring chat of two local people (alice, bob) and the peer's actor, a Mastodon-style
    participant (issue 12): the peer receives each message as an ordinary direct Note — a
    Create addressed to the other participants by name (never as:Public, never a collection),
    carrying the chat's `context`; the peer's reply (`inReplyTo`, addressed to alice alone, as
    Mastodon sends it) lands in the same chat, where bob reads it too. After a rename, the
    peer's removal and bob's leaving, no later message reaches the peer, and a reply it still
    sends stays out of the chat (alice gets it as an ordinary direct mention)."""
    flow.need("b", "d")
    peer = flow.peer
    tok = secrets.token_hex(4)
    bob, bob_acct = _local_user(flow, f"bob{tok}")
    bob_uri = flow.actor_url.rsplit("/", 1)[0] + f"/bob{tok}"
    chat = check(flow.post("/api/v1/kring/chats", json={
        "account_ids": [bob_acct["id"], flow.peer_account_id], "name": f"Chat {tok}"}),
        what="POST /api/v1/kring/chats").json()
    cid, chat_uri = chat["id"], chat["uri"]
    assert chat_uri.startswith(flow.kring.base_url), _short(chat)

    def say(text: str) -> dict:
        return check(flow.post(f"/api/v1/kring/chats/{cid}/messages", json={"status": text}),
                     what="POST a chat message").json()

    m1 = say(f"hello peer {tok}")
    got = received_one(flow, "Create", lambda e: (e.get("object") or {}).get("id") == m1["uri"],
                       f"the chat's message {m1['uri']}")
    note = got["raw"]["object"]
    aud = audience(got)
    assert aud == {peer.actor_url, bob_uri}, f"a chat message is addressed by name: {aud}\n{_short(without_raw(got))}"
    assert not aud & PUBLIC_FORMS
    assert note.get("type") == "Note", _short(note)
    assert note.get("context") == chat_uri, f"the chat's context: {_short(note)}"
    assert f"hello peer {tok}" in plain(note.get("content"))
    assert not note.get("cc"), _short(note)

    # The peer replies as Mastodon does: to alice alone, inReplyTo the message.
    reply = _peer_note(flow, f"chat{tok}", f"<p>hi from the peer {tok}</p>", to=[flow.actor_url], cc=[],
                       inReplyTo=m1["uri"], tag=[{"type": "Mention", "href": flow.actor_url}])
    _signed(flow, _create(flow, reply))
    in_chat = eventually(lambda: (c := check(flow.get(f"/api/v1/kring/chats/{cid}")).json())
                         and (c.get("last_status") or {}).get("uri") == reply["id"] and c,
                         what="the peer's reply in the chat")
    assert in_chat["last_status"]["in_reply_to_id"] == m1["id"], _short(in_chat)
    assert in_chat["last_status"]["visibility"] == "direct"
    bob_view = eventually(lambda: [s for s in check(bob.get(flow.url(f"/api/v1/kring/chats/{cid}/messages"),
                                                            timeout=30)).json()
                                   if s["uri"] == reply["id"]] or None, what="bob reads the peer's reply")
    assert f"hi from the peer {tok}" in plain(bob_view[0]["content"])
    # bob's answer in the chat reaches the peer too, named like every message.
    b1 = check(bob.post(flow.url(f"/api/v1/kring/chats/{cid}/messages"), json={"status": f"bob here {tok}"},
                        timeout=30)).json()
    got = received_one(flow, "Create", lambda e: (e.get("object") or {}).get("id") == b1["uri"],
                       "bob's message")
    assert audience(got) == {peer.actor_url, flow.actor_url}, _short(without_raw(got))

    # An edit and a deletion reach the peer as a Mastodon participant would see them.
    typo = say(f"meet at the stattion {tok}")
    received_one(flow, "Create", lambda e: (e.get("object") or {}).get("id") == typo["uri"], "the message to edit")
    check(flow.api.put(flow.url(f"/api/v1/statuses/{typo['id']}"), json={"status": f"meet at the station {tok}"},
                       timeout=30), what="alice edits her chat message")
    edited = received_one(flow, "Update", lambda e: (e.get("object") or {}).get("id") == typo["uri"],
                          "the edit of the chat message")
    assert f"meet at the station {tok}" in plain((edited.get("object") or {}).get("content")), without_raw(edited)
    assert not audience(edited) & PUBLIC_FORMS, without_raw(edited)
    check(flow.api.delete(flow.url(f"/api/v1/statuses/{typo['id']}"), timeout=30), what="alice deletes it")
    received_one(flow, "Delete", lambda e: (e.get("object") or {}).get("id") == typo["uri"]
                 or e.get("object") == typo["uri"], "the deletion of the chat message")

    # Rename, then remove the peer, and bob leaves: later messages never reach the peer.
    check(flow.api.patch(flow.url(f"/api/v1/kring/chats/{cid}"), json={"name": f"Renamed {tok}"}, timeout=30))
    check(flow.api.delete(flow.url(f"/api/v1/kring/chats/{cid}/participants/{flow.peer_account_id}"),
                          timeout=30))
    after_removal = say(f"after the peer left {tok} secret")
    check(bob.post(flow.url(f"/api/v1/kring/chats/{cid}/leave"), json={}, timeout=30))
    after_leaving = say(f"after bob left {tok} secret")
    gone = check(bob.get(flow.url(f"/api/v1/statuses/{after_leaving['id']}"), timeout=30), 404)
    assert gone.status_code == 404
    # A marker the peer does get (it follows alice): once it is there, anything sent before it
    # would be too.
    marker = post_status(flow, f"public marker after the chat {tok}", "public")
    received_one(flow, "Create", lambda e: (e.get("object") or {}).get("id") == marker["uri"],
                 "the public marker")
    everything = json.dumps([without_raw(e) for e in peer.received()]) + json.dumps(peer.state().get("refused", []))
    for m in (after_removal, after_leaving):
        assert m["uri"] not in everything, f"the peer received {m['uri']} after its removal"
    assert f"{tok} secret" not in everything, "a message after the removal reached the peer"

    # A reply the peer still sends stays out of the chat: alice gets an ordinary direct mention.
    stray = _peer_note(flow, f"stray{tok}", f"<p>still there? {tok}</p>", to=[flow.actor_url], cc=[],
                       inReplyTo=m1["uri"], context=chat_uri, tag=[{"type": "Mention", "href": flow.actor_url}])
    _signed(flow, _create(flow, stray))
    eventually(lambda: [n for n in check(flow.get("/api/v1/notifications")).json()
                        if (n.get("status") or {}).get("uri") == stray["id"]] or None,
               what="alice is told of the peer's mention")
    now = check(flow.get(f"/api/v1/kring/chats/{cid}")).json()
    assert now["last_status"]["uri"] == after_leaving["uri"], _short(now)
    assert stray["id"] not in [s["uri"] for s in check(flow.get(f"/api/v1/kring/chats/{cid}/messages")).json()]


# -- g6. moving an account (issue 14) ------------------------------------------------------------


def test_g_a_move_reaches_the_peer(flow: Flow):
    """A Kring account the peer follows moves to another Kring account that named it as an
    alias: the peer receives the `Move` (actor and object the old account, target the new
    one), and the old account's actor now says `movedTo`."""
    flow.need("a")
    peer = flow.peer
    tok = secrets.token_hex(4)
    mover_s, mover = _local_user(flow, f"mover{tok}")
    landing_s, landing = _local_user(flow, f"landing{tok}")
    peer.control("POST", "follow", {"target": mover["uri"]})
    received_one(flow, "Accept", lambda e: e.get("actor") == mover["uri"], "the mover's Accept")
    check(landing_s.post(flow.url("/api/v1/accounts/alias"),
                         json={"also_known_as_uris": [mover["uri"]]}, timeout=30), what="set the alias")
    moved = mover_s.post(flow.url("/api/v1/accounts/move"),
                         json={"password": PASSWORD, "moved_to_uri": landing["uri"]}, timeout=30)
    assert moved.status_code == 202, f"move answered {moved.status_code}: {moved.text}"
    got = received_one(flow, "Move", lambda e: e.get("actor") == mover["uri"], "the mover's Move")
    raw = got["raw"]
    assert raw.get("object") == mover["uri"], _short(raw)
    assert raw.get("target") == landing["uri"], _short(raw)
    doc = check(requests.get(mover["uri"], headers={"Accept": AP_ACCEPT}, timeout=30)).json()
    assert doc.get("movedTo") == landing["uri"], _short(doc)


# -- h. (extra) unfollows both ways ------------------------------------------------------------


def test_h_peer_unfollows_kring_user(flow: Flow):
    flow.need("b")
    peer = flow.peer
    peer.control("POST", "undo-follow", {"target": flow.actor_url})

    def gone():
        accts = [a.get("acct") for a in check(flow.get(f"/api/v1/accounts/{flow.alice_id}/followers")).json()]
        assert peer.acct not in accts, f"followers still list {peer.acct}: {accts}"
        return True

    eventually(gone, what=f"{peer.acct} to leave alice's followers after Undo(Follow)")


def test_h_kring_user_unfollows_peer(flow: Flow):
    flow.need("d")
    rel = check(flow.post(f"/api/v1/accounts/{flow.peer_account_id}/unfollow")).json()
    assert rel.get("following") is False, f"unfollow answered {rel}"
    # (Not the Undo of alice's Follow of the peer's community, from test_g_a_community_on_the_peer.)
    got = received_one(flow, "Undo", lambda e: e.get("actor") == flow.actor_url
                       and (e.get("object") or {}).get("type") in ("Follow", None)
                       and e.get("recipient") != "community",
                       f"an Undo(Follow) from {flow.actor_url}")
    assert got.get("note") == "follower removed", f"the peer could not match the Undo: {without_raw(got)}"


def test_h_the_peer_moves_and_its_followers_here_follow(flow: Flow):
    """The peer's actor moves to a Kring account that named it as an alias (after every other
    test that follows the peer): its follower here follows the new account and no longer the
    peer, which hears an Undo of the follow. A Move naming an account that does not claim the
    peer changes nothing."""
    flow.need("a")
    peer = flow.peer
    tok = secrets.token_hex(4)
    fan_s, fan = _local_user(flow, f"fan{tok}")
    found = check(fan_s.get(flow.url("/api/v2/search"), params={
        "q": peer.acct, "resolve": "true", "type": "accounts"}, timeout=30)).json()["accounts"]
    peer_id = [a for a in found if a.get("acct") == peer.acct][0]["id"]
    check(fan_s.post(flow.url(f"/api/v1/accounts/{peer_id}/follow"), timeout=30))

    def rel(account_id):
        return check(fan_s.get(flow.url("/api/v1/accounts/relationships"),
                               params={"id[]": account_id}, timeout=30)).json()[0]

    eventually(lambda: rel(peer_id).get("following") or None, what="the fan follows the peer")
    home_s, home = _local_user(flow, f"peerhome{tok}")
    stranger_s, stranger = _local_user(flow, f"stranger{tok}")

    def move_to(target: str, n: str) -> None:
        res = peer.control("POST", "signed-activity", {"inbox": flow.url("/inbox"), "activity": {
            "@context": "https://www.w3.org/ns/activitystreams", "id": f"{peer.actor_url}/moves/{n}{tok}",
            "type": "Move", "actor": peer.actor_url, "object": peer.actor_url, "target": target}})
        assert res["status"] in (200, 202, 403), f"the inbox answered {res}"

    # Not claimed by the target: nothing moves.
    move_to(stranger["uri"], "a")
    check(home_s.post(flow.url("/api/v1/accounts/alias"),
                      json={"also_known_as_uris": [peer.actor_url]}, timeout=30), what="set the alias")
    move_to(home["uri"], "b")
    eventually(lambda: rel(home["id"]).get("following") or None, what="the fan follows the new account")
    # The move follows the new account first and then leaves the old one (so a follower is never
    # left following neither): wait for the second step too.
    eventually(lambda: rel(peer_id).get("following") is False or None, what="the fan to leave the peer")
    assert rel(stranger["id"]).get("following") is False
    received_one(flow, "Undo", lambda e: e.get("actor") == fan["uri"], "the fan's Undo of its Follow of the peer")


# -- i. a peer that behaves as GoToSocial does --------------------------------------------------
#
# gts_peer (PEER_MODE=gotosocial) signs with a key id without a fragment (/users/gts/main-key,
# which serves a cut-down actor stub with no inbox), requires signed GETs for its actor and
# collections, and answers 500 to a signer whose WebFinger subject has a colon in its username.


def test_i_kring_looks_up_the_gotosocial_peer(flow: Flow, gts_peer):
    """Kring's signed GET (by its instance actor, whose name must be a valid username) reads the
    peer's actor, and stores its fragment-less key id."""
    flow.need("a")
    resp = check(flow.get("/api/v2/search", params={"q": gts_peer.acct, "resolve": "true", "type": "accounts"}),
                 what=f"GET /api/v2/search?q={gts_peer.acct}&resolve=true")
    accounts = [a for a in resp.json().get("accounts", []) if a.get("acct") == gts_peer.acct]
    assert accounts, (f"search with resolve=true must find {gts_peer.acct} (a peer that requires "
                      f"signed GETs and strict signer names): {_short(resp.json())}")
    assert accounts[0].get("uri") == gts_peer.actor_url or accounts[0].get("url") == gts_peer.actor_url
    flow.done.add("i-lookup")


def test_i_gotosocial_deliveries_are_accepted_first_and_later(flow: Flow, gts_peer):
    """Deliveries signed with /users/gts/main-key pass on the first try and every later one."""
    flow.need("a")
    health = gts_peer.control("GET", "health")
    assert health["keyId"] == f"{gts_peer.actor_url}/main-key", health
    for n, inbox in enumerate(_inboxes(flow) * 2):
        res = gts_peer.control("POST", "signed-inbox", {"inbox": inbox, "tamper": "none"})
        assert 200 <= res["status"] < 300, (
            f"delivery {n + 1} to {inbox}, signed with the fragment-less key id "
            f"{health['keyId']}, must be accepted; got {res['status']}: {res['body']}\n"
            f"Signature: {res['signature']}")
    for inbox in _inboxes(flow):
        res = gts_peer.control("POST", "signed-inbox", {"inbox": inbox, "tamper": "signature"})
        assert res["status"] == 401, f"a broken signature under that key id is refused: {res['status']}"


def test_i_follows_both_ways_with_the_gotosocial_peer(flow: Flow, gts_peer):
    """The peer follows alice (Kring verifies its Follow, the peer verifies Kring's Accept after
    WebFingering alice); alice follows the peer and sees its post."""
    flow.need("a", "i-lookup")
    gts_peer.control("POST", "follow", {"target": flow.actor_url})
    got = received_one_from(gts_peer, "Accept", lambda e: e.get("actor") == flow.actor_url,
                            f"an Accept from {flow.actor_url}")
    assert got.get("matched_follow"), f"the Accept names the peer's Follow: {without_raw(got)}"

    def listed():
        accts = [a.get("acct") for a in check(flow.get(f"/api/v1/accounts/{flow.alice_id}/followers")).json()]
        return gts_peer.acct in accts

    eventually(listed, what=f"alice's followers to list {gts_peer.acct}")

    resp = check(flow.get("/api/v2/search", params={"q": gts_peer.acct, "resolve": "true", "type": "accounts"}))
    account_id = [a for a in resp.json()["accounts"] if a.get("acct") == gts_peer.acct][0]["id"]
    check(flow.post(f"/api/v1/accounts/{account_id}/follow"))

    def following():
        r = check(flow.get("/api/v1/accounts/relationships", params={"id[]": account_id})).json()
        return r[0] if r and r[0].get("following") is True else None

    eventually(following, what=f"alice to follow {gts_peer.acct} (the peer's Accept is signed with "
                               "its fragment-less key id)")
    token = secrets.token_hex(4)
    sent = gts_peer.control("POST", "post", {"content": f"<p>Hello as GoToSocial {token}</p>", "to": "public"})
    status = eventually(_home_has(flow, token), what=f"alice's home timeline to show {sent['note']}")
    assert status["account"]["acct"] == gts_peer.acct


def received_one_from(peer, type_: str, pred: Callable[[dict], bool], what: str) -> dict:
    def find():
        for entry in peer.received(type_):
            if entry.get("handled") and pred(entry):
                return entry
        return None

    return eventually(find, what=f"the peer to receive {what}")
