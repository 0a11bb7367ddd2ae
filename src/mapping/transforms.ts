import type { Transform } from "./schema.js";

export type Value = unknown;

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** ISO 8601: a date, then optionally a time (seconds and fraction optional) and a zone. */
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * A date the same on every machine: ISO 8601 (no zone = UTC), YYYYMMDD, or Unix seconds (9–10
 * digits) or milliseconds (11–13). Anything else (01/02/1990: which is the month?) and any day the
 * calendar does not have (1990-02-30) is refused rather than guessed or rolled over.
 */
function parseDate(s: string): Date {
  const bad = () => new Error(`\`${s}\` is not a date (YYYY-MM-DD, ISO 8601 with a time, YYYYMMDD, or Unix seconds or milliseconds)`);
  if (/^\d{9,13}$/.test(s)) return new Date(Number(s) * (s.length > 10 ? 1 : 1000));
  const m = ISO_DATE.exec(/^\d{8}$/.test(s) ? `${s.slice(0, 4)}-${s.slice(4, 6)}-${s.slice(6)}` : s);
  if (!m) throw bad();
  const [y, mo, d, h = 0, mi = 0, sec = 0] = [m[1], m[2], m[3], m[4], m[5], m[6]].map((x) => (x === undefined ? undefined : Number(x)));
  const day = new Date(Date.UTC(y!, mo! - 1, d!));
  if (day.getUTCFullYear() !== y || day.getUTCMonth() !== mo! - 1 || day.getUTCDate() !== d || h! > 23 || mi! > 59 || sec! > 59) throw bad();
  const zone = m[8] ? (m[8].toUpperCase() === "Z" ? "Z" : m[8].replace(/^([+-]\d{2})(\d{2})$/, "$1:$2")) : "Z";
  const date = new Date(`${m[1]}-${m[2]}-${m[3]}T${pad(h!)}:${pad(mi!)}:${pad(sec!)}${m[7] ? m[7].slice(0, 4) : ""}${zone}`);
  if (Number.isNaN(date.getTime())) throw bad();
  return date;
}

/** Reformats a date-like value; throws with a reason the row's error will carry. */
export function formatDate(v: unknown, format: string): string {
  const s = String(v).trim();
  const d = parseDate(s);
  if (format === "iso") return d.toISOString();
  if (format === "unix") return String(Math.floor(d.getTime() / 1000));
  if (format === "date") format = "YYYY-MM-DD";
  return format
    .replace("YYYY", String(d.getUTCFullYear()))
    .replace("MM", pad(d.getUTCMonth() + 1))
    .replace("DD", pad(d.getUTCDate()))
    .replace("HH", pad(d.getUTCHours()))
    .replace("mm", pad(d.getUTCMinutes()))
    .replace("ss", pad(d.getUTCSeconds()))
    .replace("SSS", pad(d.getUTCMilliseconds(), 3));
}

const CALLING: Record<string, string> = {
  US: "1", CA: "1", GB: "44", DE: "49", FR: "33", ES: "34", IT: "39", NL: "31", BE: "32", CH: "41", AT: "43",
  SE: "46", NO: "47", DK: "45", FI: "358", IE: "353", PT: "351", PL: "48", CN: "86", JP: "81", KR: "82",
  IN: "91", SG: "65", HK: "852", TW: "886", AU: "61", NZ: "64", BR: "55", MX: "52", AR: "54", ZA: "27",
  NG: "234", KE: "254", AE: "971", SA: "966", TR: "90", RU: "7", ID: "62", PH: "63", VN: "84", TH: "66", MY: "60",
};

/** E.164 from a national or international number; a leading 0 trunk prefix is dropped. */
export function toE164(v: unknown, country = "US"): string {
  const raw = String(v).trim();
  let digits = raw.replace(/[\s().-]/g, "");
  if (digits.startsWith("00")) digits = `+${digits.slice(2)}`;
  if (!/^\+?\d+$/.test(digits)) throw new Error(`\`${raw}\` is not a phone number`);
  if (!digits.startsWith("+")) {
    const cc = CALLING[country.toUpperCase()];
    if (!cc) throw new Error(`no calling code known for country ${country}`);
    digits = `+${cc}${digits.replace(/^0+/, "")}`;
  }
  if (digits.length < 8 || digits.length > 16) throw new Error(`\`${raw}\` has the wrong number of digits for a phone`);
  return digits;
}

/** Applies one transform; undefined/empty values pass through untouched. */
export function applyTransform(v: Value, t: Transform): Value {
  if (v === undefined || v === null || v === "") return v;
  if (typeof t === "string") {
    switch (t) {
      case "trim":
        return typeof v === "string" ? v.trim() : Array.isArray(v) ? v.map((x) => (typeof x === "string" ? x.trim() : x)) : v;
      case "lower":
        return typeof v === "string" ? v.toLowerCase() : Array.isArray(v) ? v.map((x) => String(x).toLowerCase()) : v;
      case "upper":
        return typeof v === "string" ? v.toUpperCase() : Array.isArray(v) ? v.map((x) => String(x).toUpperCase()) : v;
      case "split":
        return applyTransform(v, { split: "," });
      case "join":
        return applyTransform(v, { join: "," });
      case "e164":
        return applyTransform(v, { e164: "US" });
    }
  }
  if ("split" in t) return Array.isArray(v) ? v : String(v).split(t.split).map((s) => s.trim()).filter((s) => s !== "");
  if ("join" in t) return Array.isArray(v) ? v.join(t.join) : v;
  if ("date" in t) return formatDate(v, t.date);
  return toE164(v, t.e164);
}
