// SPDX-License-Identifier: AGPL-3.0-or-later
// Real-client flow: masto.js (the library under Elk and Phanpy) drives the real kring binary.
//
// Users (all local):
//   alice  signs up through the API (masto.js sends that as multipart/form-data), posts,
//          follows carol, favourites and replies, keeps a list, edits her profile
//          (update_credentials, multipart/form-data again);
//   carol  created with `kring admin create-user`, logs in with the password grant, posts.
//
// The steps share state and run in order; after the first failure the rest are skipped. Every
// request masto.js makes is recorded (method, path, content type) so the flow can prove which
// bodies really went as multipart.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createOAuthAPIClient, createRestAPIClient } from "masto";
import { startServer } from "./server.mjs";

const SCOPES = "read write follow push";
const OOB = "urn:ietf:wg:oauth:2.0:oob";
const PASSWORD = "correct horse battery staple 9";
const TIMEOUT = 30000;

let server;
const sent = [];
let firstFailure = null;
const s = {}; // state shared by the steps

// Record what masto.js puts on the wire; the request itself goes out unchanged.
const realFetch = globalThis.fetch;
globalThis.fetch = (input, init) => {
  const req = input instanceof Request ? input : new Request(input, init);
  sent.push({
    method: req.method,
    path: new URL(req.url).pathname,
    contentType: req.headers.get("content-type") || "",
  });
  return realFetch(req);
};

/// The content type of the last request masto.js made for METHOD PATH.
function sentAs(method, path) {
  const r = sent.findLast((x) => x.method === method && x.path === path);
  assert.ok(r, `masto.js made no ${method} ${path}`);
  return r.contentType.replace(/;.*$/, "");
}

/// One step of the flow: skipped once an earlier one failed.
function step(name, fn) {
  test(name, { timeout: TIMEOUT }, async (t) => {
    if (firstFailure) {
      t.skip(`an earlier step failed: ${firstFailure}`);
      return;
    }
    try {
      await fn();
    } catch (e) {
      firstFailure = name;
      throw e;
    }
  });
}

