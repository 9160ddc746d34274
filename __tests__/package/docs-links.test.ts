import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

// The documentation stays true to the repository: every relative link points at
// a file it holds (and at a heading that exists, when it names one), nothing
// cites a file the repository does not hold, and the README stays short.

const ROOT = join(__dirname, '..', '..');

/** The documentation: README.md, the guides under docs/, and bench/README.md. */
function documents(): string[] {
  const docs = readdirSync(join(ROOT, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => join('docs', name));
  return ['README.md', ...docs, join('bench', 'README.md'), join('examples', 'README.md')].filter((f) =>
    existsSync(join(ROOT, f)),
  );
}

/** The text outside fenced code blocks. */
function prose(markdown: string): string {
  return markdown.replace(/^(`{3,}|~{3,})[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
}

/** The targets of `[text](target)` and `![alt](target)` links. */
function links(markdown: string): string[] {
  const targets: string[] = [];
  for (const match of prose(markdown).matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) targets.push(match[1]!);
  return targets;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\- _]/gu, '')
    .replace(/ /g, '-');
}

function anchors(markdown: string): Set<string> {
  const found = new Set<string>();
  for (const match of prose(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) found.add(slug(match[1]!));
  return found;
}

describe('documentation links', () => {
  const files = documents();

  test('the documents exist', () => {
    expect(files).toEqual(expect.arrayContaining(['README.md', join('bench', 'README.md')]));
    expect(files.filter((f) => f.startsWith('docs')).length).toBeGreaterThan(0);
  });

  test.each(files)('every relative link in %s resolves to a file of the repository', (file) => {
    const text = readFileSync(join(ROOT, file), 'utf8');
    const broken: string[] = [];
    for (const target of links(text)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, …
      const [path, fragment] = target.split('#') as [string, string | undefined];
      const resolved = path === '' ? join(ROOT, file) : join(ROOT, dirname(file), decodeURIComponent(path));
      if (relative(ROOT, resolved).startsWith('..')) {
        broken.push(`${target} (outside the repository)`);
      } else if (!existsSync(resolved) || !statSync(resolved).isFile()) {
        broken.push(`${target} (no such file)`);
      } else if (fragment !== undefined && fragment !== '' && resolved.endsWith('.md')) {
        if (!anchors(readFileSync(resolved, 'utf8')).has(fragment)) broken.push(`${target} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });
});

describe('nothing cites a file the repository does not hold', () => {
  // Built from parts, so that this file does not match itself.
  const FORBIDDEN = ['DESIGN' + '.md', 'research' + '/', 'libsql' + '-facts', 'seed' + '/'];
  const SKIP = new Set(['node_modules', '.git', 'dist', 'coverage', join('docs', 'api')]);

  function walk(dir: string, out: string[] = []): string[] {
    if (!existsSync(join(ROOT, dir))) return out;
    for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (SKIP.has(path) || entry.name === 'node_modules') continue;
      if (entry.isDirectory()) walk(path, out);
      else if (/\.(ts|js|mjs|cjs|md|json|svg)$/.test(entry.name)) out.push(path);
    }
    return out;
  }

  test('README.md, docs/, lib/, examples/, bench/, scripts/ and __tests__/', () => {
    const files = [
      ...documents(),
      ...['docs', 'lib', 'examples', 'bench', 'scripts', '__tests__'].flatMap((dir) => walk(dir)),
    ];
    const mentions: string[] = [];
    for (const file of new Set(files)) {
      const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
      lines.forEach((line, i) => {
        for (const word of FORBIDDEN) if (line.includes(word)) mentions.push(`${file}:${i + 1}: ${word}`);
      });
    }
    expect(mentions).toEqual([]);
  });
});

describe('README.md', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');

  test('has an Install section', () => {
    expect(readme).toMatch(/^## Install\s*$/m);
  });

  test('is at most 300 lines', () => {
    expect(readme.trimEnd().split('\n').length).toBeLessThanOrEqual(300);
  });

  test('keeps the generated config table between its markers', () => {
    const start = readme.indexOf('<!-- config-table:start -->');
    const end = readme.indexOf('<!-- config-table:end -->');
    expect(start).toBeGreaterThan(-1);
    expect(end).toBeGreaterThan(start);
  });
});
