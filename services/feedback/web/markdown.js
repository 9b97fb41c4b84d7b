// A small, safe Markdown renderer for the annotator page.
//
// Model responses, prompts and guidelines are untrusted text. Safety does not come from escaping
// and then un-escaping a subset; it comes from never parsing HTML at all: the renderer builds DOM
// nodes with createElement and createTextNode, so any `<script>` or `<img onerror=…>` in the
// source is, by construction, plain text that the browser displays and never interprets. The only
// attribute ever set from the source is a link's href, and only after URL() has parsed it as an
// absolute http: or https: URL.
//
// Supported: paragraphs (a single newline is a line break, as chat models mean it), ATX headings,
// fenced code blocks, bullet and numbered lists (nested by indentation), block quotes, horizontal
// rules, **bold**, __bold__, *italic*, _italic_, `code`, [links](https://…), <https://…> and
// bare http(s) URLs, and backslash escapes. Everything else stays literal text.
//
//   ReinMarkdown.render(text, {headingOffset: 2}) -> DocumentFragment
//   ReinMarkdown.safeHref(url) -> string | null
'use strict';

(function () {
  const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)[^`]*$/;
  const HEADING = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
  const RULE = /^ {0,3}([-*_])(?:[ \t]*\1){2,}[ \t]*$/;
  const LIST_ITEM = /^( *)([-*+]|\d{1,9}[.)])(?:[ \t]+(.*))?$/;
  const QUOTE = /^ {0,3}> ?(.*)$/;
  const BLANK = /^\s*$/;
  const MAX_DEPTH = 12;  // nested lists / quotes; deeper input stays as text (no stack blow-up)

  function el(tag, className) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    return e;
  }

  // Returns the normalised href for an absolute http(s) URL, or null for anything else
  // (javascript:, data:, vbscript:, relative paths, garbage).
  function safeHref(raw) {
    if (typeof raw !== 'string' || /[\u0000-\u001f\s]/.test(raw)) return null;
    let url;
    try {
      url = new URL(raw);
    } catch (_) {
      return null;
    }
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.href : null;
  }

  function makeLink(href, parent) {
    const a = el('a');
    a.href = href;
    a.rel = 'noopener noreferrer nofollow';
    a.target = '_blank';
    parent.appendChild(a);
    return a;
  }

  function isStartOfBlock(line) {
    return FENCE.test(line) || HEADING.test(line) || RULE.test(line) || QUOTE.test(line) ||
      LIST_ITEM.test(line);
  }

  // ---- block level -------------------------------------------------------------------------

  function renderBlocks(lines, parent, opts, depth) {
    let i = 0;
    while (i < lines.length) {
      const line = lines[i];
      let m;
      if (BLANK.test(line)) {
        i++;
      } else if ((m = FENCE.exec(line))) {
        // Everything up to the closing fence (same character, at least as long) is code.
        const fence = m[1];
        const body = [];
        i++;
        while (i < lines.length && !new RegExp('^ {0,3}' + fence[0] + '{' + fence.length + ',}\\s*$').test(lines[i])) {
          body.push(lines[i]);
          i++;
        }
        i++;  // the closing fence (or past the end when unclosed)
        const pre = el('pre');
        const code = el('code');
        if (/^[\w+#.-]{1,32}$/.test(m[2])) code.dataset.lang = m[2];
        code.textContent = body.join('\n');
        pre.appendChild(code);
        parent.appendChild(pre);
      } else if ((m = HEADING.exec(line))) {
        const level = Math.min(6, m[1].length + (opts.headingOffset || 0));
        const h = el('h' + level);
        renderInline(m[2] || '', h, depth);
        parent.appendChild(h);
        i++;
      } else if (RULE.test(line)) {
        parent.appendChild(el('hr'));
        i++;
      } else if (QUOTE.test(line) && depth < MAX_DEPTH) {
        const inner = [];
        while (i < lines.length && (m = QUOTE.exec(lines[i]))) {
          inner.push(m[1]);
          i++;
        }
        const q = el('blockquote');
        renderBlocks(inner, q, opts, depth + 1);
        parent.appendChild(q);
      } else if ((m = LIST_ITEM.exec(line)) && depth < MAX_DEPTH) {
        i = renderList(lines, i, parent, opts, depth);
      } else {
        // A paragraph: consecutive lines until a blank line or another block starts.
        const p = el('p');
        let first = true;
        while (i < lines.length && !BLANK.test(lines[i]) && (first || !isStartOfBlock(lines[i]))) {
          if (!first) p.appendChild(el('br'));
          renderInline(lines[i].trim(), p, depth);
          first = false;
          i++;
        }
        parent.appendChild(p);
      }
    }
  }

  // Renders the list that starts at lines[start]; returns the index of the first line after it.
  // An item's own lines (its first line, then lines indented past its marker) are rendered
  // recursively, which gives nested lists without a separate nesting parser.
  function renderList(lines, start, parent, opts, depth) {
    const first = LIST_ITEM.exec(lines[start]);
    const baseIndent = first[1].length;
    const ordered = /\d/.test(first[2]);
    const list = el(ordered ? 'ol' : 'ul');
    if (ordered) {
      const n = parseInt(first[2], 10);
      if (n !== 1) list.start = n;
    }
    let i = start;
    let loose = false;
    const items = [];
    while (i < lines.length) {
      const m = LIST_ITEM.exec(lines[i]);
      if (!m || m[1].length !== baseIndent || /\d/.test(m[2]) !== ordered) break;
      const contentIndent = baseIndent + m[2].length + 1;
      const body = [m[3] || ''];
      i++;
      // Continuation: indented lines, and blank lines followed by more indented lines.
      while (i < lines.length) {
        const line = lines[i];
        if (BLANK.test(line)) {
          let j = i;
          while (j < lines.length && BLANK.test(lines[j])) j++;
          if (j < lines.length && leadingSpaces(lines[j]) >= contentIndent) {
            loose = true;
            for (; i < j; i++) body.push('');
            continue;
          }
          break;
        }
        const sub = LIST_ITEM.exec(line);
        if (leadingSpaces(line) >= contentIndent || (sub && sub[1].length > baseIndent)) {
          body.push(line.slice(Math.min(leadingSpaces(line), contentIndent)));
          i++;
        } else if (!isStartOfBlock(line)) {
          body.push(line.trim());  // a lazy continuation of the item's paragraph
          i++;
        } else {
          break;
        }
      }
      items.push(body);
      // A blank line between two items makes the list loose (items become paragraphs).
      if (i < lines.length && BLANK.test(lines[i])) {
        let j = i;
        while (j < lines.length && BLANK.test(lines[j])) j++;
        const next = j < lines.length && LIST_ITEM.exec(lines[j]);
        if (!next || next[1].length !== baseIndent || /\d/.test(next[2]) !== ordered) break;
        loose = true;
        i = j;
      }
    }
    for (const body of items) {
      const li = el('li');
      renderBlocks(body, li, opts, depth + 1);
      // A tight list shows its items' text directly, not wrapped in paragraphs.
      if (!loose) {
        for (const child of Array.from(li.childNodes)) {
          if (child.nodeName === 'P') {
            while (child.firstChild) li.insertBefore(child.firstChild, child);
            li.removeChild(child);
          }
        }
      }
      list.appendChild(li);
    }
    parent.appendChild(list);
    return i;
  }

  function leadingSpaces(line) {
    return line.length - line.replace(/^ +/, '').length;
  }

  // ---- inline level ------------------------------------------------------------------------

  const ESCAPABLE = '\\`*_{}[]()#+-.!<>|~"\'';
  const BARE_URL = /^https?:\/\/[^\s<>"'`]+/;

  function isSpace(c) {
    return c === undefined || /\s/.test(c);
  }
  function isWordChar(c) {
    return c !== undefined && /[\p{L}\p{N}]/u.test(c);
  }
  function runLength(s, i, ch) {
    let n = 0;
    while (s[i + n] === ch) n++;
    return n;
  }

  // Finds the closing delimiter for an emphasis run of n `ch` opened before `from`: a run of at
  // least n, not preceded by whitespace (and, for `_`, not followed by a letter, so snake_case
  // stays literal). Returns the index where the closing n characters start, or -1. Code spans are
  // skipped so `**` inside backticks does not close anything.
  function findClose(s, from, ch, n) {
    let k = from;
    while (k < s.length) {
      const c = s[k];
      if (c === '\\') {
        k += 2;
      } else if (c === '`') {
        const run = runLength(s, k, '`');
        const end = s.indexOf('`'.repeat(run), k + run);
        k = end < 0 ? k + run : end + run;
      } else if (c === ch) {
        const run = runLength(s, k, ch);
        if (run >= n && !isSpace(s[k - 1]) && k > from && !(ch === '_' && isWordChar(s[k + run]))) {
          return k + run - n;
        }
        k += run;
      } else {
        k++;
      }
    }
    return -1;
  }

  // Finds the `]` that closes the `[` at i, allowing nested brackets; -1 when there is none.
  function findBracket(s, i) {
    let level = 0;
    for (let k = i; k < s.length; k++) {
      if (s[k] === '\\') k++;
      else if (s[k] === '[') level++;
      else if (s[k] === ']' && --level === 0) return k;
    }
    return -1;
  }

  function renderInline(s, parent, depth) {
    let text = '';
    const flush = () => {
      if (text) parent.appendChild(document.createTextNode(text));
      text = '';
    };
    let i = 0;
    while (i < s.length) {
      const c = s[i];
      if (c === '\\' && i + 1 < s.length && ESCAPABLE.includes(s[i + 1])) {
        text += s[i + 1];
        i += 2;
        continue;
      }
      if (c === '`') {
        const run = runLength(s, i, '`');
        const end = s.indexOf('`'.repeat(run), i + run);
        if (end > i && s[end + run] !== '`') {
          let body = s.slice(i + run, end);
          if (body.length > 1 && body[0] === ' ' && body[body.length - 1] === ' ') body = body.slice(1, -1);
          flush();
          const code = el('code');
          code.textContent = body;
          parent.appendChild(code);
          i = end + run;
        } else {
          text += '`'.repeat(run);
          i += run;
        }
        continue;
      }
      if ((c === '*' || c === '_') && depth < MAX_DEPTH) {
        const run = runLength(s, i, c);
        // `_` opens only at a word start; any opener must be followed by a non-space.
        const canOpen = !isSpace(s[i + run]) && !(c === '_' && isWordChar(s[i - 1]));
        if (canOpen) {
          const n = run >= 2 ? 2 : 1;
          let close = findClose(s, i + n, c, n);
          let size = n;
          if (close < 0 && n === 2) {  // `**x*` → a literal `*` then italic x
            close = findClose(s, i + 1, c, 1);
            size = 1;
          }
          if (close > i + size) {
            flush();
            const node = el(size === 2 ? 'strong' : 'em');
            renderInline(s.slice(i + size, close), node, depth + 1);
            parent.appendChild(node);
            i = close + size;
            continue;
          }
        }
        text += c.repeat(run);
        i += run;
        continue;
      }
      if (c === '[' && depth < MAX_DEPTH) {
        const close = findBracket(s, i);
        const m = close > 0 ? /^\(\s*<?([^\s()<>]*)>?(?:\s+"[^"]*")?\s*\)/.exec(s.slice(close + 1)) : null;
        const href = m && safeHref(m[1]);
        if (href) {
          flush();
          renderInline(s.slice(i + 1, close), makeLink(href, parent), depth + 1);
          i = close + 1 + m[0].length;
          continue;
        }
        // Not a link (or an unsafe URL): the brackets and target stay visible as text.
        text += c;
        i++;
        continue;
      }
      if (c === '<') {
        // <https://…> is an autolink; any other `<` is just a character.
        const m = /^<(https?:\/\/[^\s<>]+)>/.exec(s.slice(i));
        const href = m && safeHref(m[1]);
        if (href) {
          flush();
          makeLink(href, parent).textContent = m[1];
          i += m[0].length;
          continue;
        }
      }
      if ((c === 'h' || c === 'H') && !isWordChar(s[i - 1])) {
        const m = BARE_URL.exec(s.slice(i));
        if (m) {
          // Trailing punctuation usually ends the sentence, not the URL.
          let url = m[0].replace(/[.,;:!?)\]}*_]+$/, '');
          const href = safeHref(url);
          if (href) {
            flush();
            makeLink(href, parent).textContent = url;
            i += url.length;
            continue;
          }
        }
      }
      text += c;
      i++;
    }
    flush();
  }

  function render(source, opts) {
    const frag = document.createDocumentFragment();
    const lines = String(source == null ? '' : source).replace(/\r\n?/g, '\n').split('\n');
    renderBlocks(lines, frag, opts || {}, 0);
    return frag;
  }

  window.ReinMarkdown = Object.freeze({render, safeHref});
})();
