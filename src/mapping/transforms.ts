import { createRequire } from "node:module";
import type { Transform } from "./schema.js";

export type Value = unknown;

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/**
 * ISO 8601: a date, then optionally a time (seconds and fraction optional) and its zone. A zone
 * after a date alone is not ISO and would only move the day it names (a birthday 2024-01-01+09:00
 * is 2023-12-31 in UTC): refused.
 */
const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

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
  // Not Date.UTC: it reads years 0-99 as 1900-1999.
  const day = new Date(0);
  day.setUTCFullYear(y!, mo! - 1, d!);
  // Year 0000 (1 BC) is ISO 8601's only by mutual agreement: refused.
  if (y! < 1 || day.getUTCFullYear() !== y || day.getUTCMonth() !== mo! - 1 || day.getUTCDate() !== d || h! > 23 || mi! > 59 || sec! > 59) throw bad();
  const zone = m[8] ? (m[8].toUpperCase() === "Z" ? "Z" : m[8].replace(/^([+-]\d{2}):?(\d{2})?$/, (_, hh: string, mm?: string) => `${hh}:${mm ?? "00"}`)) : "Z";
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
  // One pass over the pattern, so every occurrence of a token is replaced and none is read twice.
  return format.replace(DATE_TOKENS, (t) => {
    switch (t) {
      case "YYYY":
        return pad(d.getUTCFullYear(), 4);
      case "MM":
        return pad(d.getUTCMonth() + 1);
      case "DD":
        return pad(d.getUTCDate());
      case "HH":
        return pad(d.getUTCHours());
      case "mm":
        return pad(d.getUTCMinutes());
      case "ss":
        return pad(d.getUTCSeconds());
      default:
        return pad(d.getUTCMilliseconds(), 3);
    }
  });
}

const DATE_TOKENS = /YYYY|MM|DD|HH|mm|ss|SSS/g;

/** A `{ date: FORMAT }` argument the transform can honour: a keyword, or tokens, T and Z among punctuation and digits. */
export const isDateFormat = (f: string): boolean => f === "iso" || f === "unix" || f === "date" || /^(?:SSS|YYYY|MM|DD|HH|mm|ss|[TZ]|[^\p{L}])+$/u.test(f);

type Phones = typeof import("libphonenumber-js/min");
let phones: Phones | undefined;
/** libphonenumber-js (Google's metadata), loaded on first use: ~50 ms a run does not pay without `e164`. */
const phoneLib = (): Phones => (phones ??= createRequire(import.meta.url)("libphonenumber-js/min") as Phones);

/** A default country `e164` knows (ISO 3166 alpha-2). */
export const isPhoneCountry = (c: string): boolean => phoneLib().isSupportedCountry(c.toUpperCase());

/**
 * E.164 from a national or international number (libphonenumber-js: trunk prefixes, `(0)`,
 * national 1s and Italy's kept 0 as each country has them); `00` reads as `+`. A number that is
 * not valid for its country is refused rather than sent wrong.
 */
export function toE164(v: unknown, country = "US"): string {
  const raw = String(v).trim();
  const lib = phoneLib();
  const cc = country.toUpperCase();
  if (!lib.isSupportedCountry(cc)) throw new Error(`no calling code known for country ${country}`);
  const text = raw.startsWith("00") ? `+${raw.slice(2)}` : raw;
  let p: ReturnType<Phones["parsePhoneNumberWithError"]>;
  try {
    p = lib.parsePhoneNumberWithError(text, cc as Parameters<Phones["parsePhoneNumberWithError"]>[1]);
  } catch {
    throw new Error(`\`${raw}\` is not a phone number`);
  }
  if (!p.isValid()) throw new Error(`\`${raw}\` is not a valid phone number${text.startsWith("+") ? "" : ` in ${cc}`}`);
  return p.number;
}

/** Missing: nothing, JSON null, empty text, or an empty list (a JSONL `[]`, a split of " ; "). */
export const isEmpty = (v: unknown): boolean => v === undefined || v === null || v === "" || (Array.isArray(v) && v.length === 0);

/** Applies one transform; empty values pass through untouched. */
export function applyTransform(v: Value, t: Transform): Value {
  if (isEmpty(v)) return v;
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
