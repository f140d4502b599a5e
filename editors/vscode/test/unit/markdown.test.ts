import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { renderMarkdown } from '../../src/webview/markdown';

describe('renderMarkdown', () => {
  it('highlights a fenced code block', () => {
    const got = renderMarkdown('```go\nfunc main() {}\n```');
    assert.match(got, /<div class="code-block">/);
    assert.match(got, /<span class="code-language">go<\/span>/);
    assert.match(got, /<code class="hljs language-go">/);
    assert.match(got, /<span class="hljs-keyword">func<\/span>/);
    assert.match(got, /data-action="copy-code"/);
    assert.match(got, /data-action="insert-code"/);
  });

  it('escapes code of an unknown language', () => {
    const got = renderMarkdown('```nosuchlang\n<b>x</b>\n```');
    assert.match(got, /<code class="hljs">&lt;b&gt;x&lt;\/b&gt;/);
    assert.match(got, /<span class="code-language">nosuchlang<\/span>/);
  });

  it('labels a fence without a language as text', () => {
    assert.match(renderMarkdown('```\nplain\n```'), /<span class="code-language">text<\/span>/);
  });

  it('renders an unclosed fence as code while it streams', () => {
    const got = renderMarkdown('Here:\n\n```python\nprint(1)');
    assert.match(got, /<code class="hljs language-python">/);
    assert.match(got, /print/);
  });

  it('shows raw HTML as text', () => {
    const got = renderMarkdown('<img src=x onerror=alert(1)> and <script>alert(2)</script>');
    assert.ok(!got.includes('<img'), got);
    assert.ok(!got.includes('<script'), got);
    assert.match(got, /&lt;script&gt;/);
  });

  it('drops javascript links', () => {
    const got = renderMarkdown('[click](javascript:alert(1))');
    assert.ok(!got.includes('href="javascript'), got);
  });

  it('drops data links', () => {
    assert.ok(!renderMarkdown('[x](data:text/html;base64,PHNjcmlwdD4=)').includes('href="data'));
  });

  it('keeps https links with a title', () => {
    const got = renderMarkdown('[Poe](https://poe.com/api_key)');
    assert.match(got, /<a href="https:\/\/poe.com\/api_key" title="https:\/\/poe.com\/api_key">Poe<\/a>/);
  });

  it('links bare addresses', () => {
    assert.match(renderMarkdown('see https://poe.com now'), /<a href="https:\/\/poe.com"/);
  });

  it('escapes a quote in the language name', () => {
    const got = renderMarkdown('```a"b\nx\n```');
    assert.ok(!got.includes('a"b'), got);
  });

  it('renders lists and emphasis', () => {
    const got = renderMarkdown('- **bold** and `code`');
    assert.match(got, /<li><strong>bold<\/strong> and <code>code<\/code><\/li>/);
  });
});

it('turns images in an answer into links that never load', () => {
  const got = renderMarkdown('![leak](https://127.0.0.1:9/leak.png?secret=abc) and ![x](javascript:alert(1))');
  assert.ok(!got.includes('<img'), got);
  assert.ok(got.includes('href="https://127.0.0.1:9/leak.png?secret=abc"'), got);
  assert.ok(!got.includes('javascript:alert(1)"'), got);
});
