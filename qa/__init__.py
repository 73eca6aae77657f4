"""The domain core: records, the rule catalogue, phrase matching, scoring, assessment,
the pipeline that ties the stages together, ingestion and workers, and the CLI."""
