// SPDX-License-Identifier: AGPL-3.0-or-later
// Kring's web interface in a real browser against the real binary: sign-up, posting, following a
// locked account (request and accept), replies, favourites, notifications, settings, lists,
// search, admin and sign-out, with JavaScript and without; every main page is screenshotted
// and checked with axe-core, and no page may request another origin.
//
//   cargo build -p kring && (cd tests/web && npm ci) && node --test tests/web/
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  startServer, launchBrowser, Watch, checkPage, checkedPages, signUp, signIn, compose, post,
} from "./harness.mjs";

let server;
let browser;
let watch;
const s = {}; // state shared by the steps (contexts, pages, ids)

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  watch = new Watch(server);
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

test("signed-out landing, sign-up and sign-in pages", { timeout: 120000 }, async () => {
  const ctx = await watch.context(browser);
  const page = await ctx.newPage();
  const res = await page.goto(server.base + "/");
  const headers = res.headers();
  assert.match(headers["content-security-policy"], /default-src 'self'/);
  assert.match(headers["content-security-policy"], /script-src 'self'/);
  assert.match(headers["content-security-policy"], /frame-ancestors 'none'/);
  assert.equal(headers["referrer-policy"], "same-origin");
  assert.equal(await page.locator("h1").first().textContent(), "Kring");
  await checkPage(page, "landing");
  await page.goto(server.base + "/auth/sign_up");
  await checkPage(page, "sign-up");
  await page.goto(server.base + "/auth/sign_in");
  await checkPage(page, "sign-in");
  // Wrong password: the form comes back with the service's message.
  await page.fill("#email", "nobody@example.org");
  await page.fill("#password", "wrong password");
  await page.click("form.stack button[type=submit]");
  await page.waitForSelector(".error");
  assert.match(await page.locator(".error").textContent(), /Invalid email or password/);
  // Signed-in pages send visitors to sign in.
  for (const path of ["/home", "/notifications", "/settings/profile", "/admin", "/lists"]) {
    await page.goto(server.base + path);
    assert.match(page.url(), /\/auth\/sign_in\?next=/, path);
  }
  await ctx.close();
});

test("sign up two people and post", { timeout: 120000 }, async () => {
  s.alice = await watch.context(browser);
  s.bob = await watch.context(browser);
  s.a = await s.alice.newPage();
  s.b = await s.bob.newPage();
  await signUp(s.a, server.base, "alice");
  await checkPage(s.a, "home-empty");
  await compose(s.a, "Hello from Alice #kringtest", { visibility: "public" });
  await compose(s.a, "Alice's secret for followers", { visibility: "private" });
  await compose(s.a, "Careful now", { visibility: "public", cw: "spoilers" });
  assert.ok(await post(s.a, "Hello from Alice").isVisible());
  assert.ok(await post(s.a, "secret for followers").isVisible());
  // The CW hides the text until opened (a plain <details>).
  const cw = post(s.a, "spoilers");
  assert.equal(await cw.locator(".content").isVisible(), false);
  await cw.locator("summary").click();
  assert.equal(await cw.locator(".content").isVisible(), true);
  const href = await post(s.a, "secret for followers").locator(".meta a").getAttribute("href");
  s.secretPath = href;
  s.helloPath = await post(s.a, "Hello from Alice").locator(".meta a").getAttribute("href");
  await signUp(s.b, server.base, "bob");
});

test("settings: profile with fields and a locked account", { timeout: 120000 }, async () => {
  const b = s.b;
  await b.goto(server.base + "/settings/profile");
  await b.fill("#display_name", "Bob Builder");
  await b.fill("#note", "I build things. #kringtest");
  await b.fill("#field_name_0", "Website");
  await b.fill("#field_value_0", "https://bob.example");
  await b.check("#locked");
  await Promise.all([b.waitForNavigation(), b.click("form.stack button[type=submit]")]);
  assert.match(await b.locator(".notice").textContent(), /saved/);
  await checkPage(b, "settings-profile");
  await b.goto(server.base + "/@bob");
  assert.ok(await b.locator("h1", { hasText: "Bob Builder" }).isVisible());
  assert.ok(await b.locator(".fields dt", { hasText: "Website" }).isVisible());
  assert.ok(await b.locator(".badge", { hasText: "Approves followers" }).first().isVisible());
});

test("follow a locked account: request, notification, accept", { timeout: 120000 }, async () => {
  const { a, b } = s;
  await a.goto(server.base + "/@bob");
  await Promise.all([a.waitForNavigation(), a.click("button:text-is('Follow')")]);
  assert.ok(await a.locator("button", { hasText: "Withdraw follow request" }).isVisible());
  assert.match(await a.locator("p.hint[role=status]").textContent(), /waiting for approval/);
  await checkPage(a, "profile-requested");

  await b.goto(server.base + "/notifications");
  assert.ok(await b.locator(".notification", { hasText: "asked to follow you" }).isVisible());
  await b.goto(server.base + "/follow_requests");
  await checkPage(b, "follow-requests");
  await Promise.all([b.waitForNavigation(), b.click("button:has-text('Accept')")]);
  assert.ok(await b.locator(".empty", { hasText: "No one is waiting" }).isVisible());

  await a.goto(server.base + "/@bob");
  assert.ok(await a.locator("button:text-is('Unfollow')").isVisible());
  // Bob follows Alice back (not locked: at once), and sees her followers-only post.
  await b.goto(server.base + "/@alice");
  await Promise.all([b.waitForNavigation(), b.click("button:text-is('Follow')")]);
  assert.ok(await b.locator("button:text-is('Unfollow')").isVisible());
  await b.goto(server.base + "/home");
  assert.ok(await post(b, "secret for followers").isVisible());
  await b.goto(server.base + "/@alice/followers");
  assert.ok(await b.locator(".account", { hasText: "@bob@" }).isVisible());
  await checkPage(b, "followers");
});

test("reply in a thread, favourite and boost in place", { timeout: 120000 }, async () => {
  const { a, b } = s;
  await b.goto(server.base + s.helloPath);
  await checkPage(b, "thread");
  const text = await b.inputValue("#compose-text");
  assert.match(text, /^@alice /);
  await b.fill("#compose-text", text + "Hi Alice, nice to see you here!");
  await Promise.all([b.waitForNavigation(), b.click("form.compose button[type=submit]")]);
  assert.equal(new URL(b.url()).pathname, s.helloPath);
  assert.ok(await post(b, "nice to see you here").isVisible());

  // In place: no navigation, the button's state and count change.
  const hello = post(b, "Hello from Alice");
  const fav = hello.locator("button", { hasText: "Favourite" });
  assert.equal(await fav.getAttribute("aria-pressed"), "false");
  const url = b.url();
  await fav.click();
  await b.waitForFunction(
    (el) => el.getAttribute("aria-pressed") === "true",
    await fav.elementHandle(),
  );
  assert.equal(b.url(), url);
  assert.equal(await fav.locator(".count").textContent(), "1");
  const boost = hello.locator("button", { hasText: "Boost" });
  await boost.click();
  await b.waitForFunction((el) => el.getAttribute("aria-pressed") === "true", await boost.elementHandle());
  assert.equal(await boost.locator(".count").textContent(), "1");
  // Bookmark, then find it on the bookmarks page.
  const mark = hello.locator("button", { hasText: "Bookmark" });
  await mark.click();
  await b.waitForFunction((el) => el.getAttribute("aria-pressed") === "true", await mark.elementHandle());
  // After a reload the state is the server's.
  await b.reload();
  assert.equal(await post(b, "Hello from Alice").locator("button", { hasText: "Favourite" }).getAttribute("aria-pressed"), "true");
  await b.goto(server.base + "/bookmarks");
  assert.ok(await post(b, "Hello from Alice").isVisible());
  await checkPage(b, "bookmarks");
  await b.goto(server.base + "/favourites");
  assert.ok(await post(b, "Hello from Alice").isVisible());
  await checkPage(b, "favourites");

  // Alice hears about all of it.
  await a.goto(server.base + "/notifications");
  for (const what of ["favourited your post", "boosted your post", "mentioned you", "followed you"]) {
    assert.ok(await a.locator(".notification .what", { hasText: what }).first().isVisible(), what);
  }
  await checkPage(a, "notifications");
});

test("no dead ends: Boost only where allowed, refusals in the layout, no resend after one", { timeout: 120000 }, async () => {
  const { b } = s;
  // Bob follows Alice and reads her followers-only post: it may not be boosted, so no Boost
  // button is offered (the count is still shown).
  await b.goto(server.base + "/home");
  const secret = post(b, "secret for followers");
  assert.equal(await secret.locator("button", { hasText: "Boost" }).count(), 0);
  assert.ok(await secret.locator(".action", { hasText: "Boosts" }).isVisible());
  assert.equal(await post(b, "Hello from Alice").locator("button", { hasText: "Boost" }).count(), 1);

  // The script: a refused action is shown next to its button and not sent again. (The button of
  // a public post pointed at the followers-only one, as when a post changes under the page.)
  const secretId = s.secretPath.split("/").pop();
  const posts = [];
  const onRequest = (req) => {
    if (req.method() === "POST" && req.url().endsWith(`/statuses/${secretId}/reblog`)) posts.push(req.url());
  };
  b.on("request", onRequest);
  const url = b.url();
  const boost = post(b, "Hello from Alice").locator("button", { hasText: "Boost" });
  await boost.evaluate((el, id) => { el.formAction = `/statuses/${id}/reblog`; el.value = "1"; }, secretId);
  await boost.click();
  const note = post(b, "Hello from Alice").locator(".inplace-error");
  await note.waitFor();
  assert.match(await note.textContent(), /not allowed/);
  await b.waitForTimeout(500);
  b.off("request", onRequest);
  assert.equal(posts.length, 1, "posted once, not resent");
  assert.equal(b.url(), url);

  // Without the script, the refusal is a page in the normal layout: navigation, heading, reason.
  const res = await b.evaluate(async (id) => {
    const form = document.getElementById("acts");
    const csrf = form.querySelector("input[name=_csrf]").value;
    const r = await fetch(`/statuses/${id}/reblog`, {
      method: "POST",
      body: new URLSearchParams({ _csrf: csrf, on: "1" }),
      credentials: "same-origin",
    });
    return { status: r.status, html: await r.text() };
  }, secretId);
  assert.equal(res.status, 403);
  assert.match(res.html, /<h1>Not allowed<\/h1>/);
  assert.match(res.html, /role="alert">Boosting this post is not allowed: /);
  assert.match(res.html, /<nav aria-label="Main">/);
  for (const link of ["/home", "/notifications", "/settings/profile"]) {
    assert.ok(res.html.includes(`<a href="${link}"`), link);
  }
  // The action's address opened as a page leads to the post, not to a blank error.
  await b.goto(server.base + `/statuses/${secretId}/reblog`);
  assert.equal(new URL(b.url()).pathname, s.secretPath);
  // A missing page, signed in: still the layout with its navigation.
  const missing = await b.goto(server.base + "/statuses/1/edit");
  assert.equal(missing.status(), 404);
  assert.equal(await b.locator("nav[aria-label=Main] a", { hasText: "Home" }).count(), 1);
  await checkPage(b, "error-in-layout");
});

