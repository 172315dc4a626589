// SPDX-License-Identifier: AGPL-3.0-or-later
//
// An independent ActivityPub peer for Kring's federation interop tests, built on
// Fedify (@fedify/fedify 1.5.9). One actor, everything in memory, loopback only.
//
// Environment:
//   PORT             port to listen on (required); the peer binds 127.0.0.1:PORT
//   PEER_IDENTIFIER  the actor's identifier/username (default "peer")
//   PEER_NAME        the actor's display name (default "Fedify peer")
//   PEER_LOG         log level for Fedify's loggers (default "info"; "debug" shows
//                    why a signature was refused)
//   PEER_MODE        "fedify" (default) or "gotosocial": behave on the wire as GoToSocial
//                    does (v0.19): sign every request with a key id WITHOUT a fragment
//                    (/users/NAME/main-key) whose URL serves a cut-down actor stub (the
//                    actor's id, preferredUsername, publicKey with owner; no inbox); require
//                    signed GETs for the actor and its collections; and WebFinger the owner
//                    of each signing key, answering 500 when the subject's username is not
//                    strictly [A-Za-z0-9_.-] (e.g. has a colon).
//
// Everything Fedify does is reached through `federation.fetch`: WebFinger, NodeInfo,
// the actor, its inbox (and the shared inbox /inbox), followers/following/outbox
// collections and the peer's notes. A small control API under /_control/ (NOT routed
// through Fedify) lets a test drive the peer and read what it received:
//
//   GET  /_control/health                          {"ok": true, "actor": URL, ...}
//   GET  /_control/received[?type=Create]          list of received activities
//   GET  /_control/state                           followers, following, sent activities
//   POST /_control/follow {"target": URL}          signed Follow to that actor
//   POST /_control/undo-follow {"target": URL}     signed Undo(Follow)
//   POST /_control/post {"content": "...", "to": "public"|"followers"}
//                                                  Create(Note) to the followers
//   POST /_control/community-post {"content": "..."}
//                                                  the actor posts to the community (a Note
//                                                  addressed to it), which Announces it to its
//                                                  members
//   POST /_control/media {"path": "/media/NAME", "contentType": "...", "base64": "..."}
//                                                  serve those bytes at that path from now on
//                                                  (a picture to attach to a Note)
//   POST /_control/unsigned-inbox {"inbox": URL}   unsigned Create POSTed to that inbox;
//                                                  answers {"status": N, "body": "..."}
//   POST /_control/signed-inbox {"inbox": URL, "tamper": "none"|"body"|"signature"}
//                                                  a Create signed by this actor's key
//                                                  (draft-cavage, as Fedify 1.5 signs), then
//                                                  optionally broken: body changed after
//                                                  signing, or signature bytes flipped;
//                                                  answers {"status": N, "body": "..."}
//
// Control endpoints answer 200 with JSON, or 4xx/5xx with {"error": "..."} (for a
// failed delivery, the error carries the remote status and body as Fedify saw them).

import http from "node:http";
import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import { configure, getConsoleSink } from "@logtape/logtape";
import { Temporal } from "@js-temporal/polyfill";
import {
  Accept,
  Activity,
  Announce,
  Create,
  CryptographicKey,
  Delete,
  Endpoints,
  Follow,
  Group,
  Image,
  Like,
  MemoryKvStore,
  Note,
  Person,
  PUBLIC_COLLECTION,
  Reject,
  Undo,
  Update,
  createFederation,
  exportSpki,
  generateCryptoKeyPair,
  getTypeId,
  parseSemVer,
  signRequest,
} from "@fedify/fedify";

const PORT = Number.parseInt(process.env.PORT ?? "", 10);
if (!Number.isInteger(PORT) || PORT <= 0 || PORT > 65535) {
  console.error("peer.mjs: set PORT to the port to listen on");
  process.exit(2);
}
const HOST = "127.0.0.1";
const ORIGIN = `http://${HOST}:${PORT}`;
const IDENTIFIER = process.env.PEER_IDENTIFIER || "peer";
const DISPLAY_NAME = process.env.PEER_NAME || "Fedify peer";
const LOG_LEVEL = process.env.PEER_LOG || "info";
const MODE = process.env.PEER_MODE || "fedify";
if (MODE !== "fedify" && MODE !== "gotosocial") {
  console.error('peer.mjs: PEER_MODE must be "fedify" or "gotosocial"');
  process.exit(2);
}
const GTS = MODE === "gotosocial";
const ACTOR_URL = `${ORIGIN}/users/${IDENTIFIER}`;
/** A second actor, of type Group, that behaves as a Lemmy community does (FEP-1b12): it accepts
 * follows (joins), and Announces to its followers every post addressed to it. fedify mode only. */
const COMMUNITY = process.env.PEER_COMMUNITY || "community";
const COMMUNITY_URL = `${ORIGIN}/users/${COMMUNITY}`;
const isActor = (identifier) => identifier === IDENTIFIER || (!GTS && identifier === COMMUNITY);
/** GoToSocial's key id: no fragment; its URL serves a stub of the actor. */
const GTS_KEY_ID = `${ACTOR_URL}/main-key`;

