import type { components, operations } from "@/api/generated/tenant";
import { api, unwrap } from "@/api/client";
import { allPages } from "@/lib/paging";

export type Referral = components["schemas"]["Referral"];
export type ReferralEvent = components["schemas"]["ReferralEvent"];
export type ReferralStatus = components["schemas"]["ReferralStatus"];
export type ReferralUrgency = components["schemas"]["ReferralUrgency"];

/** The API's limits (domain::referrals::model), checked before any request. */
export const REFERRAL_REASON_MAX = 4000;
export const STATUS_REASON_MAX = 1000;
export const REFERRER_NAME_MAX = 200;

export const STATUS_LABELS: Record<ReferralStatus, string> = {
  new: "New",
  assigned: "Assigned",
  accepted: "Accepted",
  declined: "Declined",
  withdrawn: "Withdrawn",
};

export function statusTone(s: ReferralStatus): "slate" | "teal" | "amber" | "red" | "sky" {
  return s === "accepted" ? "teal" : s === "declined" ? "red" : s === "assigned" ? "sky" : s === "new" ? "amber" : "slate";
}

export const SOURCE_LABELS: Record<Referral["source"], string> = {
  provider: "From a provider",
  organisation: "From the organisation",
  self: "Self-referral",
};

// `status` is optional on the server (no value: every status) though the spec marks the list required.
type Query = Partial<Omit<NonNullable<operations["listReferrals"]["parameters"]["query"]>, "limit" | "after">>;

/** Every page of `GET /referrals` with these filters, in the server's order (urgent first, then oldest). */
export function loadReferrals(query: Query = {}): Promise<Referral[]> {
  return allPages((after) => unwrap(api.GET("/referrals", { params: { query: { status: [], ...query, limit: 200, after } } })));
}

/** A free-text check matching the server's: trimmed, 1..max characters. */
export function textProblem(value: string, max: number, what: string): string | undefined {
  const t = value.trim();
  if (!t) return `Write ${what}.`;
  if ([...t].length > max) return `Keep it to ${max} characters (now ${[...t].length}).`;
  return undefined;
}
