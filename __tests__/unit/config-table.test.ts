import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIELDS, type Field } from '../../lib/config-fields';
import { README, renderConfigTable, withConfigTable } from '../../scripts/config-table';

// The field table in lib/config-fields.ts is the one source of the config's
// defaults and docs; README.md and PoolConfig's TSDoc must say the same.

describe('the PoolConfig table', () => {
  test('README.md holds the table rendered from the field table (npm run docs:config)', () => {
    const readme = readFileSync(README, 'utf8');
    expect(readme).toContain(renderConfigTable());
    expect(withConfigTable(readme)).toBe(readme);
  });

  test('it has one row per field', () => {
    const rows = renderConfigTable().split('\n').slice(2);
    expect(rows.map((row) => /^\| `(\w+)`/.exec(row)?.[1])).toEqual(Object.keys(FIELDS));
  });

  test.each(Object.entries(FIELDS).filter(([, field]) => 'default' in field) as Array<[string, Field]>)(
    "PoolConfig's TSDoc gives %s the default of the field table",
    (name, field) => {
      const tag = defaultTag(name);
      // Whole words, so that a default of 1 is not found in `10`.
      const words = tag.split(/[^\w.':]+/);
      for (const value of defaultsOf(field)) {
        if (value.includes(' ')) expect(tag).toContain(value);
        else expect(words).toContain(value);
      }
    },
  );
});

/** The `@default` text of the PoolConfig field `name`, as TypeDoc shows it. */
function defaultTag(name: string): string {
  const source = readFileSync(join(__dirname, '..', '..', 'lib', 'config-fields.ts'), 'utf8');
  const property = source.indexOf(`\n  ${name}?: `);
  const comment = source.slice(source.lastIndexOf('/**', property), property);
  return /@default (.*?)\s*(?:\*\/|\n|$)/.exec(comment)?.[1] ?? '(no @default)';
}

/** Every value the field table gives as a default, as it is written. */
function defaultsOf(field: Field): string[] {
  const text = (value: unknown) => (value === Number.POSITIVE_INFINITY ? 'Infinity' : String(value));
  switch (field.kind) {
    case 'choice':
      return [`'${field.default}'`];
    case 'statementCache':
      return [
        `maxSize: ${field.default.maxSize}`,
        `maxPerConnection: ${field.default.maxPerConnection}`,
        `admission: '${field.default.admission}'`,
      ];
    case 'duration':
      return field.serverDefault === undefined ? [text(field.default)] : [text(field.default), text(field.serverDefault)];
    default:
      return 'default' in field ? [text(field.default)] : [];
  }
}
