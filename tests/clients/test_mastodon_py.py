# SPDX-License-Identifier: AGPL-3.0-or-later
"""Real-client flow: Mastodon.py 2.x drives the real kring server binary.

Users (all local):
  alice (A)  registers through the API (create_app + create_account);
  bob   (B)  registers through the API, then logs in again with the password
             grant (log_in) and uses that token; locks his account;
  carol (C)  created with `kring admin create-user`, logs in with the password
             grant; follows nobody (the privacy checks).

The steps run in order and share state; after the first failing step the
rest are skipped (marker `incremental`, see conftest.py).
"""

from __future__ import annotations

import base64
import html
import json
import queue
import re
import secrets
import struct
import time
import types
import uuid
import zlib

import pytest
import requests
import websocket
from mastodon import (
    Mastodon,
    MastodonAPIError,
    MastodonIllegalArgumentError,
    MastodonNotFoundError,
    StreamListener,
)

SCOPES = ["read", "write", "follow", "push"]
PASSWORD = "correct horse battery staple 7"
REQUEST_TIMEOUT = 30
EVENT_TIMEOUT = 10.0


# -- helpers ------------------------------------------------------------------------


def new_client(base_url: str, app_name: str) -> Mastodon:
    """Register an app (POST /api/v1/apps) and return an unauthenticated client for it."""
    client_id, client_secret = Mastodon.create_app(
        app_name,
        scopes=SCOPES,
        api_base_url=base_url,
        request_timeout=REQUEST_TIMEOUT,
        website="https://example.org/kring-tests",
    )
    assert client_id and client_secret, "POST /api/v1/apps must return client_id and client_secret"
    return Mastodon(
        client_id=client_id,
        client_secret=client_secret,
        api_base_url=base_url,  # plain http:// is kept as is by Mastodon.py
        request_timeout=REQUEST_TIMEOUT,
        version_check_mode="none",
        ratelimit_method="throw",
    )


def authed(base_url: str, token: str) -> Mastodon:
    return Mastodon(
        access_token=token,
        api_base_url=base_url,
        request_timeout=REQUEST_TIMEOUT,
        version_check_mode="none",
        ratelimit_method="throw",
    )


def sid(obj) -> str:
    """The id of a status/account/notification/list (or of an id) as a string."""
    if isinstance(obj, dict):
        return str(obj["id"])
    return str(obj)


def ids(items) -> list[str]:
    return [sid(x) for x in items]


def plain(status_or_edit) -> str:
    """The visible text of a status's HTML content."""
    content = status_or_edit["content"] or ""
    return html.unescape(re.sub(r"<[^>]+>", " ", content))


