/** Reads one input value for a mapping: a column, or a dotted path into nested JSON. */
export type Getter = (data: Record<string, unknown>) => unknown;

/** Value of a column, or of a dotted path into nested JSON (`user_metadata.team`), split once. */
export function valueGetter(column: string): Getter {
  if (column.indexOf(".") === -1) return (d) => d[column];
  const parts = column.split(".");
  return (d) => {
    if (column in d) return d[column];
    let cur: unknown = d;
    for (const part of parts) {
      if (cur === null || typeof cur !== "object") return undefined;
      cur = (cur as Record<string, unknown>)[part];
    }
    return cur;
  };
}
