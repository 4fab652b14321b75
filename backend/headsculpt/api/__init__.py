"""The HTTP service: job schema, on-disk job store, workers, auth (`headsculpt serve`)."""
