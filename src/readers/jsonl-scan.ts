/**
 * Reads the columns a mapping needs straight from a JSONL line's text: a validating scan that
 * keeps where each wanted value starts and ends, and skips the rest. A plain string value is
 * sliced from the line; any other wanted value (escapes, numbers, objects) is JSON.parse of its
 * own text. It builds no object for the line and interns no string (JSON.parse interns short
 * values, which only a full collection frees), so the parse thread's heap stays small.
 *
 * It is a fast path only. On any line it is not sure of (not valid JSON, not an object, nested
 * deeper than MAX_DEPTH, an array on a dotted column's way) it answers `false`, and the caller
 * parses that line with JSON.parse: a line it accepts is one JSON.parse accepts, and each
 * column's value is the one the mapping's getter would read from JSON.parse's object.
 */

const MAX_DEPTH = 64;

/** Control characters but LF (which ends lines) and CR (which CRLF lines end in; the string loop stops at it). */
const CONTROL = /[\x00-\x09\x0b\x0c\x0e-\x1f]/;

/** One object level of the wanted paths: its keys, and per key the level below (dotted columns). */
interface Level {
  keys: string[];
  below: (Level | undefined)[];
  /** Per key, while scanning a line: value start, end (after it), whether a string value has escapes; -1 = absent. */
  spans: Int32Array;
  /** The line (scan count) whose object `spans` describe; levels below the top are scanned on demand. */
  stamp: number;
}

/** How one column is read: a flat key at the top (its own key, or a dotted name as one key), then the path. */
interface ColumnRead {
  /** Slot of the column's whole name at the top level. */
  flat: number;
  /** For a dotted column: the slot at each level of its steps. */
  steps?: number[];
}

const level = (): Level => ({ keys: [], below: [], spans: new Int32Array(0), stamp: -1 });

function slot(l: Level, key: string): number {
  let i = l.keys.indexOf(key);
  if (i === -1) {
    i = l.keys.push(key) - 1;
    l.below.push(undefined);
  }
  return i;
}

export class JsonlScanner {
  private readonly top = level();
  private readonly reads: ColumnRead[];
  private scans = 0;
  /** The block of lines being read has no control character: strings without a backslash need no character loop. */
  private plain = false;
  /** Whether the last string skipped had an escape. */
  private escaped = false;
  private text = "";

  constructor(readonly columns: string[]) {
    this.reads = columns.map((c) => {
      const flat = slot(this.top, c);
      if (c.indexOf(".") === -1) return { flat };
      const names = c.split(".");
      const steps: number[] = [];
      let l = this.top;
      for (let k = 0; k < names.length; k++) {
        const s = slot(l, names[k]!);
        steps.push(s);
        if (k < names.length - 1) l = l.below[s] ??= level();
      }
      return { flat, steps };
    });
    const size = (l: Level): void => {
      l.spans = new Int32Array(l.keys.length * 3);
      for (const b of l.below) if (b) size(b);
    };
    size(this.top);
  }

  /**
   * Puts the columns' values of `text` (a line, up to `end`) into `out`, one per column, and
   * returns true; returns false, leaving `out` in any state, when JSON.parse must decide.
   */
  read(text: string, start: number, end: number, out: unknown[]): boolean {
    if (text !== this.text) {
      this.text = text;
      this.plain = !CONTROL.test(text);
    }
    const stamp = ++this.scans;
    start = this.ws(start, end);
    if (text.charCodeAt(start) !== 123) return false;
    const after = this.object(start, end, this.top, 0);
    if (after === -1 || this.ws(after, end) !== end) return false;
    this.top.stamp = stamp;
    for (let j = 0; j < this.reads.length; j++) {
      const r = this.reads[j]!;
      let l: Level | undefined = this.top;
      let s = r.flat;
      if (r.steps && l.spans[3 * s] === -1) {
        // Not a key of its own: follow the path, as the getter does (`a.b` is d.a.b).
        s = r.steps[0]!;
        for (let k = 1; k < r.steps.length; k++) {
          const at: number = l.spans[3 * s]!;
          const c = at === -1 ? 0 : text.charCodeAt(at);
          if (c === 91) return false; // an array: the getter reads its indexes and `length` as keys
          if (c !== 123) {
            l = undefined;
            break;
          }
          const next: Level = l.below[s]!;
          if (next.stamp !== stamp) {
            this.object(at, end, next, 1);
            next.stamp = stamp;
          }
          l = next;
          s = r.steps[k]!;
        }
      }
      out[j] = l === undefined ? undefined : this.value(l, s);
    }
    return true;
  }

  private value(l: Level, s: number): unknown {
    const a = l.spans[3 * s]!;
    if (a === -1) return undefined;
    const b = l.spans[3 * s + 1]!;
    const text = this.text;
    if (text.charCodeAt(a) === 34 && l.spans[3 * s + 2] === 0) return text.slice(a + 1, b - 1);
    return JSON.parse(text.slice(a, b));
  }

  private ws(i: number, end: number): number {
    const text = this.text;
    while (i < end) {
      const c = text.charCodeAt(i);
      if (c !== 32 && c !== 9 && c !== 10 && c !== 13) break;
      i++;
    }
    return i;
  }

