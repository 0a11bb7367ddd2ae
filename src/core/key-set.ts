import { closeSync, openSync, readSync, unlinkSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const PAGE_SHIFT = 18;
const PAGE = 1 << PAGE_SHIFT;
/** A slot holds (page << 16 | offset / 4) + 1, so the last page index is unusable; its tag of 0 marks it empty. */
const MAX_PAGES = 0xffff;
/** The index lives in segments of this many slots, so growing it only adds segments. */
const SEG_SHIFT = 16;
const SEG = 1 << SEG_SHIFT;
const SEG_MASK = SEG - 1;
/** Record: [u32 hash][u32 payload][u16 length][UTF-8 bytes], padded to 4 bytes. */
const HEAD = 10;
/** The most keys `reserve` sizes the index for: 2.8M slots, 16 MiB. */
export const RESERVE_MAX = 1 << 21;
/** Keys longer than this (in UTF-16 units) could exceed a u16 length in UTF-8: kept in a Map. */
const LONG = Math.floor(0xffff / 3);
/**
 * Kept in the Map instead of a record: too long for one, or holding a lone surrogate, which UTF-8
 * writes as U+FFFD (EF BF BD), so two such keys with one hash would have the same bytes and be
 * taken for one. (`isWellFormed`: node 20 has it, the ES2023 library types do not.)
 */
const inMap = (key: string) => key.length > LONG || !(key as string & { isWellFormed(): boolean }).isWellFormed();

/** FNV-1a over a string's UTF-16 code units: no encoding needed to hash. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** 16 hash bits mixed from all of the hash, not only the high bits that pick the slot; never 0. */
const tagOf = (h: number) => Math.imul(h, 0x9e3779b1) >>> 16 || 1;

/** A new set's index: 4,096 slots in one segment, and its size. */
const emptyIndex = (): [Uint32Array[], Uint16Array[], number] => [[new Uint32Array(1 << 12)], [new Uint16Array(1 << 12)], 1 << 12];

/**
 * The home slot of hash `h` in `size` slots: its high bits scaled, so the index can be any
 * whole number of segments, not only a power of two (a million keys fit 1.4M slots, not 2M).
 * Never `size`: h / 2^32 < 1, and the product is exact well within a double's precision.
 */
const home = (h: number, size: number) => Math.floor((h / 4294967296) * size);

let spillSeq = 0;

/** `n` bytes at `pos` into the start of `buf` (a read may return fewer than asked). */
function readFully(fd: number, buf: Buffer, n: number, pos: number): void {
  let got = 0;
  while (got < n) {
    const r = readSync(fd, buf, got, n - got, pos + got);
    if (r === 0) throw new Error(`Duplicate check: its spill file ended early (${got} of ${n} bytes at ${pos})`);
    got += r;
  }
}

/**
 * Exact set of strings, each with a 32-bit payload (the line it was first seen on). The index is
 * 6 bytes a slot (a record position and a 16-bit hash tag); the keys themselves are UTF-8 records
 * in 256 KiB pages, and full pages go to an unlinked temporary file, so a million keys cost the
 * process ~8 MiB instead of ~33 (the OS page cache holds the file). A probe reads a record only
 * when a slot's tag matches: a true duplicate, or 1 probe in 65,535 otherwise. Without a writable
 * temporary directory, or once the disk is full, the pages stay in memory. Growing rebuilds the
 * index from the records into the segments it had plus as many new ones, so there is never an old
 * and a new index at once.
 */
export class KeySet {
  /** The page being filled; `ends` holds how many bytes each full page uses. */
  private page = Buffer.allocUnsafe(PAGE);
  private used = 0;
  private ends: number[] = [];
  /** Full pages, when no spill file could be opened. */
  private kept: Buffer[] | undefined;
  private fd = -1;
  /** Set when the OS would not unlink the open file (Windows): removed on close. */
  private path: string | undefined;
  private slots: Uint32Array[];
  private tags: Uint16Array[];
  /** Slots in the index: a power of two up to one segment, then a whole number of segments. */
  private slotCount: number;
  private count = 0;
  private scratch = Buffer.allocUnsafe(1024);
  /** A record read back from the file; a whole page while regrowing. */
  private readBuf: Buffer | undefined;
  /** Keys too long for a record's u16 length, or not well-formed UTF-16 (rare: ids and emails are short). */
  private long = new Map<string, number>();

  constructor() {
    [this.slots, this.tags, this.slotCount] = emptyIndex();
  }

  get size(): number {
    return this.count;
  }

  /** The key as UTF-8 in `scratch`; its length. */
  private encode(key: string): number {
    if (key.length * 3 > this.scratch.length) this.scratch = Buffer.allocUnsafe(key.length * 3);
    return this.scratch.write(key, 0, "utf8");
  }

  /** Payload of the record behind slot value `s` if it holds the key in `scratch`, else -1. */
  private match(s: number, h: number, len: number): number {
    const pi = (s - 1) >>> 16;
    const off = ((s - 1) & 0xffff) << 2;
    let buf: Buffer;
    let at = off;
    if (pi === this.ends.length) buf = this.page;
    else if (this.kept) buf = this.kept[pi]!;
    else {
      if (!this.readBuf || this.readBuf.length < HEAD + len) this.readBuf = Buffer.allocUnsafe(Math.max(1024, HEAD + len));
      buf = this.readBuf;
      at = 0;
      // Never past the record's page: a shorter record there fails the length check below.
      readFully(this.fd, buf, Math.min(HEAD + len, this.ends[pi]! - off), pi * PAGE + off);
    }
    if (buf.readUInt32LE(at) !== h || buf.readUInt16LE(at + 8) !== len) return -1;
    return buf.compare(this.scratch, 0, len, at + HEAD, at + HEAD + len) === 0 ? buf.readUInt32LE(at + 4) : -1;
  }

  /** Slot index where the last probe stopped: the key's slot, or the free slot for it when it was absent. */
  private at = 0;

  /** The key's payload, or -1 (then `at` is the free slot for it). */
  private find(key: string, h: number): number {
    const tag = tagOf(h);
    let len = -1;
    const n = this.slotCount;
    let i = home(h, n);
    // Only the tags are probed (a tag is never 0, so 0 is an empty slot): a new key costs one
    // cache miss instead of two (a million keys: 0.28 s → 0.18 s with the header bytes below).
    for (;;) {
      const t = this.tags[i >>> SEG_SHIFT]![i & SEG_MASK]!;
      if (t === 0) {
        this.at = i;
        return -1;
      }
      if (t === tag) {
        if (len === -1) len = this.encode(key);
        const p = this.match(this.slots[i >>> SEG_SHIFT]![i & SEG_MASK]!, h, len);
        if (p !== -1) {
          this.at = i;
          return p;
        }
      }
      if (++i === n) i = 0;
    }
  }

  /** Adds the key with a payload (e.g. its line); returns -1 if new, else the first payload stored. */
  add(key: string, payload = 0): number {
    if (inMap(key)) {
      const first = this.long.get(key);
      if (first !== undefined) return first;
      this.long.set(key, payload >>> 0);
      this.count++;
      return -1;
    }
    const h = fnv1a(key);
    const found = this.find(key, h);
    if (found !== -1) return found;
    const i = this.at;
    if (this.used + HEAD + key.length * 3 > PAGE) this.flush();
    const c = this.page;
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
    // The header byte by byte, little-endian as match() reads it: Buffer's write methods check
    // their arguments on every call (55 ms a million keys).
    const u = this.used;
    c[u] = h;
    c[u + 1] = h >>> 8;
    c[u + 2] = h >>> 16;
    c[u + 3] = h >>> 24;
    c[u + 4] = payload;
    c[u + 5] = payload >>> 8;
    c[u + 6] = payload >>> 16;
    c[u + 7] = payload >>> 24;
    c[u + 8] = len;
    c[u + 9] = len >>> 8;
    this.slots[i >>> SEG_SHIFT]![i & SEG_MASK] = ((this.ends.length << 16) | (this.used >>> 2)) + 1;
    this.tags[i >>> SEG_SHIFT]![i & SEG_MASK] = tagOf(h);
    this.used = (at + len + 3) & ~3;
    if (++this.count * 4 > this.slotCount * 3) this.grow();
    return -1;
  }

  /** Adds the key, or gives it this payload if it is there already (the latest word wins); returns the payload it had, or -1 if new. */
  set(key: string, payload: number): number {
    if (inMap(key)) {
      const was = this.long.get(key) ?? -1;
      if (was === -1) this.count++;
      this.long.set(key, payload >>> 0);
      return was;
    }
    const was = this.add(key, payload);
    if (was === -1) return -1;
    const s = this.slots[this.at >>> SEG_SHIFT]![this.at & SEG_MASK]! - 1;
    const pi = s >>> 16;
    const at = ((s & 0xffff) << 2) + 4;
    if (pi === this.ends.length) {
      this.page.writeUInt32LE(payload >>> 0, at);
      return was;
    }
    if (!this.kept) {
      this.scratch.writeUInt32LE(payload >>> 0, 0);
      try {
        if (writeSync(this.fd, this.scratch, 0, 4, pi * PAGE + at) === 4) return was;
      } catch {
        // A copy-on-write file system may refuse even a write in place once the disk is full.
      }
      this.keepPages();
    }
    this.kept![pi]!.writeUInt32LE(payload >>> 0, at);
    return was;
  }

  /** The payload stored with the key, or -1 when it is absent. */
  get(key: string): number {
    if (inMap(key)) return this.long.get(key) ?? -1;
    return this.find(key, fnv1a(key));
  }

  has(key: string): boolean {
    return this.get(key) !== -1;
  }

  /** Frees the index and the spill file; the set is empty afterwards. */
  close(): void {
    this.closeSpill();
    this.kept = undefined;
    this.ends = [];
    this.used = 0;
    this.count = 0;
    [this.slots, this.tags, this.slotCount] = emptyIndex();
    this.long.clear();
    this.readBuf = undefined;
  }

  /** Moves the full page out of the way: to the spill file, or to `kept`. */
  private flush(): void {
    if (this.ends.length + 1 >= MAX_PAGES) throw new Error(`Duplicate check: more than ${MAX_PAGES - 1} pages of keys (${this.count} keys)`);
    if (this.fd === -1 && !this.kept) this.openSpill();
    if (!this.kept) {
      try {
        // Only the used bytes: the rest of the buffer holds stale memory, never written out.
        let done = 0;
        while (done < this.used) done += writeSync(this.fd, this.page, done, this.used - done, this.ends.length * PAGE + done);
      } catch {
        this.keepPages();
      }
    }
    if (this.kept) {
      this.kept.push(this.page);
      this.page = Buffer.allocUnsafe(PAGE);
    }
    this.ends.push(this.used);
    this.used = 0;
  }

  /** A full disk: the pages come back into memory and the check goes on there. */
  private keepPages(): void {
    this.kept = this.ends.map((end, pi) => {
      const b = Buffer.allocUnsafe(PAGE);
      readFully(this.fd, b, end, pi * PAGE);
      return b;
    });
    this.closeSpill();
  }

  private closeSpill(): void {
    if (this.fd !== -1) closeSync(this.fd);
    this.fd = -1;
    try {
      if (this.path) unlinkSync(this.path);
    } catch {
      // Left in the temporary directory: nothing to do about it here.
    }
    this.path = undefined;
  }

  private openSpill(): void {
    const path = join(tmpdir(), `bulk-users-keys-${process.pid}-${++spillSeq}-${Date.now().toString(36)}`);
    try {
      // Owner-only, and unlinked at once: the keys (ids, emails) vanish with the process.
      this.fd = openSync(path, "wx+", 0o600);
    } catch {
      this.kept = [];
      return;
    }
    try {
      unlinkSync(path);
    } catch {
      this.path = path;
    }
  }

  /**
   * Sizes the index for `n` keys now, so it is not rebuilt on the way there (a rebuild reads every
   * record back: 0.3 s in all on the way to a million keys). A hint: past it the index grows as
   * usual. The index is made just big enough to stay at most 3/4 full (whole segments): 1.4M
   * slots (8 MiB) for a million keys, where doubling would reach 2M (12 MiB). At most RESERVE_MAX
   * keys are reserved, so a wrong estimate costs at most that index (16 MiB).
   */
  reserve(n: number): void {
    const want = Math.ceil((Math.min(n, RESERVE_MAX) * 4) / 3);
    if (want <= this.slotCount) return;
    let size = this.slotCount;
    if (want <= SEG) while (size < want) size *= 2;
    else size = Math.ceil(want / SEG) * SEG;
    this.grow(size);
  }

  /** A bigger index (twice the slots unless told), refilled by walking the records page by page (the old index is not needed). */
  private grow(size = this.slotCount * 2): void {
    this.slotCount = size;
    if (size <= SEG) {
      this.slots = [new Uint32Array(size)];
      this.tags = [new Uint16Array(size)];
    } else {
      if (this.slots[0]!.length < SEG) {
        this.slots = [];
        this.tags = [];
      }
      // Slots need no clearing: a tag of 0 is an empty slot whatever its slot holds.
      for (const a of this.tags) a.fill(0);
      while (this.slots.length * SEG < size) {
        this.slots.push(new Uint32Array(SEG));
        this.tags.push(new Uint16Array(SEG));
      }
    }
    const { slots, tags } = this;
    for (let pi = 0; pi <= this.ends.length; pi++) {
      let c: Buffer;
      let end: number;
      if (pi === this.ends.length) [c, end] = [this.page, this.used];
      else if (this.kept) [c, end] = [this.kept[pi]!, this.ends[pi]!];
      else {
        end = this.ends[pi]!;
        if (!this.readBuf || this.readBuf.length < PAGE) this.readBuf = Buffer.allocUnsafe(PAGE);
        c = this.readBuf;
        readFully(this.fd, c, end, pi * PAGE);
      }
      for (let off = 0; off < end; off = (off + HEAD + c.readUInt16LE(off + 8) + 3) & ~3) {
        const h = c.readUInt32LE(off);
        let i = home(h, size);
        while (tags[i >>> SEG_SHIFT]![i & SEG_MASK] !== 0) if (++i === size) i = 0;
        slots[i >>> SEG_SHIFT]![i & SEG_MASK] = ((pi << 16) | (off >>> 2)) + 1;
        tags[i >>> SEG_SHIFT]![i & SEG_MASK] = tagOf(h);
      }
    }
  }
}
