// Question prompts are Markdown written by interviewers and shown to candidates. They are rendered
// with `marked` (small, maintained, no runtime code generation, so it works under the strict CSP)
// and then sanitised with DOMPurify. Raw HTML in the Markdown is never passed through: it is shown
// as text. Links keep only http(s), mailto and in-page targets and open in a new tab without
// referrer; images are shown as their alt text (a prompt must not make the candidate's browser
// fetch third-party URLs). DOMPurify is the second fence, should a future `marked` emit more.
import DOMPurify from 'dompurify';
import { Marked, type Tokens } from 'marked';

const SAFE_HREF = /^(https?:|mailto:|#)/i;

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const marked = new Marked({
  gfm: true,
  breaks: false,
  async: false,
  renderer: {
    html(token: Tokens.HTML | Tokens.Tag): string {
      return escapeHtml(token.text);
    },
    link(this: { parser: { parseInline(tokens: Tokens.Generic[]): string } }, token: Tokens.Link): string {
      const text = this.parser.parseInline(token.tokens);
      const href = token.href.trim();
      if (!SAFE_HREF.test(href)) return text;
      return `<a href="${escapeHtml(href)}" target="_blank" rel="noopener noreferrer">${text}</a>`;
    },
    image(token: Tokens.Image): string {
      return escapeHtml(token.text);
    },
  },
});

/** The prompt's HTML before sanitising (what the tests pin down). */
export function markdownToHtml(markdown: string): string {
  return marked.parse(markdown, { async: false }) as string;
}

/** HTML safe to put into the page. */
export function renderMarkdown(markdown: string): string {
  return DOMPurify.sanitize(markdownToHtml(markdown), {
    USE_PROFILES: { html: true },
    FORBID_TAGS: ['style', 'form', 'input', 'button', 'iframe', 'img'],
    FORBID_ATTR: ['style'],
    ADD_ATTR: ['target'],
  });
}
