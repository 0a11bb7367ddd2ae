const SHIFT = 20;
const CHUNK = 1 << SHIFT;
const OFF = CHUNK - 1;

/**
 * Exact set of strings kept as UTF-8 in 1 MiB arena chunks with an open-addressing index of
 * 4-byte slots: about the key bytes plus 10, and 4-8 bytes a slot, versus ~70 bytes a key for a
 * Set<string>. Chunks never move, so growing never holds two copies of the keys.
 * Record layout: [u16 length][u32 payload][u32 hash][bytes].
 */
export class KeySet {
  private chunks: Buffer[] = [Buffer.allocUnsafe(CHUNK)];
  /** Bytes used in the last chunk. */
  private used = 0;
  /** (chunk index · CHUNK + offset) + 1 of each record; 0 = empty slot. */
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
    const len = this.scratch.write(key, 0, "utf8");
    if (len > CHUNK - 10) throw new RangeError(`key of ${len} bytes is too long`);
    return len;
  }

  /** Slot index where the last probe stopped. */
  private at = 0;

  /** Finds the key: its record position + 1, or 0 (then `at` is the free slot for it). */
  private probe(len: number, h: number): number {
    let i = h & this.mask;
    for (;;) {
      const s = this.slots[i]!;
      if (s === 0) {
        this.at = i;
        return 0;
      }
      const pos = s - 1;
      const c = this.chunks[pos >>> SHIFT]!;
      const off = pos & OFF;
      // Length and stored hash first: most probes end there without touching the bytes.
      if (c.readUInt16LE(off) === len && c.readUInt32LE(off + 6) === h && c.compare(this.scratch, 0, len, off + 10, off + 10 + len) === 0) return s;
      i = (i + 1) & this.mask;
    }
  }

  /** Adds the key with a payload (e.g. its line); returns -1 if new, else the first payload stored. */
  add(key: string, payload = 0): number {
    const len = this.encode(key);
    const h = KeySet.hash(this.scratch, len);
    const found = this.probe(len, h);
    if (found) {
      const pos = found - 1;
      return this.chunks[pos >>> SHIFT]!.readUInt32LE((pos & OFF) + 2);
    }
    const i = this.at;
    if (this.used + len + 10 > CHUNK) {
      this.chunks.push(Buffer.allocUnsafe(CHUNK));
      this.used = 0;
    }
    const ci = this.chunks.length - 1;
    const c = this.chunks[ci]!;
    c.writeUInt16LE(len, this.used);
    c.writeUInt32LE(payload >>> 0, this.used + 2);
    c.writeUInt32LE(h, this.used + 6);
    this.scratch.copy(c, this.used + 10, 0, len);
    this.slots[i] = ((ci << SHIFT) | this.used) + 1;
    this.used += len + 10;
    if (++this.count * 4 > this.slots.length * 3) this.grow();
    return -1;
  }

  has(key: string): boolean {
    const len = this.encode(key);
    return this.probe(len, KeySet.hash(this.scratch, len)) !== 0;
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Uint32Array(old.length * 2);
    this.mask = this.slots.length - 1;
    for (const s of old) {
      if (s === 0) continue;
      const pos = s - 1;
      let i = this.chunks[pos >>> SHIFT]!.readUInt32LE((pos & OFF) + 6) & this.mask;
      while (this.slots[i] !== 0) i = (i + 1) & this.mask;
      this.slots[i] = s;
    }
  }
}
