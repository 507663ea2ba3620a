"use client";
import { Alert, PageHeader } from "@/components/ui";
import { BulkUpload } from "@/components/bulk/bulk-upload";
import { useSession } from "@/components/shell/session-context";

/** Bulk scheduling: a CSV of clients, providers and windows, booked by background jobs. */
export default function BulkSchedulingPage() {
  const { roles } = useSession();
  const allowed = roles.has("institution_admin") || roles.has("sub_admin");
  return (
    <>
      <PageHeader
        title="Bulk scheduling"
        description="Upload a CSV of clients, providers and date windows; each row is booked at the earliest free time that fits."
      />
      {allowed ? (
        <BulkUpload />
      ) : (
        <Alert tone="warning" title="Not available to you">
          Bulk scheduling is for institution administrators and sub-administrators (for the providers and departments
          they manage).
        </Alert>
      )}
    </>
  );
}
