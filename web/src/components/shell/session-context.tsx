"use client";
import { createContext, useContext } from "react";
import type { components } from "@/api/generated/tenant";

export type Me = components["schemas"]["Me"];
export type Tenant = components["schemas"]["Tenant"];

export interface SessionInfo {
  me: Me;
  tenant: Tenant;
  roles: ReadonlySet<string>;
  isInstitutionAdmin: boolean;
  isAdmin: boolean;
}

export const SessionContext = createContext<SessionInfo | null>(null);

export function useSession(): SessionInfo {
  const s = useContext(SessionContext);
  if (!s) throw new Error("useSession outside the signed-in app shell");
  return s;
}