// The actor's avatar (a 4x4 PNG) and a "header" that is really an SVG with a script, which
// a media proxy must refuse; served outside Fedify, with a count of requests per path.
const AVATAR_PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAAAQAAAAECAIAAAAmkwkpAAAAEElEQVR4nGM4YaMBRwzEcQDxwxLBXOwG1wAAAABJRU5ErkJggg==",
  "base64",
);
const HEADER_SVG = Buffer.from(
  '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
);
const mediaFiles = {
  "/media/avatar.png": ["image/png", AVATAR_PNG],
  "/media/header.png": ["image/png", HEADER_SVG],
};
const mediaRequests = {};

await configure({
  sinks: { console: getConsoleSink() },
  contextLocalStorage: new AsyncLocalStorage(),
  loggers: [
    { category: "fedify", lowestLevel: LOG_LEVEL, sinks: ["console"] },
    // Without an Ed25519 key every delivery warns that it carries no object proof:
    // expected here (RSA only, like Mastodon), so only this category's errors show.
    {
      category: ["fedify", "federation", "outbox"],
      lowestLevel: LOG_LEVEL === "debug" ? "debug" : "error",
      sinks: ["console"],
      parentSinks: "override",
    },
    { category: ["logtape", "meta"], lowestLevel: "warning", sinks: ["console"] },
  ],
});

function log(message) {
  console.log(`[peer ${new Date().toISOString()}] ${message}`);
}

// --- state (memory only) --------------------------------------------------------------

const keyPair = await generateCryptoKeyPair("RSASSA-PKCS1-v1_5"); // once per process
const publicKeyPem = await exportSpki(keyPair.publicKey);
/** Who signs in gotosocial mode (Fedify itself would use `${actor}#main-key`). */
const gtsSigner = { keyId: new URL(GTS_KEY_ID), privateKey: keyPair.privateKey };

/** actor id (href) -> { id, inbox, sharedInbox, followId } */
const followers = new Map();
/** the community's followers (its members), as `followers` */
const communityFollowers = new Map();
/** Announces the community sent: { id, object, to } */
const announced = [];
/** follow activity id (href) -> { id, target, inbox, state: "pending"|"accepted"|"rejected"|"undone" } */
const following = new Map();
/** note id (href) -> Note, for the object dispatcher */
const notes = new Map();
/** activities this peer sent: { type, id, to, object } */
const sent = [];
/** activities this peer received (after Fedify verified them) */
const received = [];
/** Inbox POSTs Fedify refused (say, an activity naming a type its vocabulary lacks, such as
 * GoToSocial's `ReplyRequest` inlined in an `Accept`): the JSON as sent, how it was signed,
 * and Fedify's answer. Never handled, only kept for tests to read. */
const refused = [];

const federation = createFederation({
  kv: new MemoryKvStore(),
  allowPrivateAddress: true, // Kring runs on 127.0.0.1 in the tests
});

// --- actor ----------------------------------------------------------------------------

/** gotosocial mode: only signed GETs may read the actor and its collections. */
const signedOnly = (_ctx, _identifier, signedKey, signedKeyOwner) =>
  !GTS || (signedKey != null && signedKeyOwner != null);

const actorCallbacks = federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (!GTS && identifier === COMMUNITY) {
      const keys = await ctx.getActorKeyPairs(identifier);
      return new Group({
        id: ctx.getActorUri(identifier),
        preferredUsername: identifier,
        name: "Peer community",
        summary: "A Lemmy-style community on the independent peer.",
        url: ctx.getActorUri(identifier),
        inbox: ctx.getInboxUri(identifier),
        outbox: ctx.getOutboxUri(identifier),
        followers: ctx.getFollowersUri(identifier),
        manuallyApprovesFollowers: false,
        discoverable: true,
        publicKey: keys[0].cryptographicKey,
        assertionMethods: keys.map((key) => key.multikey),
      });
    }
    if (identifier !== IDENTIFIER) return null;
    const keys = await ctx.getActorKeyPairs(identifier);
    const gtsKey = new CryptographicKey({
      id: new URL(GTS_KEY_ID),
      owner: ctx.getActorUri(identifier),
      publicKey: keyPair.publicKey,
    });
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: DISPLAY_NAME,
      summary: "An independent ActivityPub peer (Fedify) used by Kring's tests.",
      url: ctx.getActorUri(identifier),
      inbox: ctx.getInboxUri(identifier),
      outbox: ctx.getOutboxUri(identifier),
      followers: ctx.getFollowersUri(identifier),
      following: ctx.getFollowingUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      manuallyApprovesFollowers: false,
      discoverable: true,
      icon: new Image({ url: new URL("/media/avatar.png", ORIGIN), mediaType: "image/png" }),
      image: new Image({ url: new URL("/media/header.png", ORIGIN), mediaType: "image/png" }),
      publicKey: GTS ? gtsKey : keys[0].cryptographicKey,
      assertionMethods: GTS ? [] : keys.map((key) => key.multikey),
    });
  })
  .mapHandle((_ctx, username) => (isActor(username) ? username : null))
  .setKeyPairsDispatcher(async (_ctx, identifier) => {
    if (!isActor(identifier)) return [];
    return [keyPair];
  });
actorCallbacks.authorize(signedOnly);

