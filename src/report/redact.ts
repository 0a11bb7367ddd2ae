/** The shortest secret masked: masking shorter ones would garble ordinary text. */
const MIN = 4;

const inJson = (s: string) => JSON.stringify(s).slice(1, -1);

/** `\uXXXX` for each UTF-16 unit `re` matches (an astral character becomes its two surrogates). */
const uEscape = (s: string, re: RegExp, upper = false) =>
  s.replace(re, (c) => {
    const h = c.charCodeAt(0).toString(16).padStart(4, "0");
    return `\\u${upper ? h.toUpperCase() : h}`;
  });

/**
 * JSON as other encoders write it by default: `\/` (PHP), non-ASCII as `\u00e4` (Python; PHP
 * with `\/` too; capitals elsewhere), `<>&` as `\u003c` (Go; Gson `='` too), and .NET's wider set in capitals.
 */
function otherJson(value: string): string[] {
  const j = inJson(value);
  const slash = j.replace(/\//g, "\\/");
  const nonAscii = /[^\x00-\x7f]/g;
  const dotnet = uEscape(value.replace(/\\/g, "\\\\"), /[^\x20-\x7e]|["<>&'+`]/g, true);
  // Java's Gson escapes `=` and `'` too, in small letters.
  const gson = uEscape(j, /[<>&='\u2028\u2029]/g);
  return [slash, uEscape(j, nonAscii), uEscape(j, nonAscii, true), uEscape(slash, nonAscii), uEscape(j, /[<>&\u2028\u2029]/g), gson, dotnet];
}

/** `%XX` for each of `chars` that encodeURIComponent leaves as it is. */
const pct = (s: string, chars: RegExp) => s.replace(chars, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/**
 * URL-encoded as JavaScript, Python, Go and PHP write it: encodeURIComponent leaves `!'()*`,
 * which the others escape (PHP's `urlencode` `~` too), with `%20` or `+` for a space.
 */
function inUrl(value: string): string[] {
  const js = encodeURIComponent(value);
  const strict = pct(js, /[!'()*]/g);
  return [js, new URLSearchParams({ v: value }).toString().slice(2), strict, strict.replace(/%20/g, "+"), pct(strict, /~/g).replace(/%20/g, "+")];
}

/**
 * The forms a secret takes when a vendor echoes it back: as given, escaped in JSON (once, or twice
 * for a request body quoted in an answer; also as other encoders escape it), URL-encoded (with
 * `%20` or `+` for spaces), in base64 (a Basic authorization header), or its UTF-8 bytes read as
 * Latin-1.
 */
function forms(value: string): string[] {
  const b64 = Buffer.from(value, "utf8").toString("base64");
  const out = [value, inJson(value), inJson(inJson(value)), ...otherJson(value), ...inUrl(value), b64, b64.replace(/=+$/, "")];
  if (/[^\x00-\x7f]/.test(value)) out.push(Buffer.from(value, "utf8").toString("latin1"));
  return out;
}

/**
 * Replaces every known secret value in text with `***`: in any of the forms above, and a secret
 * cut off at the end of the text (vendor answers are shortened before they are reported). Values
 * shorter than 4 characters are ignored.
 */
export class Redactor {
  private known = new Set<string>();
  private secrets: string[] = [];
  private sorted = true;

  /** Cheap to call per user of a batch: duplicates are dropped, and the sort waits for `redact`. */
  add(value: string | undefined): void {
    if (!value || value.length < MIN) return;
    for (const f of forms(value)) {
      if (f.length < MIN || this.known.has(f)) continue;
      this.known.add(f);
      this.secrets.push(f);
      this.sorted = false;
    }
  }

  /** Whether there is anything to redact. */
  get active(): boolean {
    return this.secrets.length > 0;
  }

  /** `cut`: also mask a secret's first characters at the very end, or before a last ` (…)` note (messages; not keys, where 4 characters match by chance). */
  redact(text: string, cut = true): string {
    if (!text) return text;
    this.sort();
    for (const s of this.secrets) if (text.includes(s)) text = text.split(s).join("***");
    return cut ? this.cutOff(text) : text;
  }

  /** Only what is left of a secret a message was cut through (whole ones already masked as the caller chose). */
  cutOff(text: string): string {
    if (!text) return text;
    this.sort();
    // A vendor's text ends at the very end, or before the note an adapter puts after it
    // (`… (user not in ErrorList)`, `… (check ROYALTI_BASE_URL / --endpoint)`): a secret the
    // vendor cut short there was shown whole up to its cut.
    const note = / \([^()]*\)$/.exec(text);
    if (note) text = this.cutEnd(text, note.index);
    return this.cutEnd(text, text.length);
  }

  /** Longest first, so a secret containing another is replaced whole. */
  private sort(): void {
    if (this.sorted) return;
    this.secrets.sort((a, b) => b.length - a.length);
    this.sorted = true;
  }

  /** A cut at `end`, or just before the `...` or `…` a vendor often marks its cut with. */
  private cutEnd(text: string, end: number): string {
    const mark = end >= 3 && text.startsWith("...", end - 3) ? 3 : text.charAt(end - 1) === "…" ? 1 : 0;
    if (mark) {
      const t = this.cutTail(text, end - mark);
      if (t !== text) return t;
    }
    return this.cutTail(text, end);
  }

  /** What is left of a secret the text was cut through at `end`: a stretch before it that starts the secret. */
  private cutTail(text: string, end: number): string {
    for (const s of this.secrets) {
      for (let i = text.indexOf(s[0]!, Math.max(0, end - s.length + 1)); i !== -1 && end - i >= MIN; i = text.indexOf(s[0]!, i + 1)) {
        // Longest first: the first secret it starts is the one that was cut there.
        if (s.startsWith(text.slice(i, end))) return `${text.slice(0, i)}***${text.slice(end)}`;
      }
    }
    return text;
  }
}
