"""Attachment facts added by the rules (completeness, hostile markers) survive storage."""

from __future__ import annotations

import attrs
import pytest

import segur_workflow as sw
from segur_workflow import examples as ex
from segur_workflow import serialization


def test_attachment_sniffing_facts_round_trip_and_default_when_absent() -> None:
    d = ex.dossier_at(sw.Status.AVANCE_EN_INSTRUCTION)
    kind = sw.PieceKind.PV_MISE_EN_SERVICE
    suspect = attrs.evolve(d.avance.pieces[kind], complet=False, marqueurs=("zip", "script"))
    d = attrs.evolve(d, avance=attrs.evolve(d.avance, pieces={**d.avance.pieces, kind: suspect}))
    data = serialization.to_dict(d)
    assert serialization.from_dict(data) == d
    # Data written before these facts existed migrates with the accepting defaults.
    # (schema 3 had neither the seal nor the desk's assignment, ``gestionnaire``)
    old = {k: v for k, v in data.items() if k not in ("sceau", "gestionnaire")} | {"schema_version": 3}
    stored = old["avance"]["pieces"][kind.value]
    del stored["complet"], stored["marqueurs"]
    back = serialization.from_dict(serialization.migrate(old)).avance.pieces[kind]
    assert (back.complet, back.marqueurs) == (True, ())
    # In a sealed document, removing them is an edit like any other.
    with pytest.raises(sw.DossierAltere):
        serialization.from_dict({**data, "avance": old["avance"]})
