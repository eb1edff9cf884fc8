// The repo as a user gets it: `npm pack` (after `npm run build`), then the tarball installed into
// an empty project in a temporary folder. Shared by the packaging, browser and bundler tests.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import path from 'node:path';

export const repo = fileURLToPath(new URL('..', import.meta.url));

/** Runs a command; throws with its output unless it exits 0. Returns stdout. */
export function ok(cmd, args, opts = {}) {
  const res = spawnSync(cmd, args, { encoding: 'utf8', timeout: 240_000, maxBuffer: 64 << 20, ...opts });
  if (res.error) throw res.error;
  if (res.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${res.status}\n${res.stdout}\n${res.stderr}`);
  return res.stdout;
}

/**
 * Packs the repo into a new temporary folder and installs the tarball into `project/` there,
 * whose package.json gets `fields` (e.g. { type: 'module' }).
 * @returns {{ tmp: string, tarball: string, packInfo: any, project: string, installed: string }}
 */
export function packAndInstall(prefix, fields = {}) {
  const tmp = mkdtempSync(path.join(os.tmpdir(), prefix));
  const packJson = ok('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', tmp], { cwd: repo });
  const packInfo = JSON.parse(packJson.slice(packJson.indexOf('[')))[0];
  const tarball = path.join(tmp, packInfo.filename);
  const project = path.join(tmp, 'project');
  mkdirSync(project);
  writeFileSync(path.join(project, 'package.json'), `${JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, ...fields }, null, 2)}\n`);
  ok('npm', ['install', tarball, '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], { cwd: project });
  return { tmp, tarball, packInfo, project, installed: path.join(project, 'node_modules', 'shufflenet-wasm') };
}
