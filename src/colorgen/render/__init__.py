"""Pictures of colourings: recolour extracted pages, screenshot them, audit contrast, lay out sheets.

Flow: colour classes (+ residuals) --:mod:`.recolor`--> a stylesheet per page
--:mod:`.screenshots`--> PNGs and axe-core audits (:mod:`.contrast`) in parallel browser pages
--> :mod:`.visual_metrics` (Pixel-FCD, contrast violations) and :mod:`.contact_sheet` (for eyes).
The browser itself (viewport, serving, settling, the winning-stylesheet rule) lives in
:mod:`colorgen.browser`, shared with extraction.
"""
