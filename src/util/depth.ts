/** Levels of objects and lists an object field may nest (GenAuth custom data is flat in practice): far from what would overflow a stack. */
export const MAX_OBJECT_DEPTH = 100;

/**
 * Whether a parsed JSON value nests deeper than `limit` (the value itself is level 0). Iterative:
 * JSON.parse builds values thousands of levels deep, which recursion (JSON.stringify, a structured
 * clone) cannot take.
 */
export function deeperThan(value: unknown, limit: number): boolean {
  const stack: unknown[] = [value];
  const depth: number[] = [0];
  while (stack.length) {
    const v = stack.pop();
    const d = depth.pop()!;
    if (v === null || typeof v !== "object") continue;
    if (d > limit) return true;
    for (const c of Object.values(v)) {
      if (c !== null && typeof c === "object") {
        stack.push(c);
        depth.push(d + 1);
      }
    }
  }
  return false;
}
