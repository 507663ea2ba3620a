import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, expect, it, vi } from "vitest";
import { SeriesForm } from "@/components/scheduling/series-form";
import { describeRule, monthlyPositions, seriesRule, untilValue } from "@/lib/series";

vi.mock("next/navigation", () => ({ useRouter: () => ({ push: vi.fn() }) }));

function json(body: unknown, status: number, type = "application/json") {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": type } });
}

afterEach(() => vi.unstubAllGlobals());

const type = { id: "t1", name: "Therapy session" } as never;

it("monthly positions follow from the first date", () => {
  expect(monthlyPositions("2027-03-09")).toEqual([{ value: "2TU", label: "the second Tuesday" }]);
  // 25 March 2027 is the fourth Thursday and also the last.
  expect(monthlyPositions("2027-03-25")).toEqual([
    { value: "4TH", label: "the fourth Thursday" },
    { value: "-1TH", label: "the last Thursday" },
  ]);
  // 29 March 2027 is a fifth Monday: only "the last" (not every month has a fifth).
  expect(monthlyPositions("2027-03-29")).toEqual([{ value: "-1MO", label: "the last Monday" }]);
  expect(monthlyPositions("")).toEqual([]);
});

it("UNTIL is the end of the last day in the provider's zone, in UTC, across daylight saving", () => {
  expect(untilValue("2027-03-29", "America/Toronto")).toBe("20270330T035959Z"); // EDT, UTC−4
  expect(untilValue("2027-03-13", "America/Toronto")).toBe("20270314T045959Z"); // EST, UTC−5
  expect(untilValue("2027-03-14", "America/Toronto")).toBe("20270315T035959Z"); // the change day ends in EDT
  expect(untilValue("2027-06-01", "Europe/London")).toBe("20270601T225959Z"); // BST, UTC+1
  expect(untilValue("2027-06-01", "Asia/Kolkata")).toBe("20270601T182959Z"); // UTC+5:30
  expect(untilValue("2027-06-01", "UTC")).toBe("20270601T235959Z");
});

it("the rules the form writes, and their wording (an UNTIL read back as the provider's date)", () => {
  expect(seriesRule({ frequency: "monthly", every: 2, byDay: "2TU", end: { kind: "count", count: 3 }, zone: "UTC" })).toBe("FREQ=MONTHLY;BYDAY=2TU;INTERVAL=2;COUNT=3");
  expect(seriesRule({ frequency: "weekly", every: 1, end: { kind: "until", until: "2027-03-29" }, zone: "America/Toronto" })).toBe("FREQ=WEEKLY;UNTIL=20270330T035959Z");
  expect(seriesRule({ frequency: "weekly", every: 3, end: { kind: "count", count: 4 }, zone: "UTC" })).toBe("FREQ=WEEKLY;INTERVAL=3;COUNT=4");
  expect(describeRule("FREQ=MONTHLY;BYDAY=-1FR;INTERVAL=2;COUNT=3")).toBe("Every 2 months on the last Friday, 3 times");
  expect(describeRule("FREQ=WEEKLY;UNTIL=20270330T035959Z", "America/Toronto")).toBe("Every week, until 2027-03-29");
  expect(describeRule("FREQ=MONTHLY;BYDAY=2TU;UNTIL=20270330T035959Z", "America/Toronto")).toBe("Every month on the second Tuesday, until 2027-03-29");
});

function stub(zone: string, answer: (body: Record<string, unknown>) => Response) {
  const posted: Record<string, unknown>[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (req: Request) => {
      if (req.method === "GET") return json({ provider_id: "p1", timezone: zone, rules: [], overrides: [], version: 1 }, 200);
      const body = await req.json();
      posted.push(body);
      return answer(body);
    }),
  );
  return posted;
}

const booked = () =>
  json(
    {
      series: { id: "s1", provider_id: "p1", client_id: "c1", type_id: "t1", timezone: "America/Toronto", first_start: "2027-03-09T10:00:00", rrule: "x", status: "active", version: 1 },
      appointments: [],
      conflicts: [],
    },
    201,
  );

async function fillWho(zone = "America/Toronto") {
  render(<SeriesForm types={[type]} providers={[{ id: "p1", name: "Maya Chen" }]} clients={[{ id: "c1", name: "Taylor Singh" }]} zone="America/Toronto" />);
  await screen.findByText(new RegExp(`in the provider's zone, ${zone}`));
  await userEvent.selectOptions(screen.getByLabelText("Client"), "c1");
}

