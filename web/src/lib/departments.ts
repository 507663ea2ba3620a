import type { components } from "@/api/generated/tenant";
import { api, unwrap } from "@/api/client";
import { allPages } from "@/lib/paging";

export type Department = components["schemas"]["Department"];
export interface DeptNode {
  dept: Department;
  children: DeptNode[];
}

/** Builds the tree from the flat list (`parent_id`); orphans (parent not visible) become roots. */
export function buildTree(items: Department[]): DeptNode[] {
  const nodes = new Map(items.map((d) => [d.id, { dept: d, children: [] as DeptNode[] }]));
  const roots: DeptNode[] = [];
  for (const n of nodes.values()) {
    const parent = n.dept.parent_id ? nodes.get(n.dept.parent_id) : undefined;
    (parent ? parent.children : roots).push(n);
  }
  const sort = (ns: DeptNode[]) => {
    ns.sort((a, b) => a.dept.name.localeCompare(b.dept.name));
    ns.forEach((n) => sort(n.children));
  };
  sort(roots);
  return roots;
}

/** Depth-first, with depth: for indented `<select>` options. */
export function flatten(tree: DeptNode[], depth = 0): { dept: Department; depth: number }[] {
  return tree.flatMap((n) => [{ dept: n.dept, depth }, ...flatten(n.children, depth + 1)]);
}

/** Ids of a department and everything below it (a department cannot move under these). */
export function subtreeIds(tree: DeptNode[], id: string): Set<string> {
  const out = new Set<string>();
  const walk = (ns: DeptNode[], inside: boolean) => {
    for (const n of ns) {
      const here = inside || n.dept.id === id;
      if (here) out.add(n.dept.id);
      walk(n.children, here);
    }
  };
  walk(tree, false);
  return out;
}

export const DEPARTMENT_KINDS: components["schemas"]["DepartmentKind"][] = ["site", "department", "unit", "program"];

export function loadDepartments(): Promise<Department[]> {
  return allPages((after) => unwrap(api.GET("/departments", { params: { query: { limit: 200, after } } })));
}
