"use client";
import { Empty, LoadError, Loading } from "@/components/ui";
import { useLoad } from "@/lib/hooks";
import { loadReferrals } from "@/lib/referrals";
import { ReferralCard } from "./referral-card";

/** A client's own referrals and where each stands (what others wrote about them is not shown). */
export function OwnReferrals({ zone }: { zone: string }) {
  const list = useLoad(() => loadReferrals(), []);
  if (list.loading && !list.data) return <Loading label="Loading your referrals…" />;
  if (list.error) return <LoadError problem={list.error} onRetry={list.reload} />;
  const items = list.data ?? [];
  return items.length === 0 ? (
    <Empty>You have no referrals.</Empty>
  ) : (
    <ul className="space-y-3" aria-label="Your referrals">
      {items.map((r) => (
        <li key={r.id}>
          <ReferralCard r={r} zone={zone} />
        </li>
      ))}
    </ul>
  );
}
