"""Demo tasks for ``hone demo``: small, verifiable agent tasks a tiny model can learn."""
