"""The dossier's domain events and what an accepted command gives back (:class:`Outcome`)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import attrs

from .._email import Email
from ..model import Dossier
from ..states import Status
from ..vocabulary import Bloc, Controle, Phase

__all__ = ["BlocControle", "DossierDepose", "DossierReaffecte", "Event", "Outcome", "PaiementDeclenche", "StatutChange"]


# -- events -------------------------------------------------------------------------------------------
@attrs.frozen
class Event:
    """A domain event: something that happened to dossier ``numero`` at ``at``.

    ``event_id`` is stable and unique: ``numero/entry/index``, where ``entry`` is the position (from 1)
    of the history entry of the command that produced it and ``index`` its rank among that command's
    events. A host receiving events at least once deduplicates on it.
    """

    numero: str
    at: datetime
    event_id: str = attrs.field(default="", kw_only=True)


@attrs.frozen
class DossierDepose(Event):
    phase: Phase
    montant: Decimal


@attrs.frozen
class StatutChange(Event):
    trigger: str
    source: Status | None
    dest: Status


@attrs.frozen
class BlocControle(Event):
    phase: Phase
    bloc: Bloc
    resultat: Controle


@attrs.frozen
class PaiementDeclenche(Event):
    phase: Phase
    montant: Decimal


@attrs.frozen
class DossierReaffecte(Event):
    """The dossier is now in ``gestionnaire``'s hands (``precedent``: whose it was, ``None``: nobody's)."""

    gestionnaire: str
    precedent: str | None


@attrs.frozen
class Outcome:
    """What an accepted command produced: the new dossier, the domain events, the e-mails to send."""

    dossier: Dossier
    events: tuple[Event, ...]
    emails: tuple[Email, ...]
