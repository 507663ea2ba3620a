// The end-to-end harness: a fresh PostgreSQL database, the real `swiftacare serve --demo`
// binary serving the built app (web/out), Debian's Chromium through playwright-core, axe-core,
// and screenshots under web/e2e-artifacts/. Everything it creates is removed afterwards.
import { spawn, execFileSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));
export const webRoot = path.resolve(here, "..");
export const repoRoot = path.resolve(webRoot, "..");
export const artifacts = path.join(webRoot, "e2e-artifacts");

const adminUrl = process.env.TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

function binary() {
  if (process.env.SWIFTACARE_BIN) return process.env.SWIFTACARE_BIN;
  const target = process.env.CARGO_TARGET_DIR ?? path.join(os.homedir(), ".cache/swiftacare/target");
  return path.join(target, "debug", "swiftacare");
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

function psql(sql) {
  execFileSync("psql", [adminUrl, "-v", "ON_ERROR_STOP=1", "-qAtc", sql], { stdio: ["ignore", "pipe", "inherit"] });
}

function dbUrl(name) {
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Starts everything; returns the context the scenarios use, and `stop()`. */
export async function start() {
  const bin = binary();
  if (!fs.existsSync(bin)) throw new Error(`${bin} not found: build it with \`cargo build -p swiftacare\` (or set SWIFTACARE_BIN)`);
  if (!fs.existsSync(path.join(webRoot, "out", "index.html"))) throw new Error("web/out is not built: run `npm run build` in web/");
  fs.rmSync(artifacts, { recursive: true, force: true });
  fs.mkdirSync(artifacts, { recursive: true });

  const db = `swiftacare_e2e_${process.pid}_${crypto.randomBytes(4).toString("hex")}`;
  psql(`CREATE DATABASE ${db}`);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "swiftacare-e2e-"));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("SWIFTACARE_"))),
    DATABASE_URL: dbUrl(db),
    SWIFTACARE_DATA_DIR: dataDir,
    SWIFTACARE_ADDR: `127.0.0.1:${port}`,
    SWIFTACARE_PUBLIC_URL: base,
    SWIFTACARE_WEB_DIR: path.join(webRoot, "out"),
    SWIFTACARE_LOG_FORMAT: "pretty",
    SWIFTACARE_LOG: "warn",
  };
  const log = fs.openSync(path.join(artifacts, "server.log"), "w");
  const server = spawn(bin, ["serve", "--demo"], { env, stdio: ["ignore", log, log] });
  let exited = false;
  server.on("exit", () => (exited = true));

  let browser;
  const stop = async () => {
    await browser?.close().catch(() => {});
    if (!exited) {
      server.kill("SIGTERM");
      await new Promise((r) => {
        const t = setTimeout(() => {
          server.kill("SIGKILL");
          r();
        }, 10_000);
        server.on("exit", () => {
          clearTimeout(t);
          r();
        });
      });
    }
    try {
      psql(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    } catch (e) {
      console.error(`could not drop ${db}: ${e}`);
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  };

  try {
    const deadline = Date.now() + 120_000;
    for (;;) {
      if (exited) throw new Error(`swiftacare exited early; see ${path.join(artifacts, "server.log")}`);
      try {
        const r = await fetch(`${base}/readyz`);
        if (r.ok && fs.existsSync(path.join(dataDir, "demo-credentials.txt"))) break;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > deadline) throw new Error("swiftacare did not become ready in 120 s");
      await new Promise((r) => setTimeout(r, 300));
    }
    const creds = parseCredentials(fs.readFileSync(path.join(dataDir, "demo-credentials.txt"), "utf8"));
    const out = execFileSync(bin, ["operator", "create", "--email", "ops@e2e.swiftacare.test"], { env, encoding: "utf8" });
    const operatorPassword = /Password \(shown once\): (\S+)/.exec(out)?.[1];
    if (!operatorPassword) throw new Error(`no operator password in: ${out}`);

    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
      headless: true,
      args: ["--no-sandbox", "--disable-dev-shm-usage"],
    });
    return {
      base,
      browser,
      creds,
      operator: { email: "ops@e2e.swiftacare.test", password: operatorPassword },
      mailDir: path.join(dataDir, "mail"),
      stop,
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** `role  email  password` lines of demo-credentials.txt → { role: {email, password} }. */
function parseCredentials(text) {
  const out = {};
  for (const line of text.split("\n")) {
    const m = /^\s*(.+?)\s{2,}(\S+@\S+)\s+(\S+)\s*$/.exec(line);
    if (m) out[m[1].trim()] = { email: m[2], password: m[3] };
  }
  const find = (word) => Object.entries(out).find(([k]) => k.includes(word))?.[1];
  return { admin: find("institution admin"), subadmin: find("sub-admin"), provider: find("provider"), staff: find("staff"), client: find("client") };
}

/** The newest .eml to `to`, quoted-printable decoded. */
export function mailTo(dir, to) {
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(".eml")) : [];
  const msgs = files
    .map((f) => ({ f, t: fs.statSync(path.join(dir, f)).mtimeMs, text: decodeQp(fs.readFileSync(path.join(dir, f), "utf8")) }))
    .filter((m) => m.text.includes(to))
    .sort((a, b) => b.t - a.t);
  return msgs[0]?.text ?? null;
}

/** Waits (up to 10 s) for a message to `to` containing `pattern`; returns the first match group. */
export async function linkInMail(dir, to, pattern) {
  for (let i = 0; i < 50; i++) {
    const m = pattern.exec(mailTo(dir, to) ?? "");
    if (m) return m[1];
    await new Promise((r) => setTimeout(r, 200));
  }
  return null;
}

function decodeQp(raw) {
  const joined = raw.replace(/=\r?\n/g, "");
  return Buffer.from(
    joined.replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16))),
    "latin1",
  ).toString("utf8");
}

const axeSource = fs.readFileSync(path.join(webRoot, "node_modules/axe-core/axe.min.js"), "utf8");

/** Runs axe-core (WCAG 2.x A/AA rules) on the page; returns serious and critical violations. */
export async function axe(page) {
  // Evaluated through the DevTools protocol, which the page's CSP does not govern.
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"] } });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) }));
  });
  return result.filter((v) => v.impact === "serious" || v.impact === "critical");
}

export async function shot(page, name) {
  // Full-page captures place sticky headers where the page was scrolled to: start at the top.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
}

/** RFC 6238 TOTP (SHA-1, 6 digits, 30 s), as an authenticator app computes it. */
export function totp(base32Secret, at = Date.now()) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of base32Secret.replace(/=+$/, "").toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(at / 1000 / 30)));
  const h = crypto.createHmac("sha1", key).update(counter).digest();
  const o = h[h.length - 1] & 0xf;
  return ((h.readUInt32BE(o) & 0x7fffffff) % 1_000_000).toString().padStart(6, "0");
}
