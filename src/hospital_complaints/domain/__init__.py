"""The pure domain: models, taxonomy, workflow table, events, imaging records. No I/O."""
