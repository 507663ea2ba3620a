// Adds lock-file entries for platform-specific optional packages that the registry used to
// resolve the lock did not serve (e.g. a mirror with only Linux binaries), so `npm ci` accepts
// the lock everywhere. Each entry carries the os/cpu its name encodes, so npm skips it on other
// platforms, and on the matching platform fetches it from the registry by version.
//   node scripts/complete-lock.mjs           fix package-lock.json in place
//   node scripts/complete-lock.mjs --check   exit 1 if entries are missing
import fs from "node:fs";

const path = new URL("../package-lock.json", import.meta.url);
const lock = JSON.parse(fs.readFileSync(path, "utf8"));
const pkgs = lock.packages;
const OS = ["darwin", "linux", "win32", "freebsd", "android", "openbsd", "sunos", "aix"];
const CPU = ["arm64", "x64", "arm", "ia32", "riscv64", "ppc64", "s390x", "loong64", "wasm32"];

function platform(name) {
  const parts = name.split("/").pop().split("-");
  const os = parts.find((p) => OS.includes(p));
  const cpu = parts.find((p) => CPU.includes(p));
  const libc = parts.includes("musl") ? "musl" : parts.includes("gnu") || parts.includes("gnueabihf") ? "glibc" : undefined;
  if (!cpu) return null;
  return { ...(os ? { os: [os] } : {}), cpu: [cpu], ...(os === "linux" && libc ? { libc: [libc] } : {}) };
}

const added = [];
for (const [where, meta] of Object.entries(pkgs)) {
  for (const [dep, version] of Object.entries(meta.optionalDependencies ?? {})) {
    const key = `node_modules/${dep}`;
    const nested = `${where}/node_modules/${dep}`;
    if (pkgs[key] || pkgs[nested]) continue;
    const plat = platform(dep);
    if (!plat) continue;
    pkgs[key] = { version, ...(meta.dev ? { dev: true } : {}), optional: true, ...plat };
    added.push(`${dep}@${version}`);
  }
}
if (process.argv.includes("--check")) {
  if (added.length) {
    console.error(`package-lock.json lacks ${added.length} platform packages: run \`node scripts/complete-lock.mjs\``);
    process.exit(1);
  }
  process.exit(0);
}
if (added.length) {
  lock.packages = Object.fromEntries(Object.entries(pkgs).sort(([a], [b]) => (a === "" ? -1 : b === "" ? 1 : a.localeCompare(b))));
  fs.writeFileSync(path, JSON.stringify(lock, null, 2) + "\n");
}
console.log(added.length ? `added ${added.join(", ")}` : "package-lock.json already lists every platform package");
