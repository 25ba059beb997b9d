"""Pictures of colourings (drawing only): recolour extracted pages, screenshot them, audit contrast, lay out sheets.

Flow: colour classes (+ residuals) --:mod:`.recolor`--> a stylesheet per page
--:mod:`.screenshots`--> PNGs and axe-core audits (:mod:`.contrast`) in parallel browser pages
--> :mod:`.contact_sheet` (for eyes). Scoring those pictures (Pixel-FCD, contrast violations)
is :mod:`colorgen.evaluation.visual`. The browser itself (viewport, serving, settling, the
winning-stylesheet rule) lives in :mod:`colorgen.browser`; the page bundles that say which
selector is which element are read through :mod:`colorgen.extract.bundle`.
"""