federation
  .setFollowersDispatcher("/users/{identifier}/followers", (_ctx, identifier) => {
    if (!isActor(identifier)) return null;
    const of = identifier === IDENTIFIER ? followers : communityFollowers;
    const items = [...of.values()].map((f) => ({
      id: new URL(f.id),
      inboxId: new URL(f.inbox),
      endpoints: f.sharedInbox ? { sharedInbox: new URL(f.sharedInbox) } : null,
    }));
    return { items };
  })
  .authorize(signedOnly)
  .setCounter((_ctx, identifier) =>
    identifier === IDENTIFIER ? followers.size : isActor(identifier) ? communityFollowers.size : null
  );

federation
  .setFollowingDispatcher("/users/{identifier}/following", (_ctx, identifier) => {
    if (identifier !== IDENTIFIER) return null;
    const items = [...following.values()]
      .filter((f) => f.state === "accepted")
      .map((f) => new URL(f.target));
    return { items };
  })
  .authorize(signedOnly)
  .setCounter((_ctx, identifier) =>
    identifier === IDENTIFIER
      ? [...following.values()].filter((f) => f.state === "accepted").length
      : null
  );

federation
  .setOutboxDispatcher("/users/{identifier}/outbox", (_ctx, identifier) => {
    if (isActor(identifier) && identifier !== IDENTIFIER) return { items: [] };
    if (identifier !== IDENTIFIER) return null;
    return { items: sent.filter((s) => s.activity instanceof Create).map((s) => s.activity) };
  })
  .authorize(signedOnly)
  .setCounter((_ctx, identifier) =>
    identifier === IDENTIFIER
      ? sent.filter((s) => s.activity instanceof Create).length
      : isActor(identifier) ? 0 : null
  );

federation.setObjectDispatcher(Note, "/users/{identifier}/notes/{id}", (ctx, values) => {
  if (values.identifier !== IDENTIFIER) return null;
  return notes.get(ctx.getObjectUri(Note, values).href) ?? null;
});

federation.setNodeInfoDispatcher("/nodeinfo/2.1", () => ({
  software: { name: "kring-fedify-peer", version: parseSemVer("1.5.9") },
  protocols: ["activitypub"],
  openRegistrations: false,
  usage: {
    users: { total: 1, activeHalfyear: 1, activeMonth: 1 },
    localPosts: notes.size,
    localComments: 0,
  },
}));

// --- inbox ----------------------------------------------------------------------------

const hrefs = (urls) => (urls ?? []).map((u) => u.href);
const typeName = (obj) => {
  if (obj == null) return null;
  if (obj instanceof URL) return null;
  const id = getTypeId(obj)?.href ?? "";
  return id.includes("#") ? id.slice(id.indexOf("#") + 1) : id || obj.constructor?.name || null;
};
const text = (value) => (value == null ? null : value.toString());

/** A JSON summary of an object inside an activity (embedded or a bare URI). */
function summarize(object, fallbackId) {
  if (object == null) return fallbackId ? { id: fallbackId.href } : null;
  const out = { type: typeName(object), id: object.id?.href ?? fallbackId?.href ?? null };
  for (const [key, read] of [
    ["content", (o) => text(o.content)],
    ["summary", (o) => text(o.summary)],
    ["attributedTo", (o) => o.attributionId?.href],
    ["to", (o) => hrefs(o.toIds)],
    ["cc", (o) => hrefs(o.ccIds)],
    ["inReplyTo", (o) => o.replyTargetId?.href],
    ["published", (o) => o.published?.toString()],
    ["updated", (o) => o.updated?.toString()],
    ["actor", (o) => o.actorId?.href],
    ["object", (o) => o.objectId?.href],
  ]) {
    let value;
    try {
      value = read(object);
    } catch {
      value = undefined;
    }
    if (value != null) out[key] = value;
  }
  return out;
}

/** An object's attachments as Fedify reads them (type, mediaType, url, name, size). */
async function readAttachments(object) {
  const out = [];
  if (typeof object.getAttachments !== "function") return out;
  try {
    for await (const a of object.getAttachments()) {
      const url = a.url instanceof URL ? a.url.href : a.url?.href?.href ?? null;
      out.push({
        type: typeName(a),
        mediaType: a.mediaType ?? null,
        url,
        name: text(a.name),
        width: a.width ?? null,
        height: a.height ?? null,
      });
    }
  } catch (error) {
    log(`could not read the attachments of ${object.id?.href}: ${error}`);
  }
  return out;
}

/**
 * The activity's object when it is embedded. A bare URI is dereferenced only with
 * `fetch: true` (it may point at something deleted, or back at this peer).
 */
async function embeddedObject(ctx, activity, { fetch = false } = {}) {
  const raw = ctx.data?.body?.object;
  if (raw == null || (typeof raw === "string" && !fetch)) return null;
  try {
    return await activity.getObject(ctx);
  } catch (error) {
    log(`could not read the object of ${activity.id?.href}: ${error}`);
    return null;
  }
}

