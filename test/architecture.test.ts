/**
 * The import rule of the layout: the voice pipeline (pipeline, providers, transports, audio, core)
 * knows nothing of car shops, so the same pipeline could serve another business; core, where the
 * ports between the two halves are declared, stands on nothing else; the database stores plain
 * records and imports no session type; observability, used by every layer, imports only core. Every import of every .ts file under src/ is read from its syntax tree (static
 * imports and re-exports, dynamic `import()`, type-only `import('...').T`), tests included.
 *
 * Violations that exist today, and that other work is removing, are listed in KNOWN_VIOLATIONS:
 * a new one fails, and so does a listed one that is gone (take it off the list as it is fixed).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SRC = path.join(ROOT, 'src');

/** The shop's side: its tools, domain, records and calendar (crm and assistant may appear later). */
const SHOP_SIDE = ['tools', 'scheduling', 'db', 'calendar', 'crm', 'assistant'];

type Rule = {
  /** Folders under src/ whose files the rule binds. */
  from: readonly string[];
  why: string;
} & (
  /** Folders under src/ those files must not import from. */
  | { mayNotImport: readonly string[] }
  /** The only folders under src/, besides their own, those files may import from (a file in src/ itself counts as a folder). */
  | { mayImportOnly: readonly string[] }
);

const RULES: readonly Rule[] = [
  {
    from: ['pipeline', 'providers', 'transports', 'audio', 'core'],
    mayNotImport: SHOP_SIDE,
    why: 'the voice pipeline knows nothing of car shops (reach the shop through a port in core, wired in main.ts)',
  },
  { from: ['core'], mayImportOnly: [], why: 'core holds the ports and plain data every layer shares, so it stands on nothing else' },
  { from: ['db'], mayNotImport: ['pipeline'], why: 'the database imports no pipeline type' },
  {
    from: ['observability'],
    mayImportOnly: ['core'],
    why: 'every layer logs and counts, so observability depends on none of them',
  },
];

/** `file` (from the repository root) imports `specifier` (exactly as written). */
type ImportPair = `${string} -> ${string}`;

const KNOWN_VIOLATIONS: readonly ImportPair[] = [];

interface FoundImport {
  specifier: string;
  line: number;
}

/** Every module specifier in `source`; a dynamic import whose argument is not a string literal comes back as `undefined`. */
function importsOf(fileName: string, source: string): Array<FoundImport | { specifier: undefined; line: number }> {
  const file = ts.createSourceFile(fileName, source, ts.ScriptTarget.Latest, false, ts.ScriptKind.TS);
  const found: Array<FoundImport | { specifier: undefined; line: number }> = [];
  const add = (node: ts.Node, specifier: ts.Node | undefined): void => {
    const line = file.getLineAndCharacterOfPosition(node.getStart(file)).line + 1;
    found.push({ specifier: specifier !== undefined && ts.isStringLiteralLike(specifier) ? specifier.text : undefined, line });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || (ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined)) {
      add(node, node.moduleSpecifier);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node, node.moduleReference.expression);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      add(node, node.arguments[0]);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node, node.argument.literal);
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

/** The folder under src/ a file (relative to the repository root) lives in, if it lives in one. */
function layerOf(fromRoot: string): string | undefined {
  const parts = fromRoot.split('/');
  return parts[0] === 'src' && parts.length >= 2 ? parts[1] : undefined;
}

/** The rule `file` breaks by importing `specifier`, if any. Packages and node: modules are never checked. */
function brokenRule(file: string, specifier: string): Rule | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const from = layerOf(file);
  const target = layerOf(path.posix.normalize(path.posix.join(path.posix.dirname(file), specifier)));
  if (from === undefined || target === undefined || target === from) return undefined;
  return RULES.find(
    (rule) => rule.from.includes(from) && ('mayNotImport' in rule ? rule.mayNotImport.includes(target) : !rule.mayImportOnly.includes(target)),
  );
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

interface Violation {
  pair: ImportPair;
  at: string;
  why: string;
}