test("the post form counts past the limit, keeps a refused text, and stays at a real page", { timeout: 120000 }, async () => {
  const { a } = s;
  await a.goto(server.base + "/home");
  const box = a.locator("#compose-text");
  assert.equal(await box.getAttribute("maxlength"), null, "no silent cut");
  const counter = a.locator("#compose-count");
  // Whitespace only: the counter says what the server will.
  await box.fill("   \n  ");
  assert.match(await counter.textContent(), /only spaces/);
  // The content warning counts, trailing whitespace does not (as the server counts).
  await box.fill("abc   ");
  await a.fill("#compose-cw", "cw");
  assert.equal(await counter.textContent(), "4995 characters left");
  await a.fill("#compose-cw", "");
  // A paste past the limit is kept whole; the counter goes negative and red.
  const long = "x".repeat(5010);
  await box.fill(long);
  assert.equal((await box.inputValue()).length, 5010);
  assert.equal(await counter.textContent(), "-10 characters left");
  assert.ok(await counter.evaluate((el) => el.classList.contains("over")));
  const [res] = await Promise.all([
    a.waitForNavigation(),
    a.click("form.compose button[type=submit]"),
  ]);
  assert.equal(res.status(), 422);
  assert.match(await a.locator(".compose .error").textContent(), /character limit of 5000/);
  assert.equal((await a.inputValue("#compose-text")).length, 5010, "the text is kept");
  assert.equal(new URL(a.url()).pathname, "/statuses");
  await checkPage(a, "compose-refused");
  // That address is a page of its own (reloaded or opened later), not a missing page.
  const again = await a.goto(server.base + "/statuses");
  assert.equal(again.status(), 200);
  assert.equal(await a.inputValue("#compose-text"), "");
  await checkPage(a, "compose");
});

test("words: plurals, and a refused sign-up keeps the agreement ticked", { timeout: 120000 }, async () => {
  const ctx = await watch.context(browser);
  const page = await ctx.newPage();
  // Bob has one follower (Alice) at this point; Alice has one follower (Bob).
  await page.goto(server.base + "/@bob");
  assert.match(await page.locator(".counts").textContent(), /\b1 follower\b(?!s)/);
  await page.goto(server.base + "/auth/sign_up");
  await page.fill("#username", "alice");
  await page.fill("#email", "another@example.org");
  await page.fill("#password", "correct horse battery");
  await page.check("#agreement");
  await Promise.all([page.waitForNavigation(), page.click("form.stack button[type=submit]")]);
  assert.match(await page.locator(".error").textContent(), /Username has already been taken/);
  assert.equal(await page.isChecked("#agreement"), true, "the agreement stays ticked");
  assert.equal(await page.inputValue("#password"), "", "the password is typed again");
  assert.equal(await page.inputValue("#email"), "another@example.org");
  await ctx.close();
});

test("times, whom a reply answers, long posts folded", { timeout: 120000 }, async () => {
  const { a } = s;
  // Bob's reply to Alice says whom it answers.
  await a.goto(server.base + s.helloPath);
  const reply = post(a, "nice to see you here");
  assert.match(await reply.locator(".reply-to").textContent(), /^Replying to @alice@/);
  // Times are <time datetime>, shown relative by the script (UTC without it, below).
  const time = post(a, "Hello from Alice").locator("time").first();
  assert.match(await time.getAttribute("datetime"), /^\d{4}-\d\d-\d\dT/);
  assert.match(await time.textContent(), /^(now|\d+ min|\d+ h)$/);
  assert.equal(await time.getAttribute("data-local"), "1");
  // A long post folds in the feed behind "Show more" and opens in place; on its own page it is whole.
  const long = Array.from({ length: 40 }, (_, i) => `Line ${i} of a very long post about many things.`).join("\n");
  await a.goto(server.base + "/home");
  await compose(a, long, { visibility: "public" });
  const card = post(a, "Line 0 of a very long post");
  const content = card.locator(".content");
  const clipped = () => content.evaluate((el) => el.scrollHeight > el.clientHeight + 1);
  assert.ok(await clipped(), "folded");
  await card.locator("summary", { hasText: "Show more" }).click();
  assert.equal(await clipped(), false, "opened");
  assert.ok(await card.locator("summary", { hasText: "Show less" }).isVisible());
  await checkPage(a, "home-long-post");
  await Promise.all([a.waitForNavigation(), card.locator(".meta a").first().click()]);
  assert.equal(await a.locator("article.post.focus details.more").count(), 0);
  // Without the script: UTC, and "Show more" still works.
  const ctx = await watch.context(browser, { javaScriptEnabled: false });
  await ctx.addCookies(await s.bob.cookies());
  const p = await ctx.newPage();
  await p.goto(server.base + "/@alice");
  assert.match(await post(p, "Hello from Alice").locator("time").first().textContent(), /UTC$/);
  const folded = post(p, "Line 0 of a very long post");
  await folded.locator("summary").click();
  assert.equal(await folded.locator(".content").evaluate((el) => el.scrollHeight > el.clientHeight + 1), false);
  await ctx.close();
});

test("home: new-posts notice, paging link, 360 px wide", { timeout: 120000 }, async () => {
  const { a, b } = s;
  await a.goto(server.base + "/home");
  await checkPage(a, "home");
  // Live updates come over the streaming API's WebSocket, signed in by the session cookie.
  await a.waitForSelector("body[data-live=open]", { timeout: 10000 });
  assert.ok(await a.locator("#unread").isHidden());
  await b.goto(server.base + "/home");
  await compose(b, "Fresh post from Bob for the notice");
  await a.waitForSelector("#new-posts:not([hidden])", { timeout: 10000 });
  assert.match(await a.locator("#new-posts").textContent(), /^1 new post/);
  await compose(b, "@alice a mention lights up the notifications count");
  await a.waitForSelector("#unread:not([hidden])", { timeout: 10000 });
  assert.match(await a.locator("#unread").textContent(), /^1 new notification/);
  assert.match(await a.locator("#new-posts").textContent(), /^2 new posts/);
  await Promise.all([a.waitForNavigation(), a.click("#new-posts a")]);
  assert.ok(await post(a, "Fresh post from Bob").isVisible());
  // The count is the server's too (the notifications marker): it survives a reload, and
  // reading the notifications page clears it.
  await a.reload();
  assert.match(await a.locator("#unread").textContent(), /^1 new notification/);
  await a.goto(server.base + "/notifications");
  assert.ok(await a.locator("#unread").isHidden());
  await a.goto(server.base + "/home");
  assert.ok(await a.locator("#unread").isHidden());

  // Narrow screens: nothing wider than the viewport.
  const phone = await watch.context(browser, { viewport: { width: 360, height: 740 } });
  await phone.addCookies(await s.alice.cookies());
  const p = await phone.newPage();
  for (const path of ["/home", "/@bob", s.helloPath, "/settings/profile", "/notifications"]) {
    await p.goto(server.base + path);
    const wide = await p.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(wide <= 360, `${path} is ${wide} px wide at 360 px`);
  }
  await p.goto(server.base + "/home");
  await checkPage(p, "home-360px");
  await phone.close();
});

