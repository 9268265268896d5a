from segur_workflow import Status, examples


def test_every_status_reachable_by_examples() -> None:
    for status in Status:
        assert examples.dossier_at(status).status is status
