// loadModel where code generation from strings is forbidden (Cloudflare Workers, Vercel Edge,
// pages whose CSP lacks 'unsafe-eval'): a child Node run with
// --disallow-code-generation-from-strings loads both ONNX zoo models and a written v1 and v2
// model and must give the same top-1 and bit-identical logits as this process.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { runAll } from './no-eval-models.mjs';

const helper = fileURLToPath(new URL('./no-eval-models.mjs', import.meta.url));

function inChild(nodeFlags) {
  const script = `
    let evalAllowed = true;
    try { new Function('return 1'); } catch { evalAllowed = false; }
    const { runAll } = await import(${JSON.stringify(helper)});
    try {
      console.log(JSON.stringify({ evalAllowed, results: await runAll() }));
    } catch (e) {
      console.log(JSON.stringify({ evalAllowed, error: e.code ? e.message : \`\${e.name}: \${e.message}\` }));
    }`;
  const res = spawnSync(process.execPath, [...nodeFlags, '--input-type=module', '-e', script], { encoding: 'utf8', maxBuffer: 64 << 20, timeout: 120_000 });
  assert.is(res.status, 0, `child exited ${res.status}: ${res.stderr}`);
  return JSON.parse(res.stdout.trim().split('\n').pop());
}

test('loadModel works with --disallow-code-generation-from-strings: zoo fp32, zoo QDQ, written v1 and v2', async () => {
  const child = inChild(['--disallow-code-generation-from-strings']);
  assert.is(child.evalAllowed, false, 'the child really forbids new Function');
  assert.is(child.error, undefined, `loadModel failed without code generation: ${child.error}`);
  const here = await runAll();
  assert.equal(Object.keys(child.results), Object.keys(here));
  for (const [name, ref] of Object.entries(here)) {
    const got = child.results[name];
    assert.is(got.logits.length, ref.logits.length, `${name}: logits`);
    assert.is(got.top1, ref.top1, `${name}: top-1`);
    const differ = ref.logits.filter((v, i) => !Object.is(v, got.logits[i])).length;
    assert.is(differ, 0, `${name}: ${differ} logits differ from the normal path`);
    console.log(`    ${name}: top-1 ${got.top1}, ${got.logits.length} logits identical without code generation`);
  }
  assert.is(here['zoo fp32'].top1, 281, 'the cat crop is a tabby cat');
  assert.is(here['zoo int8 QDQ'].top1, 281);
});

test.run();
