// Reading a value of parsed recipe data by its path (no YAML parser needed: recipes as loaded
// before, parsed-cache.ts, are built without one).

export type PathSegment = string | number;

/** The value at `path` in parsed data; undefined where the path leaves it. */
export function valueAt(data: unknown, path: readonly PathSegment[]): unknown {
  let node = data;
  for (const s of path) node = (node as Record<string | number, unknown> | undefined)?.[s];
  return node;
}

