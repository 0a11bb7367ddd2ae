/** Reads one input value for a mapping: a column, or a dotted path into nested JSON. */
export type Getter = (data: Record<string, unknown>) => unknown;

/**
 * A name every object answers through its prototype (`constructor`, `toString`, `__proto__`…):
 * a record without such a key must read as lacking it, not as Object's function. Decided once
 * per name, so other names keep a plain property read.
 */
export const inherited = (key: string): boolean => key in Object.prototype;

/** The object's own value at `key`; undefined where it has none (never an inherited member). */
export const ownValue = (o: Record<string, unknown>, key: string): unknown => (Object.hasOwn(o, key) ? o[key] : undefined);

/** Value of a column, or of a dotted path into nested JSON (`user_metadata.team`), split once. */
export function valueGetter(column: string): Getter {
  if (column.indexOf(".") === -1) return inherited(column) ? (d) => ownValue(d, column) : (d) => d[column];
  const parts = column.split(".");
  const guard = parts.map(inherited);
  return (d) => {
    if (column in d) return d[column];
    let cur: unknown = d;
    for (let i = 0; i < parts.length; i++) {
      if (cur === null || typeof cur !== "object") return undefined;
      cur = guard[i] ? ownValue(cur as Record<string, unknown>, parts[i]!) : (cur as Record<string, unknown>)[parts[i]!];
    }
    return cur;
  };
}