it("monthly, every 2 months, on the last Thursday, ending on a date: the request body and the summary", async () => {
  const posted = stub("America/Toronto", booked);
  await fillWho();
  await userEvent.type(screen.getByLabelText("First date"), "2027-03-25");
  await userEvent.selectOptions(screen.getByLabelText("Repeats"), "monthly");
  await userEvent.clear(screen.getByLabelText("Repeat every (months)"));
  await userEvent.type(screen.getByLabelText("Repeat every (months)"), "2");
  expect(screen.getByLabelText("On")).toHaveValue("4TH");
  await userEvent.selectOptions(screen.getByLabelText("On"), "-1TH");
  await userEvent.click(screen.getByLabelText("On a date"));
  // The last date is named in the provider's zone.
  const last = screen.getByLabelText("Last date (America/Toronto)");
  await userEvent.type(last, "2027-09-30");
  expect(screen.getByText(/Every 2 months on the last Thursday, until 2027-09-30, from .*Mar 25, 2027.* \(America\/Toronto\)/)).toBeInTheDocument();
  await userEvent.click(screen.getByRole("button", { name: "Book the series" }));
  await screen.findByText(/0 booked/);
  // 23:59:59 on 30 September in Toronto (EDT) is 03:59:59 UTC on 1 October.
  expect(posted).toEqual([
    { provider_id: "p1", client_id: "c1", type_id: "t1", first_start: "2027-03-25T10:00:00", rrule: "FREQ=MONTHLY;BYDAY=-1TH;INTERVAL=2;UNTIL=20271001T035959Z" },
  ]);
});

it("ending on a date: checked before any request, and the server's UNTIL complaint is shown on the last date", async () => {
  const posted = stub("UTC", () =>
    json({ type: "urn:swiftacare:problem:validation", title: "Unprocessable Entity", status: 422, errors: [{ field: "/rrule", message: "gives no occurrence before its UNTIL" }] }, 422, "application/problem+json"),
  );
  await fillWho("UTC");
  await userEvent.type(screen.getByLabelText("First date"), "2027-03-09");
  await userEvent.click(screen.getByLabelText("On a date"));
  await userEvent.click(screen.getByRole("button", { name: "Book the series" }));
  expect(screen.getByLabelText("Last date (UTC)")).toHaveAccessibleDescription(/Choose the last date/);
  await userEvent.type(screen.getByLabelText("Last date (UTC)"), "2027-03-01");
  await userEvent.click(screen.getByRole("button", { name: "Book the series" }));
  expect(screen.getByLabelText("Last date (UTC)")).toHaveAccessibleDescription(/before the first/);
  // Monthly every 0 months is caught too.
  await userEvent.selectOptions(screen.getByLabelText("Repeats"), "monthly");
  await userEvent.clear(screen.getByLabelText("Repeat every (months)"));
  await userEvent.type(screen.getByLabelText("Repeat every (months)"), "0");
  await userEvent.click(screen.getByRole("button", { name: "Book the series" }));
  expect(screen.getByLabelText("Repeat every (months)")).toHaveAccessibleDescription(/1 to 24/);
  expect(posted).toHaveLength(0);
  await userEvent.clear(screen.getByLabelText("Repeat every (months)"));
  await userEvent.type(screen.getByLabelText("Repeat every (months)"), "1");
  await userEvent.clear(screen.getByLabelText("Last date (UTC)"));
  await userEvent.type(screen.getByLabelText("Last date (UTC)"), "2027-03-10");
  await userEvent.click(screen.getByRole("button", { name: "Book the series" }));
  await vi.waitFor(() => expect(screen.getByLabelText("Last date (UTC)")).toHaveAccessibleDescription(/gives no occurrence before its UNTIL/));
  expect(posted).toEqual([{ provider_id: "p1", client_id: "c1", type_id: "t1", first_start: "2027-03-09T10:00:00", rrule: "FREQ=MONTHLY;BYDAY=2TU;UNTIL=20270310T235959Z" }]);
});

it("a 422 on /rrule that is not about UNTIL is shown on the repeat field", async () => {
  stub("UTC", () =>
    json(
      {
        type: "urn:swiftacare:problem:validation",
        title: "Unprocessable Entity",
        status: 422,
        errors: [{ field: "/rrule", message: "a series spans at most two years" }],
      },
      422,
      "application/problem+json",
    ),
  );
  await fillWho("UTC");
  await userEvent.type(screen.getByLabelText("First date"), "2027-03-09");
  await userEvent.clear(screen.getByLabelText("Repeat every (weeks)"));
  await userEvent.type(screen.getByLabelText("Repeat every (weeks)"), "52");
  await userEvent.click(screen.getByRole("button", { name: "Book the series" }));
  await vi.waitFor(() => expect(screen.getByLabelText("Repeat every (weeks)")).toHaveAccessibleDescription(/at most two years/));
});
