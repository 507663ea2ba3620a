/** Reads every page of a cursor-paged list (`page.next_after`), up to a sane cap. */
export async function allPages<T>(
  fetchPage: (after: string | undefined) => Promise<{ items: T[]; page: { next_after?: string | null } }>,
  maxPages = 50,
): Promise<T[]> {
  const out: T[] = [];
  let after: string | undefined;
  for (let i = 0; i < maxPages; i++) {
    const p = await fetchPage(after);
    out.push(...p.items);
    if (!p.page.next_after) break;
    after = p.page.next_after;
  }
  return out;
}
