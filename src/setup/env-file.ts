/**
 * Sets one variable in a .env file and leaves every other byte alone: comments, order, other
 * variables, blank lines, line endings. The file holds secrets, so a new one is created readable
 * by its owner only, and the update is written to a temporary file and renamed over the old one
 * (a crash mid-write never leaves half a .env).
 */
import { chmodSync, existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** Values written bare: what the .env parser reads back unchanged without quotes. */
const BARE_VALUE = /^[A-Za-z0-9_./:+=@~,-]*$/;

/**
 * `text` (a .env file's content, or undefined when there is none) with `name` set to `value`:
 * every active `name=` line (with or without `export`) gets the new value, keeping its `export`
 * and a trailing `# comment`; commented-out lines stay as they are. Without an active line, one is
 * appended at the end.
 */
export function setEnvValue(text: string | undefined, name: string, value: string): string {
  if (!NAME.test(name)) throw new Error(`not a variable name: ${name}`);
  if (/[\r\n]/.test(value)) throw new Error(`${name}: a value on one line only`);
  const written = quote(value);
  const source = text ?? '';
  const eol = source.includes('\r\n') ? '\r\n' : '\n';
  const lines = source === '' ? [] : source.split(/\r?\n/);
  // A final newline splits into a last empty element: keep it aside so appending goes before it.
  const endsWithNewline = lines.length > 0 && lines[lines.length - 1] === '';
  if (endsWithNewline) lines.pop();

  const assignment = new RegExp(`^(\\s*(?:export\\s+)?${name}\\s*=)(\\s*)("(?:[^"\\\\]|\\\\.)*"|'[^']*'|[^\\s#]*)(\\s+#.*)?\\s*$`);
  const start = new RegExp(`^\\s*(?:export\\s+)?${name}\\s*=`);
  let found = false;
  const updated = lines.map((line) => {
    if (!start.test(line)) return line;
    found = true;
    const match = assignment.exec(line);
    // A line we cannot take apart (say, an unterminated quote) is replaced whole.
    return match ? `${match[1]}${match[2]}${written}${match[4] ?? ''}` : `${name}=${written}`;
  });
  if (!found) updated.push(`${name}=${written}`);
  return `${updated.join(eol)}${eol}`;
}

/** Reads, updates and atomically rewrites `path` (created with mode 0600 when missing). */
export function writeEnvValue(path: string, name: string, value: string): { created: boolean } {
  const exists = existsSync(path);
  const next = setEnvValue(exists ? readFileSync(path, 'utf8') : undefined, name, value);
  const mode = exists ? statSync(path).mode & 0o777 : 0o600;
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, next, { mode });
  // writeFileSync's mode is filtered by the umask; the old file's mode must survive as it was.
  chmodSync(temporary, mode);
  renameSync(temporary, path);
  return { created: !exists };
}

function quote(value: string): string {
  if (BARE_VALUE.test(value)) return value;
  if (!value.includes("'")) return `'${value}'`;
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}
