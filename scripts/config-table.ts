/**
 * Writes README.md's table of `PoolConfig` fields from the field table in
 * `lib/config-fields.ts`, so the two cannot disagree. Run: `npm run docs:config`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIELDS, type Field } from '../lib/config-fields';

export const README = join(__dirname, '..', 'README.md');
const START = '<!-- config-table:start -->';
const END = '<!-- config-table:end -->';

/** The markdown table: one row per field, in `PoolConfig`'s order. */
export function renderConfigTable(): string {
  const rows = Object.entries(FIELDS).map(([name, field]: [string, Field]) => {
    const label = field.kind === 'url' ? `\`${name}\` (required)` : `\`${name}\``;
    return `| ${label} | ${renderDefault(field)} | ${field.doc.replaceAll('|', '\\|')} |`;
  });
  return ['| field | default | what it does |', '|---|---|---|', ...rows].join('\n');
}

/** `readme` with the text between the markers replaced by the rendered table. */
export function withConfigTable(readme: string): string {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start === -1 || end < start) throw new Error(`README.md needs the markers ${START} and ${END}`);
  // Blank lines around the table: some renderers would read a marker as a row.
  return `${readme.slice(0, start + START.length)}\n\n${renderConfigTable()}\n\n${readme.slice(end)}`;
}

function renderDefault(field: Field): string {
  switch (field.kind) {
    case 'url':
      return '';
    case 'string':
    case 'function':
    case 'seconds':
    case 'number':
      return 'none';
    case 'boolean':
      return field.default === undefined ? 'none' : code(field.default);
    case 'integer':
      if (field.clientDefault !== undefined) {
        return `${code(field.default)}; ${code(field.clientDefault)} in \`createPooledClient\``;
      }
      return code(field.default);
    case 'choice':
      return `\`'${field.default}'\``;
    case 'statementCache':
      return `\`{ maxSize: ${field.default.maxSize}, maxPerConnection: ${field.default.maxPerConnection}, admission: '${field.default.admission}' }\``;
    case 'duration':
      if (field.serverDefault !== undefined) {
        return `${code(field.default)} for files, ${code(field.serverDefault)} for a server`;
      }
      return code(field.default);
    default:
      return code(field.default);
  }
}

function code(value: number | boolean): string {
  return `\`${value === Number.POSITIVE_INFINITY ? 'Infinity' : String(value)}\``;
}

if (require.main === module) {
  const before = readFileSync(README, 'utf8');
  const after = withConfigTable(before);
  if (after !== before) writeFileSync(README, after);
  console.log(after === before ? 'README.md config table is up to date' : 'README.md config table rewritten');
}
