"""Training side of ECHO: data, the three training stages, baselines, evaluation and export."""
