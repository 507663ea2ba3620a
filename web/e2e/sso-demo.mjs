import { chromium } from "playwright-core";
// Signs Alice in through both local IdPs in headless Chromium, the way docs/SSO.md describes
// by hand, and prints where she lands and the navigation her mapped role gets. Run it after
// steps 1–3 of docs/SSO.md (server, both IdPs, both connections), from web/:
//   node e2e/sso-demo.mjs [base-url]        (default http://127.0.0.1:8080)
// Screenshots: /tmp/sso-demo-saml-alice.png, /tmp/sso-demo-oidc-alice.png.
const base = process.argv[2] ?? "http://127.0.0.1:8080";
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox"] });
async function flow(email, login, password, shot) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  const page = await ctx.newPage();
  await page.goto(`${base}/sign-in/`);
  await page.getByLabel("Organisation").fill("demo");
  await page.getByRole("button", { name: "Continue" }).click();
  await page.getByRole("button", { name: /organisation's account/ }).click();
  const emailBox = page.getByRole("textbox").first();
  await emailBox.fill(email);
  await page.getByRole("button", { name: /Continue|Sign in|Next/ }).first().click();
  await page.waitForURL((u) => !u.toString().startsWith(base), { timeout: 15000 });
  console.log(shot, "at IdP:", new URL(page.url()).host);
  if (page.url().includes(":9500")) {
    await page.locator('input[name="username"]').fill(login);
    await page.locator('input[name="password"]').fill(password);
    await page.locator('button[type="submit"], input[type="submit"]').first().click();
  } else {
    await page.locator('input[name="login"]').fill(login);
    await page.locator('input[name="password"]').fill(password);
    await page.locator('button[type="submit"]').first().click();
    // oidc-provider's consent screen, if shown
    try {
      await page.waitForURL((u) => u.toString().startsWith(base), { timeout: 4000 });
    } catch {
      await page.locator('button[type="submit"]').first().click();
    }
  }
  await page.waitForURL((u) => u.toString().startsWith(base) && !u.toString().includes("/sso/complete"), { timeout: 20000 });
  await page.waitForLoadState("networkidle");
  console.log(shot, "landed:", new URL(page.url()).pathname);
  const nav = await page.getByRole("navigation").first().innerText().catch(() => "");
  console.log(shot, "nav:", nav.replace(/\s+/g, " ").slice(0, 200));
  await page.screenshot({ path: `/tmp/sso-demo-${shot}.png`, fullPage: false });
  await ctx.close();
}
await flow("alice@clinic.example", "alice", "alice-pass", "saml-alice");
await flow("alice@hospital.example", "alice@hospital.example", "alice-pass", "oidc-alice");
await browser.close();
