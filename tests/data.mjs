// Where the shared fixtures live: $SHUFFLENET_DATA, else ../shared/data beside the repo.
// Missing fixtures are an error (never a silent skip): CI must have them.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const repo = fileURLToPath(new URL('..', import.meta.url));
export const DATA_DIR = process.env.SHUFFLENET_DATA ?? path.resolve(repo, '..', 'shared', 'data');

export function dataPath(rel) {
  const p = path.join(DATA_DIR, rel);
  if (!existsSync(p)) {
    throw new Error(`test fixture missing: ${p} (set SHUFFLENET_DATA to the folder holding models/, images/, reference/)`);
  }
  return p;
}

/** A seeded NCHW batch of n RGB images, values uniform in [-2, 2). */
export async function randomInput(n, h, w, seed) {
  const { rng } = await import('../dist/esm/src/random.js');
  return rng(seed).fillUniform(new Float32Array(n * 3 * h * w), 2);
}
