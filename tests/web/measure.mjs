// SPDX-License-Identifier: AGPL-3.0-or-later
// Measure the web interface: time 100 GETs of /home with a 40-post feed on the real binary
// (loopback, one request at a time), and weigh the page with its stylesheet, script and images.
//
//   node tests/web/measure.mjs            (uses target/debug/kring; KRING_BIN=… for another)
import { startServer } from "./harness.mjs";

const server = await startServer();
const base = server.base;

function cookieOf(res) {
  const set = res.headers.get("set-cookie") || "";
  return set.split(";")[0];
}

function csrfOf(html) {
  const m = html.match(/name="_csrf" value="([^"]+)"/);
  if (!m) throw new Error("no form token");
  return m[1];
}

async function form(path, cookie, fields) {
  return fetch(base + path, {
    method: "POST",
    redirect: "manual",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      ...(cookie ? { cookie } : {}),
      origin: base,
    },
    body: new URLSearchParams(fields),
  });
}

try {
  const signUpPage = await (await fetch(base + "/auth/sign_up")).text();
  const res = await form("/auth/sign_up", null, {
    _csrf: csrfOf(signUpPage),
    username: "bench",
    email: "bench@example.org",
    password: "correct horse battery",
    agreement: "1",
  });
  const cookie = cookieOf(res);
  const csrf = csrfOf(await (await fetch(base + "/home", { headers: { cookie } })).text());
  for (let i = 0; i < 45; i++) {
    const r = await form("/statuses", cookie, {
      _csrf: csrf,
      text: `Post number ${i} with a #hashtag, a link https://example.org/${i} and some words to make it a realistic length for a short social post.`,
      visibility: i % 3 === 0 ? "private" : "public",
      spoiler_text: i % 10 === 0 ? "a content warning" : "",
    });
    if (r.status !== 303) throw new Error(`post failed: ${r.status}`);
  }
  const get = async () => {
    const t = process.hrtime.bigint();
    const r = await fetch(base + "/home", { headers: { cookie } });
    const body = await r.arrayBuffer();
    return { ms: Number(process.hrtime.bigint() - t) / 1e6, bytes: body.byteLength, html: Buffer.from(body).toString() };
  };
  for (let i = 0; i < 10; i++) await get(); // warm up
  const times = [];
  let page;
  for (let i = 0; i < 100; i++) {
    page = await get();
    times.push(page.ms);
  }
  times.sort((a, b) => a - b);
  const q = (p) => times[Math.min(times.length - 1, Math.ceil((p / 100) * times.length) - 1)];
  const posts = (page.html.match(/<article class="post/g) || []).length;
  const assets = [...page.html.matchAll(/(?:href|src)="(\/static\/[^"]+)"/g)].map((m) => m[1]);
  let assetBytes = 0;
  const seen = new Set();
  for (const a of assets) {
    if (seen.has(a)) continue;
    seen.add(a);
    assetBytes += (await (await fetch(base + a)).arrayBuffer()).byteLength;
  }
  const kb = (n) => (n / 1024).toFixed(1) + " KB";
  console.log(`home page with ${posts} posts, 100 sequential GETs over loopback:`);
  console.log(`  p50 ${q(50).toFixed(2)} ms, p95 ${q(95).toFixed(2)} ms, p99 ${q(99).toFixed(2)} ms, max ${times[times.length - 1].toFixed(2)} ms`);
  console.log(`  HTML ${kb(page.bytes)}; with ${seen.size} assets (${[...seen].map((s) => s.split("?")[0].slice(8)).join(", ")}) ${kb(page.bytes + assetBytes)}`);
} finally {
  await server.stop();
}
