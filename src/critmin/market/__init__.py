"""The market core: one clearing contract (``problem``), its compiled (``newton``) and exact
(``exact``) back-ends, the terms every market builds (``terms``), the commodity chain
(``chain``, ``dynamics``, ``kernel``) and the result type (``result``). Importing it does
nothing; import the modules you use."""
