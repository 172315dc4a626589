// SPDX-License-Identifier: AGPL-3.0-or-later
// The browser suite's harness: start the real kring binary on a free loopback port with a
// throw-away data directory, launch Debian's chromium through playwright-core, and check pages
// (screenshot, axe-core, no request to any other origin, no CSP violation).
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, rmSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname, resolve } from "node:path";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, "..", "..");
const targetDir = process.env.CARGO_TARGET_DIR
  ? resolve(repo, process.env.CARGO_TARGET_DIR)
  : join(repo, "target");
export const kringBin = process.env.KRING_BIN || join(targetDir, "debug", "kring");
// The PostgreSQL pass keeps its screenshots apart from the SQLite pass's.
export const screenshotDir = process.env.KRING_TEST_BACKEND === "postgres"
  ? join(targetDir, "web-screenshots", "postgres")
  : join(targetDir, "web-screenshots");
const axePath = join(here, "node_modules", "axe-core", "axe.min.js");
const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.unref();
    s.on("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

async function waitUp(base, child, ms = 30000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`kring exited early with ${child.exitCode}`);
    try {
      const res = await fetch(base + "/api/v1/instance");
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("kring did not start in time");
}

function psql(url, sql) {
  execFileSync("psql", [url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], { stdio: "pipe" });
}

/// With KRING_TEST_BACKEND=postgres, a fresh database made from KRING_TEST_DATABASE_URL
/// (a role that may CREATE DATABASE): { url, drop() }. Otherwise null (SQLite in the data dir).
function freshDatabase() {
  if (process.env.KRING_TEST_BACKEND !== "postgres") return null;
  const admin = process.env.KRING_TEST_DATABASE_URL;
  assert.ok(admin, "KRING_TEST_BACKEND=postgres needs KRING_TEST_DATABASE_URL");
  const name = `kring_web_${Date.now().toString(36)}_${process.pid}`;
  psql(admin, `CREATE DATABASE "${name}"`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop() {
      try {
        psql(admin, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } catch (e) {
        console.error(`could not drop ${name}: ${e}`);
      }
    },
  };
}

/// A running server: `base`, `port`, `admin` credentials, and `stop()`.
export async function startServer() {
  assert.ok(existsSync(kringBin), `build the binary first: cargo build -p kring (${kringBin})`);
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), "kring-web-"));
  const domain = `127.0.0.1:${port}`;
  const db = freshDatabase();
  // New accounts approve followers by default; the pages are tested with free follows (for
  // `serve` and `admin create-user` alike).
  const common = ["--data-dir", dataDir, "--domain", domain, "--approve-followers=false",
    "--log", process.env.KRING_LOG || "warn"];
  if (db) common.push("--database-url", db.url);
  const admin = { email: "admin@example.org", password: "admin password 1", username: "admin" };
  execFileSync(kringBin, [
    "admin", "create-user", "--username", admin.username, "--email", admin.email,
    "--password", admin.password, "--role", "admin", ...common,
  ], { stdio: "pipe" });
  // The browser makes many requests quickly from one address: lift the abuse limits
  // (crates/kring/tests cover the limits themselves).
  const limits = ["--rate-limit", "all=1000000/1m"];
  const child = spawn(kringBin, ["serve", "--listen", domain, ...limits, ...common], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  const base = `http://${domain}`;
  await waitUp(base, child);
  return {
    base,
    port,
    admin,
    log: () => log,
    async stop() {
      mkdirSync(screenshotDir, { recursive: true });
      writeFileSync(join(screenshotDir, "server.log"), log);
      if (child.exitCode === null) {
        child.kill("SIGTERM");
        await new Promise((r) => {
          const t = setTimeout(() => {
            child.kill("SIGKILL");
            r();
          }, 10000);
          child.on("exit", () => {
            clearTimeout(t);
            r();
          });
        });
      }
      rmSync(dataDir, { recursive: true, force: true });
      if (db) db.drop();
    },
  };
}

