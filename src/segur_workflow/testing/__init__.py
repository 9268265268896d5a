"""The QA kit: hypothesis strategies, a stateful machine, model-based paths, the adapter contract."""
