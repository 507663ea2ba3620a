"use client";
import { useMemo, useState, type FormEvent } from "react";
import { api, etagOf, unwrap } from "@/api/client";
import { Alert, Badge, Button, Card, Empty, LoadError, Loading, PageHeader } from "@/components/ui";
import { FormProblem, SelectField, TextField } from "@/components/form";
import { useSession } from "@/components/shell/session-context";
import { useLoad, useSubmit } from "@/lib/hooks";
import { describe, fieldErrors } from "@/lib/problem";
import { buildTree, DEPARTMENT_KINDS, flatten, loadDepartments, subtreeIds, type Department, type DeptNode } from "@/lib/departments";
import { formatDateTime } from "@/lib/format";

export default function DepartmentsPage() {
  const { isAdmin } = useSession();
  const list = useLoad(loadDepartments, []);
  const tree = useMemo(() => buildTree(list.data ?? []), [list.data]);
  const [editing, setEditing] = useState<Department | null>(null);
  const [adding, setAdding] = useState<{ parent?: Department } | null>(null);

  return (
    <>
      <PageHeader
        title="Departments"
        description="How your organisation is arranged: sites, departments, units and programs. Sub-admins manage the part of the tree they are given."
        actions={isAdmin && <Button onClick={() => setAdding({})}>Add department</Button>}
      />
      <div className="grid gap-6 lg:grid-cols-[minmax(0,1fr)_22rem]">
        <Card title="Structure">
          {list.loading && <Loading />}
          {list.error && <LoadError problem={list.error} onRetry={list.reload} />}
          {list.data && (tree.length === 0 ? <Empty>No departments yet. Add the first one to start building your structure.</Empty> : <Tree nodes={tree} onEdit={isAdmin ? setEditing : undefined} onAdd={isAdmin ? (d) => setAdding({ parent: d }) : undefined} />)}
        </Card>
        <div>
          {adding && (
            <DepartmentForm
              key={`add-${adding.parent?.id ?? "root"}`}
              tree={tree}
              parent={adding.parent}
              onCancel={() => setAdding(null)}
              onSaved={() => {
                setAdding(null);
                list.reload();
              }}
            />
          )}
          {editing && !adding && (
            <DepartmentForm
              key={`edit-${editing.id}-${editing.version}`}
              tree={tree}
              existing={editing}
              onCancel={() => setEditing(null)}
              onSaved={() => {
                setEditing(null);
                list.reload();
              }}
            />
          )}
          {!adding && !editing && (
            <Card title="Tip">
              <p className="text-sm text-slate-600">
                {isAdmin ? "Select a department to rename it, move it or remove it. A department with people or sub-departments cannot be removed." : "You can see the structure; an administrator can change it."}
              </p>
            </Card>
          )}
        </div>
      </div>
    </>
  );
}

function Tree({ nodes, onEdit, onAdd, level = 1 }: { nodes: DeptNode[]; onEdit?: (d: Department) => void; onAdd?: (d: Department) => void; level?: number }) {
  return (
    <ul role={level === 1 ? "list" : undefined} className={level === 1 ? "space-y-1" : "ml-5 mt-1 space-y-1 border-l border-slate-200 pl-4"}>
      {nodes.map((n) => (
        <li key={n.dept.id}>
          <div className="group flex flex-wrap items-center justify-between gap-2 rounded-md px-2 py-1.5 hover:bg-slate-50">
            <span className="flex items-center gap-2">
              <span className="font-medium text-slate-900">{n.dept.name}</span>
              <Badge tone={n.dept.kind === "site" ? "sky" : "slate"}>{n.dept.kind}</Badge>
            </span>
            {(onEdit || onAdd) && (
              <span className="flex gap-1">
                {onAdd && (
                  <button type="button" className="rounded px-2 py-1 text-sm text-teal-800 hover:bg-teal-50" onClick={() => onAdd(n.dept)}>
                    Add below<span className="sr-only"> {n.dept.name}</span>
                  </button>
                )}
                {onEdit && (
                  <button type="button" className="rounded px-2 py-1 text-sm text-teal-800 hover:bg-teal-50" onClick={() => onEdit(n.dept)}>
                    Edit<span className="sr-only"> {n.dept.name}</span>
                  </button>
                )}
              </span>
            )}
          </div>
          {n.children.length > 0 && <Tree nodes={n.children} onEdit={onEdit} onAdd={onAdd} level={level + 1} />}
        </li>
      ))}
    </ul>
  );
}

