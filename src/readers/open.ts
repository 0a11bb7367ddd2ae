import { closeSync, createReadStream, openSync, readSync } from "node:fs";
import { extname } from "node:path";
import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { BulkUsersError, ErrorCode } from "../errors.js";

/** Bytes read at a time from an input (and handed on by its decompressor). */
export const READ_CHUNK = 1 << 16;

/**
 * Whether a file is gzip, by its first two bytes (1f 8b): whatever its name says. No UTF-8 text
 * starts so (0x8b is a continuation byte), so a plain export is never taken for one.
 */
export function isGzip(file: string): boolean {
  const fd = openSync(file, "r");
  try {
    const b = Buffer.alloc(2);
    return readSync(fd, b, 0, 2, 0) === 2 && b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

/** A name without its `.gz`, for what the name says of the format (`users.csv.gz` is CSV). */
export const withoutGz = (file: string) => (extname(file).toLowerCase() === ".gz" ? file.slice(0, -3) : file);

/**
 * Text that starts with gzip's magic bytes (1f 8b read as UTF-8): only standard input gets that
 * far (files are told apart as they open), and it is read as text, not decompressed.
 */
export const isGzipText = (text: string) => text.startsWith("\u001f\uFFFD");
export const gzipOnStdin = (file: string, line: number) =>
  new BulkUsersError(ErrorCode.INPUT_FORMAT, `Input is gzip data: standard input is read as text, not decompressed (${file}, line ${line})`, {
    context: { file, line },
    hint: "Give the .gz file itself (decompressed as it streams, and the run can be resumed), or pipe it through `gunzip -c`.",
  });

/** zlib's error ("unexpected end of file") as one that names the file. */
export const gzipError = (file: string, e: NodeJS.ErrnoException, midway = true) =>
  e.code?.startsWith("Z_")
    ? new BulkUsersError(ErrorCode.INPUT_FORMAT, `Cannot decompress ${file}: ${e.message} (the gzip file is cut short or damaged${midway ? "; the rows before that point were read" : ""})`, {
        context: { file },
        hint: "Download or export the file again; `gzip -t` checks one.",
      })
    : e;

/**
 * An input file's bytes as a stream, decompressed when it is gzip. A file that stops short or is
 * corrupt fails the stream with an error naming it (the rows read before it stand).
 */
export function openFile(file: string): Readable {
  const raw = createReadStream(file, { highWaterMark: READ_CHUNK });
  if (!isGzip(file)) return raw;
  const gunzip = raw.pipe(createGunzip({ chunkSize: READ_CHUNK }));
  raw.on("error", (e) => gunzip.destroy(e));
  async function* bytes() {
    try {
      for await (const chunk of gunzip) yield chunk as Buffer;
    } catch (e) {
      throw gzipError(file, e as NodeJS.ErrnoException);
    } finally {
      // Also when the reader stops early (a header read, a stop): the decompressor's memory goes too.
      raw.destroy();
      gunzip.destroy();
    }
  }
  return Readable.from(bytes(), { objectMode: false, highWaterMark: READ_CHUNK });
}

/**
 * The start of a gzip file, decompressed: about `want` bytes (fewer at its end), how many bytes
 * were decompressed in all (`got`) and from how many compressed ones (`fed`), to scale a line
 * count to the whole file. With `found`, it reads on past `want` (up to `max`) until `found`
 * says a chunk held what it looks for; each chunk is looked at once, with whether it is the first.
 */
export async function gzipHead(file: string, want: number, max: number, found?: (chunk: Buffer, first: boolean) => boolean): Promise<{ head: Buffer; got: number; fed: number; ended: boolean; found: boolean }> {
  const raw = createReadStream(file, { highWaterMark: 1 << 14 });
  let fed = 0;
  raw.on("data", (c) => (fed += c.length));
  const gunzip = raw.pipe(createGunzip({ chunkSize: 1 << 14 }));
  raw.on("error", (e) => gunzip.destroy(e));
  // Past `want`, only whether `found` turned true is kept: the head stays `want` bytes at most.
  const parts: Buffer[] = [];
  let kept = 0;
  let got = 0;
  let seen = !found;
  try {
    for await (const c of gunzip) {
      const chunk = c as Buffer;
      if (!seen && found!(chunk, got === 0)) seen = true;
      got += chunk.length;
      if (kept < want) {
        parts.push(chunk);
        kept += chunk.length;
      }
      if (got >= max || (got >= want && seen)) return { head: Buffer.concat(parts), got, fed, ended: false, found: seen };
    }
    return { head: Buffer.concat(parts), got, fed, ended: true, found: seen };
  } catch (e) {
    throw gzipError(file, e as NodeJS.ErrnoException, false);
  } finally {
    raw.destroy();
    gunzip.destroy();
  }
}
