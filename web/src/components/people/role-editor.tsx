"use client";
import { Button } from "@/components/ui";
import { roleLabel } from "@/lib/format";
import type { Department } from "@/lib/departments";
import type { components } from "@/api/generated/tenant";

export type RoleRequest = components["schemas"]["RoleRequest"];
type PersonKind = components["schemas"]["PersonKind"];
type RoleName = components["schemas"]["RoleName"];

/** Which roles a person of this kind may hold (domain `role_fits`). */
export function rolesFor(kind: PersonKind): RoleName[] {
  if (kind === "client") return ["client"];
  if (kind === "provider") return ["provider", "staff", "sub_admin", "institution_admin"];
  return ["staff", "sub_admin", "institution_admin"];
}

/** Sub-admins name the root of their subtree; staff may name a department; others take none. */
function scoped(role: RoleName): "required" | "optional" | "none" {
  if (role === "sub_admin") return "required";
  if (role === "staff") return "optional";
  return "none";
}

export function RoleEditor({
  kind,
  value,
  onChange,
  departments,
  errors,
}: {
  kind: PersonKind;
  value: RoleRequest[];
  onChange: (v: RoleRequest[]) => void;
  departments: { dept: Department; depth: number }[];
  errors: Record<string, string>;
}) {
  const allowed = rolesFor(kind);
  const set = (i: number, r: RoleRequest) => onChange(value.map((v, j) => (j === i ? r : v)));
  return (
    <fieldset>
      <legend className="text-sm font-medium text-slate-800">Roles</legend>
      {errors.roles && !value.some((_, i) => errors[`roles/${i}`] || errors[`roles/${i}/department_id`]) && (
        <p className="mt-1 text-sm font-medium text-red-700">⚠ {errors.roles}</p>
      )}
      <ul className="mt-2 space-y-3">
        {value.map((r, i) => {
          const err = errors[`roles/${i}`] ?? errors[`roles/${i}/role`] ?? errors[`roles/${i}/department_id`];
          const errId = `role-${i}-error`;
          return (
            <li key={i} className="rounded-md border border-slate-200 p-3">
              <div className="grid gap-3 sm:grid-cols-2">
                <label className="text-sm text-slate-800">
                  Role {i + 1}
                  <select
                    className="mt-1 block w-full rounded-md border border-slate-400 bg-white px-3 py-2 text-sm"
                    value={r.role}
                    aria-invalid={err ? true : undefined}
                    aria-describedby={err ? errId : undefined}
                    onChange={(e) => {
                      const role = e.target.value as RoleName;
                      set(i, scoped(role) === "none" ? { role } : { ...r, role });
                    }}
                  >
                    {allowed.map((a) => (
                      <option key={a} value={a}>
                        {roleLabel(a)}
                      </option>
                    ))}
                  </select>
                </label>
                {scoped(r.role) !== "none" && (
                  <label className="text-sm text-slate-800">
                    {r.role === "sub_admin" ? "Manages (department and below)" : "Department (optional)"}
                    <select
                      className="mt-1 block w-full rounded-md border border-slate-400 bg-white px-3 py-2 text-sm"
                      value={r.department_id ?? ""}
                      aria-invalid={err ? true : undefined}
                      aria-describedby={err ? errId : undefined}
                      onChange={(e) => set(i, e.target.value ? { ...r, department_id: e.target.value } : { role: r.role })}
                    >
                      <option value="">{r.role === "sub_admin" ? "— Choose —" : "— Whole organisation —"}</option>
                      {departments.map((d) => (
                        <option key={d.dept.id} value={d.dept.id}>
                          {"\u2003".repeat(d.depth)}
                          {d.dept.name}
                        </option>
                      ))}
                    </select>
                  </label>
                )}
              </div>
              {err && (
                <p id={errId} className="mt-2 text-sm font-medium text-red-700">
                  ⚠ {err}
                </p>
              )}
              <button type="button" className="mt-2 text-sm text-red-700 underline" onClick={() => onChange(value.filter((_, j) => j !== i))}>
                Remove role {i + 1}
              </button>
            </li>
          );
        })}
      </ul>
      <Button type="button" variant="secondary" className="mt-3" onClick={() => onChange([...value, { role: allowed[0]! }])}>
        Add a role
      </Button>
    </fieldset>
  );
}
