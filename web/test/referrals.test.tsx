import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, expect, it, vi } from "vitest";
import { MyReferrals } from "@/components/referrals/my-referrals";
import { NewReferralForm } from "@/components/referrals/new-referral";
import { ReferMyselfForm } from "@/components/referrals/refer-myself";
import { TriageQueue } from "@/components/referrals/triage-queue";
import type { Referral } from "@/lib/referrals";

function json(body: unknown, status: number, type = "application/json") {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": type } });
}

function invalid(field: string, message: string) {
  return json({ type: "urn:swiftacare:problem:validation", title: "Unprocessable Entity", status: 422, errors: [{ field, message }] }, 422, "application/problem+json");
}

afterEach(() => {
  vi.unstubAllGlobals();
});

function referral(id: string, client: string, over: Partial<Referral> = {}): Referral {
  return {
    id,
    client_id: `c-${id}`,
    client_name: client,
    source: "organisation",
    reason: "Low mood for six weeks",
    urgency: "routine",
    status: "assigned",
    assigned_provider_id: "p1",
    assigned_provider_name: "Maya Chen",
    created_at: "2027-02-01T15:00:00Z",
    updated_at: "2027-02-01T15:00:00Z",
    version: 2,
    ...over,
  };
}

it("my referrals: lists those assigned to me, accepts with If-Match and says the client joined my care team", async () => {
  let items = [referral("r1", "Alex Morgan", { urgency: "urgent" }), referral("r2", "Riley Brooks", { status: "accepted" })];
  const fetch = vi.fn(async (req: Request) => {
    const url = new URL(req.url);
    if (req.method === "GET") {
      expect(url.pathname).toBe("/api/v1/referrals");
      expect(url.searchParams.get("assigned_provider_id")).toBe("p1");
      return json({ items, page: {} }, 200);
    }
    expect(url.pathname).toBe("/api/v1/referrals/r1/accept");
    expect(req.headers.get("If-Match")).toBe('"2"');
    items = [{ ...items[0]!, status: "accepted", version: 3 }, items[1]!];
    return json(items[0], 200);
  });
  vi.stubGlobal("fetch", fetch);
  render(<MyReferrals providerId="p1" zone="America/Toronto" />);
  const waiting = await screen.findByRole("list", { name: "Referrals waiting for your answer" });
  const card = within(waiting).getByRole("article", { name: "Referral for Alex Morgan" });
  expect(card).toHaveTextContent("Urgent");
  // 15:00 UTC is 10:00 in Toronto (EST), with the zone named.
  expect(card).toHaveTextContent(/10:00( AM)? EST/);
  expect(within(screen.getByRole("list", { name: "Accepted referrals" })).getByText("Riley Brooks")).toBeInTheDocument();
  await userEvent.click(within(card).getByRole("button", { name: "Accept the referral for Alex Morgan" }));
  const done = await screen.findByText(/^Accepted: Alex Morgan is now on your care team/);
  expect(done.closest("[tabindex='-1']")).toHaveFocus();
  await vi.waitFor(() => expect(screen.getByText("No referrals are waiting for you.")).toBeInTheDocument());
});

it("my referrals: declining asks for a reason in a dialog, catches an empty one before any request, shows a 422 on the field", async () => {
  const posts: unknown[] = [];
  let answer: "invalid" | "ok" = "invalid";
  vi.stubGlobal(
    "fetch",
    vi.fn(async (req: Request) => {
      if (req.method === "GET") return json({ items: posts.length > 1 ? [] : [referral("r1", "Alex Morgan")], page: {} }, 200);
      expect(new URL(req.url).pathname).toBe("/api/v1/referrals/r1/decline");
      expect(req.headers.get("If-Match")).toBe('"2"');
      posts.push(await req.json());
      return answer === "invalid" ? invalid("/reason", "must be at most 1000 characters") : json(referral("r1", "Alex Morgan", { status: "declined", version: 3 }), 200);
    }),
  );
  render(<MyReferrals providerId="p1" zone="UTC" />);
  await userEvent.click(await screen.findByRole("button", { name: "Decline the referral for Alex Morgan" }));
  const dialog = screen.getByRole("dialog", { name: "Decline the referral for Alex Morgan" });
  const reason = within(dialog).getByLabelText(/^Reason/);
  expect(reason).toHaveFocus();
  await userEvent.click(within(dialog).getByRole("button", { name: "Decline referral" }));
  expect(posts).toHaveLength(0);
  expect(reason).toHaveAccessibleDescription(/Write a reason/);
  await userEvent.type(reason, "My caseload is full");
  await userEvent.click(within(dialog).getByRole("button", { name: "Decline referral" }));
  await vi.waitFor(() => expect(within(dialog).getByLabelText(/^Reason/)).toHaveAccessibleDescription(/must be at most 1000 characters/));
  answer = "ok";
  await userEvent.click(within(dialog).getByRole("button", { name: "Decline referral" }));
  expect(await screen.findByText(/^Declined: the referral for Alex Morgan is back with triage/)).toBeInTheDocument();
  expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
  expect(posts).toEqual([{ reason: "My caseload is full" }, { reason: "My caseload is full" }]);
});

