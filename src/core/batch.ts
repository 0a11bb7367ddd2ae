/**
 * Packs items into batches of at most `size`. Items whose conflict key is already in the open
 * batch wait for a later one (Royalti answers by full name, so names must be unique per request).
 */
export async function* batches<T>(items: AsyncIterable<T>, size: number, conflictKey?: (item: T) => string): AsyncGenerator<T[]> {
  if (!conflictKey) {
    let cur: T[] = [];
    for await (const it of items) {
      cur.push(it);
      if (cur.length >= size) {
        yield cur;
        cur = [];
      }
    }
    if (cur.length) yield cur;
    return;
  }
  let cur: T[] = [];
  let keys = new Set<string>();
  let waiting: T[] = [];
  const place = (it: T): boolean => {
    const k = conflictKey(it);
    if (keys.has(k)) return false;
    keys.add(k);
    cur.push(it);
    return true;
  };
  const reopen = () => {
    cur = [];
    keys = new Set();
    const again = waiting;
    waiting = [];
    for (const it of again) if (cur.length >= size || !place(it)) waiting.push(it);
  };
  for await (const it of items) {
    if (!place(it)) waiting.push(it);
    if (cur.length >= size) {
      yield cur;
      reopen();
    }
  }
  while (cur.length) {
    yield cur;
    reopen();
  }
}
