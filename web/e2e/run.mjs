// End-to-end: the real server and database, a real browser. `npm run e2e` (after `npm run build`
// and `cargo build -p swiftacare`). Screenshots and the server log land in web/e2e-artifacts/.
//
// Scenario: the demo institution admin signs in, browses departments, adds a provider (after
// the server rejects an empty name, shown on the field), invites them, reads the audit log and
// the governance screens; the provider accepts the invitation from the emailed link and signs
// in on a phone-sized screen; a platform operator creates a tenant. axe-core checks each main
// screen (serious or critical violations fail the run) and any Content-Security-Policy
// violation fails it too.
import assert from "node:assert/strict";
import { axe, linkInMail, shot, start, totp } from "./harness.mjs";

const failures = [];
const cspViolations = [];

const pages = [];

function watch(page, label) {
  pages.push({ page, label });
  page.on("console", (msg) => {
    if (msg.type() === "error" && /Content Security Policy|Refused to/.test(msg.text())) cspViolations.push(`${label}: ${msg.text()}`);
  });
  page.on("pageerror", (e) => failures.push(`${label}: uncaught ${e.message}`));
  return page;
}

async function check(page, name) {
  await shot(page, name);
  const v = await axe(page);
  if (v.length) failures.push(`${name}: axe ${JSON.stringify(v, null, 1)}`);
  console.log(`  ✓ ${name}${v.length ? ` (${v.length} axe violations)` : ""}`);
}

async function step(name, fn) {
  const t = Date.now();
  console.log(`▶ ${name}`);
  await fn();
  console.log(`  done in ${((Date.now() - t) / 1000).toFixed(1)} s`);
}

/** A real zone where the local time is now between 06:00 and 11:59 (offsets from the tz database, DST included). */
function morningZone() {
  const zones = ["Pacific/Honolulu", "America/Anchorage", "America/Los_Angeles", "America/Denver", "America/Chicago", "America/Toronto", "America/Halifax", "America/Sao_Paulo", "Atlantic/South_Georgia", "Atlantic/Cape_Verde", "Europe/London", "Europe/Paris", "Africa/Cairo", "Europe/Moscow", "Asia/Dubai", "Asia/Karachi", "Asia/Dhaka", "Asia/Bangkok", "Asia/Singapore", "Asia/Tokyo", "Australia/Brisbane", "Pacific/Noumea", "Pacific/Auckland", "Pacific/Kiritimati"];
  const hour = (z) => Number(new Intl.DateTimeFormat("en-GB", { hour: "2-digit", hourCycle: "h23", timeZone: z }).format(new Date()));
  const found = zones.find((z) => hour(z) >= 6 && hour(z) < 12);
  assert.ok(found, "a zone where it is morning");
  return found;
}

const env = await start();
const { base, browser, creds } = env;
const provider = { email: `pat.lee.${Date.now()}@e2e.swiftacare.test`, password: "a calm river at dawn 42" };

