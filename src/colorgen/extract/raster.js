// Browser-side image statistics for colorgen.extract: images Pillow cannot decode (SVG files,
// inline <svg>, anything not readable from the corpus) are drawn on a canvas at their natural
// size (at most maxSide on the long side) and summarised as RGBA means / standard deviations.
// Jobs: {src} (an URL the page may load) or {selector, width, height} (an inline svg element).
async ({jobs, maxSide}) => {
  const SVG_NS = 'http://www.w3.org/2000/svg';
  function load(src) {
    return new Promise((resolve) => {
      const img = new Image();
      img.onload = () => resolve(img);
      img.onerror = () => resolve(null);
      img.src = src;
    });
  }
  function inlineSvgUrl(el, w, h) {
    const clone = el.cloneNode(true);
    clone.setAttribute('xmlns', SVG_NS);
    clone.setAttribute('width', String(w));
    clone.setAttribute('height', String(h));
    // currentColor and inherited fill resolve against the page: carry them over.
    const cs = getComputedStyle(el);
    clone.style.color = cs.color;
    if (!clone.getAttribute('fill') && cs.fill) clone.style.fill = cs.fill;
    const text = new XMLSerializer().serializeToString(clone);
    if (text.length > 500000) return null;
    return 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(text);
  }
  async function stats(job) {
    let src = job.src, w = job.width || 0, h = job.height || 0;
    if (job.selector) {
      const el = document.querySelector(job.selector);
      if (!el) return null;
      src = inlineSvgUrl(el, w, h);
      if (!src) return null;
    }
    const img = await load(src);
    if (!img) return null;
    if (!job.selector) { w = img.naturalWidth || w; h = img.naturalHeight || h; }
    if (!w || !h) return null;
    const scale = Math.min(1, maxSide / Math.max(w, h));
    const cw = Math.max(1, Math.round(w * scale)), ch = Math.max(1, Math.round(h * scale));
    const canvas = document.createElement('canvas');
    canvas.width = cw; canvas.height = ch;
    const ctx = canvas.getContext('2d', {willReadFrequently: true});
    let data;
    try {
      ctx.drawImage(img, 0, 0, cw, ch);
      data = ctx.getImageData(0, 0, cw, ch).data;
    } catch (e) { return null; }  // tainted or undrawable
    const n = cw * ch, sum = [0, 0, 0, 0], sq = [0, 0, 0, 0];
    for (let i = 0; i < data.length; i += 4) {
      for (let c = 0; c < 4; c++) { const v = data[i + c] / 255; sum[c] += v; sq[c] += v * v; }
    }
    const means = sum.map((s) => s / n);
    const stds = sq.map((s, c) => Math.sqrt(Math.max(0, s / n - means[c] * means[c])));
    return {width: w, height: h, means, stds};
  }
  const out = [];
  for (const job of jobs) {
    try { out.push(await stats(job)); } catch (e) { out.push(null); }
  }
  return out;
}
