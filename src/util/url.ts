/**
 * `URL.canParse(s)`, right on Node 20 and 22 too. There, once V8 optimises the caller, a string of
 * one-byte characters reaches the parser as Latin-1 bytes read as UTF-8, so after a few thousand
 * calls a host such as `bücher.de` stops parsing (Node 24 has it right). Text with a non-ASCII
 * character goes through `new URL`, which takes no such path; ASCII, the usual case, stays fast.
 */
export function canParseUrl(s: string): boolean {
  if (!/[^\x00-\x7f]/.test(s)) return URL.canParse(s);
  try {
    new URL(s);
    return true;
  } catch {
    return false;
  }
}

/**
 * A URL's user info (`user:password@`) as `***@`, even where the URL does not parse: up to the
 * last `@`, since an unencoded password may hold `/` or `#` (a path's `@` over-masks, harmlessly).
 */
export const withoutUserInfo = (s: string): string => s.replace(/^([a-z][a-z0-9+.-]*:\/\/).*@/is, "$1***@");
