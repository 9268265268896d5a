"""pytest plugin entry point of segur_workflow (fixtures for host test suites)."""
