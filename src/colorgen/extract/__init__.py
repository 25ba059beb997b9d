"""Real pages -> a WebColor-format dataset, by extraction in headless Chromium.

``python -m colorgen.extract corpus=<webpages dir> out=<dir>`` (``make data``). How a page is read:

* **Browser** (:mod:`colorgen.browser`): the corpus is served on 127.0.0.1 and every other
  request is aborted and counted; a 375x812 touch phone with an iPhone Safari user agent;
  JS timers on a paused fake clock advanced by a fixed virtual settle time after ``load``;
  ``Math.random`` seeded; animated GIFs on their first frame; then finite CSS animations and
  transitions are finished (final colours), infinite ones cancelled (the element's own style),
  transitions switched off. Every load of a page therefore renders the same pixels.
* **Elements** (``dom.js``): rendered elements of the first screen (``display`` not none,
  ``visibility`` visible, non-empty box intersecting the visual viewport: the zoomed-out screen
  for pages laid out wider than the phone) plus their ancestors, one tree rooted at ``html``;
  no ``head`` content or script-like tags; an ``svg`` is one image-like leaf. At most 200 in
  document pre-order (the rest counted as cut); ids in pre-order, sibling order among kept siblings.
* **Opacity 0 / scroll reveal**: an element whose computed opacity is 0 after settling is
  invisible, so it and its subtree are excluded (counted as ``transparent``). Scroll-reveal
  libraries (AOS, WOW...) reveal what is in view during the settle time, so what is still at
  opacity 0 is what a visitor does not see either (items below their trigger offset, inactive
  carousel slides, closed menus).
* **Colours**: computed ``background-color`` for all, ``color`` for text elements (own non-blank
  text nodes, or string content of ``::before``/``::after``); CSS Color 4 syntaxes converted to
  ``rgb()``/``rgba()`` (:mod:`.colors`), validated by the codec.
* **Features** (:mod:`.features`): ``text_feat``; ``img_feat``/``bgimg_feat`` from the image's
  real pixels (Pillow on the file bytes; SVG and inline ``svg`` rasterised by the browser).
* **Skipped pages** (``failures.tsv``): load errors and HTTP errors, timeouts, crashes, no
  body, an empty first screen, non-unique selectors, and pages whose first screen is hidden
  by a full-screen fixed overlay with almost no text (a preloader whose script never ran).
* **Fidelity** (:mod:`.fidelity`): each page is re-rendered with only its extracted colours
  applied and compared with its screenshot; the report gives the distribution.

Output: ``webcolor_<name>.hdf5`` + ``webcolor_split_<name>.json`` (official layout, split by site),
``pages/<page id>/{selectors.txt,page.json,elements.json,screenshot.png}``, ``failures.tsv``,
``report.md``/``report.json``. Runs resume from ``staging/``.
"""
