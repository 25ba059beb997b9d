// In-page element selection for colorgen.extract (evaluated by Playwright as one function).
//
// Kept: rendered elements of the first screen (display != none, visibility visible, opacity
// not 0 on the element or an ancestor, non-empty box intersecting the visual viewport: for
// non-responsive pages laid out wider than the phone, the zoomed-out first screen) plus their
// ancestors, so the result is one tree rooted at <html>. Never <head> content, script-like
// tags, or SVG internals (an <svg> is one image-like leaf). At most `maxElements` in document
// pre-order (a pre-order prefix of a tree is a tree); the rest is counted as cut.
({maxElements, width, height}) => {
  const vv = window.visualViewport;
  const view = vv ? {left: vv.offsetLeft, top: vv.offsetTop, width: vv.width, height: vv.height}
                  : {left: 0, top: 0, width, height};
  const SKIP = new Set(['head', 'script', 'style', 'noscript', 'template', 'link', 'meta', 'title', 'base']);
  const SVG_NS = 'http://www.w3.org/2000/svg';

  const nodes = [];      // {el, parent, rendered, textPieces, pseudo}
  const counts = {dom_elements: 0, hidden: 0, transparent: 0, offscreen: 0, empty_box: 0};

  function cssStrings(content, el) {
    // Text produced by a computed `content` value: quoted strings and attr(); counters ignored.
    if (!content || content === 'none' || content === 'normal') return '';
    let out = '';
    const re = /"((?:[^"\\]|\\.)*)"|attr\(\s*([^)\s]+)\s*\)/g;
    let m;
    while ((m = re.exec(content)) !== null) {
      if (m[1] !== undefined) {
        out += m[1].replace(/\\([0-9a-fA-F]{1,6})\s?/g, (_, h) => String.fromCodePoint(parseInt(h, 16)))
                   .replace(/\\(.)/g, '$1');
      } else if (m[2] !== undefined) {
        out += el.getAttribute(m[2]) || '';
      }
    }
    return out;
  }

  function pseudoText(el, which) {
    const ps = getComputedStyle(el, which);
    if (ps.display === 'none') return '';
    return cssStrings(ps.content, el).replace(/\s+/g, ' ').trim();
  }

  // Pre-order walk; returns whether anything in the subtree is rendered (so ancestors are kept).
  function walk(el, parentIdx) {
    const tag = el.localName;
    if (SKIP.has(tag)) return false;
    counts.dom_elements++;
    const cs = getComputedStyle(el);
    if (cs.display === 'none') { counts.hidden++; return false; }   // no box in the whole subtree
    if (parseFloat(cs.opacity) === 0) { counts.transparent++; return false; }  // invisible subtree
    const r = el.getBoundingClientRect();
    const hasBox = r.width > 0 && r.height > 0;
    const visible = cs.visibility === 'visible';
    const inView = r.right > view.left && r.bottom > view.top &&
      r.left < view.left + view.width && r.top < view.top + view.height;
    if (!visible) counts.hidden++;
    else if (!hasBox) counts.empty_box++;
    else if (!inView) counts.offscreen++;
    const idx = nodes.length;
    const node = {el, parent: parentIdx, rendered: visible && hasBox && inView, keep: false, rect: r, cs};
    nodes.push(node);
    let keep = node.rendered;
    const isSvg = el.namespaceURI === SVG_NS;
    if (!isSvg) {
      for (const child of el.children) {
        if (walk(child, idx)) keep = true;
      }
    }
    node.keep = keep;
    return keep;
  }

  const root = document.documentElement;
  if (!root || !document.body) return {error: 'no body'};
  walk(root, -1);

  // Kept nodes in pre-order (nodes[] is already pre-order).
  const kept = [];
  const newIndex = new Map();
  for (let i = 0; i < nodes.length; i++) {
    const n = nodes[i];
    if (!n.keep) continue;
    newIndex.set(i, kept.length);
    kept.push(n);
  }
  const totalKept = kept.length;
  const final = kept.slice(0, maxElements);

  function selectorOf(el) {
    const parts = [];
    let cur = el;
    while (cur && cur.nodeType === 1) {
      if (cur.id) {
        const idSel = '#' + CSS.escape(cur.id);
        let unique = false;
        try { unique = document.querySelectorAll(idSel).length === 1; } catch (_) {}
        if (unique) { parts.unshift(idSel); break; }
      }
      if (cur === root) { parts.unshift(':root'); break; }
      const tag = cur.localName;
      const name = /^[a-z][a-z0-9-]*$/.test(tag) ? tag : '*';
      let k = 1;
      for (let s = cur.previousElementSibling; s; s = s.previousElementSibling) k++;
      parts.unshift(`${name}:nth-child(${k})`);
      cur = cur.parentElement;
    }
    return parts.join(' > ');
  }

  function checkUnique(sel, el) {
    try {
      const all = document.querySelectorAll(sel);
      return all.length === 1 && all[0] === el;
    } catch (_) { return false; }
  }

  // A fixed element over (almost) the whole first screen that is the top hit at >= 90 % of a grid
  // of points, with little text of its own: a preloader or modal that never went away.
  function overlay() {
    const hits = new Map();
    let n = 0;
    for (let i = 1; i <= 5; i++) {
      for (let j = 1; j <= 9; j++) {
        n++;
        let el = document.elementFromPoint(view.left + view.width * i / 6, view.top + view.height * j / 10);
        let top = null;
        for (; el && el !== root && el !== document.body; el = el.parentElement) {
          if (getComputedStyle(el).position !== 'fixed') continue;
          const r = el.getBoundingClientRect();
          if (r.width * r.height >= 0.9 * view.width * view.height) top = el;
        }
        if (top) hits.set(top, (hits.get(top) || 0) + 1);
      }
    }
    for (const [el, k] of hits) {
      const text = (el.innerText || '').replace(/\s+/g, ' ').trim();
      if (k >= 0.9 * n && text.length < 40) {
        return {tag: el.localName, id: el.id, cls: String(el.className || ''), share: k / n, text};
      }
    }
    return null;
  }

  // The kept elements painted below a kept one at a point, topmost first, its own descendants
  // left out (at most 16). At the centre of its on-screen box the first of them is `behind`
  // (usually the parent, but not for positioned boxes over a sibling's background). A text
  // element's `stack` is taken where axe-core composites the backgrounds under its text: the
  // centre of its first line box (axe's getVisibleChildTextRects: the client rects of its own
  // text nodes, a node whose rects stray outside the element's box left out; the box itself for
  // text from ::before / ::after). A tall link with its line at the top may lie on another panel
  // there than at its box's centre. null where unknown (no point in view, or not hit-testable).
  const finalIndex = new Map(final.map((n, j) => [n.el, j]));
  // Chromium's elementsFromPoint leaves table rows and sections out of the stack though they paint
  // below their cells (axe-core, which stacks every box at the point, sees them): each cell is
  // followed by those of its row and section ancestors that hold the point, in painting order,
  // so that a cell's `behind` is its row
  function holds(r, x, y) {
    return r.left <= x && x <= r.right && r.top <= y && y <= r.bottom;
  }
  function withTableParts(stack, x, y) {
    const out = [];
    const seen = new Set(stack);
    for (const e of stack) {
      out.push(e);
      if (e.localName !== 'td' && e.localName !== 'th') continue;
      for (let a = e.parentElement; a && /^(tr|tbody|thead|tfoot)$/.test(a.localName); a = a.parentElement) {
        if (!seen.has(a) && holds(a.getBoundingClientRect(), x, y)) { out.push(a); seen.add(a); }
      }
    }
    return out;
  }
  function stackAt(n, x, y) {
    const stack = withTableParts(document.elementsFromPoint(x, y), x, y);
    const at = stack.indexOf(n.el);
    if (at < 0) return null;
    const ids = [];
    for (let k = at + 1; k < stack.length && ids.length < 16; k++) {
      const j = finalIndex.get(stack[k]);
      if (j !== undefined && !n.el.contains(stack[k])) ids.push(j);
    }
    return ids;
  }
  function boxCentre(r) {
    const x0 = Math.max(r.left, 0), x1 = Math.min(r.right, window.innerWidth);
    const y0 = Math.max(r.top, 0), y1 = Math.min(r.bottom, window.innerHeight);
    return x1 > x0 && y1 > y0 ? [(x0 + x1) / 2, (y0 + y1) / 2] : null;
  }
  function belowOf(n) {
    const c = boxCentre(n.rect);
    return c ? stackAt(n, c[0], c[1]) : null;
  }
  function firstLineCentre(n) {
    const r = n.rect;
    const inBox = (q) => holds(r, (q.left + q.right) / 2, (q.top + q.bottom) / 2);
    for (const c of n.el.childNodes) {
      if (c.nodeType !== 3 || !c.nodeValue.trim()) continue;
      const range = document.createRange();
      range.selectNodeContents(c);
      const rects = Array.from(range.getClientRects());
      if (rects.some((q) => !inBox(q))) continue;
      const line = rects.find((q) => q.width >= 1 && q.height >= 1);
      if (line) return boxCentre(line);
    }
    return boxCentre(r);
  }
  function textStackOf(n) {
    const c = firstLineCentre(n);
    return c ? stackAt(n, c[0], c[1]) : null;
  }
  // the opacity a text is painted with: its own and every ancestor's multiplied (axe-core
  // multiplies the foreground alpha by each enclosing stacking context's opacity)
  function groupOpacity(el) {
    let o = 1;
    for (let e = el; e && e.nodeType === 1; e = e.parentElement) o *= parseFloat(getComputedStyle(e).opacity);
    return Math.round(o * 10000) / 10000;
  }

  const siblingCount = new Map();
  const out = [];
  let nonUnique = 0;
  for (let j = 0; j < final.length; j++) {
    const n = final[j];
    const el = n.el, cs = n.cs;
    const parent = n.parent < 0 ? -1 : newIndex.get(n.parent);
    const order = siblingCount.get(parent) || 0;
    siblingCount.set(parent, order + 1);
    let selector = selectorOf(el);
    if (!checkUnique(selector, el)) { nonUnique++; selector = null; }

    // Own text: direct text children, whitespace collapsed as rendered; pseudo-element content.
    const pieces = [];
    let pseudo = false;
    if (cs.visibility === 'visible' && el.namespaceURI !== SVG_NS) {
      for (const c of el.childNodes) {
        if (c.nodeType === 3) {
          const t = c.nodeValue.replace(/\s+/g, ' ').trim();
          if (t) pieces.push(t);
        }
      }
      for (const w of ['::before', '::after']) {
        const t = pseudoText(el, w);
        if (t) { pieces.push(t); pseudo = true; }
      }
    }

    let image = null;
    if (el.localName === 'img') {
      image = {kind: 'img', src: el.currentSrc || el.src || '', complete: el.complete,
               natural_width: el.naturalWidth, natural_height: el.naturalHeight};
    } else if (el.localName === 'svg' && el.namespaceURI === SVG_NS) {
      image = {kind: 'svg', width: Math.max(1, Math.round(n.rect.width)), height: Math.max(1, Math.round(n.rect.height))};
    }
    const r = n.rect;
    const under = belowOf(n);
    out.push({
      tag: el.localName.toLowerCase(),
      parent,
      sibling_order: order,
      selector,
      background_color: cs.backgroundColor,
      color: cs.color,
      font_size: parseFloat(cs.fontSize) || 0,        // computed px (for WCAG large text)
      font_weight: parseInt(cs.fontWeight, 10) || 400,  // computed numeric weight
      background_image: cs.backgroundImage,
      text_pieces: pieces,
      text_from_pseudo: pseudo,
      rendered: n.rendered,
      image,
      rect: [r.left, r.top, r.width, r.height].map((v) => Math.round(v * 100) / 100),
      behind: under && under.length ? under[0] : -1,
      stack: pieces.length ? textStackOf(n) : null,
      opacity: parseFloat(cs.opacity),  // own: axe-core multiplies the background's alpha by it
      text_opacity: pieces.length ? groupOpacity(el) : null,
    });
  }
  return {
    elements: out,
    total_kept: totalKept,
    cut: totalKept - final.length,
    non_unique_selectors: nonUnique,
    overlay: overlay(),
    counts,
    viewport: [view.left, view.top, view.width, view.height].map((v) => Math.round(v * 100) / 100),
    doc_width: document.documentElement.scrollWidth,
    doc_height: document.documentElement.scrollHeight,
    title: document.title || '',
  };
}
