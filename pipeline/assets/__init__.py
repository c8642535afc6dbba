"""The Dagster assets, one module per stage. Each asset is glue: it calls its stage's plain stage
function (``pipeline/<stage>/stage.py``) and adds Dagster metadata; the logic lives in the stage."""
