"""Credence's column contracts (pandera models) and codebook (YAML data).

The pandera models in :mod:`schemas.models` are the one source of truth for the columns of every
table: their order, dtypes, checks and descriptions feed the asset checks, the data dictionary,
``datapackage.json`` and the Dagster UI's column schema.
"""

from schemas.codebook import Codebook, load_codebook

__all__ = ["Codebook", "load_codebook"]
