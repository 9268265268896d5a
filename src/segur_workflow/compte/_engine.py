"""The account machine's binding: :data:`~segur_workflow.states.COMPTE` bound to its commands and effects.

Runs on the one engine (:meth:`segur_workflow.binding.Binding.fire`) exactly as the dossier does: the
same permission, status and guard checks, the same chained history, the e-mails rendered from the
package's templates and recorded on the account.
"""

from __future__ import annotations

from datetime import datetime

from .._secret import hacher_secret, normaliser_reponse
from ..binding import Bind, Binding, Change, Step, check_now
from ..commands import Command
from ..errors import InvalidInput
from ..model import LIEN_PORTAIL, SAS, Actor
from ..rules import POLITIQUE_MOT_DE_PASSE, POLITIQUE_MOT_DE_PASSE_ACCENTS
from ..states import COMPTE, CompteStatus
from ._commands import (
    ChangerMotDePasse,
    CloturerCompte,
    CreerCompte,
    DefinirQuestionSecrete,
    OublierIdentifiant,
    OublierMotDePasse,
    PremiereConnexion,
)
from ._model import (
    Compte,
    CompteHistoryEntry,
    CompteOutcome,
    IdentifiantRappele,
    IdentifiantsATransmettre,
    StatutCompteChange,
)

__all__ = ["COMPTE_BINDING", "commandes_permises", "handle_compte"]


# -- effects -------------------------------------------------------------------------------------------------
def _creer(_c: None, cmd: CreerCompte, step: Step) -> Change:
    created = Compte(
        identifiant=cmd.identifiant, status=step.dest,
        mot_de_passe=hacher_secret(cmd.mot_de_passe_provisoire, sel=cmd.sel), history=(),
        date_creation=step.now, date_changement_statut=step.now, email=cmd.email.strip(),
    )
    return Change(created=created, events=(IdentifiantsATransmettre(cmd.identifiant, step.now),))


def _changer(_c: Compte, cmd: ChangerMotDePasse, _step: Step) -> Change:
    return Change(updates={"mot_de_passe": hacher_secret(cmd.nouveau_mot_de_passe, sel=cmd.sel)})


def _question(_c: Compte, cmd: DefinirQuestionSecrete, _step: Step) -> Change:
    return Change(updates={"question_secrete": cmd.question.strip(),
                           "reponse_secrete": hacher_secret(normaliser_reponse(cmd.reponse), sel=cmd.sel)})


def _oubli_mdp(c: Compte, cmd: OublierMotDePasse, step: Step) -> Change:
    return Change(updates={"mot_de_passe": hacher_secret(cmd.mot_de_passe_provisoire, sel=cmd.sel)},
                  events=(IdentifiantsATransmettre(c.identifiant, step.now),))


def _oubli_id(c: Compte, _cmd: OublierIdentifiant, step: Step) -> Change:
    return Change(events=(IdentifiantRappele(c.identifiant, step.now),))


def _rien(_c: Compte, _cmd: Command, _step: Step) -> Change:
    return Change()


def _cloturer(_c: Compte, cmd: CloturerCompte, _step: Step) -> Change:
    return Change(comment=cmd.motif)


def email_context(compte: Compte, command: Command, _step: Step) -> dict[str, object]:
    """Every variable an account template may use; each template picks the ones it declares."""
    return {
        "identifiant": compte.identifiant,
        "mot_de_passe": getattr(command, "mot_de_passe_provisoire", None),  # only the mails that carry it use it
        "lien_portail": LIEN_PORTAIL,
        "lien_assistance": SAS.lien_assistance,
        "politique": POLITIQUE_MOT_DE_PASSE + "\n" + POLITIQUE_MOT_DE_PASSE_ACCENTS,
    }


#: The account machine: :data:`~segur_workflow.states.COMPTE` bound to its command classes and effects.
COMPTE_BINDING: Binding[Compte, CompteOutcome] = Binding(
    definition=COMPTE,
    status=CompteStatus,
    entries=(
        Bind(CreerCompte, _creer),
        Bind(PremiereConnexion, _rien),
        Bind(ChangerMotDePasse, _changer),
        Bind(DefinirQuestionSecrete, _question),
        Bind(OublierMotDePasse, _oubli_mdp),
        Bind(OublierIdentifiant, _oubli_id),
        Bind(CloturerCompte, _cloturer),
    ),
    owner=lambda c: c.identifiant,
    key=lambda c: c.identifiant,
    recipient=lambda c: c.email,
    email_context=email_context,
    status_event=StatutCompteChange,
    outcome=CompteOutcome,
    records_emails=True,
    entry_type=CompteHistoryEntry,
)


# -- the entry points ----------------------------------------------------------------------------------------
def commandes_permises(compte: Compte, actor: Actor) -> frozenset[str]:
    """Triggers ``actor`` may fire on ``compte`` now (role, ownership, status)."""
    if not isinstance(compte, Compte):
        raise InvalidInput("compte", "un Compte", compte)
    if not isinstance(actor, Actor):
        raise InvalidInput("actor", "un Actor", actor)
    return COMPTE_BINDING.triggers_for(compte, actor)


def handle_compte(compte: Compte | None, command: Command, *, now: datetime) -> CompteOutcome:
    """Apply an account command. ``compte`` is ``None`` only for :class:`CreerCompte`.

    Checks types, permission (role, then ownership), status, then every guard rule of the transition
    (all violations together). Raises ``InvalidInput``, ``PermissionDenied``, ``TransitionNotAllowed``
    or ``RuleViolations``; the input account is never modified.
    """
    now = check_now(now)
    if compte is not None and not isinstance(compte, Compte):
        raise InvalidInput("compte", "un Compte ou None", compte)
    return COMPTE_BINDING.fire(compte, command, now=now)