async function record(ctx, activity, extra = {}) {
  const object = extra.object !== undefined ? extra.object : await embeddedObject(ctx, activity);
  const entry = {
    seq: received.length + 1,
    type: typeName(activity),
    id: activity.id?.href ?? null,
    actor: activity.actorId?.href ?? null,
    to: hrefs(activity.toIds),
    cc: hrefs(activity.ccIds),
    object: summarize(object, activity.objectId),
    recipient: ctx.recipient, // inbox owner's identifier; null for the shared inbox
    signature: ctx.data?.signature ?? null, // how the POST was signed (verified by Fedify)
    received_at: new Date().toISOString(),
    raw: ctx.data?.body ?? null, // the JSON exactly as Kring sent it
  };
  if (entry.object && object != null) {
    const attachments = await readAttachments(object);
    if (attachments.length > 0) entry.object.attachment = attachments;
  }
  delete extra.object;
  Object.assign(entry, extra, { handled: false });
  if (ctx.data != null) ctx.data.entry = entry;
  received.push(entry);
  log(`received ${entry.type} ${entry.id} from ${entry.actor} (object ${entry.object?.type ?? "-"} ${entry.object?.id ?? "-"})`);
  return entry;
}

/**
 * Wraps an inbox listener: its record gets `handled: true` once the listener is done
 * (e.g. a Follow's Accept has been sent), so a test never reads a half-handled one.
 */
function handled(listener) {
  return async (ctx, activity) => {
    try {
      await listener(ctx, activity);
    } finally {
      if (ctx.data?.entry != null) ctx.data.entry.handled = true;
    }
  };
}

function isCommunity(ctx, url) {
  const parsed = ctx.parseUri(url ?? null);
  return !GTS && parsed?.type === "actor" && parsed.identifier === COMMUNITY;
}

/** Keep the follower of `identifier` in `into` and answer with that actor's signed Accept. */
async function acceptFollow(ctx, follow, entry, identifier, into, signer) {
  const follower = await follow.getActor(ctx);
  if (follower == null || follower.inboxId == null) {
    entry.note = "could not fetch the follower's actor; no Accept sent";
    return;
  }
  into.set(follower.id.href, {
    id: follower.id.href,
    inbox: follower.inboxId.href,
    sharedInbox: follower.endpoints?.sharedInbox?.href ?? null,
    followId: follow.id.href,
  });
  const accept = new Accept({
    id: new URL(`${ctx.getActorUri(identifier).href}#accepts/${randomUUID()}`),
    actor: ctx.getActorUri(identifier),
    to: follower.id,
    object: follow,
  });
  try {
    await ctx.sendActivity(signer, follower, accept);
    entry.accept_sent = accept.id.href;
    sent.push({ type: "Accept", id: accept.id.href, to: [follower.id.href], activity: accept });
  } catch (error) {
    entry.accept_error = String(error);
    log(`sending Accept to ${follower.inboxId.href} failed: ${error}`);
  }
}

/** The community Announces `objectId` (a post addressed to it) to its members, as Lemmy does. */
// `limited`: as a Lemmy private community announces, to its followers alone (no as:Public).
async function announceToCommunity(ctx, objectId, limited = false) {
  const announce = new Announce({
    id: new URL(`${COMMUNITY_URL}#announces/${randomUUID()}`),
    actor: ctx.getActorUri(COMMUNITY),
    object: objectId,
    tos: limited ? [ctx.getFollowersUri(COMMUNITY)] : [PUBLIC_COLLECTION],
    ccs: limited ? [] : [ctx.getFollowersUri(COMMUNITY)],
    published: Temporal.Now.instant(),
  });
  if (communityFollowers.size > 0) {
    await ctx.sendActivity({ identifier: COMMUNITY }, "followers", announce);
  }
  const entry = {
    type: "Announce",
    id: announce.id.href,
    object: objectId.href,
    to: [...communityFollowers.keys()],
  };
  announced.push(entry);
  sent.push({ ...entry, activity: announce });
  return entry;
}

function isOurActor(ctx, url) {
  const parsed = ctx.parseUri(url ?? null);
  return parsed?.type === "actor" && parsed.identifier === IDENTIFIER;
}

federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .on(Follow, handled(async (ctx, follow) => {
    const entry = await record(ctx, follow, { object: null });
    if (follow.id != null && follow.actorId != null && isCommunity(ctx, follow.objectId)) {
      // A Follow of the community: the follower becomes a member.
      await acceptFollow(ctx, follow, entry, COMMUNITY, communityFollowers, { identifier: COMMUNITY });
      return;
    }
    if (follow.id == null || follow.actorId == null || !isOurActor(ctx, follow.objectId)) {
      entry.note = "not a Follow of this peer's actor; ignored";
      return;
    }
    await acceptFollow(ctx, follow, entry, IDENTIFIER, followers, sender());
  }))
  .on(Accept, handled(async (ctx, accept) => {
    const entry = await record(ctx, accept);
    const followId = accept.objectId?.href;
    let match = followId ? following.get(followId) : undefined;
    if (match == null) {
      // Some servers send their own id for the Follow; fall back to the target actor.
      match = [...following.values()].find(
        (f) => f.state === "pending" && f.target === accept.actorId?.href
      );
    }
    if (match != null && match.target === accept.actorId?.href) {
      match.state = "accepted";
      entry.matched_follow = match.id;
    } else {
      entry.note = "no pending Follow of ours matches this Accept";
    }
  }))
  .on(Reject, handled(async (ctx, reject) => {
    const entry = await record(ctx, reject);
    const match = following.get(reject.objectId?.href ?? "");
    if (match != null && match.target === reject.actorId?.href) {
      match.state = "rejected";
      entry.matched_follow = match.id;
    }
  }))
  .on(Undo, handled(async (ctx, undo) => {
    const entry = await record(ctx, undo);
    const inner = entry.object;
    const member = communityFollowers.get(undo.actorId?.href ?? "");
    if (
      member != null &&
      (ctx.recipient === COMMUNITY || inner?.object === COMMUNITY_URL || inner?.id === member.followId)
    ) {
      communityFollowers.delete(member.id);
      entry.note = "member left the community";
      return;
    }
    const follower = followers.get(undo.actorId?.href ?? "");
    // Undo(Follow): the Follow embedded, or just its id (matched against the one we accepted).
    if (follower != null && (inner?.type === "Follow" || (inner?.id && inner.id === follower.followId))) {
      followers.delete(follower.id);
      entry.note = "follower removed";
    }
  }))
  .on(Create, handled(async (ctx, create) => {
    const object = await embeddedObject(ctx, create, { fetch: true });
    const entry = await record(ctx, create, { object });
    // A post addressed to the community is announced to its members (FEP-1b12), when its
    // author is a member, as Lemmy does.
    const addressed = [...(entry.object?.to ?? []), ...(entry.object?.cc ?? [])];
    if (
      !GTS &&
      object?.id != null &&
      (ctx.recipient === COMMUNITY || addressed.includes(COMMUNITY_URL)) &&
      communityFollowers.has(create.actorId?.href ?? "")
    ) {
      entry.community_announce = (await announceToCommunity(ctx, object.id)).id;
    }
  }))
  .on(Update, handled(async (ctx, update) => {
    await record(ctx, update);
  }))
  .on(Delete, handled(async (ctx, del) => {
    await record(ctx, del); // the embedded Tombstone, or just the URI: never fetched
  }))
  .on(Like, handled(async (ctx, like) => {
    await record(ctx, like, { object: null });
  }))
  .on(Announce, handled(async (ctx, announce) => {
    await record(ctx, announce, { object: null });
  }))
  .on(Activity, handled(async (ctx, activity) => {
    await record(ctx, activity, { object: null }); // anything else: record it too
  }))
  .onError((_ctx, error) => {
    log(`inbox listener error: ${error?.stack ?? error}`);
  });

// --- control API ----------------------------------------------------------------------

/** Who signs: the actor (Fedify's key id, `#main-key`), or in gotosocial mode its key under
 * the fragment-less key id. */
function sender() {
  return GTS ? gtsSigner : { identifier: IDENTIFIER };
}

function controlContext() {
  return federation.createContext(new URL(ORIGIN), {});
}

function publicView(f) {
  const { activity: _activity, ...rest } = f;
  return rest;
}

async function lookupActor(ctx, target) {
  const documentLoader = await ctx.getDocumentLoader(sender()); // signed GETs
  const actor = await ctx.lookupObject(target, { documentLoader });
  if (actor == null || actor.inboxId == null) {
    throw new HttpError(502, `could not resolve ${target} to an actor with an inbox`);
  }
  return actor;
}

class HttpError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