def eventually(check, what: str, timeout: float = EVENT_TIMEOUT, interval: float = 0.2):
    """Poll `check()` until it returns something truthy (notifications and feeds may be async)."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def notes_of(client: Mastodon, type_: str, *, status=None, account=None, **kwargs):
    """Notifications of one type (optionally about one status / from one account)."""
    found = []
    for n in client.notifications(limit=40, **kwargs):
        if n["type"] != type_:
            continue
        if status is not None and (n.get("status") is None or sid(n["status"]) != sid(status)):
            continue
        if account is not None and sid(n["account"]) != sid(account):
            continue
        found.append(n)
    return found


class Collector(StreamListener):
    """Mastodon.py stream listener that queues `update` events."""

    def __init__(self):
        super().__init__()
        self.updates: queue.Queue = queue.Queue()
        self.errors: list = []

    def on_update(self, status):
        self.updates.put(status)

    def on_abort(self, err):
        self.errors.append(err)

    def on_websocket_error(self, error, for_stream=None):
        self.errors.append(error)


# -- media fixtures (built here: no imaging library is needed) ---------------------------

# A 40 x 20 baseline JPEG (ffmpeg's test pattern; it carries a "Lavc" comment block).
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
# A 24 x 16 PNG.
PNG_24X16 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAABgAAAAQCAIAAACDRijCAAAACXBIWXMAAAABAAAAAQBPJcTWAAAAGklEQVR4nGOQ32dHFcQwatCoQaMGjRpEGQIAcsiokPLm8TQAAAAASUVORK5CYII="
)
# Text the EXIF block carries (a camera's make and serial): it must not survive anywhere.
CAMERA = b"KringTestCam-SN4242"


def jpeg_with_gps() -> bytes:
    """JPEG_40X20 with an EXIF block right after the start-of-image marker: made by CAMERA,
    orientation 6 (turn 90 degrees clockwise to show), taken at latitude 52 22' 12.34" N."""
    def entry(tag, kind, count, value):
        return struct.pack(">HHII", tag, kind, count, value)

    make_at = 8 + 2 + 3 * 12 + 4
    make_len = len(CAMERA) + 1
    gps_at = make_at + make_len
    lat_at = gps_at + 2 + 2 * 12 + 4
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8)
    tiff += struct.pack(">H", 3)
    tiff += entry(0x010F, 2, make_len, make_at)
    tiff += entry(0x0112, 3, 1, 6 << 16)
    tiff += entry(0x8825, 4, 1, gps_at)
    tiff += struct.pack(">I", 0) + CAMERA + b"\x00"
    tiff += struct.pack(">H", 2)
    tiff += entry(0x0001, 2, 2, int.from_bytes(b"N\x00\x00\x00", "big"))
    tiff += entry(0x0002, 5, 3, lat_at)
    tiff += struct.pack(">I", 0)
    for num, den in ((52, 1), (22, 1), (1234, 100)):
        tiff += struct.pack(">II", num, den)
    app1 = b"\xff\xe1" + struct.pack(">H", 2 + 6 + len(tiff)) + b"Exif\x00\x00" + tiff
    return JPEG_40X20[:2] + app1 + JPEG_40X20[2:]


def png_bomb_header() -> bytes:
    """PNG_24X16 with a header claiming 50,000 x 50,000 pixels (2.5 billion), its CRC fixed."""
    b = bytearray(PNG_24X16)
    b[16:24] = struct.pack(">II", 50_000, 50_000)
    b[29:33] = struct.pack(">I", zlib.crc32(bytes(b[12:29])))
    return bytes(b)


def jpeg_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a JPEG's first start-of-frame segment."""
    i = 2
    while i + 9 < len(data):
        assert data[i] == 0xFF, f"not a JPEG segment at {i}"
        marker, length = data[i + 1], struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            return width, height
        i += 2 + length
    raise AssertionError("no start-of-frame in the JPEG")


def media_files(server) -> list[str]:
    """Every file under the server's media directory (uploads and their thumbnails)."""
    root = server.data_dir / "media"
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []


def refused(call) -> tuple[int, str]:
    """The HTTP status and Mastodon's `error` text of a call Mastodon.py reports as an error."""
    with pytest.raises(MastodonAPIError) as info:
        call()
    _, status, _, error = info.value.args
    return status, error


# -- shared flow state ------------------------------------------------------------


@pytest.fixture(scope="module")
def flow(kring_server):
    return types.SimpleNamespace(
        server=kring_server,
        base=kring_server.base_url,
        tag="kr" + secrets.token_hex(5),  # unique word for the search checks
    )


