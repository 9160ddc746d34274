import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

// The source layout is part of what keeps the code readable: no file in lib/
// grows past a sitting's read, and no two modules need each other (type-only
// imports included, since a cycle of types is still a cycle of concepts).

const LIB = join(__dirname, '..', '..', 'lib');
const MAX_LINES = 450;

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

/** The lib/ files a module imports or re-exports, resolved as TypeScript resolves relative specifiers. */
function localImports(file: string, known: Set<string>): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, false);
  return importedFiles
    .map(({ fileName }) => fileName)
    .filter((spec) => spec.startsWith('.'))
    .map((spec) => {
      const base = resolve(dirname(file), spec);
      return [`${base}.ts`, join(base, 'index.ts')].find((candidate) => known.has(candidate));
    })
    .filter((target): target is string => target !== undefined);
}

/** Every cycle's path, found by a depth-first walk (white, grey, black). */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const done = new Set<string>();
  const stack: string[] = [];
  const visit = (node: string): void => {
    if (done.has(node)) return;
    const at = stack.indexOf(node);
    if (at >= 0) {
      found.push([...stack.slice(at), node]);
      return;
    }
    stack.push(node);
    for (const next of graph.get(node) ?? []) visit(next);
    stack.pop();
    done.add(node);
  };
  for (const node of graph.keys()) visit(node);
  return found;
}

const files = sources(LIB);
const name = (file: string): string => relative(LIB, file);

test('lib/ has no import cycle, type-only imports included', () => {
  const known = new Set(files);
  const graph = new Map(files.map((file) => [file, localImports(file, known)]));
  expect(cycles(graph).map((cycle) => cycle.map(name).join(' -> '))).toEqual([]);
});

test(`no file in lib/ is over ${MAX_LINES} lines`, () => {
  const long = files
    .map((file) => ({ file: name(file), lines: readFileSync(file, 'utf8').split('\n').length }))
    .filter(({ lines }) => lines > MAX_LINES);
  expect(long).toEqual([]);
});

test('the cycle check finds a cycle when there is one', () => {
  // Guards the check itself: a walk that never reports would pass forever.
  const graph = new Map([
    ['a', ['b']],
    ['b', ['c']],
    ['c', ['a']],
    ['d', ['a']],
  ]);
  expect(cycles(graph)).toEqual([['a', 'b', 'c', 'a']]);
});

test('every test sits in the folder of what it specifies, none at the top of __tests__/', () => {
  const TESTS = join(__dirname, '..');
  const groups = ['conformance', 'drivers', 'package', 'pool', 'reliability', 'support', 'unit'];
  const entries = readdirSync(TESTS, { withFileTypes: true });
  expect(entries.filter((entry) => entry.isFile()).map((entry) => entry.name)).toEqual([]);
  expect(entries.map((entry) => entry.name).sort()).toEqual(groups);
});
