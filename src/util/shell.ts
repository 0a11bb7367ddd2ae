/** One argument as a POSIX shell reads it back: bare when safe, else single-quoted. */
export const shellArg = (a: string): string => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`);
