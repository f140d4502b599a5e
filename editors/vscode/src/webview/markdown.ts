// Markdown to HTML for chat messages. Runs in the webview and in the unit
// tests, so it uses no DOM. Raw HTML in a message is shown as text, never
// parsed, and links with a scheme other than http, https and mailto are
// dropped, so an answer cannot inject markup into the view.

import hljs from 'highlight.js/lib/common';
import MarkdownIt from 'markdown-it';

const SAFE_LINK = /^(?:https?:|mailto:)/i;

const ICON_START = '<svg viewBox="0 0 16 16" fill="none" stroke="currentColor" stroke-width="1.2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true">';

const COPY_ICON = `${ICON_START}<rect x="5.5" y="5.5" width="8" height="8" rx="1.5"/><path d="M10.5 5.5v-2A1.5 1.5 0 0 0 9 2H3.5A1.5 1.5 0 0 0 2 3.5V9a1.5 1.5 0 0 0 1.5 1.5h2"/></svg>`;

const INSERT_ICON = `${ICON_START}<path d="M8 2v8M5 7l3 3 3-3M2.5 11v2.5h11V11"/></svg>`;

const markdown = createRenderer();

/** Renders text, a whole or partly streamed message, to HTML. An unclosed code fence runs to the end. */
export function renderMarkdown(text: string): string {
  return markdown.render(text);
}

function createRenderer() {
  const md = new MarkdownIt({ html: false, linkify: true, breaks: false });
  const escape = md.utils.escapeHtml;

  md.validateLink = (url: string): boolean => SAFE_LINK.test(url.trim());

  // An image in an answer would load by itself, and its address can carry
  // whatever the answer put there (text from the user's code, steered by a
  // prompt injection). So an image is shown as a link the user may follow.
  md.renderer.rules.image = (tokens, index) => {
    const token = tokens[index];
    const src = String(token?.attrGet('src') ?? '');
    const alt = token?.content ?? '';
    const label = `image: ${alt === '' ? src : alt}`;
    if (!SAFE_LINK.test(src.trim())) {
      return escape(`[${label}]`);
    }
    return `<a href="${escape(src)}" title="${escape(src)}">${escape(`[${label}]`)}</a>`;
  };

  md.renderer.rules.fence = (tokens, index) => {
    const token = tokens[index];
    if (token === undefined) {
      return '';
    }
    const info = md.utils.unescapeAll(token.info).trim();
    const language = info.split(/\s+/)[0] ?? '';
    const known = language !== '' && hljs.getLanguage(language) !== undefined;
    const body = known ? hljs.highlight(token.content, { language, ignoreIllegals: true }).value : escape(token.content);
    const codeClass = known ? `hljs language-${escape(language)}` : 'hljs';

    return (
      '<div class="code-block">' +
      '<div class="code-header">' +
      `<span class="code-language">${escape(language === '' ? 'text' : language)}</span>` +
      `<button type="button" class="icon-button" data-action="copy-code" title="Copy" aria-label="Copy code">${COPY_ICON}</button>` +
      `<button type="button" class="icon-button" data-action="insert-code" title="Insert at cursor" aria-label="Insert code at the cursor">${INSERT_ICON}</button>` +
      '</div>' +
      `<pre><code class="${codeClass}">${body}</code></pre>` +
      '</div>\n'
    );
  };

  const defaultLinkOpen = md.renderer.rules.link_open ?? ((tokens, index, options, _env, self) => self.renderToken(tokens, index, options));
  md.renderer.rules.link_open = (tokens, index, options, env, self) => {
    const token = tokens[index];
    const href = token?.attrGet('href');
    if (token !== undefined && href !== null && href !== undefined) {
      token.attrSet('title', href);
    }
    return defaultLinkOpen(tokens, index, options, env, self);
  };

  return md;
}
