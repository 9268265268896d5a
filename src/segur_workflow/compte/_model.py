"""The account's values: the account, its chained history entries, its events and outcome."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType

import attrs

from .._email import Email
from .._frozen import travels
from .._secret import Secret
from ..model import Actor, EmailRecord
from ..states import CompteStatus

__all__ = ["Compte", "CompteEvent", "CompteHistoryEntry", "CompteOutcome", "IdentifiantRappele",
           "IdentifiantsATransmettre", "StatutCompteChange"]


def _frozen(value: Mapping[str, str]) -> Mapping[str, str]:
    return value if isinstance(value, MappingProxyType) else MappingProxyType(dict(value))


@travels
@attrs.frozen
class CompteHistoryEntry:
    """One accepted account command (never a secret), chained to the previous one exactly as a dossier's
    entries are (``hash``: see :mod:`segur_workflow.history`)."""

    at: datetime
    actor: Actor
    trigger: str
    source: CompteStatus | None
    dest: CompteStatus
    comment: str | None = None
    command_id: str | None = None
    details: Mapping[str, str] = attrs.field(factory=lambda: MappingProxyType({}), converter=_frozen)
    hash: str = ""


@attrs.frozen
class Compte:
    """A provider's portal account. ``identifiant`` is the login; a provider acts on it as
    ``Actor(Role.FOURNISSEUR, identifiant)``."""

    identifiant: str
    status: CompteStatus
    mot_de_passe: Secret = attrs.field(repr=False)
    history: tuple[CompteHistoryEntry, ...]
    date_creation: datetime
    date_changement_statut: datetime
    #: where the portal's mails go (identifiant, password, reminders)
    email: str
    question_secrete: str | None = None
    reponse_secrete: Secret | None = attrs.field(default=None, repr=False)
    #: the mails sent about the account (template, subject, address; never their body, which may carry a
    #: provisional password)
    emails_sent: tuple[EmailRecord, ...] = ()


# -- events --------------------------------------------------------------------------------------------------
@attrs.frozen
class CompteEvent:
    """Something that happened to account ``identifiant`` at ``at``; ``event_id`` is stable and unique
    (``identifiant/entry/index``, as a dossier's events)."""

    identifiant: str
    at: datetime
    event_id: str = attrs.field(default="", kw_only=True)


@attrs.frozen
class StatutCompteChange(CompteEvent):
    trigger: str
    source: CompteStatus | None
    dest: CompteStatus


@attrs.frozen
class IdentifiantsATransmettre(CompteEvent):
    """The login and a provisional password were issued (creation, forgotten password); the rendered
    mails are in :attr:`CompteOutcome.emails`."""


@attrs.frozen
class IdentifiantRappele(CompteEvent):
    """The login was sent again (forgotten login); the rendered mail is in :attr:`CompteOutcome.emails`."""


@attrs.frozen
class CompteOutcome:
    """What an accepted account command produced: the new account, its events and the rendered e-mails
    to send (the transition's templates, in order; a provisional password is in one of them, in clear:
    hand it to the mailer, do not keep it)."""

    compte: Compte
    events: tuple[CompteEvent, ...]
    emails: tuple[Email, ...] = ()
