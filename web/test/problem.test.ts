import { describe as suite, expect, it } from "vitest";
import { ApiProblem, describe, fieldErrors, toProblem, unplacedErrors } from "@/lib/problem";

const validation = new ApiProblem({
  type: "urn:swiftacare:problem:validation",
  title: "Unprocessable Entity",
  status: 422,
  detail: "/given_name: must not be empty; /roles/0: a sub-admin role needs department_id",
  errors: [
    { field: "/given_name", message: "must not be empty" },
    { field: "/roles/0", message: "a sub-admin role needs department_id" },
    { field: "limit", message: "must be 1-200" },
  ],
});

suite("fieldErrors", () => {
  it("files each error under its JSON pointer and its top-level member", () => {
    expect(fieldErrors(validation)).toEqual({
      given_name: "must not be empty",
      "roles/0": "a sub-admin role needs department_id",
      roles: "a sub-admin role needs department_id",
      limit: "must be 1-200",
    });
  });
  it("joins two errors on one field", () => {
    const p = new ApiProblem({ type: "x", title: "t", status: 422, errors: [{ field: "/email", message: "a" }, { field: "/email", message: "b" }] });
    expect(fieldErrors(p).email).toBe("a; b");
  });
  it("is empty without a problem", () => {
    expect(fieldErrors(null)).toEqual({});
  });
});

suite("unplacedErrors", () => {
  it("lists only the errors a form has no control for", () => {
    expect(unplacedErrors(validation, ["given_name", "roles"]).map((e) => e.field)).toEqual(["limit"]);
  });
});

suite("describe", () => {
  it("makes the server's detail a sentence", () => {
    const p = toProblem({ type: "urn:swiftacare:problem:unauthenticated", title: "Unauthorized", status: 401, detail: "email or password is incorrect" }, 401);
    expect(describe(p)).toBe("Email or password is incorrect.");
  });
  it("says how long to wait after too many attempts", () => {
    const p = toProblem({ type: "urn:swiftacare:problem:too-many-attempts", title: "Too Many Requests", status: 429 }, 429, "600");
    expect(describe(p)).toBe("Too many attempts. Try again in 10 minutes.");
  });
  it("gives the request id on a 500 and nothing else", () => {
    const p = toProblem({ type: "urn:swiftacare:problem:internal", title: "Internal Server Error", status: 500, request_id: "req-1" }, 500);
    expect(describe(p)).toContain("req-1");
  });
  it("explains a lost update", () => {
    const p = toProblem({ type: "urn:swiftacare:problem:precondition-failed", title: "Precondition Failed", status: 412, detail: "the resource changed" }, 412);
    expect(describe(p)).toMatch(/Someone else changed this/);
  });
  it("copes with a body that is not a problem", () => {
    const p = toProblem("Bad gateway", 502);
    expect(p.status).toBe(502);
    expect(describe(p)).toBe("Bad gateway.");
  });
});
