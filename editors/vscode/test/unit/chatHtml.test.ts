import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { chatPage, contentSecurityPolicy, newNonce } from '../../src/chatHtml';

const inputs = {
  cspSource: 'https://file+.vscode-resource.vscode-cdn.net',
  scriptUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/dist/webview.js',
  styleUri: 'https://file+.vscode-resource.vscode-cdn.net/ext/media/chat.css',
  nonce: 'bm9uY2Utdmc9PQ==',
};

describe('contentSecurityPolicy', () => {
  const csp = contentSecurityPolicy(inputs.cspSource, inputs.nonce);

  it('blocks everything by default', () => {
    assert.match(csp, /^default-src 'none';/);
    assert.match(csp, /connect-src 'none'/);
  });

  it('allows only the script with the nonce', () => {
    assert.match(csp, /script-src 'nonce-bm9uY2Utdmc9PQ=='(;|$)/);
    assert.ok(!csp.includes('unsafe-inline'));
    assert.ok(!csp.includes('unsafe-eval'));
  });

  it('loads no image from the network', () => {
    const sources = (/img-src ([^;]*)/.exec(csp)?.[1] ?? '').split(' ');
    assert.ok(!sources.includes('https:'), sources.join(' '));
    assert.ok(!sources.includes('http:'), sources.join(' '));
    assert.ok(!sources.includes('*'), sources.join(' '));
  });

  it('allows styles from the extension only', () => {
    assert.match(csp, new RegExp(`style-src ${inputs.cspSource.replace(/[.+]/g, '\\$&')}(;|$)`));
  });
});

describe('chatPage', () => {
  const page = chatPage(inputs);

  it('carries the policy in a meta tag', () => {
    assert.match(page, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'nonce-bm9uY2Utdmc9PQ=='/);
  });

  it('gives every script the nonce', () => {
    const scripts = page.match(/<script[^>]*>/g) ?? [];
    assert.equal(scripts.length, 1);
    assert.match(scripts[0]!, /nonce="bm9uY2Utdmc9PQ=="/);
    assert.match(scripts[0]!, /src="https:\/\/file\+\.vscode-resource\.vscode-cdn\.net\/ext\/dist\/webview\.js"/);
  });

  it('has no inline styles or handlers', () => {
    assert.ok(!/\sstyle=/.test(page));
    assert.ok(!/\son[a-z]+=/.test(page));
  });

  it('escapes the addresses', () => {
    const got = chatPage({ ...inputs, styleUri: 'https://x/"><script>' });
    assert.ok(!got.includes('"><script>'));
  });
});

describe('newNonce', () => {
  it('differs each time', () => {
    assert.notEqual(newNonce(), newNonce());
    assert.equal(Buffer.from(newNonce(), 'base64').length, 16);
  });
});