  /** Scans the object at `i` (its `{`), recording the level's keys if given; returns the index after its `}`, or -1. */
  private object(i: number, end: number, l: Level | undefined, depth: number): number {
    if (depth > MAX_DEPTH) return -1;
    const text = this.text;
    if (l) l.spans.fill(-1);
    i = this.ws(i + 1, end);
    if (text.charCodeAt(i) === 125) return i + 1;
    for (;;) {
      if (text.charCodeAt(i) !== 34) return -1;
      const ks = i + 1;
      const ke = this.string(i, end) - 1;
      if (ke < 0) return -1;
      let s = -1;
      if (l) {
        const keys = l.keys;
        const n = ke - ks;
        if (this.escaped) {
          const key = JSON.parse(text.slice(i, ke + 1)) as string;
          s = keys.indexOf(key);
        } else {
          for (let k = 0; k < keys.length; k++) {
            const key = keys[k]!;
            if (key.length === n && text.startsWith(key, ks)) {
              s = k;
              break;
            }
          }
        }
      }
      i = this.ws(ke + 1, end);
      if (text.charCodeAt(i) !== 58) return -1;
      const vs = this.ws(i + 1, end);
      this.escaped = false;
      const ve = this.skip(vs, end, depth);
      if (ve === -1) return -1;
      if (s !== -1) {
        // A repeated key: the last one counts, as in JSON.parse.
        const sp = l!.spans;
        sp[3 * s] = vs;
        sp[3 * s + 1] = ve;
        sp[3 * s + 2] = this.escaped ? 1 : 0;
      }
      i = this.ws(ve, end);
      const c = text.charCodeAt(i);
      if (c === 125) return i + 1;
      if (c !== 44) return -1;
      i = this.ws(i + 1, end);
    }
  }

  /** Skips the value at `i`; returns the index after it, or -1. */
  private skip(i: number, end: number, depth: number): number {
    const text = this.text;
    const c = text.charCodeAt(i);
    if (c === 34) return this.string(i, end);
    if (c === 123) return this.object(i, end, undefined, depth + 1);
    if (c === 91) return this.array(i, end, depth + 1);
    if (c === 45 || (c >= 48 && c <= 57)) return this.number(i, end);
    if (c === 116) return text.startsWith("true", i) && i + 4 <= end ? i + 4 : -1;
    if (c === 102) return text.startsWith("false", i) && i + 5 <= end ? i + 5 : -1;
    if (c === 110) return text.startsWith("null", i) && i + 4 <= end ? i + 4 : -1;
    return -1;
  }

  private array(i: number, end: number, depth: number): number {
    if (depth > MAX_DEPTH) return -1;
    const text = this.text;
    i = this.ws(i + 1, end);
    if (text.charCodeAt(i) === 93) return i + 1;
    for (;;) {
      i = this.skip(i, end, depth);
      if (i === -1) return -1;
      i = this.ws(i, end);
      const c = text.charCodeAt(i);
      if (c === 93) return i + 1;
      if (c !== 44) return -1;
      i = this.ws(i + 1, end);
    }
  }

  /** Skips the string whose `"` is at `i`; returns the index after its closing quote, or -1. Sets `escaped`. */
  private string(i: number, end: number): number {
    const text = this.text;
    if (this.plain) {
      // No control character in this block but LF and CR: only a quote, a backslash or a CR stops the loop.
      for (let j = i + 1; j < end; j++) {
        const c = text.charCodeAt(j);
        if (c === 34) {
          this.escaped = false;
          return j + 1;
        }
        if (c === 92 || c === 13) break;
      }
    }
    let escaped = false;
    for (i++; i < end; i++) {
      const c = text.charCodeAt(i);
      if (c === 34) {
        this.escaped = escaped;
        return i + 1;
      }
      if (c < 32) return -1;
      if (c === 92) {
        escaped = true;
        const e = text.charCodeAt(++i);
        if (e === 117) {
          if (i + 4 >= end) return -1;
          for (let k = 1; k <= 4; k++) {
            const h = text.charCodeAt(i + k);
            if (!((h >= 48 && h <= 57) || (h >= 97 && h <= 102) || (h >= 65 && h <= 70))) return -1;
          }
          i += 4;
        } else if (e !== 34 && e !== 92 && e !== 47 && e !== 98 && e !== 102 && e !== 110 && e !== 114 && e !== 116) return -1;
      }
    }
    return -1;
  }

  private number(i: number, end: number): number {
    const text = this.text;
    const digits = (j: number) => {
      const s = j;
      while (j < end) {
        const c = text.charCodeAt(j);
        if (c < 48 || c > 57) break;
        j++;
      }
      return j === s ? -1 : j;
    };
    if (text.charCodeAt(i) === 45) i++;
    const c = text.charCodeAt(i);
    if (c === 48) i++;
    else if (c >= 49 && c <= 57) i = digits(i);
    else return -1;
    if (text.charCodeAt(i) === 46) {
      i = digits(i + 1);
      if (i === -1) return -1;
    }
    const e = text.charCodeAt(i);
    if (e === 101 || e === 69) {
      i++;
      const sign = text.charCodeAt(i);
      if (sign === 43 || sign === 45) i++;
      i = digits(i);
    }
    return i;
  }
}
