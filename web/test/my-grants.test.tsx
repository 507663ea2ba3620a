import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, expect, it, vi } from "vitest";
import { MyGrants, timeLeft } from "@/components/access/my-grants";

function json(body: unknown, status: number, type = "application/json") {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": type } });
}

afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
});

const NOW = new Date("2027-01-01T14:20:00Z");
const grant = (over: Record<string, unknown>) => ({
  holder_account_id: "a1",
  client_id: "0190c2a4-1111-7222-8333-944455556666",
  reason_code: "emergency",
  starts_at: "2027-01-01T14:00:00Z",
  expires_at: "2027-01-01T15:00:00Z",
  state: "open",
  ...over,
});

it("time left is written in hours and minutes", () => {
  expect(timeLeft("2027-01-01T15:25:00Z", NOW.getTime())).toBe("1 h 05 min left");
  expect(timeLeft("2027-01-01T14:24:30Z", NOW.getTime())).toBe("4 min left");
  expect(timeLeft("2027-01-01T14:20:30Z", NOW.getTime())).toBe("less than a minute left");
});

it("lists my grants, open ones with their expiry in the zone and the time left, and ends one", async () => {
  vi.useFakeTimers({ now: NOW, toFake: ["Date"] });
  const calls: string[] = [];
  let ended = false;
  vi.stubGlobal(
    "fetch",
    vi.fn(async (req: Request) => {
      const url = new URL(req.url);
      calls.push(`${req.method} ${url.pathname}${url.search}`);
      if (req.method === "DELETE") {
        ended = true;
        return new Response(null, { status: 204 });
      }
      return json(
        {
          items: [
            grant({ id: "g1", client_given_name: "Casey", client_family_name: "Nguyen", expires_at: "2027-01-01T15:00:00Z", ...(ended ? { state: "closed", closed_at: "2027-01-01T14:21:00Z", client_given_name: undefined, client_family_name: undefined } : {}) }),
            grant({ id: "g2", client_id: "0190c2a4-2222-7222-8333-944455556666", state: "expired", starts_at: "2027-01-01T12:00:00Z", expires_at: "2027-01-01T13:00:00Z", reason_code: "patient_safety" }),
          ],
        },
        200,
      );
    }),
  );
  const onEnded = vi.fn();
  render(<MyGrants zone="America/Toronto" refresh={0} onEnded={onEnded} />);
  const openList = await screen.findByRole("list", { name: "Open emergency access" });
  // 15:00 UTC is 10:00 in Toronto, the zone is named, and 40 minutes are left.
  expect(within(openList).getByText(/Until .*10:00( AM)? EST \(40 min left\)/)).toBeInTheDocument();
  expect(within(openList).getByText("Casey Nguyen")).toBeInTheDocument();
  const endedList = screen.getByRole("list", { name: "Ended emergency access" });
  expect(within(endedList).getByText(/Client 0190c2a4…/)).toBeInTheDocument();
  expect(within(endedList).getByText(/expired .*8:00( AM)? EST/)).toBeInTheDocument();
  expect(within(endedList).getByText("Patient safety", { exact: false })).toBeInTheDocument();
  expect(calls[0]).toBe("GET /api/v1/break-glass?limit=20");

  await userEvent.click(screen.getByRole("button", { name: "End access to Casey Nguyen's records" }));
  expect(await screen.findByText("Access to Casey Nguyen's records ended.")).toBeInTheDocument();
  expect(calls[1]).toBe("DELETE /api/v1/break-glass/g1");
  expect(onEnded).toHaveBeenCalledOnce();
  // Read again: nothing is open any more.
  await vi.waitFor(() => expect(screen.queryByRole("list", { name: "Open emergency access" })).toBeNull());
  expect(calls[2]).toBe("GET /api/v1/break-glass?limit=20");
  expect(within(screen.getByRole("list", { name: "Ended emergency access" })).getByText(/ended early/)).toBeInTheDocument();
});

it("a failed end is explained, and the grant stays listed as open", async () => {
  vi.useFakeTimers({ now: NOW, toFake: ["Date"] });
  vi.stubGlobal(
    "fetch",
    vi.fn(async (req: Request) =>
      req.method === "DELETE"
        ? json({ type: "urn:swiftacare:problem:not-found", title: "Not Found", status: 404, detail: "break-glass grant not found" }, 404, "application/problem+json")
        : json({ items: [grant({ id: "g1", client_given_name: "Casey", client_family_name: "Nguyen" })] }, 200),
    ),
  );
  render(<MyGrants zone="UTC" refresh={0} />);
  await userEvent.click(await screen.findByRole("button", { name: "End access to Casey Nguyen's records" }));
  expect(await screen.findByText("Access could not be ended")).toBeInTheDocument();
  expect(screen.getByRole("list", { name: "Open emergency access" })).toBeInTheDocument();
});

it("no grants, and a failed load with a retry", async () => {
  let fail = true;
  vi.stubGlobal(
    "fetch",
    vi.fn(async () =>
      fail ? json({ type: "urn:swiftacare:problem:internal", title: "Internal Server Error", status: 500, request_id: "req-7" }, 500, "application/problem+json") : json({ items: [] }, 200),
    ),
  );
  render(<MyGrants zone="UTC" refresh={0} />);
  expect(await screen.findByText(/req-7/)).toBeInTheDocument();
  fail = false;
  await userEvent.click(screen.getByRole("button", { name: /try again|retry/i }));
  expect(await screen.findByText("You have not opened emergency access recently.")).toBeInTheDocument();
});
