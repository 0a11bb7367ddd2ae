const SHIFT = 20;
const CHUNK = 1 << SHIFT;
const OFF = CHUNK - 1;
/** Record header: [u16 length][u32 payload][u32 hash]. */
const HEAD = 10;
/** Keys longer than this (in UTF-16 units) could exceed a u16 length in UTF-8: kept in a Map. */
const LONG = 0xffff / 3;

/** FNV-1a over a string's UTF-16 code units: no encoding needed to hash. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * Exact set of strings kept as UTF-8 in 1 MiB arena chunks with an open-addressing index of
 * 4-byte slots and a 1-byte hash tag per slot: about the key bytes plus 10, and 5-10 bytes a slot,
 * versus ~70 bytes a key for a Set<string>. Chunks never move, so growing never holds two copies
 * of the keys. A probe reads the arena only when a slot's tag matches (1 in 256 of the others),
 * so adding a new key rarely reads another key's bytes.
 */
export class KeySet {
  private chunks: Buffer[] = [Buffer.allocUnsafe(CHUNK)];
  /** Bytes used in the last chunk, and in each full one. */
  private used = 0;
  private fullEnds: number[] = [];
  /** (chunk index · CHUNK + offset) + 1 of each record; 0 = empty slot. */
  private slots = new Uint32Array(1 << 12);
  /** Top byte of each slot's hash, never 0. */
  private tags = new Uint8Array(1 << 12);
  private mask = (1 << 12) - 1;
  private count = 0;
  private scratch = Buffer.allocUnsafe(1024);
  /** Keys too long for the arena's u16 lengths (rare: ids and emails are short). */
  private long = new Map<string, number>();

  get size(): number {
    return this.count;
  }

  private static tag(h: number): number {
    return h >>> 24 || 1;
  }

  /** The key as UTF-8 in `scratch`; its length. */
  private encode(key: string): number {
    if (key.length * 3 > this.scratch.length) this.scratch = Buffer.allocUnsafe(key.length * 3);
    return this.scratch.write(key, 0, "utf8");
  }

  /** Slot index where the last probe stopped. */
  private at = 0;

  /** Finds the key: its record position + 1, or 0 (then `at` is the free slot for it). */
  private probe(key: string, h: number): number {
    const tag = KeySet.tag(h);
    let len = -1;
    let i = h & this.mask;
    for (;;) {
      const s = this.slots[i]!;
      if (s === 0) {
        this.at = i;
        return 0;
      }
      if (this.tags[i] === tag) {
        const pos = s - 1;
        const c = this.chunks[pos >>> SHIFT]!;
        const off = pos & OFF;
        if (c.readUInt32LE(off + 6) === h) {
          if (len === -1) len = this.encode(key);
          if (c.readUInt16LE(off) === len && c.compare(this.scratch, 0, len, off + HEAD, off + HEAD + len) === 0) return s;
        }
      }
      i = (i + 1) & this.mask;
    }
  }

  /** Adds the key with a payload (e.g. its line); returns -1 if new, else the first payload stored. */
  add(key: string, payload = 0): number {
    if (key.length > LONG) {
      const first = this.long.get(key);
      if (first !== undefined) return first;
      this.long.set(key, payload >>> 0);
      this.count++;
      return -1;
    }
    const h = fnv1a(key);
    const found = this.probe(key, h);
    if (found) {
      const pos = found - 1;
      return this.chunks[pos >>> SHIFT]!.readUInt32LE((pos & OFF) + 2);
    }
    const i = this.at;
    // Encoded straight into the arena: at most 3 bytes per UTF-16 unit.
    if (this.used + HEAD + key.length * 3 > CHUNK) {
      this.fullEnds.push(this.used);
      this.chunks.push(Buffer.allocUnsafe(CHUNK));
      this.used = 0;
    }
    const ci = this.chunks.length - 1;
    const c = this.chunks[ci]!;
    const at = this.used + HEAD;
    // ASCII by hand (ids and emails mostly are): cheaper than a call into the encoder per key.
    let len = 0;
    const n = key.length;
    if (n <= 64) {
      for (; len < n; len++) {
        const ch = key.charCodeAt(len);
        if (ch >= 0x80) break;
        c[at + len] = ch;
      }
    }
    if (len < n) len = c.write(key, at, "utf8");
    c.writeUInt16LE(len, this.used);
    c.writeUInt32LE(payload >>> 0, this.used + 2);
    c.writeUInt32LE(h, this.used + 6);
    this.slots[i] = ((ci << SHIFT) | this.used) + 1;
    this.tags[i] = KeySet.tag(h);
    this.used += HEAD + len;
    if (++this.count * 4 > this.slots.length * 3) this.grow();
    return -1;
  }

  has(key: string): boolean {
    if (key.length > LONG) return this.long.has(key);
    return this.probe(key, fnv1a(key)) !== 0;
  }

  /** Twice the slots, filled by walking the arena in order (sequential reads, not one per slot). */
  private grow(): void {
    const size = this.slots.length * 2;
    const slots = (this.slots = new Uint32Array(size));
    const tags = (this.tags = new Uint8Array(size));
    const mask = (this.mask = size - 1);
    for (let ci = 0; ci < this.chunks.length; ci++) {
      const c = this.chunks[ci]!;
      const end = ci < this.fullEnds.length ? this.fullEnds[ci]! : this.used;
      for (let off = 0; off < end; off += HEAD + c.readUInt16LE(off)) {
        const h = c.readUInt32LE(off + 6);
        let i = h & mask;
        while (slots[i] !== 0) i = (i + 1) & mask;
        slots[i] = ((ci << SHIFT) | off) + 1;
        tags[i] = KeySet.tag(h);
      }
    }
  }
}
