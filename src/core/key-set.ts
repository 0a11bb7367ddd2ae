/**
 * Exact set of strings kept as UTF-8 in one growing arena with an open-addressing index:
 * the key bytes plus 10, and 4-8 bytes a slot, versus ~70 bytes a key for a Set<string>,
 * so duplicate detection over millions of keys keeps memory flat-ish (bench/ measures it).
 */
export class KeySet {
  private arena = Buffer.allocUnsafe(1 << 16);
  private used = 0;
  /** arena offset + 1 of each key's record ([u16 length][u32 payload][u32 hash][bytes]); 0 = empty slot. */
  private slots = new Uint32Array(1 << 12);
  private mask = (1 << 12) - 1;
  private count = 0;
  private scratch = Buffer.allocUnsafe(1024);

  get size(): number {
    return this.count;
  }

  private static hash(buf: Buffer, len: number): number {
    let h = 0x811c9dc5;
    for (let i = 0; i < len; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
    return h >>> 0;
  }

  private encode(key: string): number {
    if (key.length * 3 > this.scratch.length) this.scratch = Buffer.allocUnsafe(key.length * 3);
    return this.scratch.write(key, 0, "utf8");
  }

  private matches(off: number, len: number, h: number): boolean {
    // Length and stored hash first: most probes end there without touching the bytes.
    if (this.arena.readUInt16LE(off) !== len || this.arena.readUInt32LE(off + 6) !== h) return false;
    return this.arena.compare(this.scratch, 0, len, off + 10, off + 10 + len) === 0;
  }

  /** Adds the key with a payload (e.g. its line); returns -1 if new, else the first payload stored. */
  add(key: string, payload = 0): number {
    const len = this.encode(key);
    if (len > 0xffff) throw new RangeError("key longer than 65535 bytes");
    const h = KeySet.hash(this.scratch, len);
    let i = h & this.mask;
    for (;;) {
      const s = this.slots[i]!;
      if (s === 0) break;
      if (this.matches(s - 1, len, h)) return this.arena.readUInt32LE(s + 1);
      i = (i + 1) & this.mask;
    }
    const need = this.used + len + 10;
    if (need > this.arena.length) {
      // Grow by half, not double: a copy holds old and new at once, and memory is the budget here.
      const next = Buffer.allocUnsafe(Math.max(Math.ceil(this.arena.length * 1.5), need));
      this.arena.copy(next, 0, 0, this.used);
      this.arena = next;
    }
    this.arena.writeUInt16LE(len, this.used);
    this.arena.writeUInt32LE(payload >>> 0, this.used + 2);
    this.arena.writeUInt32LE(h, this.used + 6);
    this.scratch.copy(this.arena, this.used + 10, 0, len);
    this.slots[i] = this.used + 1;
    this.used += len + 10;
    if (++this.count * 4 > this.slots.length * 3) this.grow();
    return -1;
  }

  has(key: string): boolean {
    const len = this.encode(key);
    const h = KeySet.hash(this.scratch, len);
    let i = h & this.mask;
    for (;;) {
      const s = this.slots[i]!;
      if (s === 0) return false;
      if (this.matches(s - 1, len, h)) return true;
      i = (i + 1) & this.mask;
    }
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Uint32Array(old.length * 2);
    this.mask = this.slots.length - 1;
    for (const s of old) {
      if (s === 0) continue;
      let i = this.arena.readUInt32LE(s + 5) & this.mask;
      while (this.slots[i] !== 0) i = (i + 1) & this.mask;
      this.slots[i] = s;
    }
  }
}
