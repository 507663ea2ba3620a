"use client";
import { useCallback, useMemo, useState } from "react";
import { Alert, PageHeader } from "@/components/ui";
import { BatchHistory } from "@/components/bulk/batch-history";
import { BulkUpload } from "@/components/bulk/bulk-upload";
import { useSession } from "@/components/shell/session-context";
import { localZone } from "@/lib/format";

/** Bulk scheduling: a CSV of clients, providers and windows, booked by background jobs. */
export default function BulkSchedulingPage() {
  const { roles } = useSession();
  const allowed = roles.has("institution_admin") || roles.has("sub_admin");
  const zone = useMemo(() => localZone(), []);
  // The upload tells the list below when its batch appears and when it completes.
  const [seen, setSeen] = useState("");
  const onProgress = useCallback((status: string) => setSeen(status), []);
  return (
    <>
      <PageHeader
        title="Bulk scheduling"
        description="Upload a CSV of clients, providers and date windows; each row is booked at the earliest free time that fits."
      />
      {allowed ? (
        <div className="space-y-8">
          <BulkUpload onProgress={onProgress} />
          <BatchHistory zone={zone} refreshKey={seen} />
        </div>
      ) : (
        <Alert tone="warning" title="Not available to you">
          Bulk scheduling is for institution administrators and sub-administrators (for the providers and departments
          they manage).
        </Alert>
      )}
    </>
  );
}