const control = {
  "GET /_control/health": () => ({
    ok: true,
    mode: MODE,
    keyId: GTS ? GTS_KEY_ID : `${ACTOR_URL}#main-key`,
    actor: `${ORIGIN}/users/${IDENTIFIER}`,
    handle: `${IDENTIFIER}@${HOST}:${PORT}`,
    fedify: "1.5.9",
  }),

  "GET /_control/received": (_body, url) => {
    const type = url.searchParams.get("type");
    return type ? received.filter((r) => r.type === type) : received;
  },

  "GET /_control/state": () => ({
    actor: `${ORIGIN}/users/${IDENTIFIER}`,
    followers: [...followers.values()],
    following: [...following.values()],
    sent: sent.map(publicView),
    refused,
    mediaRequests,
    community: {
      actor: COMMUNITY_URL,
      handle: `${COMMUNITY}@${HOST}:${PORT}`,
      followers: [...communityFollowers.values()],
      announced,
    },
  }),

  "POST /_control/follow": async (body) => {
    if (typeof body?.target !== "string") throw new HttpError(400, 'need {"target": URL}');
    const ctx = controlContext();
    const actor = await lookupActor(ctx, body.target);
    const me = ctx.getActorUri(IDENTIFIER);
    const follow = new Follow({
      id: new URL(`${me.href}/follows/${randomUUID()}`),
      actor: me,
      object: actor.id,
      to: actor.id,
    });
    const entry = { id: follow.id.href, target: actor.id.href, inbox: actor.inboxId.href, state: "pending" };
    following.set(entry.id, entry);
    await ctx.sendActivity(sender(), actor, follow);
    sent.push({ type: "Follow", id: follow.id.href, to: [actor.id.href], activity: follow });
    return entry;
  },

  "POST /_control/undo-follow": async (body) => {
    if (typeof body?.target !== "string") throw new HttpError(400, 'need {"target": URL}');
    const ctx = controlContext();
    const actor = await lookupActor(ctx, body.target);
    const entry = [...following.values()].find(
      (f) => f.target === actor.id.href && f.state !== "undone"
    );
    if (entry == null) throw new HttpError(404, `this peer does not follow ${actor.id.href}`);
    const me = ctx.getActorUri(IDENTIFIER);
    const undo = new Undo({
      id: new URL(`${entry.id}/undo`),
      actor: me,
      to: actor.id,
      object: new Follow({ id: new URL(entry.id), actor: me, object: actor.id }),
    });
    await ctx.sendActivity(sender(), actor, undo);
    entry.state = "undone";
    sent.push({ type: "Undo", id: undo.id.href, to: [actor.id.href], activity: undo });
    return entry;
  },

  "POST /_control/post": async (body) => {
    if (typeof body?.content !== "string") throw new HttpError(400, 'need {"content": "..."}');
    const audience = body.to ?? "public";
    if (audience !== "public" && audience !== "followers") {
      throw new HttpError(400, 'to must be "public" or "followers"');
    }
    const ctx = controlContext();
    const me = ctx.getActorUri(IDENTIFIER);
    const followersUri = ctx.getFollowersUri(IDENTIFIER);
    const noteId = ctx.getObjectUri(Note, { identifier: IDENTIFIER, id: randomUUID() });
    const to = audience === "public" ? [PUBLIC_COLLECTION] : [followersUri];
    const cc = audience === "public" ? [followersUri] : [];
    const published = Temporal.Now.instant();
    const note = new Note({
      id: noteId,
      attribution: me,
      content: body.content,
      url: noteId,
      tos: to,
      ccs: cc,
      published,
    });
    notes.set(noteId.href, note);
    const create = new Create({
      id: new URL(`${noteId.href}/activity`),
      actor: me,
      object: note,
      tos: to,
      ccs: cc,
      published,
    });
    if (GTS) {
      // Fedify sends to "followers" only for an actor identifier (whose key id it makes
      // itself, with a fragment): list the followers' inboxes instead.
      const recipients = [...followers.values()].map((f) => ({
        id: new URL(f.id),
        inboxId: new URL(f.inbox),
        endpoints: f.sharedInbox ? { sharedInbox: new URL(f.sharedInbox) } : null,
      }));
      if (recipients.length > 0) {
        await ctx.sendActivity(sender(), recipients, create, { preferSharedInbox: true });
      }
    } else {
      await ctx.sendActivity({ identifier: IDENTIFIER }, "followers", create, {
        preferSharedInbox: true,
      });
    }
    const result = {
      type: "Create",
      id: create.id.href,
      note: noteId.href,
      to: hrefs(to),
      cc: hrefs(cc),
      delivered_to_followers: [...followers.keys()],
    };
    sent.push({ ...result, activity: create });
    return result;
  },

  "POST /_control/community-post": async (body) => {
    if (GTS) throw new HttpError(400, "no community in gotosocial mode");
    if (typeof body?.content !== "string") throw new HttpError(400, 'need {"content": "..."}');
    const ctx = controlContext();
    const me = ctx.getActorUri(IDENTIFIER);
    const community = ctx.getActorUri(COMMUNITY);
    const noteId = ctx.getObjectUri(Note, { identifier: IDENTIFIER, id: randomUUID() });
    // {"private": true}: as in a Lemmy private community, the post is addressed to the
    // community alone, never as:Public.
    const limited = body.private === true;
    const note = new Note({
      id: noteId,
      attribution: me,
      content: body.content,
      url: noteId,
      tos: limited ? [community] : [PUBLIC_COLLECTION, community],
      audience: community,
      published: Temporal.Now.instant(),
    });
    notes.set(noteId.href, note);
    const announce = await announceToCommunity(ctx, noteId, limited);
    return { note: noteId.href, announce: announce.id, to: announce.to };
  },

  "POST /_control/media": (body) => {
    const path = body?.path;
    if (typeof path !== "string" || !/^\/media\/[A-Za-z0-9._-]+$/.test(path) || path in mediaFiles) {
      throw new HttpError(400, 'need {"path": "/media/NAME" (new), "contentType": "...", "base64": "..."}');
    }
    if (typeof body.contentType !== "string" || typeof body.base64 !== "string") {
      throw new HttpError(400, "need contentType and base64");
    }
    mediaFiles[path] = [body.contentType, Buffer.from(body.base64, "base64")];
    return { url: new URL(path, ORIGIN).href };
  },

  "POST /_control/unsigned-inbox": async (body) => {
    if (typeof body?.inbox !== "string") throw new HttpError(400, 'need {"inbox": URL}');
    const activity = probeCreate("an unsigned Create: a server must refuse it");
    const response = await fetch(body.inbox, {
      method: "POST",
      headers: {
        "Content-Type": "application/activity+json",
        Accept: "application/activity+json",
        Date: new Date().toUTCString(),
      },
      body: JSON.stringify(activity),
    });
    return { status: response.status, body: (await response.text()).slice(0, 2000), activity };
  },

  // Any activity JSON, signed by this peer's actor and POSTed to an inbox as it is (for what
  // Fedify's vocabulary cannot build: GoToSocial's interaction policies, ReplyRequest, and
  // the Accept of an interaction). Ids in it should be on this peer's origin.
  "POST /_control/signed-activity": async (body) => {
    if (typeof body?.inbox !== "string" || typeof body?.activity !== "object") {
      throw new HttpError(400, 'need {"inbox": URL, "activity": {...}}');
    }
    const ctx = controlContext();
    const [{ keyId, privateKey }] = GTS ? [gtsSigner] : await ctx.getActorKeyPairs(IDENTIFIER);
    const signed = await signRequest(
      new Request(body.inbox, {
        method: "POST",
        headers: { "Content-Type": "application/activity+json", Accept: "application/activity+json" },
        body: JSON.stringify(body.activity),
      }),
      privateKey,
      keyId
    );
    const response = await fetch(body.inbox, {
      method: "POST",
      headers: new Headers(signed.headers),
      body: await signed.text(),
    });
    const result = { status: response.status, body: (await response.text()).slice(0, 2000) };
    sent.push({ type: body.activity.type, id: body.activity.id, to: [body.inbox], raw: body.activity });
    return result;
  },

  "POST /_control/signed-inbox": async (body) => {
    if (typeof body?.inbox !== "string") throw new HttpError(400, 'need {"inbox": URL}');
    const tamper = body.tamper ?? "none";
    if (!["none", "body", "signature"].includes(tamper)) {
      throw new HttpError(400, 'tamper must be "none", "body" or "signature"');
    }
    const activity = probeCreate(
      tamper === "none" ? "a correctly signed Create" : `a Create whose ${tamper} was changed after signing`
    );
    const ctx = controlContext();
    const [{ keyId, privateKey }] = GTS ? [gtsSigner] : await ctx.getActorKeyPairs(IDENTIFIER);
    const signed = await signRequest(
      new Request(body.inbox, {
        method: "POST",
        headers: { "Content-Type": "application/activity+json", Accept: "application/activity+json" },
        body: JSON.stringify(activity),
      }),
      privateKey,
      keyId
    );
    const headers = new Headers(signed.headers);
    let payload = await signed.text();
    if (tamper === "body") {
      activity.object.content = "changed after signing: a server must refuse it";
      payload = JSON.stringify(activity);
    } else if (tamper === "signature") {
      const sig = headers.get("Signature");
      const broken = sig.replace(/signature="([A-Za-z0-9+/])/, (_m, c) =>
        `signature="${c === "A" ? "B" : "A"}`
      );
      headers.set("Signature", broken);
    }
    const response = await fetch(body.inbox, { method: "POST", headers, body: payload });
    return {
      status: response.status,
      body: (await response.text()).slice(0, 2000),
      signature: headers.get("Signature"),
      activity,
    };
  },
};