/// Poll until `check()` returns something truthy (notifications and feeds may be async).
async function eventually(check, what, ms = 10000) {
  const until = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const client = (accessToken) =>
  createRestAPIClient({ url: server.base, accessToken, timeout: TIMEOUT });
const ids = (xs) => xs.map((x) => x.id);
const plain = (html) => html.replace(/<[^>]+>/g, " ");

before(async () => {
  server = await startServer();
});

after(async () => {
  if (firstFailure && server) {
    console.error(`--- kring server log ---\n${server.log()}\n--- end of server log ---`);
  }
  await server?.stop();
});

step("apps: register an app", async () => {
  const anon = createRestAPIClient({ url: server.base, timeout: TIMEOUT });
  const app = await anon.v1.apps.create({
    clientName: "kring masto.js flow",
    redirectUris: OOB,
    scopes: SCOPES,
    website: "https://example.org/kring-tests",
  });
  assert.ok(app.clientId && app.clientSecret, "client_id and client_secret");
  assert.equal(app.name, "kring masto.js flow");
  assert.equal(sentAs("POST", "/api/v1/apps"), "application/json");
  s.app = app;
  s.tag = "kr" + randomBytes(5).toString("hex");
});

step("token: client credentials, from masto.js and as a browser FormData post", async () => {
  const oauth = createOAuthAPIClient({ url: server.base, timeout: TIMEOUT });
  const token = await oauth.token.create({
    grantType: "client_credentials",
    clientId: s.app.clientId,
    clientSecret: s.app.clientSecret,
    redirectUri: OOB,
    scope: SCOPES,
  });
  assert.ok(token.accessToken, "access_token");
  assert.equal(token.tokenType, "Bearer");
  // masto.js always sends the token request as JSON (its meta.encoding is overridden)...
  assert.equal(sentAs("POST", "/oauth/token"), "application/json");
  s.appToken = token.accessToken;

  // ...while web clients that exchange tokens themselves often post a FormData, which fetch
  // sends as multipart/form-data.
  const form = new FormData();
  form.append("grant_type", "client_credentials");
  form.append("client_id", s.app.clientId);
  form.append("client_secret", s.app.clientSecret);
  form.append("redirect_uri", OOB);
  form.append("scope", "read");
  const res = await fetch(`${server.base}/oauth/token`, { method: "POST", body: form });
  assert.equal(sentAs("POST", "/oauth/token"), "multipart/form-data");
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.ok(body.access_token, "access_token");
  assert.equal(body.scope, "read");
});

step("sign-up: a new account through the API (multipart/form-data)", async () => {
  const app = client(s.appToken);
  const token = await app.v1.accounts.create({
    username: "alice",
    email: "alice@kring.test",
    password: PASSWORD,
    agreement: true,
    locale: "en",
    reason: "testing masto.js",
  });
  assert.equal(sentAs("POST", "/api/v1/accounts"), "multipart/form-data");
  assert.ok(token.accessToken, "sign-up returns a usable token");
  s.alice = client(token.accessToken);
  const me = await s.alice.v1.accounts.verifyCredentials();
  assert.equal(me.username, "alice");
  s.aliceId = me.id;

  // A bad sign-up (taken name) is a 422 with Mastodon's error body, as multipart too.
  await assert.rejects(
    app.v1.accounts.create({
      username: "alice",
      email: "alice2@kring.test",
      password: PASSWORD,
      agreement: true,
      locale: "en",
    }),
    (e) => e.statusCode === 422 && typeof e.message === "string" && e.message.length > 0,
  );
});

step("token: password grant for an admin-created account", async () => {
  server.createUser({ username: "carol", email: "carol@kring.test", password: PASSWORD });
  const oauth = createOAuthAPIClient({ url: server.base, timeout: TIMEOUT });
  const token = await oauth.token.create({
    grantType: "password",
    clientId: s.app.clientId,
    clientSecret: s.app.clientSecret,
    redirectUri: OOB,
    scope: SCOPES,
    username: "carol@kring.test",
    password: PASSWORD,
  });
  s.carol = client(token.accessToken);
  const me = await s.carol.v1.accounts.verifyCredentials();
  assert.equal(me.username, "carol");
  s.carolId = me.id;
});

step("post: statuses with a content warning and a hashtag", async () => {
  const mine = await s.alice.v1.statuses.create({
    status: `hello from masto.js #${s.tag}`,
    visibility: "public",
    spoilerText: "a test",
    language: "en",
  });
  assert.equal(mine.visibility, "public");
  assert.equal(mine.spoilerText, "a test");
  assert.match(plain(mine.content), new RegExp(s.tag));
  assert.equal(sentAs("POST", "/api/v1/statuses"), "application/json");
  s.alicePost = mine;
  s.carolPost = await s.carol.v1.statuses.create({ status: `carol says hi #${s.tag}` });
  assert.equal(s.carolPost.account.id, s.carolId);
});

step("home: follow, then the home timeline has both posts", async () => {
  const rel = await s.alice.v1.accounts.$select(s.carolId).follow({ reblogs: true });
  assert.equal(rel.following, true);
  const home = await eventually(async () => {
    const page = await s.alice.v1.timelines.home.list({ limit: 20 });
    const got = ids(page);
    return got.includes(s.alicePost.id) && got.includes(s.carolPost.id) && page;
  }, "both posts on alice's home timeline");
  assert.ok(home.length >= 2);
});

step("favourite: alice favourites carol's post", async () => {
  const fav = await s.alice.v1.statuses.$select(s.carolPost.id).favourite();
  assert.equal(fav.favourited, true);
  assert.equal(fav.favouritesCount, 1);
  const seen = await s.carol.v1.statuses.$select(s.carolPost.id).fetch();
  assert.equal(seen.favouritesCount, 1);
});

step("context: a reply shows up in the thread", async () => {
  const reply = await s.alice.v1.statuses.create({
    status: "@carol nice one",
    inReplyToId: s.carolPost.id,
  });
  assert.equal(reply.inReplyToId, s.carolPost.id);
  const ctx = await s.carol.v1.statuses.$select(s.carolPost.id).context.fetch();
  assert.deepEqual(ctx.ancestors, []);
  assert.ok(ids(ctx.descendants).includes(reply.id), "the reply is a descendant");
  const up = await s.alice.v1.statuses.$select(reply.id).context.fetch();
  assert.deepEqual(ids(up.ancestors), [s.carolPost.id]);
  s.reply = reply;
});

step("notifications: carol hears of the follow, the favourite and the mention", async () => {
  const notes = await eventually(async () => {
    const page = await s.carol.v1.notifications.list({ limit: 40 });
    const types = new Set(page.filter((n) => n.account.id === s.aliceId).map((n) => n.type));
    return types.has("follow") && types.has("favourite") && types.has("mention") && page;
  }, "follow, favourite and mention notifications");
  const mention = notes.find((n) => n.type === "mention");
  assert.equal(mention.status.id, s.reply.id);
  const fav = notes.find((n) => n.type === "favourite");
  assert.equal(fav.status.id, s.carolPost.id);
});

step("lists: create, add an account, read its timeline", async () => {
  const list = await s.alice.v1.lists.create({ title: "friends" });
  assert.equal(list.title, "friends");
  await s.alice.v1.lists.$select(list.id).accounts.create({ accountIds: [s.carolId] });
  const members = await s.alice.v1.lists.$select(list.id).accounts.list();
  assert.deepEqual(ids(members), [s.carolId]);
  const timeline = await eventually(async () => {
    const page = await s.alice.v1.timelines.list.$select(list.id).list();
    return ids(page).includes(s.carolPost.id) && page;
  }, "carol's post on the list timeline");
  assert.ok(!ids(timeline).includes(s.alicePost.id), "only members' posts are on a list");
  const renamed = await s.alice.v1.lists.$select(list.id).update({ title: "close friends" });
  assert.equal(renamed.title, "close friends");
  const all = await s.alice.v1.lists.list();
  assert.deepEqual(all.map((l) => l.title), ["close friends"]);
});

step("search: accounts, hashtags and statuses", async () => {
  const accounts = await s.alice.v2.search.list({ q: "carol", type: "accounts" });
  assert.ok(ids(accounts.accounts).includes(s.carolId), "carol is found");
  const found = await s.alice.v2.search.list({ q: `#${s.tag}` });
  assert.ok(found.hashtags.some((h) => h.name === s.tag), "the hashtag is found");
  const posts = await s.alice.v2.search.list({ q: s.tag, type: "statuses" });
  assert.ok(ids(posts.statuses).includes(s.alicePost.id), "alice's post is found by its text");
});

step("update_credentials: profile, fields and source (multipart/form-data)", async () => {
  const me = await s.alice.v1.accounts.updateCredentials({
    displayName: "Alice in Kring",
    note: "Trying masto.js",
    locked: false,
    bot: false,
    discoverable: true,
    fieldsAttributes: [
      { name: "Pronouns", value: "she/her" },
      { name: "Site", value: "example.org" },
    ],
    source: { privacy: "unlisted", sensitive: true, language: "nl" },
  });
  assert.equal(sentAs("PATCH", "/api/v1/accounts/update_credentials"), "multipart/form-data");
  assert.equal(me.displayName, "Alice in Kring");
  assert.match(plain(me.note), /Trying masto\.js/);
  assert.deepEqual(me.fields.map((f) => f.name), ["Pronouns", "Site"]);
  assert.equal(me.source.privacy, "unlisted");
  assert.equal(me.source.sensitive, true);
  assert.equal(me.source.language, "nl");
  const again = await s.alice.v1.accounts.verifyCredentials();
  assert.equal(again.displayName, "Alice in Kring");
  assert.equal(again.source.privacy, "unlisted");
  assert.deepEqual(again.fields.map((f) => plain(f.value).trim()), ["she/her", "example.org"]);
  // The new default privacy applies to the next post.
  const next = await s.alice.v1.statuses.create({ status: "default privacy now" });
  assert.equal(next.visibility, "unlisted");

  // An avatar that is no picture (four bytes of a PNG's signature) is refused with a clear
  // 422 rather than dropped.
  await assert.rejects(
    s.alice.v1.accounts.updateCredentials({
      avatar: new Blob([new Uint8Array([0x89, 0x50, 0x4e, 0x47])], { type: "image/png" }),
    }),
    (e) => e.statusCode === 422 && /file/i.test(e.message),
  );
});

// A 24 × 16 PNG (ffmpeg's plain colour), with a text chunk that must not survive.
const PNG_24X16 = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAABgAAAAQCAIAAACDRijCAAAACXBIWXMAAAABAAAAAQBPJcTWAAAAGklEQVR4nGOQ32dHFcQwatCoQaMGjRpEGQIAcsiokPLm8TQAAAAASUVORK5CYII=",
  "base64",
);

