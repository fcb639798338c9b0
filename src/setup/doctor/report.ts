/**
 * The doctor's report: one line per check, `ok` / `warn` / `fail` / `skip`, what was found and,
 * when something is to be done, the fix. Every line is scrubbed of the configured secrets before
 * it is printed, whatever a vendor put in an error.
 */
export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckLine {
  status: CheckStatus;
  /** What was checked, e.g. "database" or "calendar bay-1@…". */
  name: string;
  /** What was found, one line. */
  detail: string;
  /** What to do about it. */
  fix?: string;
}

export const ok = (name: string, detail: string): CheckLine => ({ status: 'ok', name, detail });
export const skip = (name: string, detail: string): CheckLine => ({ status: 'skip', name, detail });
export const warn = (name: string, detail: string, fix?: string): CheckLine => ({ status: 'warn', name, detail, ...(fix === undefined ? {} : { fix }) });
export const fail = (name: string, detail: string, fix?: string): CheckLine => ({ status: 'fail', name, detail, ...(fix === undefined ? {} : { fix }) });

const NAME_WIDTH = 18;

export function formatLine(line: CheckLine): string {
  const text = `${line.status.padEnd(4)}  ${line.name.padEnd(NAME_WIDTH)}  ${line.detail}${line.fix === undefined ? '' : ` -> ${line.fix}`}`;
  return text.replace(/[\r\n]+/g, ' ');
}

/** The report's lines, a summary last, with every secret (of 4 characters or more) replaced. */
export function formatReport(lines: readonly CheckLine[], secrets: readonly string[]): string[] {
  const counts = { ok: 0, warn: 0, fail: 0, skip: 0 };
  for (const line of lines) counts[line.status]++;
  const summary = `${counts.fail === 0 ? 'ready' : 'not ready'}: ${counts.ok} ok, ${counts.warn} warn, ${counts.fail} fail, ${counts.skip} skipped`;
  return [...lines.map(formatLine), '', summary].map((text) => scrubSecrets(text, secrets));
}

export function exitCodeOf(lines: readonly CheckLine[]): 0 | 1 {
  return lines.some((line) => line.status === 'fail') ? 1 : 0;
}

export function scrubSecrets(text: string, secrets: readonly string[]): string {
  // Longest first, so a secret that contains another is hidden whole.
  const ordered = [...secrets].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
  return ordered.reduce((out, secret) => out.split(secret).join('[secret]'), text);
}
