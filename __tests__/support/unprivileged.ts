import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export { transpileLib } from './transpile-lib';

// Permission bits mean nothing to root, and these tests run as root: a scenario
// about files it may not write has to run as another user. As root it runs as
// `nobody`; as anyone else, as that user (the bits then apply already).
//
// How `nobody` reaches the code: this checkout may sit under a directory it
// cannot enter, so the scenario and lib/ (transpiled to CommonJS, a few dozen
// small files) are written into the test's own temporary directory, opened to
// everyone; packages come from the checkout's node_modules through NODE_PATH.
// That one directory tree must be readable by everyone, which is how npm
// installs it (umask 022); if it is not, the run fails saying so.

const ROOT = resolve(__dirname, '..', '..');

function nobody(): { uid: number; gid: number } {
  const id = (flag: string, fallback: number) => {
    try {
      return Number(execFileSync('id', [flag, 'nobody'], { encoding: 'utf8' }).trim());
    } catch {
      return fallback;
    }
  };
  return { uid: id('-u', 65534), gid: id('-g', 65534) };
}

/** The user the scenario runs as: `nobody` when this process is root, else this process's own. */
export const unprivileged: { uid: number; gid: number } | undefined = process.getuid?.() === 0 ? nobody() : undefined;


/**
 * Runs `script` (CommonJS, in `dir`, next to a `lib` from `transpileLib`) as
 * the unprivileged user and resolves with what it printed. `dir` and its
 * parents must be open to that user.
 */
export function runUnprivileged(dir: string, script: string, env: Record<string, string>): Promise<string> {
  const file = join(dir, `scenario-${Date.now()}-${Math.random().toString(36).slice(2)}.js`);
  writeFileSync(file, script, { mode: 0o644 });
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [file], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', NODE_PATH: join(ROOT, 'node_modules'), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...unprivileged,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) return resolveRun(stdout);
      const hint = /MODULE_NOT_FOUND|EACCES/.test(stderr)
        ? `\n(the scenario runs as uid ${unprivileged?.uid ?? process.getuid?.()}: ${join(ROOT, 'node_modules')} ` +
          'and its parent directories must be readable by that user, e.g. chmod -R o+rX)'
        : '';
      reject(new Error(`scenario exited with ${code}:\n${stderr}${hint}`));
    });
  });
}
