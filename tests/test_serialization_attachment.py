"""Attachment facts added by the rules (completeness, hostile markers) survive storage."""

from __future__ import annotations

import attrs

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
    # Data written before these facts existed reads back with the accepting defaults.
    stored = data["avance"]["pieces"][kind.value]
    del stored["complet"], stored["marqueurs"]
    back = serialization.from_dict(data).avance.pieces[kind]
    assert (back.complet, back.marqueurs) == (True, ())