export async function launchBrowser() {
  assert.ok(existsSync(chromiumPath), `install chromium: apt-get install -y chromium (${chromiumPath})`);
  return chromium.launch({
    executablePath: chromiumPath,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
}

/// Everything a suite watches for across its browser contexts.
export class Watch {
  constructor(server) {
    this.server = server;
    this.foreign = [];
    this.cspViolations = [];
    this.pageErrors = [];
  }

  /// A new context that records requests to other origins and CSP or script errors.
  async context(browser, options = {}) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
    const origin = new URL(this.server.base).origin;
    context.on("request", (req) => {
      const url = req.url();
      if (url.startsWith("data:") || url.startsWith("blob:")) return;
      if (new URL(url).origin !== origin) this.foreign.push(url);
    });
    context.on("page", (page) => this.watchPage(page));
    return context;
  }

  watchPage(page) {
    page.on("console", (msg) => {
      const text = msg.text();
      if (/Content Security Policy|Refused to (load|execute|apply)/i.test(text)) {
        this.cspViolations.push(`${page.url()}: ${text}`);
      }
    });
    page.on("pageerror", (err) => this.pageErrors.push(`${page.url()}: ${err.message}`));
  }

  assertClean() {
    assert.deepEqual(this.foreign, [], "requests to other origins");
    assert.deepEqual(this.cspViolations, [], "Content-Security-Policy violations");
    assert.deepEqual(this.pageErrors, [], "script errors");
  }
}

const axeSource = () => readFileSync(axePath, "utf8");
const checked = new Set();
const axeReport = {};

/// Screenshot the page into target/web-screenshots/NAME.png and run axe-core on it: no
/// serious or critical violations allowed.
export async function checkPage(page, name, { noScript = false } = {}) {
  mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: join(screenshotDir, `${name}.png`), fullPage: true });
  if (noScript) {
    // Scripts are off in this context (and so is evaluation): screenshot only; the same
    // pages are checked with axe in the other contexts.
    return [];
  }
  if (!(await page.evaluate(() => typeof window.axe !== "undefined"))) {
    // page.addScriptTag({ path }) injects an inline <script>, which the page's CSP refuses (as
    // it should), so the same file is evaluated through the DevTools protocol instead, which
    // CSP does not govern.
    await page.evaluate(axeSource());
  }
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, {
      resultTypes: ["violations"],
      runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] },
    });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")),
    }));
  });
  const bad = result.filter((v) => v.impact === "serious" || v.impact === "critical");
  assert.deepEqual(bad, [], `axe: serious or critical violations on ${name} (${page.url()})`);
  checked.add(name);
  axeReport[name] = result;
  writeFileSync(join(screenshotDir, "axe.json"), JSON.stringify(axeReport, null, 2));
  return result;
}

export function checkedPages() {
  return [...checked];
}

/// Fill and submit the sign-up form; lands on /home.
export async function signUp(page, base, username, password = "correct horse battery") {
  await page.goto(base + "/auth/sign_up");
  await page.fill("#username", username);
  await page.fill("#email", `${username}@example.org`);
  await page.fill("#password", password);
  await page.check("#agreement");
  await Promise.all([page.waitForURL(/\/home$/), page.click("form.stack button[type=submit]")]);
}

export async function signIn(page, base, email, password) {
  await page.goto(base + "/auth/sign_in");
  await page.fill("#email", email);
  await page.fill("#password", password);
  await Promise.all([page.waitForURL(/\/home$/), page.click("form.stack button[type=submit]")]);
}

/// Post from the compose box of the current page (home or a thread's reply form).
export async function compose(page, text, { visibility, cw } = {}) {
  await page.fill("#compose-text", text);
  if (cw) await page.fill("#compose-cw", cw);
  if (visibility) await page.selectOption("#compose-vis", visibility);
  await Promise.all([page.waitForNavigation(), page.click("form.compose button[type=submit]")]);
}

/// The article of the post whose text contains `text`.
export function post(page, text) {
  return page.locator("article.post", { hasText: text }).first();
}
