"""The market core: one clearing contract (``problem``), two back-ends (``newton``, compiled;
``exact``, HiGHS), the terms every market builds (``terms``: supply on margin, demand curves,
working stocks), the commodity chain built on it (``chain``, ``dynamics``), the compiled
ensemble kernel (``kernel``) and the one result type (``result.MarketResult``). See
``docs/methods/simulation.md``. Importing this package loads nothing heavy: the numba
modules are imported where they are used."""
