import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { OPTIONS, resolveConfig } from './index.js';

test('the README documents every option with its flag and environment variable', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  for (const option of OPTIONS) {
    assert.match(readme, new RegExp(`\\| \`${option.flag}\` \\| \`${option.env}\` \\|`), `${option.flag} / ${option.env} missing from README`);
  }
});

test('flags win over the environment, which wins over defaults', () => {
  const config = resolveConfig({ env: { VIGIL_PORT: '9000', VIGIL_DATA: '/env' }, argv: ['--data', '/flag'] });
  assert.equal(config.port, 9000);
  assert.equal(config.dataDir, '/flag');
  assert.equal(config.host, '127.0.0.1');
});

test('bad configuration fails fast naming the option', () => {
  assert.throws(() => resolveConfig({ env: { VIGIL_PORT: 'eighty' }, argv: [] }), /--port \/ VIGIL_PORT must be an integer/);
  assert.throws(() => resolveConfig({ env: {}, argv: ['--nope'] }), /unknown option --nope/);
  assert.throws(() => resolveConfig({ env: { VIGIL_SYNC: 'sometimes' }, argv: [] }), /VIGIL_SYNC/);
});
