// SPDX-License-Identifier: AGPL-3.0-or-later
// Start the real kring binary on a free loopback port with a throw-away data directory: on
// SQLite by default, or with KRING_TEST_BACKEND=postgres on a fresh database made from
// KRING_TEST_DATABASE_URL (the same contract as tests/clients/conftest.py).
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname, resolve } from "node:path";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "..", "..");
const targetDir = process.env.CARGO_TARGET_DIR
  ? resolve(repo, process.env.CARGO_TARGET_DIR)
  : join(repo, "target");
export const kringBin = process.env.KRING_BIN
  ? resolve(repo, process.env.KRING_BIN)
  : join(targetDir, "debug", "kring");

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
  throw new Error("kring did not answer GET /api/v1/instance in time");
}

function psql(url, sql) {
  execFileSync("psql", [url, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c", sql], { stdio: "pipe" });
}

function freshDatabase() {
  const backend = process.env.KRING_TEST_BACKEND || "sqlite";
  assert.ok(["sqlite", "postgres"].includes(backend), `KRING_TEST_BACKEND: ${backend}`);
  if (backend !== "postgres") return null;
  const admin = process.env.KRING_TEST_DATABASE_URL;
  assert.ok(admin, "KRING_TEST_BACKEND=postgres needs KRING_TEST_DATABASE_URL");
  const name = `kring_js_${Date.now().toString(36)}_${process.pid}`;
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

/// A running server: `base`, `createUser(...)`, `log()` and `stop()`.
export async function startServer() {
  assert.ok(existsSync(kringBin), `build the binary first: cargo build -p kring (${kringBin})`);
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), "kring-clients-js-"));
  const domain = `127.0.0.1:${port}`;
  const db = freshDatabase();
  const store = ["--data-dir", dataDir];
  // New accounts approve followers by default; these flows follow freely (for `serve` and
  // `admin create-user` alike).
  store.push("--approve-followers=false");
  if (db) store.push("--database-url", db.url);
  const child = spawn(
    kringBin,
    ["serve", "--listen", domain, "--domain", domain, "--log", process.env.KRING_LOG || "warn", ...store],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  let log = "";
  child.stdout.on("data", (d) => (log += d));
  child.stderr.on("data", (d) => (log += d));
  const base = `http://${domain}`;
  try {
    await waitUp(base, child);
  } catch (e) {
    child.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
    if (db) db.drop();
    throw new Error(`${e.message}\n--- server log ---\n${log}`);
  }
  return {
    base,
    log: () => log,
    createUser({ username, email, password }) {
      execFileSync(kringBin, [
        "admin", "create-user", "--username", username, "--email", email, "--password", password,
        ...store,
      ], { stdio: "pipe" });
    },
    async stop() {
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
      if (process.env.KRING_TEST_KEEP_DATA === "1") {
        console.error(`kept data dir ${dataDir} database ${db ? db.url : "-"}`);
        return;
      }
      rmSync(dataDir, { recursive: true, force: true });
      if (db) db.drop();
    },
  };
}