function scan(): { files: number; violations: Violation[]; unchecked: string[] } {
  const violations: Violation[] = [];
  const unchecked: string[] = [];
  const files = sourceFiles(SRC);
  for (const full of files) {
    const file = path.relative(ROOT, full).split(path.sep).join('/');
    for (const found of importsOf(file, readFileSync(full, 'utf8'))) {
      if (found.specifier === undefined) {
        if (layerOf(file) !== undefined && RULES.some((rule) => rule.from.includes(layerOf(file)!))) unchecked.push(`${file}:${found.line}`);
        continue;
      }
      const rule = brokenRule(file, found.specifier);
      if (rule !== undefined) violations.push({ pair: `${file} -> ${found.specifier}`, at: `${file}:${found.line}`, why: rule.why });
    }
  }
  return { files: files.length, violations, unchecked };
}

describe('reading imports', () => {
  it('finds static imports, re-exports, dynamic imports and import types, and nothing in comments or strings', () => {
    const source = [
      "import { a } from './static.js';",
      "import type { B } from './type-only.js';",
      "import './side-effect.js';",
      "export { c } from './re-export.js';",
      "export * from './star.js';",
      "export const d = 1;",
      "const e = await import('./dynamic.js');",
      "let f: import('./import-type.js').F;",
      "import g = require('./require.js');",
      "const name = './computed.js'; await import(name);",
      "// import { h } from './comment.js';",
      "const text = \"import { i } from './string.js'\";",
    ].join('\n');
    expect(importsOf('x.ts', source)).toEqual([
      { specifier: './static.js', line: 1 },
      { specifier: './type-only.js', line: 2 },
      { specifier: './side-effect.js', line: 3 },
      { specifier: './re-export.js', line: 4 },
      { specifier: './star.js', line: 5 },
      { specifier: './dynamic.js', line: 7 },
      { specifier: './import-type.js', line: 8 },
      { specifier: './require.js', line: 9 },
      { specifier: undefined, line: 10 },
    ]);
  });

  it.each([
    ['src/pipeline/call-session.ts', '../tools/system-prompt.js', true],
    ['src/providers/offline/x.ts', '../../scheduling/time.js', true],
    ['src/core/x.ts', '../crm/customers.js', true],
    ['src/transports/twilio/x.ts', '../../assistant/x.js', true],
    ['src/audio/x.ts', '../calendar/calendar.js', true],
    ['src/db/call-records.ts', '../pipeline/call-session.js', true],
    ['src/observability/metrics.ts', '../pipeline/latency.js', true],
    ['src/observability/logger.ts', '../server/app.js', true],
    ['src/observability/metrics.ts', '../core/call-record.js', false],
    ['src/core/tool-port.ts', '../providers/llm.js', true],
    ['src/core/x.ts', '../config.js', true],
    ['src/core/call-record.ts', './tool-port.js', false],
    ['src/pipeline/call-session.ts', '../core/frames.js', false],
    ['src/pipeline/call-session.ts', '../providers/llm.js', false],
    ['src/pipeline/speech-output.test.ts', '../../test/support/fakes/scripted-tts.js', false],
    ['src/tools/book-appointment.ts', '../scheduling/booking-service.js', false],
    ['src/db/call-records.ts', './schema.js', false],
    ['src/server/app.ts', '../pipeline/call-manager.js', false],
    ['src/pipeline/x.ts', 'zod', false],
    ['src/pipeline/x.ts', 'node:fs', false],
  ])('%s importing %s breaks a rule: %s', (file, specifier, broken) => {
    expect(brokenRule(file, specifier) !== undefined).toBe(broken);
  });
});

describe('the import rule over src/', () => {
  const { files, violations, unchecked } = scan();
  const found = new Set(violations.map((v) => v.pair));

  it('reads every source file', () => {
    // Guards the scan itself: finding no files would find no violations.
    expect(files).toBeGreaterThan(50);
  });

  it('has no violation beyond the known ones', () => {
    const fresh = violations.filter((v) => !KNOWN_VIOLATIONS.includes(v.pair)).map((v) => `${v.at} imports '${v.pair.split(' -> ')[1]}': ${v.why}`);
    expect(fresh, 'new imports across the layering rule').toEqual([]);
  });

  it('lists only violations that still exist (remove fixed ones from KNOWN_VIOLATIONS)', () => {
    expect(KNOWN_VIOLATIONS.filter((pair) => !found.has(pair))).toEqual([]);
  });

  it('has no dynamic import with a computed specifier in a layer the rule binds (it could not be checked)', () => {
    expect(unchecked).toEqual([]);
  });
});
