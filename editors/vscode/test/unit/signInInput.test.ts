import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { apiKeyProblem, parsePastedCallback } from '../../src/signInInput';
import { selectionPrompt } from '../../src/selectionPrompt';

describe('apiKeyProblem', () => {
  it('accepts a key with the prefix', () => {
    assert.equal(apiKeyProblem('sk-poe-' + 'a'.repeat(34)), undefined);
  });

  it('accepts a key without the prefix', () => {
    assert.equal(apiKeyProblem('A1_-'.repeat(9)), undefined);
  });

  it('accepts surrounding white space', () => {
    assert.equal(apiKeyProblem(`  sk-poe-${'b'.repeat(40)}\n`), undefined);
  });

  it('rejects an empty key', () => {
    assert.match(apiKeyProblem('   ') ?? '', /Paste the key/);
  });

  it('rejects a short key', () => {
    assert.match(apiKeyProblem('sk-poe-' + 'a'.repeat(20)) ?? '', /at least 34/);
  });

  it('rejects inner spaces', () => {
    assert.match(apiKeyProblem('sk-poe-abc def' + 'a'.repeat(40)) ?? '', /no spaces/);
  });

  it('rejects other characters', () => {
    assert.match(apiKeyProblem('a'.repeat(40) + '!') ?? '', /not a Poe API key/);
  });
});

describe('parsePastedCallback', () => {
  it('takes a callback address', () => {
    const url = 'http://127.0.0.1:53127/callback?code=abc&state=xyz';
    assert.deepEqual(parsePastedCallback(` ${url} `), { callbackUrl: url });
  });

  it('takes an address with an error', () => {
    const url = 'http://127.0.0.1:53127/callback?error=access_denied&state=xyz';
    assert.deepEqual(parsePastedCallback(url), { callbackUrl: url });
  });

  it('takes a bare code', () => {
    assert.deepEqual(parsePastedCallback('abc123'), { code: 'abc123' });
  });

  const problems: Array<[string, string, RegExp]> = [
    ['empty text', '', /Paste the address/],
    ['text with spaces', 'not a code', /whole address/],
    ['an address without a code', 'http://127.0.0.1:53127/callback?state=xyz', /no "code" parameter/],
    ['another scheme', 'ftp://127.0.0.1/callback?code=x', /must start with http/],
    ['a broken address', 'http://[::1/callback?code=x', /not a valid address/],
  ];
  for (const [name, text, want] of problems) {
    it(`rejects ${name}`, () => {
      const got = parsePastedCallback(text);
      assert.ok('problem' in got, JSON.stringify(got));
      assert.match(got.problem, want);
    });
  }
});

describe('selectionPrompt', () => {
  it('fences the code with its language', () => {
    const got = selectionPrompt('Explain this code.', 'x := 1', 'go', 'main.go');
    assert.equal(got, 'Explain this code.\n\nFrom `main.go`:\n\n```go\nx := 1\n```');
  });

  it('keeps a final newline single', () => {
    assert.ok(selectionPrompt('Q', 'a\n', 'text', 'f').endsWith('a\n```'));
  });

  it('uses a longer fence than any inside the code', () => {
    const got = selectionPrompt('Q', 'text\n````\nmore', 'markdown', 'README.md');
    assert.ok(got.includes('`````markdown\n'), got);
    assert.ok(got.endsWith('\n`````'), got);
  });
});