/// PNG_24X16 with a tEXt chunk ("Comment", TEXT) right after its header chunk.
function pngWithText(text) {
  const body = Buffer.concat([Buffer.from("tEXt"), Buffer.from(`Comment\0${text}`)]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(body.length - 4);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  const headerEnd = 8 + 4 + 4 + 13 + 4;
  return Buffer.concat([PNG_24X16.subarray(0, headerEnd), len, body, crc, PNG_24X16.subarray(headerEnd)]);
}

function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

step("media: upload with alt text (multipart), a status with it, read back", async () => {
  const secret = "KringSecretComment-4242";
  const png = pngWithText(secret);
  assert.ok(png.includes(secret));
  const alt = "A plain green rectangle";
  const media = await s.alice.v2.media.create({
    file: new Blob([png], { type: "image/png" }),
    description: alt,
  });
  assert.equal(sentAs("POST", "/api/v2/media"), "multipart/form-data");
  assert.equal(media.type, "image");
  assert.equal(media.description, alt);
  assert.ok(media.url && media.previewUrl, "pictures are processed before the answer");
  assert.equal(media.meta.original.width, 24);
  assert.equal(media.meta.original.height, 16);
  assert.ok(typeof media.blurhash === "string" && media.blurhash.length >= 6);
  const served = Buffer.from(await (await realFetch(media.url)).arrayBuffer());
  assert.deepEqual([...served.subarray(0, 8)], [...PNG_24X16.subarray(0, 8)], "still a PNG");
  assert.ok(!served.includes(secret), "the text chunk is gone");

  const status = await s.alice.v1.statuses.create({ status: `a picture ${s.tag}`, mediaIds: [media.id] });
  assert.deepEqual(ids(status.mediaAttachments), [media.id]);
  const read = await s.carol.v1.statuses.$select(status.id).fetch();
  assert.deepEqual(
    read.mediaAttachments.map((m) => [m.id, m.description, m.url]),
    [[media.id, alt, media.url]],
  );
  const fetched = await s.alice.v1.media.$select(media.id).fetch();
  assert.equal(fetched.description, alt);
});

step("update_credentials: an avatar as a file", async () => {
  const me = await s.alice.v1.accounts.updateCredentials({
    avatar: new Blob([PNG_24X16], { type: "image/png" }),
  });
  assert.equal(sentAs("PATCH", "/api/v1/accounts/update_credentials"), "multipart/form-data");
  const avatar = new URL(me.avatar);
  assert.equal(avatar.origin, server.base, "served by this server");
  assert.match(avatar.pathname, /^\/media\//);
  const resp = await realFetch(me.avatar);
  assert.equal(resp.status, 200);
  assert.match(resp.headers.get("content-type"), /^image\//);
  const again = await s.alice.v1.accounts.verifyCredentials();
  assert.equal(again.avatar, me.avatar);
  const seen = await s.carol.v1.accounts.$select(again.id).fetch();
  assert.equal(seen.avatar, me.avatar);
});
