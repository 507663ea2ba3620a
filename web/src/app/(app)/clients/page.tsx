"use client";
import { useMemo } from "react";
import { Alert, PageHeader } from "@/components/ui";
import { Caseload } from "@/components/scheduling/caseload";
import { useSession } from "@/components/shell/session-context";
import { localZone } from "@/lib/format";

/** Providers: the clients on their care team, with next and last appointments. */
export default function MyClientsPage() {
  const { me, roles } = useSession();
  const zone = useMemo(() => localZone(), []);
  return (
    <>
      <PageHeader title="My clients" description={`Your care team's clients. Times in ${zone.replace(/_/g, " ")}.`} />
      {roles.has("provider") && me.person_id ? (
        <Caseload providerId={me.person_id} zone={zone} />
      ) : (
        <Alert tone="warning" title="Not available to you">
          My clients is for providers: it lists the clients on their care team.
        </Alert>
      )}
    </>
  );
}