test("settings: keyword filters warn, hide, edit and delete", { timeout: 120000 }, async () => {
  const { a, b } = s;
  await a.goto(server.base + "/settings/filters");
  assert.match(await a.locator("#filters-title + p + p").textContent(), /no filters/);
  // A filter that applies nowhere is refused, with the form kept.
  await a.fill("#title", "Spoilers");
  await a.fill("#keywords", "finale\nplot twist");
  for (const c of ["home", "public", "thread"]) await a.uncheck(`#context_${c}`);
  await Promise.all([a.waitForNavigation(), a.click("form.stack button[type=submit]")]);
  assert.match(await a.locator(".error").textContent(), /Context can't be blank/);
  assert.equal(await a.inputValue("#keywords"), "finale\nplot twist");
  await a.check("#context_home");
  await Promise.all([a.waitForNavigation(), a.click("form.stack button[type=submit]")]);
  assert.match(await a.locator(".notice").textContent(), /added/);
  assert.match(await a.locator(".filter-row").textContent(), /finale, plot twist/);
  await checkPage(a, "settings-filters");

  await b.goto(server.base + "/home");
  await compose(b, "The finale was something else");
  await a.goto(server.base + "/home");
  const hidden = post(a, "The finale was something else");
  assert.match(await hidden.locator("details.filtered summary").textContent(), /Spoilers/);

  // Edit: hide completely, and drop one keyword.
  await a.goto(server.base + "/settings/filters");
  await Promise.all([a.waitForNavigation(), a.click(".filter-row a")]);
  await checkPage(a, "settings-filter-edit");
  await a.fill("#keywords", "finale");
  await a.selectOption("#action", "hide");
  await Promise.all([a.waitForNavigation(), a.click("form.stack button[type=submit]")]);
  assert.match(await a.locator(".notice").textContent(), /saved/);
  assert.equal(await a.inputValue("#keywords"), "finale");
  assert.equal(await a.inputValue("#action"), "hide");
  await a.goto(server.base + "/home");
  assert.equal(await post(a, "The finale was something else").count(), 0);

  // Delete: the post is back.
  await a.goto(server.base + "/settings/filters");
  await Promise.all([a.waitForNavigation(), a.click(".filter-row a")]);
  a.once("dialog", (d) => d.accept());
  await Promise.all([a.waitForNavigation(), a.click("button.danger")]);
  assert.match(await a.locator(".notice").textContent(), /deleted/);
  await a.goto(server.base + "/home");
  assert.ok(await post(a, "The finale was something else").isVisible());
});

test("edit a post; its history is there for whoever may see the post", { timeout: 120000 }, async () => {
  const { a, b } = s;
  await a.goto(server.base + s.secretPath);
  await Promise.all([a.waitForNavigation(), post(a, "secret for followers").locator("a[href$='/edit']").click()]);
  assert.equal(await a.inputValue("#compose-text"), "Alice's secret for followers");
  await checkPage(a, "edit");
  // Invalid: refused with the text kept.
  await a.fill("#compose-text", "   ");
  await a.evaluate(() => document.querySelector("#compose-text").removeAttribute("required"));
  await Promise.all([a.waitForNavigation(), a.click("form.compose button[type=submit]")]);
  assert.match(await a.locator(".error").textContent(), /can't be blank/);
  await a.fill("#compose-text", "Alice's secret for followers, now edited");
  await a.fill("#compose-cw", "a secret");
  await Promise.all([a.waitForNavigation(), a.click("form.compose button[type=submit]")]);
  assert.equal(new URL(a.url()).pathname, s.secretPath);
  const edited = post(a, "now edited");
  assert.match(await edited.locator(".cw summary").textContent(), /a secret/);
  await Promise.all([a.waitForNavigation(), edited.locator(".meta a:has-text('edited')").click()]);
  assert.equal(new URL(a.url()).pathname, s.secretPath + "/history");
  const versions = a.locator("li.version");
  assert.equal(await versions.count(), 2);
  assert.match(await versions.nth(0).textContent(), /Current version[\s\S]*now edited/);
  assert.match(await versions.nth(1).textContent(), /Original[\s\S]*Alice's secret for followers/);
  await checkPage(a, "history");

  // Bob follows Alice: he sees the history, but may not edit.
  await b.goto(server.base + s.secretPath + "/history");
  assert.equal(await b.locator("li.version").count(), 2);
  const res = await b.goto(server.base + s.secretPath.replace(/^\/@[^/]+/, "/statuses") + "/edit");
  assert.equal(res.status(), 403);
  await b.goto(server.base + s.secretPath);
  assert.equal(await post(b, "now edited").locator("a[href$='/edit']").count(), 0);
});

test("lists, search, tags and the public timeline", { timeout: 120000 }, async () => {
  const { a } = s;
  await a.goto(server.base + "/lists");
  await a.fill("#list-title", "Builders");
  await Promise.all([a.waitForNavigation(), a.click("form.stack button[type=submit]")]);
  assert.match(a.url(), /\/lists\/\d+$/);
  await a.click("details.card > summary");
  await a.fill("#member-acct", "bob");
  await Promise.all([a.waitForNavigation(), a.click("button:text-is('Add to list')")]);
  await a.click("details.card > summary");
  assert.ok(await a.locator(".member", { hasText: "Bob Builder" }).isVisible());
  assert.ok(await post(a, "Fresh post from Bob").isVisible());
  await checkPage(a, "list");
  // A refused "Add someone": the answer is at the list's URL, with the management section
  // open, the reason in it and what was typed kept.
  const listUrl = a.url();
  await a.fill("#member-acct", "nobody_here");
  const [refused] = await Promise.all([a.waitForNavigation(), a.click("button:text-is('Add to list')")]);
  assert.equal(refused.status(), 422);
  assert.equal(a.url(), listUrl);
  assert.equal(await a.locator("details.card").getAttribute("open"), "");
  assert.match(await a.locator("details.card .error").textContent(), /No account nobody_here/);
  assert.equal(await a.inputValue("#member-acct"), "nobody_here");
  assert.ok(await a.locator(".member", { hasText: "Bob Builder" }).isVisible());
  await checkPage(a, "list-refused");
  await a.goto(server.base + "/lists");
  assert.ok(await a.locator("a", { hasText: "Builders" }).isVisible());
  await checkPage(a, "lists");

  await a.goto(server.base + "/search");
  await a.fill("#q", "bob");
  await Promise.all([a.waitForNavigation(), a.click("form.search button")]);
  assert.ok(await a.locator(".account", { hasText: "Bob Builder" }).isVisible());
  await checkPage(a, "search");
  await a.goto(server.base + "/search?q=%23kringtest");
  assert.ok(await a.locator("#r-tags ~ ul a, section[aria-labelledby=r-tags] a", { hasText: "#kringtest" }).first().isVisible());
  await a.goto(server.base + "/tags/kringtest");
  assert.ok(await post(a, "Hello from Alice").isVisible());
  await checkPage(a, "tag");
  await a.goto(server.base + "/public");
  assert.ok(await post(a, "Hello from Alice").isVisible());
  await checkPage(a, "public");
  await a.goto(server.base + "/@alice");
  await checkPage(a, "profile-own");
});

test("dark theme (following the system setting)", { timeout: 120000 }, async () => {
  const dark = await watch.context(browser, { colorScheme: "dark" });
  await dark.addCookies(await s.alice.cookies());
  const p = await dark.newPage();
  for (const [path, name] of [["/home", "home-dark"], ["/@bob", "profile-dark"], [s.helloPath, "thread-dark"], ["/notifications", "notifications-dark"], ["/settings/profile", "settings-profile-dark"]]) {
    await p.goto(server.base + path);
    await checkPage(p, name);
  }
  const bg = await p.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(bg, "rgb(22, 22, 28)");
  await dark.close();
  const anon = await watch.context(browser, { colorScheme: "dark" });
  const v = await anon.newPage();
  await v.goto(server.base + "/");
  await checkPage(v, "landing-dark");
  await anon.close();
});

test("settings: preferences, sessions, password", { timeout: 120000 }, async () => {
  const { a } = s;
  await a.goto(server.base + "/settings/preferences");
  await a.selectOption("#privacy", "private");
  await a.fill("#language", "nl");
  await Promise.all([a.waitForNavigation(), a.click("form.stack button[type=submit]")]);
  assert.match(await a.locator(".notice").textContent(), /saved/);
  await checkPage(a, "settings-preferences");
  await a.goto(server.base + "/home");
  assert.equal(await a.inputValue("#compose-vis"), "private");

  // A second browser session for Alice shows up in the list, and can be revoked.
  const other = await watch.context(browser);
  const o = await other.newPage();
  await signIn(o, server.base, "alice@example.org", "correct horse battery");
  await a.goto(server.base + "/settings/sessions");
  assert.equal(await a.locator("tbody tr").count(), 2);
  await checkPage(a, "settings-sessions");
  const row = a.locator("tbody tr", { hasNotText: "this browser" });
  await Promise.all([a.waitForNavigation(), row.locator("button").click()]);
  assert.equal(await a.locator("tbody tr").count(), 1);
  await o.goto(server.base + "/home");
  assert.match(o.url(), /\/auth\/sign_in/);
  await other.close();

  // The data export: asked for on a plain page, reloaded until the archive is ready.
  await a.goto(server.base + "/settings/export");
  await checkPage(a, "settings-export");
  await Promise.all([a.waitForNavigation(), a.click("main form button[type=submit]")]);
  for (let i = 0; i < 100 && !(await a.locator("a[href$='/download']").count()); i++) {
    await new Promise((r) => setTimeout(r, 200));
    await a.reload();
  }
  assert.equal(await a.locator("a[href$='/download']").count(), 1);
  await checkPage(a, "settings-export-ready");
  const download = await a.locator("a[href$='/download']").getAttribute("href");
  s.aliceArchive = await (await a.request.get(server.base + download)).body();

  await a.goto(server.base + "/settings/password");
  await checkPage(a, "settings-password");
  await a.fill("#current", "wrong one");
  await a.fill("#new", "a new long password");
  await a.fill("#confirm", "a new long password");
  await a.click("form.stack button[type=submit]");
  await a.waitForSelector(".error");
  assert.match(await a.locator(".error").textContent(), /Current password is invalid/);
});

test("friends, circles and local-only posts", { timeout: 180000 }, async () => {
  const { a, b } = s;
  // Alice and Bob follow each other (earlier steps): friends, on both profiles.
  await a.goto(server.base + "/@bob");
  assert.ok(await a.locator(".badge.friend", { hasText: "Friends" }).isVisible());
  assert.ok(await a.locator(".badge", { hasText: "Follows you" }).isVisible());
  await checkPage(a, "profile-friend");
  await b.goto(server.base + "/@alice");
  assert.ok(await b.locator(".badge.friend").isVisible());
  await Promise.all([a.waitForNavigation(), a.click("header.top nav a:text-is('Friends')")]);
  assert.equal(new URL(a.url()).pathname, "/friends");
  assert.ok(await a.locator(".account", { hasText: "@bob@" }).isVisible());
  await checkPage(a, "friends");

  // Dave follows Alice, who does not follow him: not friends.
  s.dave = await watch.context(browser);
  const d = await s.dave.newPage();
  await signUp(d, server.base, "dave");
  await d.goto(server.base + "/@alice");
  await Promise.all([d.waitForNavigation(), d.click("button:text-is('Follow')")]);
  assert.ok(await d.locator(".badge", { hasText: "Following" }).isVisible());
  assert.equal(await d.locator(".badge.friend").count(), 0);

  // A circle, made on the circles page (a tab next to Friends); Bob added from his profile.
  await Promise.all([a.waitForNavigation(), a.click("nav.tabs a:text-is('Circles')")]);
  assert.ok(await a.locator(".empty", { hasText: "no circles yet" }).isVisible());
  await checkPage(a, "circles-empty");
  await a.fill("#circle-title", "Close friends");
  await Promise.all([a.waitForNavigation(), a.click("button:text-is('Create circle')")]);
  assert.match(a.url(), /\/circles\/\d+$/);
  s.circlePath = new URL(a.url()).pathname;
  assert.ok(await a.locator(".empty", { hasText: "No one is in this circle yet" }).isVisible());
  await checkPage(a, "circle-empty");
  await a.goto(server.base + "/@bob");
  const control = a.locator("details.circles-control");
  assert.match(await control.locator("summary").textContent(), /Add to your circles/);
  await control.locator("summary").click();
  await control.getByLabel("Close friends").check();
  await checkPage(a, "profile-circles");
  await Promise.all([a.waitForNavigation(), a.click("button:text-is('Save circles')")]);
  assert.equal(new URL(a.url()).pathname, "/@bob");
  assert.match(await control.locator("summary").textContent(), /In your circles: Close friends/);
  await a.goto(server.base + s.circlePath);
  assert.ok(await a.locator(".member", { hasText: "@bob@" }).isVisible());
  await checkPage(a, "circle");

  // The composer starts at her default audience; with the script, the circles show only while
  // "Circles" is chosen.
  await a.goto(server.base + "/home");
  assert.equal(await a.inputValue("#compose-vis"), "private");
  const vis = await a.locator("#compose-vis option").evaluateAll((os) => os.map((o) => o.value));
  assert.deepEqual(vis, ["public", "unlisted", "private", "friends", "circle", "direct"]);
  assert.ok(await a.locator("fieldset.circles").isHidden());
  await a.fill("#compose-text", "A note for the close circle");
  await a.selectOption("#compose-vis", "circle");
  assert.ok(await a.locator("fieldset.circles").isVisible());
  await a.getByLabel("Close friends").check();
  await checkPage(a, "compose-circles");
  await Promise.all([a.waitForNavigation(), a.click("form.compose button[type=submit]")]);
  assert.match(await post(a, "A note for the close circle").locator(".meta").textContent(), /· Circles/);
  await compose(a, "Only my friends read this", { visibility: "friends" });
  assert.match(await post(a, "Only my friends read this").locator(".meta").textContent(), /· Friends only/);
  await a.fill("#compose-text", "Staying on this server");
  await a.selectOption("#compose-vis", "public");
  await a.check("#compose-local");
  await Promise.all([a.waitForNavigation(), a.click("form.compose button[type=submit]")]);
  assert.ok(await post(a, "Staying on this server").locator(".local-only", { hasText: "Local only" }).isVisible());

  // Bob (a friend, in the circle) reads all three; Dave (a follower) only the local post.
  await b.goto(server.base + "/home");
  for (const text of ["A note for the close circle", "Only my friends read this", "Staying on this server"]) {
    assert.ok(await post(b, text).isVisible(), `bob: ${text}`);
  }
  s.circlePostPath = await post(b, "A note for the close circle").locator(".meta a").first().getAttribute("href");
  s.friendsPostPath = await post(b, "Only my friends read this").locator(".meta a").first().getAttribute("href");
  for (const path of ["/home", "/@alice", "/@alice?with_replies=1"]) {
    await d.goto(server.base + path);
    assert.equal(await d.locator("text=A note for the close circle").count(), 0, path);
    assert.equal(await d.locator("text=Only my friends read this").count(), 0, path);
  }
  assert.ok(await post(d, "Staying on this server").isVisible());
  for (const path of [s.circlePostPath, s.friendsPostPath]) {
    const res = await d.goto(server.base + path);
    assert.equal(res.status(), 404, path);
  }

  // Bob's reply stays in the circle: the form says so instead of offering a choice.
  await b.goto(server.base + s.circlePostPath);
  assert.match(await b.locator("#compose-audience").textContent(), /same circles as the post/);
  assert.equal(await b.locator("#compose-vis").count(), 0);
  await checkPage(b, "thread-circle");
  await b.fill("#compose-text", "@alice A reply inside the circle");
  await Promise.all([b.waitForNavigation(), b.click("form.compose button[type=submit]")]);
  assert.match(await post(b, "A reply inside the circle").locator(".meta").textContent(), /· Circles/);
  await a.goto(server.base + s.circlePostPath);
  assert.ok(await post(a, "A reply inside the circle").isVisible());
  await d.goto(server.base + "/@bob?with_replies=1");
  assert.equal(await d.locator("text=A reply inside the circle").count(), 0);

  // The default audience may be friends only (never circles: those are chosen each time).
  await a.goto(server.base + "/settings/preferences");
  assert.equal(await a.locator("#privacy option[value=circle]").count(), 0);
  await a.selectOption("#privacy", "friends");
  await Promise.all([a.waitForNavigation(), a.click("form.stack button[type=submit]")]);
  await a.goto(server.base + "/home");
  assert.equal(await a.inputValue("#compose-vis"), "friends");
  await a.goto(server.base + "/settings/preferences");
  await a.selectOption("#privacy", "private");
  await Promise.all([a.waitForNavigation(), a.click("form.stack button[type=submit]")]);

  // Taken out of the circle on its page, Bob no longer reads its post.
  await a.goto(server.base + s.circlePath);
  await Promise.all([a.waitForNavigation(), a.locator(".member", { hasText: "@bob@" }).locator("button", { hasText: "Remove" }).click()]);
  assert.ok(await a.locator(".empty", { hasText: "No one is in this circle yet" }).isVisible());
  const gone = await b.goto(server.base + s.circlePostPath);
  assert.equal(gone.status(), 404);
  await b.goto(server.base + "/home");
  assert.equal(await b.locator("text=A note for the close circle").count(), 0);

  // With the script, deleting a circle asks in a dialog.
  await a.goto(server.base + "/circles");
  await a.fill("#circle-title", "Passing circle");
  await Promise.all([a.waitForNavigation(), a.click("button:text-is('Create circle')")]);
  a.once("dialog", (dialog) => dialog.accept());
  await Promise.all([a.waitForURL(/\/circles$/), a.click("button:text-is('Delete circle')")]);
  assert.equal(await a.locator("a", { hasText: "Passing circle" }).count(), 0);
  assert.ok(await a.locator("a", { hasText: "Close friends" }).isVisible());
  await checkPage(a, "circles");
});

test("circles without JavaScript: the circles always shown, a delete asks on a page", { timeout: 120000 }, async () => {
  const ctx = await watch.context(browser, { javaScriptEnabled: false });
  await ctx.addCookies(await s.alice.cookies());
  const p = await ctx.newPage();
  // Bob back in the circle, from his profile.
  await p.goto(server.base + "/@bob");
  await p.click("details.circles-control > summary");
  await p.getByLabel("Close friends").check();
  await Promise.all([p.waitForNavigation(), p.click("button:text-is('Save circles')")]);
  assert.match(await p.locator("details.circles-control summary").textContent(), /In your circles: Close friends/);
  await p.goto(server.base + "/home");
  assert.ok(await p.locator("fieldset.circles").isVisible());
  // Ticked, but another audience chosen: refused with the form kept, nothing posted.
  await p.fill("#compose-text", "Without scripts, for the circle");
  await p.getByLabel("Close friends").check();
  await p.selectOption("#compose-vis", "public");
  const [refused] = await Promise.all([p.waitForNavigation(), p.click("form.compose button[type=submit]")]);
  assert.equal(refused.status(), 422);
  assert.match(await p.locator(".compose .error").textContent(), /You ticked circles/);
  assert.equal(await p.inputValue("#compose-text"), "Without scripts, for the circle");
  assert.ok(await p.getByLabel("Close friends").isChecked());
  await checkPage(p, "compose-circles-refused-nojs", { noScript: true });
  await p.selectOption("#compose-vis", "circle");
  await Promise.all([p.waitForNavigation(), p.click("form.compose button[type=submit]")]);
  assert.match(await post(p, "Without scripts, for the circle").locator(".meta").textContent(), /· Circles/);
  await s.b.goto(server.base + "/home");
  assert.ok(await post(s.b, "Without scripts, for the circle").isVisible());
  const d = await s.dave.newPage();
  await d.goto(server.base + "/home");
  assert.equal(await d.locator("text=Without scripts, for the circle").count(), 0);
  await d.close();

  // Delete: a page asks first; "Keep it" keeps it, "Delete circle" deletes it.
  await p.goto(server.base + "/circles");
  await p.fill("#circle-title", "Short-lived");
  await Promise.all([p.waitForNavigation(), p.click("button:text-is('Create circle')")]);
  const circle = new URL(p.url()).pathname;
  await Promise.all([p.waitForNavigation(), p.click("button:text-is('Delete circle')")]);
  assert.equal(new URL(p.url()).pathname, `${circle}/delete`);
  assert.equal(await p.locator("h1").textContent(), "Delete this circle?");
  await checkPage(p, "confirm-delete-circle-nojs", { noScript: true });
  await Promise.all([p.waitForNavigation(), p.click("a:text-is('Keep it')")]);
  assert.equal(new URL(p.url()).pathname, circle);
  await Promise.all([p.waitForNavigation(), p.click("button:text-is('Delete circle')")]);
  await Promise.all([p.waitForNavigation(), p.click("main form button:text-is('Delete circle')")]);
  assert.equal(new URL(p.url()).pathname, "/circles");
  assert.equal(await p.locator("a", { hasText: "Short-lived" }).count(), 0);
  const res = await p.goto(server.base + circle);
  assert.equal(res.status(), 404);
  await ctx.close();
});

test("interaction controls: choices in settings and the composer, buttons that say why, the approval queue", { timeout: 180000 }, async () => {
  const { a, b } = s;
  // Alice's defaults: replies from followers at once, from everyone else after her approval.
  await a.goto(server.base + "/settings/preferences");
  assert.equal(await a.inputValue("#default-can_reply"), "public");
  await a.selectOption("#default-can_reply", "followers");
  await a.selectOption("#default-can_reply-approval", "public");
  await checkPage(a, "settings-interaction-defaults");
  await Promise.all([a.waitForNavigation(), a.click("button:text-is('Save preferences')")]);
  assert.ok(await a.locator(".notice", { hasText: "preferences were saved" }).isVisible());
  assert.equal(await a.inputValue("#default-can_reply"), "followers");
  assert.equal(await a.inputValue("#default-can_reply-approval"), "public");

  // The composer starts from them, behind "Who can reply, boost and favourite"; this post
  // allows no boosts.
  await a.goto(server.base + "/home");
  const choices = a.locator("form.compose details.policy");
  assert.ok(await a.locator("#compose-can_reply").isHidden(), "folded away");
  await choices.locator("summary").click();
  assert.equal(await a.inputValue("#compose-can_reply"), "followers");
  assert.equal(await a.inputValue("#compose-can_reply-approval"), "public");
  await a.selectOption("#compose-can_reblog", "nobody");
  await checkPage(a, "compose-interaction-choices");
  await compose(a, "Ask me before you answer", { visibility: "public" });
  s.askPath = await post(a, "Ask me before you answer").locator(".meta a").first().getAttribute("href");

  // Erin follows nobody: no Boost button (the reason instead), and a reply that waits.
  s.erin = await watch.context(browser);
  const e = await s.erin.newPage();
  await signUp(e, server.base, "erin");
  await e.goto(server.base + s.askPath);
  const asked = post(e, "Ask me before you answer");
  assert.equal(await asked.locator("button", { hasText: "Boost" }).count(), 0);
  assert.ok(await asked.locator(".action.gated", { hasText: "The author turned off boosts" }).isVisible());
  assert.ok(await asked.locator("a.action", { hasText: "needs approval" }).isVisible());
  assert.ok(await e.locator(".approval-note", { hasText: "once they accept it" }).isVisible());
  await checkPage(e, "thread-needs-approval");
  await compose(e, "Erin asks to answer");
  // Erin's own post: nobody may reply or boost it.
  await e.goto(server.base + "/home");
  await e.locator("form.compose details.policy summary").click();
  await e.selectOption("#compose-can_reply", "nobody");
  await e.selectOption("#compose-can_reblog", "nobody");
  await compose(e, "Erin keeps this one to herself", { visibility: "public" });
  s.erinPath = await post(e, "Erin keeps this one to herself").locator(".meta a").first().getAttribute("href");

  // Bob, a follower, does not see the waiting reply; Alice has it in her queue, counted in the
  // navigation and named on the notifications page.
  await b.goto(server.base + s.askPath);
  assert.equal(await b.locator("text=Erin asks to answer").count(), 0);
  assert.ok(await post(b, "Ask me before you answer").locator("a.action", { hasText: "Reply" }).isVisible());
  await a.goto(server.base + "/notifications");
  const tab = a.locator("nav.tabs a[href='/interaction_requests']");
  assert.equal(await tab.locator(".unread").textContent(), "1 waiting");
  await Promise.all([a.waitForNavigation(), tab.click()]);
  assert.equal(new URL(a.url()).pathname, "/interaction_requests");
  const request = a.locator("li.request", { hasText: "Erin asks to answer" });
  assert.ok(await request.locator(".what", { hasText: "wants to reply to your post" }).isVisible());
  await checkPage(a, "approval-queue");
  await Promise.all([a.waitForNavigation(), request.locator("button", { hasText: "Accept" }).click()]);
  assert.ok(await a.locator(".empty", { hasText: "Nothing waits for your approval" }).isVisible());
  assert.equal(await a.locator("nav.tabs a[href='/interaction_requests'] .unread").count(), 0);
  await b.goto(server.base + s.askPath);
  assert.ok(await b.locator("text=Erin asks to answer").isVisible());

  // Alice on Erin's post: the reasons, no reply form.
  await a.goto(server.base + s.erinPath);
  const kept = post(a, "Erin keeps this one to herself");
  assert.ok(await kept.locator(".action.gated", { hasText: "The author turned off replies" }).isVisible());
  assert.equal(await a.locator("#compose-text").count(), 0);
  assert.ok(await a.locator(".gated-reply", { hasText: "The author turned off replies" }).isVisible());
  await checkPage(a, "thread-replies-off");

  // Back to everyone, at once, for the steps that follow.
  await a.goto(server.base + "/settings/preferences");
  await a.selectOption("#default-can_reply", "public");
  await a.selectOption("#default-can_reply-approval", "nobody");
  await Promise.all([a.waitForNavigation(), a.click("button:text-is('Save preferences')")]);
  assert.equal(await a.inputValue("#default-can_reply"), "public");
});

test("report a post; moderators see and resolve the report", { timeout: 120000 }, async () => {
  const { b } = s;
  await b.goto(server.base + s.helloPath);
  await Promise.all([b.waitForNavigation(), post(b, "Hello from Alice").locator("a", { hasText: "Report" }).click()]);
  assert.match(await b.locator("h1").textContent(), /Report/);
  assert.ok(await b.locator("article.post", { hasText: "Hello from Alice" }).isVisible());
  await checkPage(b, "report");
  await b.selectOption("#category", "violation");
  const chosen = (await b.locator("#category option:checked").textContent()).trim();
  await b.selectOption("#category", "spam");
  const spamWords = (await b.locator("#category option:checked").textContent()).trim();
  await b.fill("#comment", "Looks like spam to me");
  await Promise.all([b.waitForNavigation(), b.click("form.stack button[type=submit]")]);
  assert.match(await b.locator(".notice").textContent(), /went to this server's moderators/);

  const ctx = await watch.context(browser);
  const m = await ctx.newPage();
  await signIn(m, server.base, server.admin.email, server.admin.password);
  await m.goto(server.base + "/admin#reports");
  assert.match(await m.locator("header.top a[href='/admin']").textContent(), /1 open report/);
  const report = m.locator("li.report", { hasText: "Looks like spam to me" });
  assert.ok(await report.isVisible());
  assert.match(await report.textContent(), /@alice[\s\S]*reported by[\s\S]*@bob[\s\S]*Spam/);
  // The moderator reads the words the reporter chose from.
  assert.ok((await report.textContent()).includes(` · ${spamWords} · `), spamWords);
  assert.equal(chosen, "Breaks this server's rules");
  assert.match(await report.locator(".reported-post").textContent(), /Hello from Alice/);
  await checkPage(m, "admin-reports");
  await Promise.all([m.waitForNavigation(), report.locator("button", { hasText: "Resolve" }).click()]);
  assert.match(await m.locator(".notice").textContent(), /resolved/);
  assert.ok(await m.locator("#reports .empty", { hasText: "No open reports" }).isVisible());
  assert.doesNotMatch(await m.locator("header.top a[href='/admin']").textContent(), /open report/);
  await ctx.close();
});

test("admin: server text, rules, domain policy, roles", { timeout: 120000 }, async () => {
  const ctx = await watch.context(browser);
  const p = await ctx.newPage();
  await signIn(p, server.base, server.admin.email, server.admin.password);
  await p.goto(server.base + "/admin");
  await p.fill("#title", "Kring Test Server");
  await p.fill("#description", "A server for the browser tests.");
  await Promise.all([p.waitForNavigation(), p.click("#server form.stack button:text-is('Save')")]);
  await p.fill("#rule", "Be kind to each other.");
  await Promise.all([p.waitForNavigation(), p.click("button:text-is('Add rule')")]);
  await p.fill("#domain", "spam.example");
  await p.selectOption("#severity", "suspend");
  await Promise.all([p.waitForNavigation(), p.click("button:text-is('Save policy')")]);
  assert.ok(await p.locator("#domains li", { hasText: "spam.example" }).isVisible());
  await checkPage(p, "admin");
  // The landing page shows the new title, description and rule to visitors.
  const anon = await watch.context(browser);
  const v = await anon.newPage();
  await v.goto(server.base + "/");
  assert.equal(await v.locator("h1").first().textContent(), "Kring Test Server");
  assert.ok(await v.locator(".rules li", { hasText: "Be kind to each other." }).isVisible());
  await anon.close();
  // A person without a role is refused by the service; made a moderator, they get in, but
  // the sections for admins only show the service's refusal.
  const res = await s.b.goto(server.base + "/admin");
  assert.equal(res.status(), 403);
  const row = p.locator("#users tr", { hasText: "bob@" });
  await row.locator("select").selectOption("moderator");
  await Promise.all([p.waitForNavigation(), row.locator("button", { hasText: "Set" }).click()]);
  assert.match(await p.locator(".notice").textContent(), /role was changed/);
  const again = await s.b.goto(server.base + "/admin");
  assert.equal(again.status(), 200);
  assert.match(await s.b.locator("#domains .error").textContent(), /not allowed/);
  await checkPage(s.b, "admin-moderator");
  await ctx.close();
});

test("groups: create, discover, join, post, moderate, invite; a private group hidden from outsiders", { timeout: 180000 }, async () => {
  const { a, b } = s;
  // Groups are in the navigation; the page lists the server's groups and offers a form.
  await a.goto(server.base + "/home");
  await Promise.all([a.waitForNavigation(), a.click("header.top nav a:text-is('Groups')")]);
  assert.equal(new URL(a.url()).pathname, "/groups");
  assert.ok(await a.locator(".empty", { hasText: "in no group yet" }).isVisible());
  await checkPage(a, "groups-empty");
  await a.fill("#group-username", "walkers");
  await a.fill("#group-display-name", "Walkers");
  await a.fill("#group-note", "Walks in the hills");
  await a.fill("#group-rules", "Be kind\nNo litter");
  await Promise.all([a.waitForURL(/\/groups\/\d+$/), a.click("button:text-is('Create group')")]);
  s.groupPath = new URL(a.url()).pathname;
  assert.ok(await a.locator("h1", { hasText: "Walkers" }).isVisible());
  await checkPage(a, "group-owner");
  await a.goto(server.base + "/groups");
  await a.fill("#group-username", "quiet");
  await a.fill("#group-display-name", "Quiet room");
  await a.check("#group-kind-private");
  await Promise.all([a.waitForURL(/\/groups\/\d+$/), a.click("button:text-is('Create group')")]);
  s.privateGroupPath = new URL(a.url()).pathname;

  // Bob finds the public group in the list (not the private one), reads its rules and joins.
  await b.goto(server.base + "/groups");
  assert.ok(await b.locator(".account", { hasText: "Walkers" }).isVisible());
  assert.equal(await b.locator(".account", { hasText: "Quiet room" }).count(), 0);
  await checkPage(b, "groups");
  await Promise.all([b.waitForNavigation(), b.click("a:has-text('Walkers')")]);
  assert.ok(await b.locator(".rules li", { hasText: "No litter" }).isVisible());
  await checkPage(b, "group-visitor");
  await Promise.all([b.waitForNavigation(), b.click("button:text-is('Join group')")]);
  assert.ok(await b.locator("button", { hasText: "Leave group" }).isVisible());
  // He posts to it from its page: the composer says who will read it.
  assert.match(await b.locator("#compose-audience").textContent(), /Everyone: posts in Walkers are public/);
  await compose(b, "Hello walkers, see you on Sunday");
  assert.equal(new URL(b.url()).pathname, s.groupPath);
  assert.ok(await post(b, "see you on Sunday").isVisible());
  await checkPage(b, "group-member");

  // Alice moderates: makes Bob a moderator, invites him to the private group.
  await a.goto(server.base + s.groupPath + "/members");
  const row = a.locator("li.member", { hasText: "@bob@" });
  await Promise.all([a.waitForNavigation(), row.locator("button", { hasText: "Make moderator" }).click()]);
  assert.ok(await a.locator("li.member", { hasText: "@bob@" }).locator(".badge", { hasText: "Moderator" }).isVisible());
  await checkPage(a, "group-members");
  for (const tab of ["Requests", "Bans", "Moderation", "Settings"]) {
    await Promise.all([a.waitForNavigation(), a.click(`nav.tabs a:text-is('${tab}')`)]);
    await checkPage(a, `group-${tab.toLowerCase()}`);
  }
  await a.goto(server.base + s.privateGroupPath + "/invitations");
  await a.fill("#invite-acct", "nobody-here");
  await Promise.all([a.waitForNavigation(), a.click("button:text-is('Invite')")]);
  assert.match(await a.locator(".error").textContent(), /No account nobody-here was found/);
  await a.fill("#invite-acct", "bob");
  await Promise.all([a.waitForNavigation(), a.click("button:text-is('Invite')")]);
  assert.ok(await a.locator("li.member", { hasText: "@bob@" }).isVisible());
  await checkPage(a, "group-invitations");

  // Dave, not invited, sees the private group's name and rules, never its posts or members.
  const d = await s.dave.newPage();
  await d.goto(server.base + s.privateGroupPath);
  assert.ok(await d.locator(".empty", { hasText: "Only members see this group" }).isVisible());
  assert.equal(await d.locator("nav.tabs a", { hasText: "Members" }).count(), 0);
  await checkPage(d, "group-private-outsider");
  const res = await d.goto(server.base + s.privateGroupPath + "/members");
  assert.equal(res.status(), 404);
  await d.close();

  // Bob accepts the invitation and reads the private group's posts.
  await b.goto(server.base + "/groups");
  assert.ok(await b.locator("#invited-title").isVisible());
  await b.goto(server.base + s.privateGroupPath);
  await checkPage(b, "group-invited");
  await Promise.all([b.waitForNavigation(), b.click("button:text-is('Accept invitation')")]);
  await compose(b, "Only for the quiet room");
  assert.ok(await post(b, "Only for the quiet room").isVisible());
  assert.match(await b.locator("#compose-audience").textContent(), /members of Quiet room only/);

  // Without JavaScript: Dave joins the public group and posts to it.
  const ctx = await watch.context(browser, { javaScriptEnabled: false });
  await ctx.addCookies(await s.dave.cookies());
  const p = await ctx.newPage();
  await p.goto(server.base + s.groupPath);
  await Promise.all([p.waitForNavigation(), p.click("button:text-is('Join group')")]);
  await compose(p, "Dave walks too, without scripts");
  assert.ok(await post(p, "without scripts").isVisible());
  await checkPage(p, "group-nojs", { noScript: true });
  await ctx.close();
});

test("chats without JavaScript: from a profile and from several people, send, reply, rename, add, remove, leave, unread count", { timeout: 180000 }, async () => {
  const page = async (who) => {
    const ctx = await watch.context(browser, { javaScriptEnabled: false });
    await ctx.addCookies(await who.cookies());
    return [ctx, await ctx.newPage()];
  };
  const [ctxA, a] = await page(s.alice);
  const [ctxB, b] = await page(s.bob);
  const [ctxD, d] = await page(s.dave);

  // "Message" on Bob's profile opens the chat of the two of them.
  await a.goto(server.base + "/@bob");
  await Promise.all([a.waitForURL(/\/chats\/\d+$/), a.click("form[action^='/chats/with/'] button")]);
  const pairPath = new URL(a.url()).pathname;
  assert.ok(await a.locator(".empty", { hasText: "No messages yet" }).isVisible());
  await a.fill("#chat-text", "Hi Bob, just the two of us");
  await Promise.all([a.waitForNavigation(), a.click("#chat-composer button[type=submit]")]);
  assert.equal(new URL(a.url()).pathname, pairPath);
  assert.ok(await post(a, "just the two of us").isVisible());
  await checkPage(a, "chat-nojs", { noScript: true });

  // Bob's navigation counts the unread message, and his chats page shows the chat unread.
  await b.goto(server.base + "/home");
  assert.match(await b.locator("nav a[href='/chats'] .unread").textContent(), /^1/);
  await b.goto(server.base + "/chats");
  assert.match(await b.locator(`main a[href='${pairPath}']`).textContent(), /1 unread message/);
  assert.ok(await b.locator("main", { hasText: "just the two of us" }).isVisible());
  await Promise.all([b.waitForNavigation(), b.click(`main a[href='${pairPath}']`)]);
  assert.ok(await post(b, "just the two of us").isVisible());
  // Opening the chat read it.
  assert.equal(await b.locator("nav a[href='/chats'] .unread").count(), 0);

  // Bob replies to the message (from its page): the reply stays in the chat.
  await Promise.all([b.waitForNavigation(), post(b, "just the two of us").locator(".meta a").first().click()]);
  await b.fill("#compose-text", "@alice Hello back, in the chat");
  await Promise.all([b.waitForNavigation(), b.click("form.compose button[type=submit]")]);
  await b.goto(server.base + pairPath);
  const reply = post(b, "Hello back, in the chat");
  assert.ok(await reply.isVisible());
  assert.match(await reply.locator(".reply-to").textContent(), /Replying to @alice/);
  assert.match(await reply.locator(".meta").textContent(), /Mentioned people only/);
  await a.goto(server.base + pairPath);
  assert.ok(await post(a, "Hello back, in the chat").isVisible());

  // From several people at once, with a name.
  await a.goto(server.base + "/chats");
  await a.fill("#chat-people", "bob, dave");
  await a.fill("#chat-name", "Picnic");
  await Promise.all([a.waitForURL(/\/chats\/\d+$/), a.click("form[action='/chats'] button[type=submit]")]);
  s.chatPath = new URL(a.url()).pathname;
  assert.equal(await a.locator("h1").textContent(), "Picnic");
  await a.fill("#chat-text", "Picnic on Saturday?");
  await Promise.all([a.waitForNavigation(), a.click("#chat-composer button[type=submit]")]);
  assert.ok(await post(a, "Picnic on Saturday").isVisible());
  // Writing nothing is refused on the page, which stays usable.
  await Promise.all([a.waitForNavigation(), a.click("#chat-composer button[type=submit]")]);
  assert.match(await a.locator("section[aria-labelledby=chat-say] .error").textContent(), /blank/i);

  // Rename, add Erin, remove Dave (under "People and settings").
  await a.goto(server.base + s.chatPath);
  await a.click("details.card summary");
  await a.fill("#chat-name", "Picnic plans");
  await Promise.all([a.waitForNavigation(), a.click("button:text-is('Rename')")]);
  assert.equal(await a.locator("h1").textContent(), "Picnic plans");
  await a.click("details.card summary");
  await a.fill("#chat-acct", "erin");
  await Promise.all([a.waitForNavigation(), a.click("button:text-is('Add to chat')")]);
  await a.click("details.card summary");
  assert.ok(await a.locator(".member", { hasText: "@erin@" }).isVisible());
  await checkPage(a, "chat-settings-nojs", { noScript: true });
  await d.goto(server.base + s.chatPath);
  assert.ok(await post(d, "Picnic on Saturday").isVisible());
  await Promise.all([a.waitForNavigation(), a.locator(".member", { hasText: "@dave@" }).locator("button", { hasText: "Remove" }).click()]);
  await a.click("details.card summary");
  assert.equal(await a.locator(".member", { hasText: "@dave@" }).count(), 0);
  // Dave no longer finds the chat, nor its messages.
  const gone = await d.goto(server.base + s.chatPath);
  assert.equal(gone.status(), 404);
  await d.goto(server.base + "/chats");
  assert.equal(await d.locator("text=Picnic").count(), 0);

  // Bob leaves (without the script, no question first): it is gone from his chats.
  await b.goto(server.base + s.chatPath);
  assert.ok(await b.locator("h1", { hasText: "Picnic plans" }).isVisible());
  await b.click("details.card summary");
  await Promise.all([b.waitForURL(/\/chats$/), b.click("button:text-is('Leave chat')")]);
  assert.equal(await b.locator(`main a[href='${s.chatPath}']`).count(), 0);
  assert.equal((await b.goto(server.base + s.chatPath)).status(), 404);
  await a.goto(server.base + s.chatPath);
  await a.click("details.card summary");
  assert.equal(await a.locator(".member", { hasText: "@bob@" }).count(), 0);
  assert.ok(await a.locator(".member", { hasText: "@erin@" }).isVisible());
  await ctxA.close();
  await ctxB.close();
  await ctxD.close();
});

test("chats with JavaScript: another participant's message appears in place, live", { timeout: 120000 }, async () => {
  const a = await s.alice.newPage();
  await a.goto(server.base + "/chats");
  await checkPage(a, "chats");
  await a.goto(server.base + s.chatPath);
  await a.waitForSelector("body[data-chat-live=open]", { timeout: 10000 });
  await checkPage(a, "chat");
  await a.evaluate(() => {
    window.kringStayed = true;
  });
  await a.fill("#chat-text", "half-typed answer");
  const before = await a.locator("#chat-feed article.post").count();

  // Erin (added above) writes through the API; her web session's token is an access token.
  const cookie = (await s.erin.cookies()).find((c) => c.name.endsWith("kring_session"));
  assert.ok(cookie, "Erin's session cookie");
  const chatId = s.chatPath.split("/").pop();
  const res = await fetch(`${server.base}/api/v1/kring/chats/${chatId}/messages`, {
    method: "POST",
    headers: { Authorization: `Bearer ${cookie.value}`, "Content-Type": "application/json" },
    body: JSON.stringify({ status: "Erin brings the lemonade" }),
  });
  assert.equal(res.status, 200, await res.text());
  await a.waitForSelector("#chat-feed article.post:has-text('Erin brings the lemonade')", { timeout: 10000 });
  // In place: no reload, the half-typed text kept, the message last, a notice saying who.
  assert.equal(await a.evaluate(() => window.kringStayed), true, "the page was not reloaded");
  assert.equal(await a.inputValue("#chat-text"), "half-typed answer");
  assert.equal(await a.locator("#chat-feed article.post").count(), before + 1);
  assert.match(await a.locator("#chat-feed article.post").last().textContent(), /Erin brings the lemonade/);
  // Its time reads like the others' (the script's local times apply to it too).
  assert.equal(await a.locator("#chat-feed article.post").last().locator("time").getAttribute("data-local"), "1");
  assert.match(await a.locator("#chat-news").textContent(), /New message from/);
  await checkPage(a, "chat-live");
  // Sending from the page still works (the plain form).
  await a.fill("#chat-text", "Lovely, thanks Erin");
  await Promise.all([a.waitForNavigation(), a.click("#chat-composer button[type=submit]")]);
  assert.ok(await post(a, "Lovely, thanks Erin").isVisible());

  // The chats page with the script: a change elsewhere shows a notice linking to the fresh page.
  await a.goto(server.base + "/chats");
  await a.waitForSelector("body[data-chat-live=open]", { timeout: 10000 });
  const again = await fetch(`${server.base}/api/v1/kring/chats/${chatId}/messages`, {
    method: "POST",
    headers: { Authorization: `Bearer ${cookie.value}`, "Content-Type": "application/json" },
    body: JSON.stringify({ status: "And some cake" }),
  });
  assert.equal(again.status, 200);
  await a.waitForSelector("#chat-news:not([hidden]) a[href='/chats']", { timeout: 10000 });
  // Alice's navigation counts the unread message after a load.
  await a.reload();
  assert.match(await a.locator("nav a[href='/chats'] .unread").textContent(), /^1/);
  await a.close();
});

test("pictures: the composer's files with alt text, without JavaScript; the post shows them, no metadata", { timeout: 120000 }, async () => {
  // A 24 × 16 PNG with a text chunk (a "Comment") that must not survive the upload.
  const plain = Buffer.from(
    "iVBORw0KGgoAAAANSUhEUgAAABgAAAAQCAIAAACDRijCAAAACXBIWXMAAAABAAAAAQBPJcTWAAAAGklEQVR4nGOQ32dHFcQwatCoQaMGjRpEGQIAcsiokPLm8TQAAAAASUVORK5CYII=",
    "base64",
  );
  const secret = "KringSecretComment-4242";
  const chunk = Buffer.concat([Buffer.from("tEXt"), Buffer.from(`Comment\0${secret}`)]);
  const len = Buffer.alloc(4);
  len.writeUInt32BE(chunk.length - 4);
  const crc = Buffer.alloc(4);
  let c = 0xffffffff;
  for (const byte of chunk) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  crc.writeUInt32BE((c ^ 0xffffffff) >>> 0);
  const png = Buffer.concat([plain.subarray(0, 33), len, chunk, crc, plain.subarray(33)]);
  const file = { name: "green.png", mimeType: "image/png", buffer: png };

  const ctx = await watch.context(browser, { javaScriptEnabled: false });
  await ctx.addCookies(await s.alice.cookies());
  const a = await ctx.newPage();
  await a.goto(server.base + "/home");
  assert.equal(await a.locator("form.compose").getAttribute("enctype"), "multipart/form-data");
  // A picture without a description is refused, with the way out said.
  await a.fill("#compose-text", "A green rectangle, undescribed");
  await a.locator("details.attach summary").click();
  await a.setInputFiles("#compose-file-1", file);
  const [refused] = await Promise.all([a.waitForNavigation(), a.click("form.compose button[type=submit]")]);
  assert.equal(refused.status(), 422);
  assert.match(await a.locator("form.compose .error").textContent(), /Describe each file.*Post without a description/);
  assert.equal(await a.locator("#compose-text").inputValue(), "A green rectangle, undescribed");

  // With its description it is posted, and shows as a picture with that alt text.
  await a.goto(server.base + "/home");
  await a.fill("#compose-text", "A green rectangle for you");
  await a.locator("details.attach summary").click();
  await a.setInputFiles("#compose-file-1", file);
  await a.fill("#compose-alt-1", "A plain green rectangle");
  await Promise.all([a.waitForNavigation(), a.click("form.compose button[type=submit]")]);
  const article = post(a, "A green rectangle for you");
  const img = article.locator(".media img");
  assert.equal(await img.getAttribute("alt"), "A plain green rectangle");
  const preview = await img.getAttribute("src");
  const full = await article.locator(".media a").getAttribute("href");
  assert.match(preview, /^\/media\//);
  assert.match(full, /^\/media\//, "the picture links to the full picture on this server");
  for (const path of [preview, full]) {
    const res = await a.request.get(server.base + path);
    assert.equal(res.status(), 200, path);
    const body = await res.body();
    assert.ok(!body.includes(secret), `the text chunk is gone from ${path}`);
  }
  // Opening the picture (a plain link) shows it.
  const [opened] = await Promise.all([a.waitForNavigation(), article.locator(".media a").click()]);
  assert.equal(opened.status(), 200);
  assert.match(opened.headers()["content-type"], /^image\//);
  await ctx.close();

  // With JavaScript: the page (and the picture in it) is axe-clean.
  await s.a.goto(server.base + "/home");
  assert.equal(await post(s.a, "A green rectangle for you").locator(".media img").getAttribute("alt"), "A plain green rectangle");
  await checkPage(s.a, "home-with-picture");

  // "Post without a description" lets one through. With JavaScript the chosen picture is
  // previewed before it is sent (read in the page, no request).
  await s.a.fill("#compose-text", "Another rectangle, on purpose undescribed");
  await s.a.locator("details.attach summary").click();
  await s.a.setInputFiles("#compose-file-1", file);
  const shown = s.a.locator(".upload-preview img").first();
  await shown.waitFor();
  assert.match(await shown.getAttribute("src"), /^data:image\/png;base64,/);
  assert.equal(await shown.getAttribute("alt"), "Preview of green.png");
  await checkPage(s.a, "compose-with-preview");
  await s.a.check("#compose-no-alt");
  await Promise.all([s.a.waitForNavigation(), s.a.click("form.compose button[type=submit]")]);
  assert.equal(await post(s.a, "on purpose undescribed").locator(".media img").count(), 1);
});

test("signed-out visitors see public posts only", { timeout: 120000 }, async () => {
  const anon = await watch.context(browser);
  const v = await anon.newPage();
  await v.goto(server.base + "/@alice");
  assert.ok(await post(v, "Hello from Alice").isVisible());
  assert.equal(await v.locator("text=secret for followers").count(), 0);
  await checkPage(v, "profile-public");
  await v.goto(server.base + "/@alice?with_replies=1");
  assert.equal(await v.locator("text=secret for followers").count(), 0);
  const res = await v.goto(server.base + s.secretPath);
  assert.equal(res.status(), 404);
  const hist = await v.goto(server.base + s.secretPath + "/history");
  assert.equal(hist.status(), 404);
  assert.equal(await v.locator("text=secret for followers").count(), 0);
  assert.equal(await v.locator("text=secret for followers").count(), 0);
  await v.goto(server.base + "/public");
  assert.equal(await v.locator("text=secret for followers").count(), 0);
  // Friends-only, circle and local-only posts: never to visitors.
  for (const path of ["/@alice", "/@alice?with_replies=1", "/public", "/public?all=1"]) {
    await v.goto(server.base + path);
    for (const text of ["close circle", "Only my friends", "Staying on this server", "Without scripts, for the circle"]) {
      assert.equal(await v.locator(`text=${text}`).count(), 0, `${path}: ${text}`);
    }
  }
  for (const path of [s.circlePostPath, s.friendsPostPath]) {
    const hidden = await v.goto(server.base + path);
    assert.equal(hidden.status(), 404, path);
  }
  await v.goto(server.base + s.helloPath);
  assert.ok(await post(v, "Hello from Alice").isVisible());
  assert.ok(await post(v, "nice to see you here").isVisible());
  assert.equal(await v.locator("form[action^='/statuses/']").count(), 0);
  await checkPage(v, "thread-public");
  // "Reply from your server": a visitor enters their handle (here one of this very server) and
  // continues at their server's /authorize_interaction, which asks them to sign in first.
  await v.fill("#interact-handle", `alice@${new URL(server.base).host}`);
  await Promise.all([v.waitForNavigation(), v.click("form.interact button[type=submit]")]);
  await checkPage(v, "interact");
  await Promise.all([v.waitForNavigation(), v.click("a.button:text-is('Continue on your server')")]);
  assert.match(v.url(), /\/auth\/sign_in\?next=%2Fauthorize%5Finteraction%3Furi%3D/);
  // The federation door's browser redirects land on these pages.
  await v.goto(server.base + "/users/alice");
  assert.equal(new URL(v.url()).pathname, "/@alice");
  await anon.close();
});

test("sign out ends the session", { timeout: 120000 }, async () => {
  const { a } = s;
  await a.goto(server.base + "/home");
  await Promise.all([a.waitForNavigation(), a.click("header.top button:has-text('Sign out')")]);
  assert.equal(new URL(a.url()).pathname, "/");
  await a.goto(server.base + "/home");
  assert.match(a.url(), /\/auth\/sign_in/);
  assert.deepEqual(await s.alice.cookies(), []);
});

test("without JavaScript: post, follow, favourite, reply, boost, bookmark, edit, accept, filter, sign out", { timeout: 120000 }, async () => {
  const ctx = await watch.context(browser, { javaScriptEnabled: false });
  const p = await ctx.newPage();
  await signUp(p, server.base, "carol");
  await compose(p, "Carol writes without scripts", { visibility: "public" });
  assert.ok(await post(p, "Carol writes without scripts").isVisible());
  await p.goto(server.base + "/@alice");
  await Promise.all([p.waitForNavigation(), p.click("button:text-is('Follow')")]);
  assert.ok(await p.locator("button:text-is('Unfollow')").isVisible());
  const hello = post(p, "Hello from Alice");
  await Promise.all([p.waitForNavigation(), hello.locator("button", { hasText: "Favourite" }).click()]);
  assert.equal(new URL(p.url()).pathname, "/@alice");
  const fav = post(p, "Hello from Alice").locator("button", { hasText: "Favourite" });
  assert.equal(await fav.getAttribute("aria-pressed"), "true");
  assert.equal(await fav.locator(".count").textContent(), "2");
  await p.goto(server.base + "/home");
  assert.ok(await post(p, "secret for followers").isVisible());
  // A follower, not a friend and in no circle.
  assert.equal(await p.locator("text=Only my friends read this").count(), 0);
  assert.equal(await p.locator("text=Without scripts, for the circle").count(), 0);
  await checkPage(p, "home-nojs", { noScript: true });

  // Reply, boost and bookmark.
  await p.goto(server.base + s.helloPath);
  await p.fill("#compose-text", "@alice a reply without scripts");
  await Promise.all([p.waitForNavigation(), p.click("form.compose button[type=submit]")]);
  assert.ok(await post(p, "a reply without scripts").isVisible());
  const original = () => post(p, "Hello from Alice");
  await Promise.all([p.waitForNavigation(), original().locator("button", { hasText: "Boost" }).click()]);
  assert.equal(await original().locator("button", { hasText: "Boost" }).getAttribute("aria-pressed"), "true");
  await Promise.all([p.waitForNavigation(), original().locator("button", { hasText: "Bookmark" }).click()]);
  await p.goto(server.base + "/bookmarks");
  assert.ok(await post(p, "Hello from Alice").isVisible());

  // Edit her own post.
  await p.goto(server.base + "/@carol");
  await Promise.all([p.waitForNavigation(), post(p, "Carol writes without scripts").locator("a[href$='/edit']").click()]);
  await p.fill("#compose-text", "Carol writes without scripts, and edits too");
  await Promise.all([p.waitForNavigation(), p.click("form.compose button[type=submit]")]);
  assert.ok(await post(p, "and edits too").locator(".meta a", { hasText: "edited" }).isVisible());

  // Lock the account, then accept Bob's request without scripts.
  await p.goto(server.base + "/settings/profile");
  await p.check("#locked");
  await Promise.all([p.waitForNavigation(), p.click("form.stack button[type=submit]")]);
  assert.match(await p.locator(".notice").textContent(), /saved/);
  const { b } = s;
  await b.goto(server.base + "/@carol");
  await Promise.all([b.waitForNavigation(), b.click("button:text-is('Follow')")]);
  await p.goto(server.base + "/notifications");
  assert.ok(await p.locator(".notification", { hasText: "asked to follow you" }).isVisible());
  await p.goto(server.base + "/follow_requests");
  await Promise.all([p.waitForNavigation(), p.click("button:has-text('Accept')")]);
  assert.ok(await p.locator(".empty", { hasText: "No one is waiting" }).isVisible());
  await b.goto(server.base + "/@carol");
  assert.ok(await b.locator("button:text-is('Unfollow')").isVisible());

  // Delete asks first, on a page of its own, and "Keep it" keeps it.
  await p.goto(server.base + "/home");
  await compose(p, "Carol will delete this", { visibility: "public" });
  await Promise.all([p.waitForNavigation(), post(p, "Carol will delete this").locator("button", { hasText: "Delete" }).click()]);
  assert.match(new URL(p.url()).pathname, /^\/statuses\/\d+\/delete$/);
  assert.equal(await p.locator("h1").textContent(), "Delete this post?");
  assert.match(await p.locator("main .content").textContent(), /Carol will delete this/);
  await checkPage(p, "confirm-delete-nojs", { noScript: true });
  await Promise.all([p.waitForNavigation(), p.click("a:text-is('Keep it')")]);
  assert.ok(await post(p, "Carol will delete this").isVisible());
  await Promise.all([p.waitForNavigation(), post(p, "Carol will delete this").locator("button", { hasText: "Delete" }).click()]);
  await Promise.all([p.waitForNavigation(), p.click("main form button:text-is('Delete')")]);
  await p.goto(server.base + "/@carol");
  assert.equal(await post(p, "Carol will delete this").count(), 0);

  // A filter, and signing out.
  await p.goto(server.base + "/settings/filters");
  await p.fill("#title", "No scripts needed");
  await p.fill("#keywords", "example");
  await Promise.all([p.waitForNavigation(), p.click("form.stack button[type=submit]")]);
  assert.match(await p.locator(".notice").textContent(), /added/);
  await checkPage(p, "settings-filters-nojs", { noScript: true });
  await Promise.all([p.waitForNavigation(), p.click("header.top button:has-text('Sign out')")]);
  await p.goto(server.base + "/home");
  assert.match(p.url(), /\/auth\/sign_in/);
  await ctx.close();
});

test("every main page at 390 px and 1280 px: no horizontal overflow, navigation in one row", { timeout: 300000 }, async () => {
  const adminCtx = await watch.context(browser);
  const adminPage = await adminCtx.newPage();
  await signIn(adminPage, server.base, server.admin.email, server.admin.password);
  const adminCookies = await adminCtx.cookies();
  await adminCtx.close();
  // Alice signed out earlier: a new session.
  const aliceCtx = await watch.context(browser);
  await signIn(await aliceCtx.newPage(), server.base, "alice@example.org", "correct horse battery");
  const aliceCookies = await aliceCtx.cookies();
  await aliceCtx.close();
  const signedIn = [
    "/home", "/notifications", "/search?q=bob", "/public", "/lists", "/favourites", "/bookmarks",
    "/@alice", "/@bob", "/@alice/followers", s.helloPath, "/statuses", "/follow_requests",
    "/settings/profile", "/settings/preferences", "/settings/password", "/settings/filters",
    "/settings/sessions", "/settings/export", "/tags/kringtest", "/friends", "/circles", s.circlePath,
    s.circlePostPath, "/interaction_requests", s.erinPath, "/groups", s.groupPath,
    s.groupPath + "/members", s.groupPath + "/moderation", s.groupPath + "/edit",
    "/chats", s.chatPath,
  ];
  const signedOut = [
    "/", "/public", "/auth/sign_in", "/auth/sign_up", "/@alice", s.helloPath, "/groups", s.groupPath,
  ];
  const name = (who, path, width) =>
    `${who}${path.replace(/[^a-z0-9]+/gi, "-").replace(/-$/, "") || "-root"}-${width}`;
  for (const width of [390, 1280]) {
    for (const [who, cookies, paths] of [
      ["out", [], signedOut],
      ["alice", aliceCookies, signedIn],
      ["admin", adminCookies, ["/admin", "/home"]],
    ]) {
      const ctx = await watch.context(browser, { viewport: { width, height: 800 } });
      if (cookies.length) await ctx.addCookies(cookies);
      const p = await ctx.newPage();
      let extra = [];
      if (who === "alice") {
        await p.goto(server.base + "/lists");
        const list = await p.locator("main a[href^='/lists/']").first().getAttribute("href");
        extra = [list];
      }
      for (const path of [...paths, ...extra]) {
        const res = await p.goto(server.base + path);
        assert.ok(res.ok(), `${path}: ${res.status()}`);
        const wide = await p.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(wide <= width, `${who} ${path} is ${wide} px wide at ${width} px`);
        const head = await p.evaluate(() => document.querySelector("header.top").getBoundingClientRect().height);
        assert.ok(head < 64, `${who} ${path}: the navigation is one row at ${width} px (${head} px high)`);
        await checkPage(p, name(who, path, width));
      }
      if (who === "admin" && width === 390) {
        // The users table is stacked: every button is on screen.
        await p.goto(server.base + "/admin");
        const right = await p.evaluate(() =>
          Math.max(...[...document.querySelectorAll("#users button, #users select")].map((el) => el.getBoundingClientRect().right)));
        assert.ok(right <= 390, `admin users table reaches ${right} px`);
      }
      if (who === "alice" && width === 390) {
        // The menu holds the rest of the navigation, without the script too.
        await p.goto(server.base + "/home");
        assert.ok(await p.locator("nav a", { hasText: "Settings" }).isHidden());
        await p.click("nav a:text-is('Menu')");
        assert.ok(await p.locator("nav a", { hasText: "Settings" }).isVisible());
        assert.ok(await p.locator("nav button", { hasText: "Sign out" }).isVisible());
        const wide = await p.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(wide <= width, `menu open: ${wide} px`);
        await checkPage(p, "menu-open-390");
        await Promise.all([p.waitForURL(/\/settings\/profile$/), p.click("nav a:text-is('Settings')")]);
      }
      await ctx.close();
    }
  }
});

test("an archive imported through the web page, without JavaScript: the posts come too", { timeout: 120000 }, async () => {
  assert.ok(s.aliceArchive && s.aliceArchive.length > 0, "the export step kept alice's archive");
  const ctx = await watch.context(browser, { javaScriptEnabled: false });
  const g = await ctx.newPage();
  await signUp(g, server.base, "gwen");
  await g.goto(server.base + "/settings/import");
  await checkPage(g, "settings-import", { noScript: true });
  await g.selectOption("#import-type", "archive");
  await g.setInputFiles("#import-file", { name: "archive.zip", mimeType: "application/zip", buffer: s.aliceArchive });
  await Promise.all([g.waitForNavigation(), g.click("main form button[type=submit]")]);
  assert.match(g.url(), /saved=import/);
  // Applied in the background: her public post shows on gwen's profile, dated as alice wrote it.
  let found = 0;
  for (let i = 0; i < 100 && !found; i++) {
    await g.goto(server.base + "/@gwen");
    found = await post(g, "Hello from Alice").count();
    if (!found) await new Promise((r) => setTimeout(r, 200));
  }
  assert.ok(found > 0, "alice's post imported into gwen's profile");
  for (const page of ["/settings/migration", "/settings/delete"]) {
    await g.goto(server.base + page);
    await checkPage(g, "settings-" + page.split("/").pop(), { noScript: true });
  }
  await ctx.close();
});

test("no page asked another origin for anything; no CSP or script errors", { timeout: 120000 }, () => {
  watch.assertClean();
  assert.ok(checkedPages().length >= 20, `checked ${checkedPages().length} pages`);
});