@pytest.mark.incremental
class TestMastodonPyFlow:
    def test_01_register_apps_and_accounts(self, flow):
        base = flow.base
        # The instance document must be readable the way Mastodon.py reads it
        # (GET /api/v1/instance/ and /api/v2/instance/, with the trailing slash).
        anon = Mastodon(api_base_url=base, request_timeout=REQUEST_TIMEOUT, version_check_mode="none")
        inst_v1 = anon.instance_v1()
        assert inst_v1["uri"], "instance v1 has a uri"
        inst_v2 = anon.instance_v2()
        assert inst_v2["domain"], "instance v2 has a domain"
        version = anon.retrieve_mastodon_version(fail_hard=True)
        assert re.match(r"^\d+\.\d+\.\d+", version), f"Mastodon.py must parse the version {version!r}"

        # A: app + API registration; create_account returns a usable token.
        a = new_client(base, "kring-flow-alice")
        token_a = a.create_account("alice", PASSWORD, "alice@kring.test", agreement=True, locale="en")
        assert isinstance(token_a, str) and token_a
        me_a = a.account_verify_credentials()
        assert me_a["username"] == "alice"
        assert me_a["acct"] == "alice"
        assert me_a["locked"] is False
        # The token also works from a fresh client object.
        assert authed(base, token_a).account_verify_credentials()["id"] == me_a["id"]

        # B: API registration, then the password grant with a second app.
        b_signup = new_client(base, "kring-flow-bob-signup")
        token_b_signup = b_signup.create_account("bob", PASSWORD, "bob@kring.test", agreement=True, locale="en")
        assert token_b_signup
        me_b = b_signup.account_verify_credentials()
        assert me_b["username"] == "bob"
        b = new_client(base, "kring-flow-bob")
        token_b = b.log_in(username="bob@kring.test", password=PASSWORD, scopes=SCOPES, allow_http=True)
        assert isinstance(token_b, str) and token_b and token_b != token_b_signup
        assert sid(b.account_verify_credentials()) == sid(me_b)

        # A wrong password is refused.
        with pytest.raises(MastodonIllegalArgumentError):
            new_client(base, "kring-flow-bad-login").log_in(
                username="bob@kring.test", password="not the password", scopes=SCOPES, allow_http=True
            )
        # Registering the same username again is refused.
        with pytest.raises((MastodonIllegalArgumentError, MastodonAPIError)):
            new_client(base, "kring-flow-dup").create_account(
                "alice", PASSWORD, "alice2@kring.test", agreement=True, locale="en"
            )

        # C: created from the CLI, logs in with the password grant.
        flow.server.create_user("carol", "carol@kring.test", PASSWORD)
        c = new_client(base, "kring-flow-carol")
        token_c = c.log_in(username="carol@kring.test", password=PASSWORD, scopes=SCOPES, allow_http=True)
        assert token_c
        me_c = c.account_verify_credentials()
        assert me_c["username"] == "carol"

        # Unauthenticated calls to authenticated endpoints are refused.
        resp = requests.get(f"{base}/api/v1/accounts/verify_credentials", timeout=REQUEST_TIMEOUT)
        assert resp.status_code == 401, resp.text

        flow.a, flow.b, flow.c = a, b, c
        flow.token_a, flow.token_b, flow.token_c = token_a, token_b, token_c
        flow.alice_id, flow.bob_id, flow.carol_id = sid(me_a), sid(me_b), sid(me_c)

    def test_02_post_all_visibilities(self, flow):
        a, tag = flow.a, flow.tag
        posted = {}
        for visibility, text, spoiler in [
            ("public", f"public post {tag}", ""),
            ("unlisted", f"unlisted post {tag}", "cw: unlisted"),
            ("private", f"followers only post {tag}", "cw: private"),
            ("direct", f"@bob direct post {tag}", ""),
        ]:
            key = str(uuid.uuid4())
            status = a.status_post(text, visibility=visibility, spoiler_text=spoiler, idempotency_key=key)
            assert status["visibility"] == visibility
            assert status["account"]["username"] == "alice"
            assert text.split(" ", 1)[1] in plain(status), plain(status)
            assert status["spoiler_text"] == spoiler
            # Same Idempotency-Key: the same status comes back, none is created.
            again = a.status_post(text, visibility=visibility, spoiler_text=spoiler, idempotency_key=key)
            assert sid(again) == sid(status), "same idempotency key must return the same status"
            assert sid(a.status(status)) == sid(status)
            posted[visibility] = status

        direct = posted["direct"]
        assert [m["username"] for m in direct["mentions"]] == ["bob"]
        assert sid(direct["mentions"][0]) == flow.bob_id

        # A new key makes a new status even with the same text.
        other = a.status_post(f"public post {tag}", visibility="public", idempotency_key=str(uuid.uuid4()))
        assert sid(other) != sid(posted["public"])
        a.status_delete(other)

        own = ids(a.account_statuses(flow.alice_id, limit=40))
        for visibility in ("public", "unlisted", "private"):
            assert sid(posted[visibility]) in own, f"A sees her own {visibility} post"
        assert a.account_verify_credentials()["statuses_count"] >= 4

        flow.public, flow.unlisted = posted["public"], posted["unlisted"]
        flow.private, flow.direct = posted["private"], posted["direct"]

    def test_03_locked_account_and_follow_requests(self, flow):
        a, b = flow.a, flow.b
        me_b = b.account_update_credentials(locked=True)
        assert me_b["locked"] is True
        assert b.account_verify_credentials()["locked"] is True
        assert a.account(flow.bob_id)["locked"] is True

        rel = a.account_follow(flow.bob_id)
        assert rel["requested"] is True
        assert rel["following"] is False
        rel = a.account_relationships(flow.bob_id)[0]
        assert sid(rel) == flow.bob_id
        assert rel["requested"] is True and rel["following"] is False

        assert flow.alice_id in ids(b.follow_requests())
        eventually(
            lambda: notes_of(b, "follow_request", account=flow.alice_id),
            "B's follow_request notification from A",
        )

        rel = b.follow_request_authorize(flow.alice_id)
        assert sid(rel) == flow.alice_id
        assert rel["followed_by"] is True
        assert flow.alice_id not in ids(b.follow_requests())

        rel = a.account_relationships(flow.bob_id)[0]
        assert rel["following"] is True
        assert rel["requested"] is False
        assert flow.bob_id in ids(a.account_following(flow.alice_id))
        assert flow.alice_id in ids(b.account_followers(flow.bob_id))

        # A is not locked: B's follow takes effect at once.
        rel = b.account_follow(flow.alice_id)
        assert rel["following"] is True
        assert rel["requested"] is False
        rel = a.account_relationships(flow.bob_id)[0]
        assert rel["following"] is True and rel["followed_by"] is True

    def test_04_home_timeline_and_mention(self, flow):
        a, b, tag = flow.a, flow.b, flow.tag
        pub = a.status_post(f"public after the follow {tag}", visibility="public")
        priv = a.status_post(f"followers only after the follow {tag}", visibility="private")

        def home_has_both():
            home = ids(b.timeline_home(limit=40))
            return home if sid(pub) in home and sid(priv) in home else None

        home = eventually(home_has_both, "A's new public and followers-only posts in B's home timeline")
        assert home.index(sid(priv)) < home.index(sid(pub)), "home timeline is newest first"

        # As a follower B may now read A's earlier followers-only post.
        assert sid(b.status(flow.private)) == sid(flow.private)

        dm = a.status_post("@bob hello", visibility="direct")
        assert dm["visibility"] == "direct"
        assert sid(b.status(dm)) == sid(dm), "the mentioned user can read a direct post"
        note = eventually(lambda: notes_of(b, "mention", status=dm), "B's mention notification")[0]
        assert sid(note["account"]) == flow.alice_id
        assert note["status"]["visibility"] == "direct"

        flow.pub, flow.priv, flow.dm = pub, priv, dm

    def test_05_notifications(self, flow):
        a, b = flow.a, flow.b
        eventually(lambda: notes_of(a, "follow", account=flow.bob_id), "A's follow notification from B")
        # A's follow of B went through a request: B has no plain `follow` notification
        # (B's `follow_request` notification was checked in step 3, before the
        # authorization, which removes it in Mastodon).
        assert notes_of(b, "follow") == []

        mentions = b.notifications(types=["mention"], limit=40)
        assert mentions, "B has mention notifications"
        assert {n["type"] for n in mentions} == {"mention"}
        # (Only the step-4 mention is required: the step-2 one came from an account
        # B did not follow yet, which Mastodon >= 4.3 may file as a notification request.)
        assert sid(flow.dm) in {sid(n["status"]) for n in mentions}

        others = b.notifications(exclude_types=["mention"], limit=40)
        assert all(n["type"] != "mention" for n in others)

        one = b.notifications(id=mentions[0])
        assert sid(one) == sid(mentions[0])
        assert one["type"] == "mention"

    def test_06_favourite_reblog_bookmark(self, flow):
        a, b, post = flow.a, flow.b, flow.pub

        fav = b.status_favourite(post)
        assert fav["favourited"] is True
        assert fav["favourites_count"] == 1
        eventually(
            lambda: notes_of(a, "favourite", status=post, account=flow.bob_id), "A's favourite notification"
        )
        assert ids(a.status_favourited_by(post)) == [flow.bob_id]

        boost = b.status_reblog(post)
        assert boost["reblog"] is not None and sid(boost["reblog"]) == sid(post)
        assert boost["reblog"]["reblogged"] is True
        eventually(lambda: notes_of(a, "reblog", status=post, account=flow.bob_id), "A's reblog notification")
        assert ids(a.status_reblogged_by(post)) == [flow.bob_id]
        counts = a.status(post)
        assert counts["favourites_count"] == 1 and counts["reblogs_count"] == 1

        marked = b.status_bookmark(post)
        assert marked["bookmarked"] is True
        assert sid(post) in ids(b.bookmarks())
        unmarked = b.status_unbookmark(post)
        assert unmarked["bookmarked"] is False
        assert sid(post) not in ids(b.bookmarks())

    def test_07_lists(self, flow):
        a, b, tag = flow.a, flow.b, flow.tag
        lst = b.list_create("Alice only")
        assert lst["title"] == "Alice only"
        assert sid(lst) in ids(b.lists())

        b.list_accounts_add(lst, [flow.alice_id])
        assert ids(b.list_accounts(lst)) == [flow.alice_id]

        post = a.status_post(f"for the list {tag}", visibility="public")
        eventually(lambda: sid(post) in ids(b.timeline_list(lst)), "A's post in B's list timeline")
        listed = b.timeline_list(lst)
        assert all(s["account"]["username"] == "alice" for s in listed)

        renamed = b.list_update(lst, "Alice, renamed")
        assert renamed["title"] == "Alice, renamed"
        assert b.list(lst)["title"] == "Alice, renamed"

        b.list_delete(lst)
        assert sid(lst) not in ids(b.lists())
        with pytest.raises(MastodonNotFoundError):
            b.list(lst)

    def test_08_edit_status(self, flow):
        a, b, post, tag = flow.a, flow.b, flow.pub, flow.tag
        new_text = f"edited public post {tag}"
        edited = a.status_update(post, new_text)
        assert sid(edited) == sid(post)
        assert "edited public post" in plain(edited)
        assert edited["edited_at"] is not None

        history = a.status_history(post)
        assert len(history) == 2, [plain(h) for h in history]
        assert "public after the follow" in plain(history[0])
        assert "edited public post" in plain(history[1])

        source = a.status_source(post)
        assert sid(source) == sid(post)
        assert source["text"] == new_text

        assert "edited public post" in plain(b.status(post))
        # B reblogged it (step 6), so B is told about the edit.
        eventually(lambda: notes_of(b, "update", status=post), "B's update notification")

    def test_09_delete_status(self, flow):
        a, b, victim = flow.a, flow.b, flow.unlisted
        deleted = a.status_delete(victim)
        assert sid(deleted) == sid(victim)
        with pytest.raises(MastodonNotFoundError):
            a.status(victim)
        with pytest.raises(MastodonNotFoundError):
            b.status(victim)
        assert sid(victim) not in ids(a.account_statuses(flow.alice_id, limit=40))

    def test_10a_streaming_mastodon_py_websocket(self, flow):
        """Mastodon.py 2.x WebSocket streaming: one connection to /api/v1/streaming
        (token in the Authorization header), then {"type":"subscribe","stream":"user"}."""
        a, b, tag = flow.a, flow.b, flow.tag
        listener = Collector()
        handle = b.stream_open_websocket(listener, timeout=60)
        try:
            b.stream_user(listener, websocket_handle=handle)
            time.sleep(1.0)  # the protocol has no subscription acknowledgement
            post = a.status_post(f"streamed over the websocket {tag}", visibility="public")
            deadline = time.monotonic() + EVENT_TIMEOUT
            got = None
            while got is None:
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"no `update` event for {sid(post)} within {EVENT_TIMEOUT:.0f}s; errors: {listener.errors}"
                try:
                    status = listener.updates.get(timeout=remaining)
                except queue.Empty:
                    continue
                if sid(status) == sid(post):
                    got = status
            assert got["account"]["username"] == "alice"
            assert "streamed over the websocket" in plain(got)
            assert listener.errors == []
        finally:
            handle.close()

    def test_10b_streaming_raw_websocket_query_params(self, flow):
        """The browser-style form: ws://HOST/api/v1/streaming?access_token=…&stream=user."""
        a, tag = flow.a, flow.tag
        url = f"{flow.server.ws_url}/api/v1/streaming?access_token={flow.token_b}&stream=user"
        ws = websocket.create_connection(url, timeout=EVENT_TIMEOUT)
        try:
            time.sleep(0.5)
            post = a.status_post(f"streamed to a raw websocket {tag}", visibility="public")
            deadline = time.monotonic() + EVENT_TIMEOUT
            while True:
                assert time.monotonic() < deadline, f"no `update` event for {sid(post)}"
                try:
                    raw = ws.recv()
                except websocket.WebSocketTimeoutException:
                    pytest.fail(f"no `update` event for {sid(post)} within {EVENT_TIMEOUT:.0f}s")
                if not raw:
                    continue
                message = json.loads(raw)
                if message.get("event") != "update":
                    continue
                assert message.get("stream") == ["user"], message
                assert isinstance(message["payload"], str), "payload is a JSON-encoded string"
                payload = json.loads(message["payload"])
                if str(payload["id"]) == sid(post):
                    assert payload["account"]["username"] == "alice"
                    break
        finally:
            ws.close()

    def test_11_privacy_for_non_followers(self, flow):
        c, tag = flow.c, flow.tag
        hidden = [flow.private, flow.direct, flow.priv, flow.dm]
        hidden_ids = set(ids(hidden))

        for status in hidden:
            with pytest.raises(MastodonNotFoundError):
                c.status(status)
            anon = requests.get(f"{flow.base}/api/v1/statuses/{sid(status)}", timeout=REQUEST_TIMEOUT)
            assert anon.status_code in (401, 403, 404), anon.text
        # The public post stays visible.
        assert sid(c.status(flow.public)) == sid(flow.public)

        seen = ids(c.account_statuses(flow.alice_id, limit=40))
        assert sid(flow.public) in seen
        assert hidden_ids.isdisjoint(seen), "C sees none of A's private or direct posts on her profile"

        assert hidden_ids.isdisjoint(ids(c.timeline_home(limit=40)))
        assert hidden_ids.isdisjoint(ids(c.timeline_public(limit=40)))

        found = c.search_v2(tag)
        assert hidden_ids.isdisjoint(ids(found["statuses"])), "search never leaks private or direct posts"
        accounts = c.search_v2("alice", result_type="accounts")["accounts"]
        assert flow.alice_id in ids(accounts)

    def test_11b_groups_by_follow_and_mention(self, flow):
        """Groups from an app that knows none (issue 11): the group is an account with
        `group: true`; following it joins; a post mentioning it is posted to the group and shows
        in the group's timeline with its `group`; unfollowing leaves."""
        a, b = flow.a, flow.b
        name = "club" + secrets.token_hex(4)
        # Creating a group is Kring's (Truth Social's) groups API, which Mastodon.py lacks.
        made = requests.post(f"{flow.base}/api/v1/groups", timeout=30,
                             headers={"Authorization": f"Bearer {a.access_token}"},
                             json={"display_name": "Book club", "username": name, "kind": "public"})
        assert made.status_code == 200, made.text
        found = [x for x in b.account_search(name) if x["acct"] == name]
        assert found and found[0]["group"] is True, found
        group = found[0]
        rel = b.account_follow(group)
        assert rel["following"] is True, rel

        post = b.status_post(f"@{name} first meeting on friday {flow.tag}")
        assert post["group"] and sid(post["group"]) == sid(group), post

        def in_group():
            tl = requests.get(f"{flow.base}/api/v1/timelines/group/{sid(group)}", timeout=30,
                              headers={"Authorization": f"Bearer {b.access_token}"}).json()
            return [s for s in tl if s["id"] == sid(post)] or None

        eventually(in_group, "the post by mention in the group's timeline")
        b.account_unfollow(group)
        assert b.account_relationships(group)[0]["following"] is False
        members = requests.get(f"{flow.base}/api/v1/groups/{sid(group)}/memberships", timeout=30,
                               headers={"Authorization": f"Bearer {a.access_token}"}).json()
        assert flow.bob_id not in [sid(m["account"]) for m in members], members

    def test_12_conversations(self, flow):
        """Chats through Mastodon.py's conversations calls (issue 12): a direct post makes a
        conversation for its people, a reply stays in it, unread and mark-read work, and the
        person left out (C) sees nothing of it."""
        a, b, c = flow.a, flow.b, flow.c
        first = b.status_post(f"@alice meet at noon {flow.tag}", visibility="direct")

        def alices():
            for conv in a.conversations():
                if conv["last_status"] and sid(conv["last_status"]) == sid(first):
                    return conv
            return None

        conv = eventually(alices, "B's direct post as a conversation of A's")
        assert conv["unread"] is True, conv
        assert flow.bob_id in ids(conv["accounts"]), conv
        assert flow.alice_id not in ids(conv["accounts"]), "the viewer is not among the accounts"

        reply = a.status_post("@bob noon is fine", visibility="direct", in_reply_to_id=first)
        mine = [x for x in a.conversations() if sid(x) == sid(conv)]
        assert mine and sid(mine[0]["last_status"]) == sid(reply), mine
        read = a.conversations_read(conv)
        assert read["unread"] is False, read
        assert all(not x["unread"] for x in a.conversations() if sid(x) == sid(conv))

        def bobs():
            for x in b.conversations():
                if x["last_status"] and sid(x["last_status"]) == sid(reply):
                    return x
            return None

        theirs = eventually(bobs, "A's reply in B's conversation")
        assert theirs["unread"] is True, theirs
        assert flow.alice_id in ids(theirs["accounts"]), theirs

        # C is in neither post: no conversation, and neither post is readable.
        assert all(sid(x["last_status"]) not in {sid(first), sid(reply)}
                   for x in c.conversations() if x.get("last_status"))
        for status in (first, reply):
            with pytest.raises(MastodonNotFoundError):
                c.status(status)

    def test_13a_media_post_strips_metadata_keeps_alt_text(self, flow):
        """Media (issue 13): `media_post` of a JPEG with GPS EXIF and alt text, a status with
        it, read back (alt text, meta, blurhash), the served file and its thumbnail without
        EXIF, then `media_update` of the description before another post uses it."""
        a, b = flow.a, flow.b
        photo = jpeg_with_gps()
        assert b"Exif\x00\x00" in photo and CAMERA in photo and b"Lavc" in photo
        alt = "A test card: coloured bars, turned upright"
        media = a.media_post(photo, mime_type="image/jpeg", description=alt, focus=(0.5, -0.25),
                             file_name="holiday.jpg")
        assert media["type"] == "image", media
        assert media["description"] == alt
        assert media["url"] and media["preview_url"], "pictures are processed before the answer"
        # EXIF orientation 6 is applied, then dropped: 40 x 20 becomes 20 x 40.
        original = media["meta"]["original"]
        assert (original["width"], original["height"]) == (20, 40), media["meta"]
        assert abs(original["aspect"] - 0.5) < 0.01, media["meta"]
        assert media["meta"]["small"]["width"] and media["meta"]["small"]["height"], media["meta"]
        assert media["meta"]["focus"] == {"x": 0.5, "y": -0.25}, media["meta"]
        assert isinstance(media["blurhash"], str) and len(media["blurhash"]) >= 6, media
        again = a.media(media)
        assert again["url"] == media["url"] and again["description"] == alt

        for url in (media["url"], media["preview_url"]):
            resp = requests.get(url, timeout=REQUEST_TIMEOUT)
            assert resp.status_code == 200, (url, resp.status_code)
            assert resp.headers["Content-Type"] == "image/jpeg"
            assert resp.headers.get("X-Content-Type-Options") == "nosniff"
            body = resp.content
            assert body[:3] == b"\xff\xd8\xff", "a JPEG"
            assert b"Exif" not in body and CAMERA not in body and b"Lavc" not in body, \
                f"metadata survived in {url}"
        served = requests.get(media["url"], timeout=REQUEST_TIMEOUT).content
        assert jpeg_size(served) == (20, 40)

        status = a.status_post(f"a picture {flow.tag}", media_ids=[media])
        attached = status["media_attachments"]
        assert ids(attached) == [sid(media)], attached
        assert attached[0]["description"] == alt
        assert attached[0]["blurhash"] == media["blurhash"]
        # Another person reads it back with its alt text and sizes.
        seen = b.status(status)["media_attachments"]
        assert [(m["id"], m["description"], m["url"]) for m in seen] == [(sid(media), alt, media["url"])]
        assert seen[0]["meta"]["original"]["width"] == 20

        # media_update changes the alt text of a fresh upload; a post with it shows the new one.
        second = a.media_post(photo, mime_type="image/jpeg", description="first words")
        updated = a.media_update(second, description="Better words: the same test card")
        assert updated["description"] == "Better words: the same test card"
        assert a.media(second)["description"] == "Better words: the same test card"
        two = a.status_post("the same card again", media_ids=[second])
        assert two["media_attachments"][0]["description"] == "Better words: the same test card"
        # An upload used by a post cannot go into another one.
        status_code, _ = refused(lambda: a.status_post("reused", media_ids=[media]))
        assert status_code == 422
        flow.media_status = status

    def test_13b_bad_files_are_refused_and_leave_nothing_behind(self, flow):
        """A malformed JPEG, a PNG header claiming 50,000 x 50,000 pixels, an HTML file called
        photo.jpg and a picture over the size limit are refused with 422/413 and Mastodon's
        JSON error; no file is left and no upload can be attached afterwards."""
        a = flow.a
        before = media_files(flow.server)
        assert before, "the earlier step's uploads are on disk"
        broken = b"\xff\xd8\xff\xe0\x00\x10" + b"\x42" * 500
        html_file = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
        limit = a.instance_v2()["configuration"]["media_attachments"]["image_size_limit"]
        oversized = b"\xff\xd8\xff\xe0" + b"\x00" * (limit + 1000)
        cases = [
            ("malformed", broken, "broken.jpg", "image/jpeg", 422),
            ("decompression bomb", png_bomb_header(), "bomb.png", "image/png", 422),
            ("HTML called a JPEG", html_file, "photo.jpg", "image/jpeg", 422),
            ("over the size limit", oversized, "big.jpg", "image/jpeg", 413),
        ]
        for what, data, name, mime, expected in cases:
            status_code, error = refused(
                lambda: a.media_post(data, mime_type=mime, file_name=name, description="x"))
            assert status_code == expected, (what, status_code, error)
            assert isinstance(error, str) and error, (what, error)
            # The body is Mastodon's JSON error as such.
            raw = requests.post(f"{flow.base}/api/v2/media", timeout=REQUEST_TIMEOUT,
                                headers={"Authorization": f"Bearer {a.access_token}"},
                                files={"file": (name, data, mime)})
            assert raw.status_code == expected, (what, raw.status_code)
            assert isinstance(raw.json().get("error"), str), (what, raw.text)
        assert "too large" in refused(lambda: a.media_post(png_bomb_header(), mime_type="image/png"))[1]
        assert media_files(flow.server) == before, "a refused upload left a file behind"
        # Nothing was stored to attach: only the earlier uploads exist, and no unknown id posts.
        status_code, _ = refused(lambda: a.status_post("ghost", media_ids=["999999999999"]))
        assert status_code == 422
