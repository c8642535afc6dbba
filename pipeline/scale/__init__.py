"""Scale-out: the same build with extraction fanned out over content-hash partitions of the articles,
one step per partition, for running past one process or one machine (see docs/scaling.md)."""
