"use client";
import { useMemo } from "react";
import { PageHeader } from "@/components/ui";
import { IntakeQueue } from "@/components/scheduling/intake-queue";
import { localZone } from "@/lib/format";

/** Staff, sub-admins and admins: requests for appointment types that need approval. */
export default function IntakePage() {
  const zone = useMemo(() => localZone(), []);
  return (
    <>
      <PageHeader
        title="Intake queue"
        description={`Requests for services that need approval, soonest first. Times in ${zone.replace(/_/g, " ")}.`}
      />
      <IntakeQueue zone={zone} />
    </>
  );
}
