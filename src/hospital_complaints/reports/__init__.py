"""Reports: the monthly report (月报) with charts, the three rates, and statutory returns.

The package has two layers (``pyproject.toml``, ``[tool.importlinter]``):

- :mod:`.build` and :mod:`.render` are pure: the report document (sections, tables, charts,
  zh/en notes), the facts a report reads about each case, the built-in report definitions,
  and the renderers (HTML with inline SVG, PDF through headless Chromium, XLSX, CSV, JSON).
  They sit below the plugin layer, so a plugin (the built-in ``default_reports`` included)
  can register report definitions with ``hc_register_reports``.
- :mod:`.service` and :mod:`.readers` read the data (``App.reports``): case facts straight
  from the event rows without decrypting anything, exam aggregates in SQL, follow-up results.
  They sit between the services and the application object.

This module imports nothing, so importing a pure part never pulls in storage.
"""
