"""The Dagster assets of the chain: each one a sentence that calls the core."""
