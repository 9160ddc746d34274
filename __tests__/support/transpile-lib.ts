import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const ROOT = resolve(__dirname, '..', '..');

/** Writes lib/ as CommonJS under `dir/lib`, as ts-node's transpile-only mode would. */
export function transpileLib(dir: string): string {
  const source = join(ROOT, 'lib');
  const outDir = join(dir, 'lib');
  const walk = (d: string): string[] =>
    readdirSync(d, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? walk(join(d, entry.name)) : entry.name.endsWith('.ts') ? [join(d, entry.name)] : [],
    );
  for (const file of walk(source)) {
    const { outputText } = ts.transpileModule(readFileSync(file, 'utf8'), {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    });
    const out = join(outDir, relative(source, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, outputText);
  }
  return outDir;
}
