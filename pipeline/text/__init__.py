"""The language utilities every stage uses: sentence splitting (``sentences``), the dictionaries
compiled into matchers and the offset-preserving normalisation (``lexicon``), and date
expressions (``dates``: finding, resolving, publication dates). Stages import this package; it
imports no stage."""