try {
  assert.ok(creds.admin, "demo admin credentials");
  const admin = watch(await (await browser.newContext({ viewport: { width: 1366, height: 900 } })).newPage(), "admin");

  await step("admin signs in", async () => {
    await admin.goto(`${base}/`);
    await admin.waitForURL("**/sign-in/");
    await admin.getByLabel("Organisation").waitFor();
    await check(admin, "01-sign-in-organisation");
    await admin.getByLabel("Organisation").fill("demo");
    await admin.getByRole("button", { name: "Continue" }).click();
    await admin.getByLabel("Email").waitFor();
    await admin.getByLabel("Email").fill(creds.admin.email);
    await admin.getByLabel("Password").fill("wrong password entirely");
    await admin.getByRole("button", { name: "Sign in" }).click();
    await admin.getByRole("alert").filter({ hasText: "Email or password is incorrect." }).waitFor();
    await check(admin, "02-sign-in-wrong-password");
    await admin.getByLabel("Password").fill(creds.admin.password);
    await admin.getByRole("button", { name: "Sign in" }).click();
    await admin.waitForURL("**/home/");
    await admin.getByRole("heading", { name: /Welcome to/ }).waitFor();
    await check(admin, "03-admin-home");
    // Keyboard: on a fresh page the first Tab reaches the skip link, which moves focus to main.
    await admin.reload();
    await admin.getByRole("heading", { name: /Welcome to/ }).waitFor();
    await admin.keyboard.press("Tab");
    assert.equal(await admin.evaluate(() => document.activeElement?.textContent), "Skip to main content");
    await admin.keyboard.press("Enter");
    assert.equal(await admin.evaluate(() => document.activeElement?.id), "main");
  });

  await step("admin browses departments", async () => {
    await admin.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Departments" }).click();
    await admin.getByRole("heading", { name: "Departments" }).waitFor();
    await admin.getByRole("button", { name: /^Edit / }).first().waitFor();
    await admin.getByRole("button", { name: /^Edit / }).first().click();
    await admin.getByRole("button", { name: "Save changes" }).waitFor();
    await check(admin, "04-departments");
  });

  await step("admin adds and invites a provider", async () => {
    await admin.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "People & roles" }).click();
    await admin.getByRole("heading", { name: "People & roles" }).waitFor();
    await admin.getByRole("table").waitFor();
    await check(admin, "05-people");
    await admin.getByRole("button", { name: "Add person" }).first().click();
    const form = admin.locator("form").filter({ has: admin.getByLabel("Given name") });
    // The server's 422 names /given_name: the message is shown on that field.
    await form.getByRole("button", { name: "Add person" }).click();
    await admin.locator('input[name="given_name"][aria-invalid="true"]').waitFor();
    const described = await form.getByLabel("Given name").getAttribute("aria-describedby");
    assert.ok(described, "the given-name field is described by its error");
    await check(admin, "06-people-field-error");
    await form.getByLabel("Given name").fill("Pat");
    await form.getByLabel("Family name").fill("Lee");
    await form.getByLabel("Email").fill(provider.email);
    await form.getByRole("button", { name: "Add person" }).click();
    await admin.getByRole("button", { name: "Invite to sign in" }).click();
    await admin.getByText(/Invitation sent to/).waitFor();
    await check(admin, "07-people-invited");
  });

  await step("admin reads the audit log and governance screens", async () => {
    const nav = admin.getByRole("navigation", { name: "Main" });
    await nav.getByRole("link", { name: "Audit log" }).click();
    await admin.getByRole("button", { name: "Search" }).click();
    await admin.getByRole("table").waitFor();
    const rows = await admin.getByRole("table").locator("tbody tr").count();
    assert.ok(rows > 0, "audit entries are listed");
    await check(admin, "08-audit");
    const [download] = await Promise.all([admin.waitForEvent("download"), admin.getByRole("button", { name: "Export CSV" }).click()]);
    const csv = await new Promise((resolve, reject) => {
      download.createReadStream().then((st) => {
        const chunks = [];
        st.on("data", (c) => chunks.push(c));
        st.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
        st.on("error", reject);
      }, reject);
    });
    assert.match(download.suggestedFilename(), /^audit-\d{4}-\d{2}-\d{2}\.csv$/);
    assert.ok(csv.split("\n").length > rows, `the CSV export has a header and every entry (${csv.split("\n").length} lines)`);
    await nav.getByRole("link", { name: "Security policy" }).click();
    await admin.getByRole("button", { name: "Save policy" }).waitFor();
    await check(admin, "09-security-policy");
    await nav.getByRole("link", { name: "API clients" }).click();
    await admin.getByRole("button", { name: "Create client" }).waitFor();
    await admin.getByRole("region", { name: "Clients" }).getByText(/No API clients|Revoke/).first().waitFor();
    await admin.getByLabel("Name").fill("HR sync");
    await admin.getByRole("button", { name: "Create client" }).click();
    await admin.getByText("Copy the secret now").waitFor();
    await check(admin, "10-api-client-created");
    await admin.getByRole("button", { name: "Done" }).click();
    admin.once("dialog", (d) => d.accept());
    await admin.getByRole("button", { name: "Revoke HR sync" }).click();
    await admin.getByRole("region", { name: "Clients" }).getByText("Revoked").waitFor();
    await nav.getByRole("link", { name: "Sign-in & security" }).click();
    await admin.getByRole("button", { name: "Sign out everywhere" }).waitFor();
    await admin.getByText("This device").waitFor();
    await check(admin, "11-account-security");
    await admin.getByRole("button", { name: "Set up authenticator app" }).click();
    await admin.getByRole("img", { name: /QR code/ }).waitFor();
    await check(admin, "12-mfa-enrolment");
    await admin.getByRole("button", { name: "Cancel" }).click();
  });

  await step("the provider accepts the invitation and signs in on a phone", async () => {
    const link = await linkInMail(env.mailDir, provider.email, /(https?:\/\/\S+\/accept-invite\?tenant=[a-z0-9-]+#token=sco_[0-9a-f]{64})/);
    assert.ok(link, `an invitation email to ${provider.email} names the accept-invite page`);
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const p = watch(await phone.newPage(), "provider");
    await p.goto(link);
    await p.getByLabel("Choose a password").waitFor();
    await check(p, "13-accept-invite-phone");
    await p.getByLabel("Choose a password").fill(provider.password);
    await p.getByLabel("Repeat the password").fill(provider.password);
    await p.getByRole("button", { name: "Create my account" }).click();
    await p.getByText("Your account is ready").waitFor();
    await p.getByRole("link", { name: "Continue to sign in" }).click();
    await p.getByLabel("Email").waitFor();
    // The organisation came from the link and is remembered.
    await p.getByText("to demo").first().waitFor();
    await check(p, "14-sign-in-phone");
    await p.getByLabel("Email").fill(provider.email);
    await p.getByLabel("Password").fill(provider.password);
    await p.getByRole("button", { name: "Sign in" }).click();
    await p.waitForURL("**/home/");
    await p.getByRole("list", { name: "Your roles" }).getByText("Provider").waitFor();
    await check(p, "15-provider-home-phone");
    await p.getByRole("button", { name: "Menu" }).click();
    await p.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Colleagues" }).click();
    await p.getByRole("heading", { name: "Colleagues" }).waitFor();
    await p.getByText("Pat Lee").waitFor();
    await check(p, "16-provider-colleagues-phone");
    await phone.close();
  });

  await step("a platform operator creates a tenant", async () => {
    const ctx = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    const op = watch(await ctx.newPage(), "operator");
    await op.goto(`${base}/operator/`);
    await op.getByLabel("Email").waitFor();
    await check(op, "17-operator-sign-in");
    await op.getByLabel("Email").fill(env.operator.email);
    await op.getByLabel("Password").fill(env.operator.password);
    await op.getByRole("button", { name: "Sign in" }).click();
    await op.waitForURL("**/operator/tenants/");
    await op.getByRole("table").waitFor();
    const slug = `e2e-clinic-${Date.now().toString(36)}`;
    await op.getByLabel("Organisation name").fill("Harbour Street Clinic");
    await op.getByLabel("Short name (address)").fill(slug);
    await op.getByLabel("First administrator's email").fill("it@harbour.e2e.swiftacare.test");
    await op.getByRole("button", { name: "Create tenant" }).click();
    await op.getByText("Harbour Street Clinic is ready").waitFor();
    await op.getByRole("cell", { name: new RegExp(slug) }).waitFor();
    await check(op, "18-operator-tenants");
    await ctx.close();

    // Its first administrator opens the emailed set-up link and starts the structure.
    const link = await linkInMail(env.mailDir, "it@harbour.e2e.swiftacare.test", /(https?:\/\/\S+\/setup\?tenant=[a-z0-9-]+#token=sco_[0-9a-f]{64})/);
    assert.ok(link, "the set-up email names the set-up page");
    const first = watch(await (await browser.newContext({ viewport: { width: 1366, height: 900 } })).newPage(), "first-admin");
    await first.goto(link);
    await first.getByRole("heading", { name: "Set up your organisation" }).waitFor();
    await check(first, "19-first-admin-setup");
    await first.getByLabel("Choose a password").fill("harbour lights over the bay");
    await first.getByLabel("Repeat the password").fill("harbour lights over the bay");
    await first.getByRole("button", { name: "Create my account" }).click();
    await first.getByRole("link", { name: "Continue to sign in" }).click();
    await first.getByLabel("Email").fill("it@harbour.e2e.swiftacare.test");
    await first.getByLabel("Password").fill("harbour lights over the bay");
    await first.getByRole("button", { name: "Sign in" }).click();
    await first.waitForURL("**/home/");
    await first.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Departments" }).click();
    await first.getByText(/No departments yet/).waitFor();
    await first.getByRole("button", { name: "Add department" }).first().click();
    await first.getByLabel("Name").fill("Harbour Street");
    await first.locator("form").getByRole("button", { name: "Add department" }).click();
    await first.getByRole("button", { name: "Edit Harbour Street" }).waitFor();
    await check(first, "20-first-admin-departments");
  });

  await step("the provider resets a forgotten password", async () => {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const p = watch(await phone.newPage(), "reset");
    await p.goto(`${base}/reset-password/?tenant=demo`);
    await p.getByLabel("Email").fill(provider.email);
    await p.getByRole("button", { name: "Send reset link" }).click();
    await p.getByText("Check your email").waitFor();
    await check(p, "21-reset-requested-phone");
    const link = await linkInMail(env.mailDir, provider.email, /(https?:\/\/\S+\/reset-password\?tenant=[a-z0-9-]+#token=sco_[0-9a-f]{64})/);
    assert.ok(link, "a reset email names the reset page");
    await p.goto(link);
    await p.getByLabel("New password").fill("short");
    await p.getByLabel("Repeat the password").fill("short");
    await p.getByRole("button", { name: "Change password" }).click();
    // The server's password rule is shown on the password field.
    await p.locator('input[name="password"][aria-invalid="true"]').waitFor();
    await check(p, "22-reset-field-error-phone");
    await p.getByLabel("New password").fill("a brand new morning 77");
    await p.getByLabel("Repeat the password").fill("a brand new morning 77");
    await p.getByRole("button", { name: "Change password" }).click();
    await p.getByText("Your password has been changed").waitFor();
    await phone.close();
  });

  await step("staff turns on two-step verification, then signs in with a recovery code", async () => {
    const ctx = await browser.newContext({ viewport: { width: 1366, height: 900 } });
    const s = watch(await ctx.newPage(), "staff");
    await s.goto(`${base}/sign-in/?tenant=demo`);
    await s.getByLabel("Email").fill(creds.staff.email);
    await s.getByLabel("Password").fill(creds.staff.password);
    await s.getByRole("button", { name: "Sign in" }).click();
    await s.waitForURL("**/home/");
    await s.goto(`${base}/account/security/`);
    await s.getByRole("button", { name: "Set up authenticator app" }).click();
    await s.getByText("Cannot scan? Enter the key by hand").click();
    const secret = (await s.locator("details p").innerText()).trim();
    await s.getByLabel("Enter the 6-digit code the app shows").fill(totp(secret));
    await s.getByRole("button", { name: "Turn on" }).click();
    const codes = s.getByRole("list", { name: "Recovery codes" });
    await codes.waitFor();
    await check(s, "23-recovery-codes");
    const recovery = (await codes.locator("li").first().innerText()).trim();
    await s.getByRole("button", { name: "I have saved them" }).click();
    await s.getByRole("button", { name: "Sign out", exact: true }).click();
    await s.waitForURL("**/sign-in/");
    await s.getByLabel("Email").fill(creds.staff.email);
    await s.getByLabel("Password").fill(creds.staff.password);
    await s.getByRole("button", { name: "Sign in" }).click();
    await s.getByRole("heading", { name: "Two-step verification" }).waitFor();
    await check(s, "24-mfa-challenge");
    await s.getByRole("button", { name: "Use a recovery code instead" }).click();
    await s.getByLabel("Recovery code").fill(recovery);
    await s.getByRole("button", { name: "Verify" }).click();
    await s.waitForURL("**/home/");
    await ctx.close();
  });

  await step("each role sees its own navigation", async () => {
    const expected = {
      client: ["Overview", "My appointments", "Book an appointment", "My referrals", "Sign-in & security"],
      sub: ["Overview", "Book for a client", "Recurring series", "Calendars", "Intake queue", "Referrals", "Providers' hours", "Bulk scheduling", "Departments", "People & roles", "Emergency access", "Sign-in & security"],
    };
    for (const [who, c, viewport] of [
      ["client", creds.client, { width: 390, height: 844 }],
      ["sub", creds.subadmin, { width: 1366, height: 900 }],
    ]) {
      const ctx = await browser.newContext({ viewport });
      const pg = watch(await ctx.newPage(), who);
      await pg.goto(`${base}/sign-in/?tenant=demo`);
      await pg.getByLabel("Email").fill(c.email);
      await pg.getByLabel("Password").fill(c.password);
      await pg.getByRole("button", { name: "Sign in" }).click();
      await pg.waitForURL("**/home/");
      await pg.getByRole("heading", { name: /Welcome to/ }).waitFor();
      if (viewport.width < 1024) await pg.getByRole("button", { name: "Menu" }).click();
      const links = await pg.getByRole("navigation", { name: "Main" }).getByRole("link").allInnerTexts();
      assert.deepEqual(links.map((l) => l.trim()), expected[who], `${who} navigation`);
      await check(pg, who === "client" ? "25-client-home-phone" : "26-sub-admin-home");
      await ctx.close();
    }
  });

  // Scheduling: the demo provider works weekdays 09–17 and Saturday 10–14 in Toronto, so first
  // their hours are set (through the API, as the provider) to cover every day, so that a slot in
  // the next two hours exists whenever this runs and check-in (open from two hours before) works.
  // The provider and the client use a zone where it is morning now, so "today" has a full day
  // of slots left at any hour of the run (and the screens name a zone other than UTC).
  const zone = morningZone();
  await step(`provider opens their hours around the clock (${zone})`, async () => {
    const h = { "X-Tenant": "demo", "Content-Type": "application/json" };
    const login = await (await fetch(`${base}/api/v1/auth/login`, { method: "POST", headers: h, body: JSON.stringify(creds.provider) })).json();
    assert.ok(login.access_token, `provider login: ${JSON.stringify(login)}`);
    const auth = { ...h, Authorization: `Bearer ${login.access_token}` };
    const me = await (await fetch(`${base}/api/v1/auth/me`, { headers: auth })).json();
    env.providerId = me.person_id;
    const url = `${base}/api/v1/providers/${me.person_id}/availability`;
    const current = await (await fetch(url, { headers: auth })).json();
    const rules = [1, 2, 3, 4, 5, 6, 7].map((weekday) => ({ weekday, start: "00:00", end: "23:59" }));
    const put = await fetch(url, { method: "PUT", headers: { ...auth, "If-Match": `"${current.version}"` }, body: JSON.stringify({ timezone: zone, rules }) });
    assert.equal(put.status, 200, `availability: ${await put.text()}`);
  });

  await step("a client books two slots on a phone and cancels the second", async () => {
    const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, timezoneId: zone });
    const c = watch(await ctx.newPage(), "client-booking");
    await c.goto(`${base}/sign-in/?tenant=demo`);
    await c.getByLabel("Email").fill(creds.client.email);
    await c.getByLabel("Password").fill(creds.client.password);
    await c.getByRole("button", { name: "Sign in" }).click();
    await c.waitForURL("**/home/");
    await c.getByRole("button", { name: "Menu" }).click();
    await c.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Book an appointment" }).click();
    await c.getByRole("heading", { name: "Book an appointment" }).waitFor();
    const service = c.getByLabel("Service");
    const therapy = await service.locator("option", { hasText: "Therapy" }).first().getAttribute("value");
    await service.selectOption(therapy);
    await c.getByRole("group", { name: new RegExp(`Available times \\(shown in ${zone.replace(/_/g, " ")}\\)`) }).waitFor();
    // The demo provider's slots (the radio's value is "<provider>|<start>"); the first is within the hour.
    const mine = c.locator(`input[name="slot"][value^="${env.providerId}|"]`);
    assert.ok((await mine.count()) >= 3, "the provider has free slots today");
    const pick = async (n) => {
      const value = await mine.nth(n).getAttribute("value");
      await c.locator("label", { has: c.locator(`input[value="${value}"]`) }).click();
    };
    await pick(0);
    await check(c, "30-client-pick-slot-phone");
    await c.getByRole("button", { name: "Book this time" }).click();
    await c.getByText("Booked", { exact: true }).waitFor();
    await check(c, "31-client-booked-phone");
    await c.getByRole("button", { name: "Book another" }).click();
    await c.getByRole("group", { name: /Available times/ }).waitFor();
    // The first slot is taken now; book a later one.
    await pick(2);
    await c.getByRole("button", { name: "Book this time" }).click();
    await c.getByText("Booked", { exact: true }).waitFor();
    await c.getByRole("link", { name: "My appointments" }).last().click();
    await c.getByRole("heading", { name: "My appointments" }).waitFor();
    const upcoming = c.getByRole("region", { name: "Upcoming" }).getByRole("listitem");
    await upcoming.nth(1).waitFor();
    assert.equal(await upcoming.count(), 2, "two upcoming appointments");
    await check(c, "32-client-my-appointments-phone");
    // Contact & reminders: a number without its country code is refused on the field; with it,
    // the number is kept in E.164 and the consent recorded (GET/PATCH /me/contact).
    const contact = c.getByRole("region", { name: "Contact & reminders" });
    await contact.getByLabel("Mobile number").fill("416 555 0123");
    await contact.getByLabel("Send me appointment reminders by text message").check();
    await contact.getByRole("button", { name: "Save contact preferences" }).click();
    await contact.locator('input[name="phone"][aria-invalid="true"]').waitFor();
    await contact.getByLabel("Mobile number").fill("+1 416 555 0123");
    await contact.getByRole("button", { name: "Save contact preferences" }).click();
    await contact.getByText("Saved. Reminders will also be sent by text message to +14165550123.").waitFor();
    assert.equal(await contact.getByLabel("Mobile number").inputValue(), "+14165550123");
    await check(c, "32a-client-contact-reminders-phone");
    await upcoming.nth(1).getByRole("button", { name: /^Cancel / }).click();
    // Within the demo types' 24-hour window: the client is told before confirming.
    await c.getByText("This is a late cancellation").waitFor();
    await c.getByRole("button", { name: "Cancel appointment" }).click();
    assert.equal(await c.getByLabel("Reason for cancelling").getAttribute("aria-invalid"), "true");
    await c.getByLabel("Reason for cancelling").selectOption("client_request");
    await check(c, "33-client-cancel-late-phone");
    await c.getByRole("button", { name: "Cancel appointment" }).click();
    await c.getByText(/^Cancelled: .*\(late cancellation\)/).waitFor();
    await c.getByRole("region", { name: "Past and cancelled" }).getByText("Cancelled (late)").waitFor();
    assert.equal(await upcoming.count(), 1, "one upcoming appointment left");
    // Move the one left to the provider's next free time (still within check-in's two hours).
    await upcoming.nth(0).getByRole("link", { name: /^Reschedule / }).click();
    await c.getByRole("heading", { name: "Reschedule" }).waitFor();
    await c.getByRole("group", { name: /Available times/ }).waitFor();
    await pick(0);
    await c.getByRole("button", { name: "Move to this time" }).click();
    await c.getByText("Rescheduled", { exact: true }).waitFor();
    await check(c, "33b-client-rescheduled-phone");
    await ctx.close();
  });

  await step("the provider sees it in the week calendar and checks the client in", async () => {
    const ctx = await browser.newContext({ viewport: { width: 1366, height: 900 }, timezoneId: zone });
    const p = watch(await ctx.newPage(), "provider-calendar");
    await p.goto(`${base}/sign-in/?tenant=demo`);
    await p.getByLabel("Email").fill(creds.provider.email);
    await p.getByLabel("Password").fill(creds.provider.password);
    await p.getByRole("button", { name: "Sign in" }).click();
    await p.waitForURL("**/home/");
    await p.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "My calendar" }).click();
    await p.getByRole("heading", { name: "My calendar" }).waitFor();
    const booked = p.getByRole("button", { name: /Alex Morgan.*, Booked$/ });
    await booked.first().waitFor();
    await check(p, "34-provider-week-calendar");
    await booked.first().click();
    await p.getByRole("heading", { name: "History" }).waitFor();
    await p.getByRole("button", { name: "Check in" }).click();
    await p.getByRole("status").filter({ hasText: "Checked in." }).waitFor();
    await p.getByRole("button", { name: /Alex Morgan.*, Checked in$/ }).waitFor();
    await check(p, "35-provider-checked-in");
    await p.getByRole("button", { name: "Create a feed address" }).click();
    const feed = await p.getByLabel("Feed address").inputValue();
    assert.match(feed, /\/ical\/demo\/.+\.ics$/);
    const ics = await (await fetch(feed)).text();
    assert.match(ics, /BEGIN:VCALENDAR/);
    await check(p, "36-provider-feed-created");
    // Their hours: the week set above, plus a day off added and removed again.
    await p.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "My hours" }).click();
    await p.getByRole("heading", { name: "Weekly hours" }).waitFor();
    assert.equal(await p.getByLabel("Time zone").inputValue(), zone);
    const off = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
    await p.getByLabel("Date").fill(off);
    await p.getByRole("button", { name: "Add", exact: true }).click();
    await p.getByText(`${off} · Time off (whole day)`).waitFor();
    await check(p, "37-provider-hours");
    await p.getByRole("button", { name: `Delete ${off}` }).click();
    await p.getByText("No upcoming changes to your week.").waitFor();
    // Their caseload: the demo's Mood Disorders clients, Alex with the appointment checked in above.
    await p.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "My clients" }).click();
    await p.getByRole("heading", { name: "My clients" }).waitFor();
    const alex = p.getByRole("article", { name: "Alex Morgan" });
    await alex.waitFor();
    await p.getByRole("article", { name: "Taylor Singh" }).waitFor();
    const next = alex.locator("dt:text-is('Next appointment') + dd");
    assert.match(await next.innerText(), /Therapy session/, "Alex's next appointment is the one checked in");
    assert.match(await next.innerText(), /Checked in/);
    await check(p, "37b-provider-my-clients");
    // "Book for …" opens booking with the client and the provider chosen.
    await alex.getByRole("link", { name: "Book for Alex Morgan" }).click();
    await p.getByRole("heading", { name: "Book for a client" }).waitFor();
    assert.equal(await p.locator('select[name="client_id"] option:checked').innerText(), "Alex Morgan");
    await ctx.close();
  });

  await step("admin books for a client, sets scheduling up and opens single sign-on", async () => {
    const nav = admin.getByRole("navigation", { name: "Main" });
    await nav.getByRole("link", { name: "Book for a client" }).click();
    await admin.getByRole("heading", { name: "Book for a client" }).waitFor();
    // Without a client the form says so on the field, before any request.
    await admin.getByLabel("Provider").selectOption({ label: "Maya Chen" });
    await admin.getByRole("group", { name: /Available times/ }).waitFor();
    await admin.getByRole("group", { name: "Day" }).getByRole("button").nth(1).click();
    const slots = admin.locator(`input[name="slot"][value^="${env.providerId}|"]`);
    const value = await slots.nth(Math.min(5, (await slots.count()) - 1)).getAttribute("value");
    await admin.locator("label", { has: admin.locator(`input[value="${value}"]`) }).click();
    await admin.getByRole("button", { name: "Book this time" }).click();
    assert.equal(await admin.getByLabel("Client").getAttribute("aria-invalid"), "true");
    await admin.getByLabel("Client").selectOption({ label: "Alex Morgan" });
    await check(admin, "38-staff-book-for-client");
    await admin.getByRole("button", { name: "Book this time" }).click();
    await admin.getByText("Booked", { exact: true }).waitFor();
    await admin.getByText(/with Maya Chen/).waitFor();
    // The front desk sees it in the provider's calendar.
    await admin.getByRole("link", { name: "Calendars" }).last().click();
    await admin.getByRole("heading", { name: "Calendars" }).waitFor();
    await admin.getByLabel("Provider").selectOption({ label: "Maya Chen" });
    await admin.getByRole("button", { name: /Alex Morgan.*, Awaiting approval$|Alex Morgan.*, Booked$/ }).first().waitFor();
    await check(admin, "38b-front-desk-calendars");

    await nav.getByRole("link", { name: "Scheduling set-up" }).click();
    await admin.getByRole("heading", { name: "Scheduling set-up" }).waitFor();
    await admin.getByLabel("Waitlist offer lasts (minutes)").fill("0");
    await admin.getByRole("button", { name: "Save policy" }).click();
    await admin.getByLabel("Waitlist offer lasts (minutes)").and(admin.locator("[aria-invalid=true]")).waitFor();
    await check(admin, "39-scheduling-policy-field-error");
    await admin.getByLabel("Waitlist offer lasts (minutes)").fill("90");
    await admin.getByRole("button", { name: "Save policy" }).click();
    await admin.getByText("Scheduling policy saved.").waitFor();
    await admin.getByLabel("Location name").fill("Eastside Clinic");
    await admin.getByLabel("Address").fill("12 Queen St E");
    await admin.getByRole("button", { name: "Add location" }).click();
    await admin.getByText("12 Queen St E", { exact: false }).waitFor();
    await check(admin, "40-scheduling-setup");
    // Edit the location just added, and a service (a server field error first).
    await admin.getByRole("button", { name: "Edit Eastside Clinic" }).click();
    const loc = admin.getByRole("form", { name: "Edit Eastside Clinic" });
    await loc.getByLabel("Address").fill("14 Queen St E");
    await loc.getByRole("button", { name: "Save location" }).click();
    await admin.getByText("14 Queen St E", { exact: false }).waitFor();
    await admin.getByRole("button", { name: "Edit Intake assessment (90 min)" }).click();
    const svc = admin.getByRole("form", { name: "Edit Intake assessment (90 min)" });
    await svc.getByLabel("Length (minutes)").fill("0");
    await svc.getByRole("button", { name: "Save service" }).click();
    await svc.getByLabel("Length (minutes)").and(admin.locator("[aria-invalid=true]")).waitFor();
    await check(admin, "40b-scheduling-edit-service-error");
    await svc.getByLabel("Length (minutes)").fill("90");
    await svc.getByLabel("Late cancellation inside (minutes)").fill("2880");
    await svc.getByRole("button", { name: "Save service" }).click();
    await admin.getByText("late cancellation inside 48 h", { exact: false }).waitFor();

    await nav.getByRole("link", { name: "Single sign-on" }).click();
    await admin.getByRole("heading", { name: "Single sign-on" }).waitFor();
    await admin.getByText("No connections yet").waitFor();
    await admin.getByRole("button", { name: "Add connection" }).click();
    await admin.getByRole("button", { name: "Create connection" }).click();
    await admin.getByRole("alert").first().waitFor();
    await check(admin, "41-sso-connection-form-error");
  });

  await step("admin books a series every two weeks, moves it and cancels the later ones", async () => {
    const nav = admin.getByRole("navigation", { name: "Main" });
    await nav.getByRole("link", { name: "Recurring series" }).click();
    await admin.getByRole("heading", { name: "Book a recurring series" }).waitFor();
    await admin.getByLabel("Provider").selectOption({ label: "Maya Chen" });
    await admin.getByText(`in the provider's zone, ${zone.replace(/_/g, " ")}`, { exact: false }).waitFor();
    // Nothing is sent without a client: the field says so.
    await admin.getByRole("button", { name: "Book the series" }).click();
    assert.equal(await admin.getByLabel("Client").getAttribute("aria-invalid"), "true");
    await admin.getByLabel("Client").selectOption({ label: "Taylor Singh" });
    await admin.getByLabel("Service").selectOption({ label: "Therapy session (50 min)" });
    const first = new Date(Date.now() + 14 * 86_400_000).toISOString().slice(0, 10);
    await admin.getByLabel("First date").fill(first);
    await admin.getByLabel(/^Time/).fill("10:00");
    await admin.getByLabel("Repeat every (weeks)").fill("2");
    await admin.getByLabel("Number of appointments").fill("3");
    await admin.getByRole("button", { name: "Book the series" }).click();
    await admin.getByText(/^3 booked\./).waitFor();
    await check(admin, "50-series-booked");
    await admin.getByRole("link", { name: "Open the series" }).click();
    await admin.getByRole("heading", { name: "Recurring series" }).waitFor();
    await admin.getByText(/Every 2 weeks, 3 times/).waitFor();
    // The occurrences load after the series itself: count them once the list is not busy.
    await admin.locator('ol[aria-label="Appointments in this series"]:not([aria-busy])').waitFor();
    const occurrences = admin.getByRole("list", { name: "Appointments in this series" }).getByRole("listitem");
    assert.equal(await occurrences.count(), 3);
    // All of them to 11:00 in the provider's zone.
    const retime = admin.getByRole("form", { name: "Change the time of the series" });
    await retime.getByLabel(/^New time/).fill("11:00");
    await retime.getByRole("button", { name: "Change the time" }).click();
    await admin.getByText("Moved 3 appointments to 11:00", { exact: false }).waitFor();
    // The series reloads (its new version) before the next change is made.
    await admin.locator('ol[aria-label="Appointments in this series"]:not([aria-busy])').waitFor();
    // Then the second and the third are cancelled ("this and following").
    const cancel = admin.getByRole("form", { name: "Cancel appointments of the series" });
    await cancel.getByLabel("One and every later one").check();
    await cancel.getByLabel("Starting from").selectOption({ index: 2 });
    await cancel.getByLabel("Reason for cancelling").selectOption("scheduling_error");
    await cancel.getByRole("button", { name: "Cancel appointments" }).click();
    await admin.getByText("Cancelled 2 appointments.").waitFor();
    await occurrences.filter({ hasText: "Cancelled" }).nth(1).waitFor();
    assert.equal(await occurrences.filter({ hasText: "Booked" }).count(), 1);
    await check(admin, "51-series-view");
  });

  await step("the provider breaks the glass for a client outside their care team, then ends it", async () => {
    const h = { "X-Tenant": "demo", "Content-Type": "application/json" };
    const login = await (await fetch(`${base}/api/v1/auth/login`, { method: "POST", headers: h, body: JSON.stringify(creds.admin) })).json();
    const people = await (await fetch(`${base}/api/v1/people?kind=client&limit=100`, { headers: { ...h, Authorization: `Bearer ${login.access_token}` } })).json();
    const casey = people.items.find((p) => p.given_name === "Casey");
    assert.ok(casey, "the demo client Casey Nguyen");
    const ctx = await browser.newContext({ viewport: { width: 1366, height: 900 }, timezoneId: zone });
    const p = watch(await ctx.newPage(), "provider-break-glass");
    await p.goto(`${base}/sign-in/?tenant=demo`);
    await p.getByLabel("Email").fill(creds.provider.email);
    await p.getByLabel("Password").fill(creds.provider.password);
    await p.getByRole("button", { name: "Sign in" }).click();
    await p.waitForURL("**/home/");
    await p.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Emergency access" }).click();
    await p.getByRole("heading", { name: "Emergency access" }).waitFor();
    await p.getByLabel("Or the client's id").fill(casey.id);
    await p.getByLabel("Reason code").selectOption("continuity_of_care");
    // Too short a reason is caught on the field before any request.
    await p.getByLabel("Reason", { exact: true }).fill("urgent");
    await p.getByRole("button", { name: "Open access" }).click();
    assert.equal(await p.getByLabel("Reason", { exact: true }).getAttribute("aria-invalid"), "true");
    await p.getByLabel("Reason", { exact: true }).fill("Covering for a colleague: the client called in crisis.");
    await check(p, "53-break-glass-request");
    await p.getByRole("button", { name: "Open access" }).click();
    await p.getByText("Access open to Casey Nguyen's records").waitFor();
    // My emergency access lists it, with its expiry in the reader's zone and the time left.
    const openNow = p.getByRole("list", { name: "Open emergency access" }).getByRole("listitem").filter({ hasText: "Casey Nguyen" });
    await openNow.getByText(/min left\)/).waitFor();
    await check(p, "54-break-glass-open");
    await p.getByRole("button", { name: "End access now" }).click();
    await p.getByText("Access ended").waitFor();
    // The list is read again: the grant moved to Ended, closed early.
    await p.getByRole("list", { name: "Ended emergency access" }).getByRole("listitem").filter({ hasText: /ended early/ }).first().waitFor();
    assert.equal(await p.getByRole("list", { name: "Open emergency access" }).count(), 0, "no grant left open");
    await check(p, "54b-break-glass-my-grants");
    await ctx.close();
  });

  // The sub-admin (who is also front desk) works the intake queue and, below, bulk scheduling.
  const subCtx = await browser.newContext({ viewport: { width: 1366, height: 900 }, timezoneId: zone });
  const sub = watch(await subCtx.newPage(), "sub-admin");
  await step("a client requests two intake assessments; the sub-admin approves one and declines the other", async () => {
    const h = { "X-Tenant": "demo", "Content-Type": "application/json" };
    const login = await (await fetch(`${base}/api/v1/auth/login`, { method: "POST", headers: h, body: JSON.stringify(creds.client) })).json();
    const auth = { ...h, Authorization: `Bearer ${login.access_token}` };
    const types = await (await fetch(`${base}/api/v1/appointment-types`, { headers: auth })).json();
    const intake = types.find((t) => t.requires_approval);
    assert.ok(intake, "a demo type needs approval");
    const day = (n) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);
    const q = new URLSearchParams({ type: intake.id, provider: env.providerId, from: day(2), to: day(4), tz: zone });
    const slots = await (await fetch(`${base}/api/v1/slots?${q}`, { headers: auth })).json();
    // One a day: the policy allows two bookings a day per client, and today has them.
    const byDay = new Map();
    for (const sl of slots.slots ?? slots) if (!byDay.has(sl.starts_at.slice(0, 10))) byDay.set(sl.starts_at.slice(0, 10), sl);
    const picks = [...byDay.values()].slice(0, 2);
    assert.equal(picks.length, 2, `intake slots on two days: ${JSON.stringify(slots).slice(0, 300)}`);
    env.requests = [];
    for (const sl of picks) {
      const r = await fetch(`${base}/api/v1/appointments`, { method: "POST", headers: { ...auth, "Idempotency-Key": crypto.randomUUID() }, body: JSON.stringify({ provider_id: env.providerId, type_id: intake.id, starts_at: sl.starts_at }) });
      const a = await r.json();
      assert.equal(r.status, 201, JSON.stringify(a));
      assert.equal(a.status, "requested");
      env.requests.push(a.id);
    }
    await sub.goto(`${base}/sign-in/?tenant=demo`);
    await sub.getByLabel("Email").fill(creds.subadmin.email);
    await sub.getByLabel("Password").fill(creds.subadmin.password);
    await sub.getByRole("button", { name: "Sign in" }).click();
    await sub.waitForURL("**/home/");
    await sub.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Intake queue" }).click();
    await sub.getByRole("heading", { name: "Intake queue" }).waitFor();
    const items = sub.getByRole("list", { name: "Requests awaiting approval" }).getByRole("article");
    await items.nth(1).waitFor();
    assert.equal(await items.count(), 2, "two requests waiting");
    assert.match(await items.first().innerText(), /Intake assessment.* with Maya Chen/);
    await check(sub, "48-intake-queue");
    await items.first().getByRole("button", { name: /^Approve Alex Morgan/ }).click();
    await sub.getByText(/^Approved: Alex Morgan/).waitFor();
    // The approved request leaves the queue once it has reloaded.
    await items.nth(1).waitFor({ state: "detached" });
    await items.first().getByRole("button", { name: /^Decline Alex Morgan/ }).click();
    await sub.getByRole("button", { name: "Decline request" }).click();
    assert.equal(await sub.getByLabel("Reason for declining").getAttribute("aria-invalid"), "true");
    await sub.getByLabel("Reason for declining").selectOption("provider_unavailable");
    await check(sub, "49-intake-decline-reason");
    await sub.getByRole("button", { name: "Decline request" }).click();
    await sub.getByText(/^Declined: Alex Morgan/).waitFor();
    await sub.getByText("No requests are waiting for approval.").waitFor();
    const status = async (id) => (await (await fetch(`${base}/api/v1/appointments/${id}`, { headers: auth })).json()).status;
    assert.deepEqual([await status(env.requests[0]), await status(env.requests[1])], ["booked", "cancelled"]);
  });

  await step("the front desk makes a referral and assigns it; the provider accepts it from My referrals", async () => {
    await sub.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Referrals", exact: true }).click();
    await sub.getByRole("heading", { name: "Referrals", exact: true }).waitFor();
    await sub.getByRole("button", { name: "New referral" }).click();
    const form = sub.getByRole("form", { name: "New referral" });
    await form.getByLabel("Client", { exact: true }).selectOption({ label: "Riley Brooks" });
    await form.getByLabel("Reason for referral").fill("Low mood and poor sleep for six weeks; the GP asks for an assessment.");
    await form.getByLabel("Urgency").selectOption("urgent");
    await form.getByLabel("Referred by (outside referrer, optional)").fill("Dr Grey (GP)");
    await check(sub, "49b-referral-new");
    await form.getByRole("button", { name: "Make referral" }).click();
    await sub.getByText("Referral made for Riley Brooks, in the triage queue.").waitFor();
    const card = sub.getByRole("list", { name: "Triage queue" }).getByRole("article", { name: "Referral for Riley Brooks" });
    await card.getByText("Urgent", { exact: true }).waitFor();
    await check(sub, "49c-referral-triage-queue");
    const assign = card.getByRole("form", { name: "Assign the referral for Riley Brooks" });
    await assign.getByLabel("Provider").selectOption({ label: "Maya Chen" });
    await assign.getByRole("button", { name: "Assign" }).click();
    await sub.getByText("Assigned: the referral for Riley Brooks is with Maya Chen.").waitFor();
    await card.waitFor({ state: "detached" });

    const ctx = await browser.newContext({ viewport: { width: 1366, height: 900 }, timezoneId: zone });
    const p = watch(await ctx.newPage(), "provider-referrals");
    await p.goto(`${base}/sign-in/?tenant=demo`);
    await p.getByLabel("Email").fill(creds.provider.email);
    await p.getByLabel("Password").fill(creds.provider.password);
    await p.getByRole("button", { name: "Sign in" }).click();
    await p.waitForURL("**/home/");
    await p.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "My referrals" }).click();
    await p.getByRole("heading", { name: "My referrals" }).waitFor();
    const mine = p.getByRole("list", { name: "Referrals waiting for your answer" }).getByRole("article", { name: "Referral for Riley Brooks" });
    await mine.getByText(/GP asks for an assessment/).waitFor();
    await mine.getByRole("button", { name: "Show history" }).click();
    await mine.getByRole("list", { name: "History" }).getByText(/New → Assigned \(Maya Chen\)/).waitFor();
    await check(p, "49d-provider-my-referrals");
    await mine.getByRole("button", { name: "Accept the referral for Riley Brooks" }).click();
    await p.getByText("Accepted: Riley Brooks is now on your care team.").waitFor();
    await p.getByRole("list", { name: "Accepted referrals" }).getByRole("article", { name: "Referral for Riley Brooks" }).waitFor();
    await check(p, "49e-provider-referral-accepted");
    await p.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "My clients" }).click();
    await p.getByRole("article", { name: "Riley Brooks" }).waitFor();
    await ctx.close();
  });

  await step("a client refers themselves on a phone; the referral reaches the triage queue", async () => {
    const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, timezoneId: zone });
    const c = watch(await ctx.newPage(), "client-referral");
    await c.goto(`${base}/sign-in/?tenant=demo`);
    await c.getByLabel("Email").fill(creds.client.email);
    await c.getByLabel("Password").fill(creds.client.password);
    await c.getByRole("button", { name: "Sign in" }).click();
    await c.waitForURL("**/home/");
    await c.getByRole("button", { name: "Menu" }).click();
    await c.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "My referrals" }).click();
    await c.getByRole("heading", { name: "Your referrals" }).waitFor();
    await c.getByRole("button", { name: "Refer myself" }).click();
    const form = c.getByRole("form", { name: "Refer myself" });
    await form.getByText("Not for emergencies").waitFor();
    // Nothing is sent without a reason: the field says so.
    await form.getByRole("button", { name: "Send referral" }).click();
    assert.equal(await form.getByLabel(/^What would you like help with/).getAttribute("aria-invalid"), "true");
    await form.getByLabel(/^What would you like help with/).fill("Panic attacks at work for a month; I would like to talk to someone.");
    await check(c, "49f-client-refer-myself");
    await form.getByRole("button", { name: "Send referral" }).click();
    await c.getByText("Referral sent").waitFor();
    await c.getByRole("list", { name: "Your referrals" }).getByRole("article", { name: "Referral for Alex Morgan" }).getByText("New", { exact: true }).waitFor();
    await check(c, "49g-client-referral-sent");
    await ctx.close();
    await sub.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Intake queue" }).click();
    await sub.getByRole("heading", { name: "Intake queue" }).waitFor();
    await sub.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Referrals", exact: true }).click();
    const card = sub.getByRole("list", { name: "Triage queue" }).getByRole("article", { name: "Referral for Alex Morgan" });
    await card.getByText(/Panic attacks at work/).waitFor();
    await card.getByText(/Self-referral/).waitFor();
  });

  await step("the sub-admin (front desk) gives another provider a day off", async () => {
    await sub.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Providers' hours" }).click();
    await sub.getByRole("heading", { name: "Providers' hours" }).waitFor();
    await sub.getByLabel("Provider").selectOption({ label: "Noah Patel" });
    await sub.getByLabel("Time zone").and(sub.locator('[value="America/Toronto"]')).waitFor();
    const off = new Date(Date.now() + 40 * 86_400_000).toISOString().slice(0, 10);
    await sub.getByLabel("Date").fill(off);
    await sub.getByRole("button", { name: "Add", exact: true }).click();
    await sub.getByText(`${off} · Time off (whole day)`).waitFor();
    await check(sub, "52-front-desk-provider-hours");
    await sub.getByRole("button", { name: `Delete ${off}` }).click();
    await sub.getByText("No upcoming changes to this week.").waitFor();
  });

  await step("the sub-admin uploads a bulk scheduling CSV, watches it finish and downloads the report", async () => {
    // The CSV is built like ops/dev/demo-bulk-csv.sh: the demo's clients and providers, through the API.
    const h = { "X-Tenant": "demo", "Content-Type": "application/json" };
    const login = await (await fetch(`${base}/api/v1/auth/login`, { method: "POST", headers: h, body: JSON.stringify(creds.admin) })).json();
    const auth = { "X-Tenant": "demo", Authorization: `Bearer ${login.access_token}` };
    const people = async (kind) => (await (await fetch(`${base}/api/v1/people?kind=${kind}&limit=100`, { headers: auth })).json()).items.filter((p) => p.status === "active");
    const clients = (await people("client")).filter((c) => c.email);
    const providers = await people("provider");
    assert.ok(clients.length && providers.length, "demo clients and providers");
    const day = (n) => new Date(Date.now() + n * 86_400_000).toISOString().slice(0, 10);
    const lines = ["client_email,provider_id,type,window_from,window_until,preferred_times"];
    for (let i = 0; i < 20; i++) {
      lines.push([clients[i % clients.length].email, providers[Math.floor(i / clients.length) % providers.length].id, "Medication follow-up (30 min)", day(1), day(60), ""].join(","));
    }
    lines.push(["nobody@e2e.swiftacare.test", providers[0].id, "Medication follow-up (30 min)", day(1), day(60), ""].join(","));
    const csv = `${lines.join("\n")}\n`;

    const nav = sub.getByRole("navigation", { name: "Main" });
    await nav.getByRole("link", { name: "Bulk scheduling" }).click();
    await sub.getByRole("heading", { name: "Bulk scheduling" }).waitFor();
    // A file without a type column: 422 naming the line, shown on the file input.
    await sub.getByLabel("CSV file").setInputFiles({ name: "bad.csv", mimeType: "text/csv", buffer: Buffer.from("client_email,provider_id\nx@y.test,1\n") });
    await sub.getByRole("button", { name: "Schedule these appointments" }).click();
    await sub.getByLabel("CSV file").and(sub.locator("[aria-invalid=true]")).waitFor();
    await sub.getByText(/line 1: the header needs/).waitFor();
    await check(sub, "44-bulk-line-error");
    await sub.getByLabel("CSV file").setInputFiles({ name: "week.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
    await sub.getByText("21", { exact: true }).waitFor();
    assert.equal(await sub.getByLabel("CSV file").getAttribute("aria-invalid"), null, "a new file clears the line error");
    await check(sub, "45-bulk-preview");
    await sub.getByRole("button", { name: "Schedule these appointments" }).click();
    const bar = sub.getByRole("progressbar", { name: "Progress" });
    await bar.waitFor();
    // The batch's own figures (the past-batches table has a "Rows" column too).
    await sub.locator("dt", { hasText: /^Rows$/ }).waitFor();
    await check(sub, "46-bulk-progress");
    console.log(`  progress first seen at ${await bar.getAttribute("aria-valuenow")} %`);
    await sub.locator('[role=progressbar][aria-valuenow="100"]').waitFor({ timeout: 60_000 });
    await sub.getByRole("heading", { name: "Batch completed" }).waitFor();
    // The unknown e-mail (line 22) fails at submit; rows for a provider without hours (the one
    // invited above) fail in placement; the rest are booked (the sub-admin is also front desk,
    // who manages every calendar).
    await sub.getByRole("row", { name: /^22 nobody@e2e\.swiftacare\.test .*not an active client/ }).waitFor();
    await sub.getByRole("row", { name: /the provider has no working hours set/ }).first().waitFor();
    const booked = Number(await sub.locator("dt:text-is('Booked') + dd").innerText());
    assert.ok(booked >= 10, `booked ${booked}`);
    await check(sub, "47-bulk-done");
    const [download] = await Promise.all([sub.waitForEvent("download"), sub.getByRole("button", { name: "Download report (CSV)" }).click()]);
    const fs = await import("node:fs/promises");
    const report = await fs.readFile(await download.path(), "utf8");
    const rows = report.trim().split("\n");
    assert.match(rows[0], /^line,status,client_id,provider_id,appointment_id,starts_at,reason/);
    assert.equal(rows.length, 22, "one report line per input row");
    assert.equal(rows.filter((r) => r.split(",")[1] === "booked").length, booked, `${booked} booked:\n${report}`);
    assert.match(rows[21], /^22,failed,/);
    // The batch is listed under Past batches (newest first), with its report there too.
    // (refreshed by itself when the upload completed).
    const past = sub.getByRole("region", { name: "Past batches", exact: true });
    const first = past.getByRole("row").nth(1);
    await first.getByText("Completed").waitFor();
    assert.match(await first.innerText(), new RegExp(`\\b21\\s+${booked}\\s+${21 - booked}\\b`));
    await check(sub, "47b-bulk-past-batches");
    const [again] = await Promise.all([sub.waitForEvent("download"), first.getByRole("button", { name: /^Report \(CSV\) of the batch/ }).click()]);
    assert.equal((await fs.readFile(await again.path(), "utf8")).trim().split("\n").length, 22);
    await subCtx.close();
  });

  await step("sign in with your organisation: discovery, and a spent code on /sso/complete", async () => {
    const ctx = await browser.newContext({ viewport: { width: 390, height: 844 } });
    const s = watch(await ctx.newPage(), "sso");
    await s.goto(`${base}/sign-in/?tenant=demo`);
    await s.getByRole("button", { name: "Use your organisation's account (SSO)" }).click();
    await s.getByLabel("Work email").fill("someone@nowhere.example");
    await s.getByRole("button", { name: "Continue with your organisation" }).click();
    await s.getByText("Use your password").waitFor();
    await check(s, "42-sign-in-sso-discovery-phone");
    await s.getByRole("button", { name: "Sign in with a password instead" }).click();
    assert.equal(await s.getByLabel("Email").inputValue(), "someone@nowhere.example");
    await s.goto(`${base}/sso/complete/#tenant=demo&code=sso_not_a_real_code`);
    await s.getByRole("heading", { name: "Sign-in did not complete" }).waitFor();
    assert.equal(new URL(s.url()).hash, "", "the code is dropped from the address bar");
    await check(s, "43-sso-complete-refused-phone");
    await ctx.close();
  });

  await step("admin signs out", async () => {
    await admin.getByRole("button", { name: "Sign out", exact: true }).click();
    await admin.waitForURL("**/sign-in/");
    await admin.goto(`${base}/home/`);
    await admin.waitForURL("**/sign-in/?next=*");
  });
} catch (e) {
  failures.push(`scenario stopped: ${e instanceof Error ? e.stack : e}`);
  for (const { page, label } of pages) {
    if (!page.isClosed()) await shot(page, `FAILED-${label}`).catch(() => {});
  }
} finally {
  await env.stop();
}

failures.push(...cspViolations.map((v) => `CSP violation: ${v}`));
if (failures.length) {
  console.error(`\nE2E FAILED (${failures.length}):\n${failures.join("\n\n")}`);
  process.exit(1);
}
console.log("\nE2E passed: screenshots in web/e2e-artifacts/");