it("triage: asks for new and declined, keeps the server's urgent-first order, assigns a chosen provider with If-Match", async () => {
  const urgent = referral("r2", "Riley Brooks", { status: "new", urgency: "urgent", assigned_provider_id: undefined, assigned_provider_name: undefined, version: 1 });
  const declined = referral("r1", "Alex Morgan", { status: "declined", status_reason: "Caseload full", assigned_provider_id: undefined, assigned_provider_name: undefined, version: 3 });
  let queue = [urgent, declined];
  const posts: unknown[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (req: Request) => {
      const url = new URL(req.url);
      if (req.method === "GET") {
        expect(url.searchParams.getAll("status")).toEqual(["new", "declined"]);
        return json({ items: queue, page: {} }, 200);
      }
      expect(url.pathname).toBe("/api/v1/referrals/r1/assign");
      expect(req.headers.get("If-Match")).toBe('"3"');
      posts.push(await req.json());
      queue = [urgent];
      return json({ ...declined, status: "assigned", version: 4 }, 200);
    }),
  );
  render(<TriageQueue zone="UTC" providers={[{ id: "p1", name: "Maya Chen" }, { id: "p2", name: "Sam Ortiz" }]} />);
  const list = await screen.findByRole("list", { name: "Triage queue" });
  const cards = within(list).getAllByRole("article");
  expect(cards.map((c) => c.getAttribute("aria-label"))).toEqual(["Referral for Riley Brooks", "Referral for Alex Morgan"]);
  expect(cards[1]).toHaveTextContent("Declined: Caseload full");
  const form = within(cards[1]!).getByRole("form", { name: "Assign the referral for Alex Morgan" });
  await userEvent.click(within(form).getByRole("button", { name: "Assign" }));
  expect(posts).toHaveLength(0);
  expect(within(form).getByLabelText("Provider")).toHaveAccessibleDescription(/Choose a provider/);
  await userEvent.selectOptions(within(form).getByLabelText("Provider"), "p2");
  await userEvent.click(within(form).getByRole("button", { name: "Assign" }));
  expect(await screen.findByText(/^Assigned: the referral for Alex Morgan is with Sam Ortiz/)).toBeInTheDocument();
  expect(posts).toEqual([{ provider_id: "p2" }]);
  await vi.waitFor(() => expect(screen.getAllByRole("article")).toHaveLength(1));
});

it("triage: withdrawing needs a reason; the dialog's Cancel sends nothing", async () => {
  const posts: unknown[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (req: Request) => {
      if (req.method === "GET") return json({ items: [referral("r1", "Alex Morgan", { status: "new", version: 1 })], page: {} }, 200);
      expect(new URL(req.url).pathname).toBe("/api/v1/referrals/r1/withdraw");
      posts.push(await req.json());
      return json(referral("r1", "Alex Morgan", { status: "withdrawn", version: 2 }), 200);
    }),
  );
  render(<TriageQueue zone="UTC" providers={[]} />);
  await userEvent.click(await screen.findByRole("button", { name: "Withdraw the referral for Alex Morgan" }));
  let dialog = screen.getByRole("dialog");
  await userEvent.type(within(dialog).getByLabelText(/^Reason/), "Duplicate");
  await userEvent.click(within(dialog).getByRole("button", { name: "Cancel" }));
  expect(screen.queryByRole("dialog")).not.toBeInTheDocument();
  expect(posts).toHaveLength(0);
  await userEvent.click(screen.getByRole("button", { name: "Withdraw the referral for Alex Morgan" }));
  dialog = screen.getByRole("dialog");
  await userEvent.type(within(dialog).getByLabelText(/^Reason/), "Duplicate of another referral");
  await userEvent.click(within(dialog).getByRole("button", { name: "Withdraw referral" }));
  expect(await screen.findByText(/^Withdrawn: the referral for Alex Morgan/)).toBeInTheDocument();
  expect(posts).toEqual([{ reason: "Duplicate of another referral" }]);
});