function DepartmentForm({
  tree,
  existing,
  parent,
  onSaved,
  onCancel,
}: {
  tree: DeptNode[];
  existing?: Department;
  parent?: Department;
  onSaved: () => void;
  onCancel: () => void;
}) {
  const [name, setName] = useState(existing?.name ?? "");
  const [kind, setKind] = useState<Department["kind"]>(existing?.kind ?? (parent ? "department" : "site"));
  const [parentId, setParentId] = useState(existing?.parent_id ?? parent?.id ?? "");
  const excluded = existing ? subtreeIds(tree, existing.id) : new Set<string>();
  const options = flatten(tree).filter((o) => !excluded.has(o.dept.id));

  const save = useSubmit(async () => {
    if (existing) {
      await unwrap(
        api.PATCH("/departments/{department_id}", {
          params: { path: { department_id: existing.id }, header: { "If-Match": etagOf(existing.version) } },
          body: { name, kind, ...(parentId !== (existing.parent_id ?? "") && parentId ? { parent_id: parentId } : {}) },
        }),
      );
    } else {
      await unwrap(api.POST("/departments", { body: { name, kind, ...(parentId ? { parent_id: parentId } : {}) } }));
    }
    return true;
  });
  const remove = useSubmit(async () => {
    if (!existing) return false;
    await unwrap(
      api.DELETE("/departments/{department_id}", {
        params: { path: { department_id: existing.id }, header: { "If-Match": etagOf(existing.version) } },
      }),
    );
    return true;
  });
  const errors = fieldErrors(save.problem);
  const movingToRoot = existing?.parent_id && !parentId;

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (await save.run()) onSaved();
  }

  return (
    <Card title={existing ? `Edit ${existing.name}` : "Add a department"}>
      <form onSubmit={submit} noValidate className="space-y-4">
        <FormProblem problem={save.problem} fields={["name", "kind", "parent_id"]} />
        <TextField label="Name" name="name" value={name} onChange={(e) => setName(e.target.value)} error={errors.name} required autoFocus />
        <SelectField label="Kind" name="kind" value={kind} onChange={(e) => setKind(e.target.value as Department["kind"])} error={errors.kind}>
          {DEPARTMENT_KINDS.map((k) => (
            <option key={k} value={k}>
              {k[0]!.toUpperCase() + k.slice(1)}
            </option>
          ))}
        </SelectField>
        <SelectField
          label="Part of"
          name="parent_id"
          value={parentId}
          onChange={(e) => setParentId(e.target.value)}
          error={errors.parent_id}
          hint={movingToRoot ? "Moving a department to the top level is not supported yet; choose a parent." : undefined}
        >
          <option value="">— Top level —</option>
          {options.map((o) => (
            <option key={o.dept.id} value={o.dept.id}>
              {"\u2003".repeat(o.depth)}
              {o.dept.name}
            </option>
          ))}
        </SelectField>
        {existing && <p className="text-xs text-slate-600">Last changed {formatDateTime(existing.updated_at)}</p>}
        <div className="flex flex-wrap gap-2">
          <Button type="submit" pending={save.pending}>
            {existing ? "Save changes" : "Add department"}
          </Button>
          <Button type="button" variant="secondary" onClick={onCancel}>
            Cancel
          </Button>
        </div>
      </form>
      {existing && (
        <div className="mt-6 border-t border-slate-200 pt-4">
          {remove.problem && (
            <div className="mb-3">
              <Alert>{describe(remove.problem)}</Alert>
            </div>
          )}
          <Button
            variant="danger"
            pending={remove.pending}
            onClick={async () => {
              if (window.confirm(`Remove ${existing.name}? This cannot be undone.`) && (await remove.run())) onSaved();
            }}
          >
            Remove department
          </Button>
        </div>
      )}
    </Card>
  );
}
