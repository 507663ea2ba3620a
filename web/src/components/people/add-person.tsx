"use client";
import { useState, type FormEvent } from "react";
import { api, unwrap } from "@/api/client";
import { Button, Card } from "@/components/ui";
import { FormProblem, SelectField, TextField } from "@/components/form";
import { useSubmit } from "@/lib/hooks";
import { fieldErrors } from "@/lib/problem";
import type { Department } from "@/lib/departments";
import type { components } from "@/api/generated/tenant";

type Person = components["schemas"]["Person"];
type PersonKind = components["schemas"]["PersonKind"];

export function AddPersonForm({
  departments,
  onCreated,
  onCancel,
}: {
  departments: { dept: Department; depth: number }[];
  onCreated: (p: Person) => void;
  onCancel: () => void;
}) {
  const [kind, setKind] = useState<PersonKind>("provider");
  const [given, setGiven] = useState("");
  const [family, setFamily] = useState("");
  const [email, setEmail] = useState("");
  const [department, setDepartment] = useState("");
  const { run, pending, problem } = useSubmit(() =>
    unwrap(
      api.POST("/people", {
        body: {
          kind,
          given_name: given,
          family_name: family,
          ...(email.trim() ? { email: email.trim() } : {}),
          ...(department ? { department_id: department } : {}),
        },
      }),
    ),
  );
  const errors = fieldErrors(problem);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const p = await run();
    if (p) onCreated(p);
  }

  return (
    <Card title="Add a person">
      <form onSubmit={submit} noValidate className="space-y-4">
        <FormProblem problem={problem} fields={["kind", "given_name", "family_name", "email", "department_id"]} />
        <SelectField label="Kind" name="kind" value={kind} onChange={(e) => setKind(e.target.value as PersonKind)} error={errors.kind}>
          <option value="provider">Provider (therapist, psychologist…)</option>
          <option value="staff">Staff (front desk, scheduler, administrator…)</option>
          <option value="client">Client</option>
        </SelectField>
        <div className="grid gap-4 sm:grid-cols-2">
          <TextField label="Given name" name="given_name" autoComplete="off" value={given} onChange={(e) => setGiven(e.target.value)} error={errors.given_name} required />
          <TextField label="Family name" name="family_name" autoComplete="off" value={family} onChange={(e) => setFamily(e.target.value)} error={errors.family_name} required />
        </div>
        <TextField
          label="Email"
          name="email"
          type="email"
          autoComplete="off"
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          error={errors.email}
          hint="Needed to invite them to sign in."
        />
        <SelectField label="Department" name="department_id" value={department} onChange={(e) => setDepartment(e.target.value)} error={errors.department_id}>
          <option value="">— None —</option>
          {departments.map((d) => (
            <option key={d.dept.id} value={d.dept.id}>
              {"\u2003".repeat(d.depth)}
              {d.dept.name}
            </option>
          ))}
        </SelectField>
        <div className="flex gap-2">
          <Button type="submit" pending={pending}>
            Add person
          </Button>
          <Button type="button" variant="secondary" onClick={onCancel}>
            Cancel
          </Button>
        </div>
      </form>
    </Card>
  );
}