it("new referral: catches a missing client and reason first, shows the server's 422 on its field, then sends every chosen value", async () => {
  const bodies: Record<string, unknown>[] = [];
  let answer: "invalid" | "ok" = "invalid";
  vi.stubGlobal(
    "fetch",
    vi.fn(async (req: Request) => {
      expect(new URL(req.url).pathname).toBe("/api/v1/referrals");
      bodies.push((await req.json()) as Record<string, unknown>);
      return answer === "invalid" ? invalid("/department_id", "no such department") : json(referral("r9", "Alex Morgan", { status: "assigned" }), 201);
    }),
  );
  const onCreated = vi.fn();
  render(
    <NewReferralForm
      clients={[{ id: "c1", name: "Alex Morgan" }]}
      providers={[{ id: "p1", name: "Maya Chen" }]}
      departments={[{ id: "d1", name: "Adult Mental Health" }]}
      types={[{ id: "t1", name: "Intake assessment" }]}
      onCreated={onCreated}
      onCancel={() => {}}
    />,
  );
  const submit = screen.getByRole("button", { name: "Make referral" });
  await userEvent.click(submit);
  expect(bodies).toHaveLength(0);
  expect(screen.getByLabelText("Client")).toHaveAccessibleDescription(/Choose the client/);
  expect(screen.getByLabelText(/^Reason for referral/)).toHaveAccessibleDescription(/Write the reason/);
  await userEvent.selectOptions(screen.getByLabelText("Client"), "c1");
  await userEvent.type(screen.getByLabelText(/^Reason for referral/), "  Low mood; GP asks for CBT  ");
  await userEvent.selectOptions(screen.getByLabelText("Urgency"), "urgent");
  await userEvent.type(screen.getByLabelText(/^Referred by/), "Dr Grey");
  await userEvent.selectOptions(screen.getByLabelText("Department (optional)"), "d1");
  await userEvent.selectOptions(screen.getByLabelText("Service asked for (optional)"), "t1");
  await userEvent.selectOptions(screen.getByLabelText("Assign to (optional)"), "p1");
  await userEvent.click(submit);
  await vi.waitFor(() => expect(screen.getByLabelText("Department (optional)")).toHaveAccessibleDescription(/no such department/));
  expect(onCreated).not.toHaveBeenCalled();
  answer = "ok";
  await userEvent.click(submit);
  await vi.waitFor(() => expect(onCreated).toHaveBeenCalledTimes(1));
  expect(bodies[1]).toEqual({
    client_id: "c1",
    reason: "Low mood; GP asks for CBT",
    urgency: "urgent",
    referrer_name: "Dr Grey",
    department_id: "d1",
    type_id: "t1",
    assigned_provider_id: "p1",
  });
});

it("refer myself: says it is not for emergencies, catches an empty request first, shows a 422 on its field, then sends no client id", async () => {
  const posts: unknown[] = [];
  const keys: (string | null)[] = [];
  let answer: "invalid" | "ok" = "invalid";
  vi.stubGlobal(
    "fetch",
    vi.fn(async (req: Request) => {
      expect(req.method).toBe("POST");
      expect(new URL(req.url).pathname).toBe("/api/v1/referrals");
      keys.push(req.headers.get("Idempotency-Key"));
      posts.push(await req.json());
      return answer === "invalid"
        ? invalid("/reason", "must be at most 4000 characters")
        : json(referral("r9", "Alex Morgan", { source: "self", status: "new", version: 1 }), 201);
    }),
  );
  const created = vi.fn();
  render(<ReferMyselfForm onCreated={created} onCancel={() => {}} />);
  const form = screen.getByRole("form", { name: "Refer myself" });
  expect(within(form).getByText("Not for emergencies")).toBeInTheDocument();
  const reason = within(form).getByLabelText(/^What would you like help with/);
  await userEvent.click(within(form).getByRole("button", { name: "Send referral" }));
  expect(posts).toHaveLength(0);
  expect(reason).toHaveAccessibleDescription(/Write what you would like help with/);
  await userEvent.type(reason, "Panic attacks at work");
  await userEvent.selectOptions(within(form).getByLabelText(/^How soon/), "urgent");
  await userEvent.click(within(form).getByRole("button", { name: "Send referral" }));
  await vi.waitFor(() => expect(reason).toHaveAccessibleDescription(/must be at most 4000 characters/));
  expect(created).not.toHaveBeenCalled();
  answer = "ok";
  await userEvent.click(within(form).getByRole("button", { name: "Send referral" }));
  await vi.waitFor(() => expect(created).toHaveBeenCalledTimes(1));
  expect(posts).toEqual([
    { reason: "Panic attacks at work", urgency: "urgent" },
    { reason: "Panic attacks at work", urgency: "urgent" },
  ]);
  // The same request sent again carries the same Idempotency-Key (the server makes it once).
  expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
  expect(keys[1]).toBe(keys[0]);
});