/** A public Create(Note) from this peer's actor, for the inbox probes (never stored). */
function probeCreate(content) {
  const me = `${ORIGIN}/users/${IDENTIFIER}`;
  const id = `${me}/probes/${randomUUID()}`;
  const publicUri = "https://www.w3.org/ns/activitystreams#Public";
  return {
    "@context": "https://www.w3.org/ns/activitystreams",
    id: `${id}/activity`,
    type: "Create",
    actor: me,
    to: [publicUri],
    object: { id, type: "Note", attributedTo: me, content, to: [publicUri], published: new Date().toISOString() },
  };
}

// --- HTTP server ----------------------------------------------------------------------

function signatureInfo(headers) {
  if (headers["signature-input"]) {
    const keyid = /keyid="([^"]*)"/i.exec(headers["signature-input"]);
    return { scheme: "rfc9421", keyId: keyid?.[1] ?? null };
  }
  if (headers.signature) {
    const keyid = /keyId="([^"]*)"/.exec(headers.signature);
    const names = /headers="([^"]*)"/.exec(headers.signature);
    return {
      scheme: "draft-cavage",
      keyId: keyid?.[1] ?? null,
      headers: names?.[1] ?? null,
    };
  }
  return { scheme: "none" };
}

/** The document GoToSocial serves at a fragment-less key id. */
function keyStub() {
  return {
    "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
    id: ACTOR_URL,
    type: "Person",
    preferredUsername: IDENTIFIER,
    publicKey: { id: GTS_KEY_ID, owner: ACTOR_URL, publicKeyPem },
  };
}

/** keyId -> null (fine) once checked; failures are checked again each time. */
const strictSigners = new Map();

/**
 * GoToSocial WebFingers the owner of every key that signs a request to it, and parses the
 * subject's username strictly: a username with a colon (an instance actor named after a
 * domain with a port) makes it answer 500. Returns why a signer is refused, or null.
 */
async function strictSigner(headers) {
  const raw = headers.signature ?? headers.authorization ?? "";
  const keyId = /keyId="([^"]*)"/.exec(raw)?.[1];
  if (keyId == null) return null; // Fedify refuses it later
  if (strictSigners.has(keyId)) return null;
  try {
    // Unsigned reads (GoToSocial signs them; the servers under test do not require it, and a
    // signed read here would have them verify us while we verify them).
    const load = async (u) => {
      const r = await fetch(u, { headers: { Accept: "application/activity+json", "User-Agent": "kring-fedify-peer" } });
      if (!r.ok) throw new Error(`GET ${u} answered ${r.status}`);
      return r.json();
    };
    const keyDoc = await load(keyId.split("#")[0]);
    const owner = keyDoc.owner ?? keyDoc.publicKey?.owner ?? keyDoc.id;
    const actor = owner === keyDoc.id ? keyDoc : await load(owner);
    const username = actor.preferredUsername;
    const host = new URL(actor.id).host;
    const wf = await fetch(
      `http://${host}/.well-known/webfinger?resource=${encodeURIComponent(`acct:${username}@${host}`)}`,
      { headers: { Accept: "application/jrd+json", "User-Agent": "kring-fedify-peer (gotosocial mode)" } },
    );
    if (!wf.ok) return `WebFinger for ${username}@${host} answered ${wf.status}`;
    const subject = (await wf.json()).subject ?? "";
    const m = /^acct:([^@]+)@([^@]+)$/.exec(subject);
    if (m == null || !/^[A-Za-z0-9_.-]+$/.test(m[1])) {
      return `WebFinger subject ${JSON.stringify(subject)} of ${actor.id} has no valid username`;
    }
    strictSigners.set(keyId, null);
    return null;
  } catch (error) {
    return `could not check the signer ${keyId}: ${error}`;
  }
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function sendJson(res, status, value) {
  const body = JSON.stringify(value, null, 2);
  res.writeHead(status, { "Content-Type": "application/json; charset=utf-8" });
  res.end(body);
}

