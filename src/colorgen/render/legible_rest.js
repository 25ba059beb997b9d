// Legible text where no model chose the colour (decoding.contrast_rest; loaded by colorgen.render.recolor).
//
// Extraction keeps only the first screen, so a page's other text (below it, form fields, elements
// left out of the tree) keeps the page's own colour on the backgrounds the model gave its
// ancestors. Here, after the colour stylesheet is in place, every visible element with its own
// text whose colour no stylesheet rule sets is checked as colorgen's tree model checks text (its
// backdrop: its own and its ancestors' background colours composited over a white canvas; text
// over a background image is left alone, as axe-core leaves it), and failing text gets the
// colour nearest its own on the way to black or to white that meets the WCAG ratio (AA: 4.5:1,
// large text 3:1; AAA: 7:1 / 4.5:1). Changes are inline `!important` colours, marked so that
// the next colouring of the page undoes them. Returns how many elements it checked / changed.
({level, margin}) => {
  const [normal, large] = level === "aaa" ? [7.0, 4.5] : [4.5, 3.0];
  const parse = (css) => {
    const m = css.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const p = m[1].split(/[ ,/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, below) => top.slice(0, 3).map((c, i) => top[3] * c + (1 - top[3]) * below[i]);
  const channel = (c) => { c /= 255; return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
  const lum = (rgb) => 0.2126 * channel(rgb[0]) + 0.7152 * channel(rgb[1]) + 0.0722 * channel(rgb[2]);
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)]; return (Math.max(x, y) + 0.05) / (Math.min(x, y) + 0.05); };

  const colored = new Set();  // elements whose text colour a colour rule sets
  for (const sheet of document.querySelectorAll('style[data-colorgen="colors"]')) {
    for (const rule of sheet.sheet ? sheet.sheet.cssRules : []) {
      if (rule.style && rule.style.getPropertyValue("color")) {
        for (const el of document.querySelectorAll(rule.selectorText)) colored.add(el);
      }
    }
  }
  const backdrop = (el) => {  // opaque rgb behind el's text, or null over a background image
    const layers = [];
    for (let node = el; node; node = node.parentElement) {
      const cs = getComputedStyle(node);
      if (cs.backgroundImage && cs.backgroundImage !== "none") return null;
      const bg = parse(cs.backgroundColor);
      if (bg && bg[3] > 0) layers.push(bg);
      if (bg && bg[3] >= 1) break;
    }
    return layers.reduceRight((below, top) => over(top, below), [255, 255, 255]);
  };
  // form fields show text too: a button's value, a text field's value or placeholder
  const TEXT_FIELDS = ["text", "email", "search", "tel", "url", "password", "number", "submit", "button", "reset"];
  const fieldText = (el) => (el.tagName === "TEXTAREA" || (el.tagName === "INPUT" && TEXT_FIELDS.includes(el.type)))
    && (el.value.trim() || (el.placeholder || "").trim());
  const ownText = (el) => fieldText(el) || [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
  let checked = 0, changed = 0;
  for (const el of document.body ? document.body.querySelectorAll("*") : []) {
    if (colored.has(el) || !ownText(el)) continue;
    const cs = getComputedStyle(el);
    if (cs.visibility !== "visible" || cs.display === "none" || !el.getClientRects().length) continue;
    const behind = backdrop(el);
    const fg = parse(cs.color);
    if (!behind || !fg) continue;
    checked += 1;
    const px = parseFloat(cs.fontSize) || 0;
    const pt = Math.ceil(px * 72) / 96;
    const big = pt >= 18 || (parseInt(cs.fontWeight, 10) >= 700 && pt >= 14);
    const need = (big ? large : normal) + margin;
    const own = over(fg, behind);
    if (ratio(own, behind) >= need) continue;
    let pick = null;
    for (let t = 0.05; t <= 1.0001 && !pick; t += 0.05) {  // the smallest move that passes
      const dark = own.map((c) => Math.round(c * (1 - t)));
      const light = own.map((c) => Math.round(c + (255 - c) * t));
      const ok = [dark, light].filter((c) => ratio(c, behind) >= need);
      if (ok.length) pick = ok.sort((a, b) => ratio(b, behind) - ratio(a, behind))[0];
    }
    if (!pick) pick = ratio([0, 0, 0], behind) >= ratio([255, 255, 255], behind) ? [0, 0, 0] : [255, 255, 255];
    el.setAttribute("data-colorgen-rest", JSON.stringify([el.style.getPropertyValue("color"), el.style.getPropertyPriority("color")]));
    el.style.setProperty("color", `rgb(${pick.join(", ")})`, "important");
    changed += 1;
  }
  return {checked, changed};
}
