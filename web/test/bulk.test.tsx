import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, expect, it, vi } from "vitest";
import { BulkUpload } from "@/components/bulk/bulk-upload";
import { parseCsv } from "@/lib/csv";

function json(body: unknown, status: number, type = "application/json") {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": type } });
}

afterEach(() => {
  vi.unstubAllGlobals();
});

const CSV = "client_email,provider_id,type,window_from,window_until\na@x.test,p1,Therapy,2027-01-04,2027-01-29\nb@x.test,p1,Therapy,2027-01-04,2027-01-29\n";

it("csv preview reader: quotes, commas, CRLF and blank lines", () => {
  expect(parseCsv('a,b\r\n"x, y","say ""hi"""\r\n\r\n1,2')).toEqual([["a", "b"], ["x, y", 'say "hi"'], ["1", "2"]]);
});

it("bulk upload: shows the row count, keeps the batch id across a retry, then shows progress", async () => {
  const posts: { batch: string | null; type: string | null; body: string }[] = [];
  const fetch = vi.fn(async (req: Request) => {
    const url = new URL(req.url);
    if (req.method === "POST") {
      posts.push({ batch: url.searchParams.get("batch_id"), type: req.headers.get("Content-Type"), body: await req.text() });
      if (posts.length === 1) throw new TypeError("network down");
      return json({ batch_id: url.searchParams.get("batch_id"), total: 2, replayed: false }, 202);
    }
    return json({ batch_id: posts[0]!.batch, total: 2, booked: 1, failed: 0, pending: 1, percent: 50, status: "running", created_at: "2027-01-01T00:00:00Z" }, 200);
  });
  vi.stubGlobal("fetch", fetch);
  const user = userEvent.setup();
  render(<BulkUpload pollMs={60_000} />);
  await user.click(screen.getByLabelText("Or paste the CSV"));
  await user.paste(CSV);
  expect(screen.getByText(/rows?:/)).toHaveTextContent("2 rows:");
  await user.click(screen.getByRole("button", { name: "Schedule these appointments" }));
  expect(await screen.findByText(/could not be reached/)).toBeInTheDocument();
  await user.click(screen.getByRole("button", { name: "Try again" }));
  const bar = await screen.findByRole("progressbar", { name: "Progress" });
  expect(posts).toHaveLength(2);
  expect(posts[0]!.batch).toMatch(/^[0-9a-f-]{36}$/);
  expect(posts[1]!.batch).toBe(posts[0]!.batch);
  expect(posts[1]!.type).toBe("text/csv");
  expect(posts[1]!.body).toBe(CSV);
  expect(await screen.findByText("Pending")).toBeInTheDocument();
  expect(bar).toHaveAttribute("aria-valuenow", "50");
});

it("bulk upload: a 422 naming a CSV line is shown on the file input; new content gets a new batch id", async () => {
  const batches: (string | null)[] = [];
  const fetch = vi.fn(async (req: Request) => {
    batches.push(new URL(req.url).searchParams.get("batch_id"));
    return json(
      {
        type: "urn:swiftacare:problem:validation",
        title: "Validation failed",
        status: 422,
        errors: [{ field: "/csv", message: "line 3: unterminated quote" }],
      },
      422,
      "application/problem+json",
    );
  });
  vi.stubGlobal("fetch", fetch);
  const user = userEvent.setup();
  render(<BulkUpload pollMs={60_000} />);
  // Nothing chosen: caught without a request.
  await user.click(screen.getByRole("button", { name: "Schedule these appointments" }));
  expect(fetch).not.toHaveBeenCalled();
  expect(screen.getByLabelText("CSV file")).toHaveAccessibleDescription(/at least one row/);
  const file = new File([CSV], "week.csv", { type: "text/csv" });
  await user.upload(screen.getByLabelText("CSV file"), file);
  expect(await screen.findByText((_, el) => el?.tagName === "P" && /^2 rows in week\.csv:/.test(el.textContent ?? ""))).toBeInTheDocument();
  await user.click(screen.getByRole("button", { name: "Schedule these appointments" }));
  const input = screen.getByLabelText("CSV file");
  await vi.waitFor(() => expect(input).toHaveAttribute("aria-invalid", "true"));
  expect(input).toHaveAccessibleDescription(/line 3: unterminated quote/);
  await user.click(screen.getByLabelText("Or paste the CSV"));
  await user.paste(CSV);
  expect(input).not.toHaveAttribute("aria-invalid");
  await user.click(screen.getByRole("button", { name: "Schedule these appointments" }));
  expect(batches).toHaveLength(2);
  expect(batches[1]).not.toBe(batches[0]);
});