async function handleControl(req, res, url, rawBody) {
  const handler = control[`${req.method} ${url.pathname}`];
  if (handler == null) return sendJson(res, 404, { error: `no control endpoint ${req.method} ${url.pathname}` });
  let body = null;
  if (rawBody.length > 0) {
    try {
      body = JSON.parse(rawBody.toString("utf8"));
    } catch {
      return sendJson(res, 400, { error: "the body is not JSON" });
    }
  }
  try {
    return sendJson(res, 200, await handler(body, url));
  } catch (error) {
    const status = error instanceof HttpError ? error.status : 502;
    log(`control ${req.method} ${url.pathname} failed: ${error?.stack ?? error}`);
    return sendJson(res, status, { error: String(error?.message ?? error) });
  }
}

const server = http.createServer(async (req, res) => {
  const started = Date.now();
  const url = new URL(req.url ?? "/", ORIGIN);
  let status = 500;
  let rawBody = Buffer.alloc(0);
  try {
    if (req.method !== "GET" && req.method !== "HEAD") rawBody = await readBody(req);
    if (url.pathname.startsWith("/_control/")) {
      await handleControl(req, res, url, rawBody);
      status = res.statusCode;
      return;
    }
    if (GTS && req.method === "GET" && url.href.split("?")[0] === GTS_KEY_ID) {
      // GoToSocial serves its key id unsigned: a cut-down stub of the actor, no inbox.
      status = 200;
      res.writeHead(200, { "content-type": "application/activity+json" });
      res.end(JSON.stringify(keyStub()));
      return;
    }
    if (GTS && (req.headers.signature || req.headers.authorization)) {
      const refusal = await strictSigner(req.headers);
      if (refusal != null) {
        status = 500;
        log(`refusing a request from a signer GoToSocial cannot parse: ${refusal}`);
        return sendJson(res, 500, { error: refusal });
      }
    }
    const media = mediaFiles[url.pathname];
    if (media && req.method === "GET") {
      mediaRequests[url.pathname] = (mediaRequests[url.pathname] ?? 0) + 1;
      status = 200;
      res.writeHead(200, { "content-type": media[0], "content-length": media[1].length });
      res.end(media[1]);
      return;
    }
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (Array.isArray(value)) for (const v of value) headers.append(name, v);
      else if (value != null) headers.set(name, value);
    }
    const request = new Request(url, {
      method: req.method,
      headers,
      body: rawBody.length > 0 ? rawBody : undefined,
    });
    let parsed = null;
    if (rawBody.length > 0) {
      try {
        parsed = JSON.parse(rawBody.toString("utf8"));
      } catch {
        parsed = rawBody.toString("utf8").slice(0, 2000);
      }
    }
    const contextData = { signature: signatureInfo(req.headers), body: parsed };
    const response = await federation.fetch(request, { contextData });
    status = response.status;
    const outHeaders = {};
    response.headers.forEach((value, name) => {
      outHeaders[name] = value;
    });
    res.writeHead(response.status, outHeaders);
    const buffer = Buffer.from(await response.arrayBuffer());
    res.end(req.method === "HEAD" ? undefined : buffer);
    if (req.method === "POST" && status >= 400) {
      refused.push({
        path: url.pathname,
        status,
        answer: buffer.toString("utf8").slice(0, 300),
        signature: contextData.signature,
        raw: parsed,
      });
      log(`refused POST ${url.pathname} (${status}): ${buffer.toString("utf8").slice(0, 300)}; ` +
        `signature ${JSON.stringify(contextData.signature)}`);
    }
  } catch (error) {
    log(`error serving ${req.method} ${url.pathname}: ${error?.stack ?? error}`);
    if (!res.headersSent) sendJson(res, 500, { error: String(error) });
    else res.end();
  } finally {
    // The tests poll GET /_control/...: log those only when they fail.
    if (!(req.method === "GET" && url.pathname.startsWith("/_control/") && status < 400)) {
      const sig = req.headers.signature || req.headers["signature-input"] ? " signed" : "";
      log(`${req.method} ${url.pathname}${url.search} -> ${status}${sig} (${Date.now() - started} ms)`);
    }
  }
});

server.listen(PORT, HOST, () => {
  log(`listening on ${ORIGIN}; actor ${ORIGIN}/users/${IDENTIFIER} (${IDENTIFIER}@${HOST}:${PORT})`);
});

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    server.close();
    process.exit(0);
  });
}
