"""The portal's screens as HTML pages: the provider's consultation screen and the gestionnaire's.

Built from :func:`segur_workflow.recap.recapitulatif` (the screen as values) and rendered with the Jinja
templates of this package (``screens/templates``): autoescaped, no script (a Content-Security-Policy
forbids any), French, accessible (one ``h1``, sections with headings, label/value lists, tables with
captions and header cells, badges that say their state in words, contrast above WCAG AA).

* :func:`consultation_html` — what the provider sees (guide « Dépôt d'une demande d'avance », part 3):
  the summary, then for each request its four blocks (« Informations de la demande », « Coordonnées
  bancaires », « Pièces justificatives » with their badges, « Courriels automatiques envoyés »), and
  while the request is « A modifier » or « En attente de pièce justificative », the gestionnaire's
  comment and the piece requested;
* :func:`instruction_html` — what a gestionnaire sees: the same blocks and badges, the gestionnaire in
  charge, for every command whether it is possible now and why not (:func:`~segur_workflow.explain`),
  and the history in people's words.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

import attrs

from ..engine import PARIS, explain
from ..errors import InvalidInput
from ..model import SAS, Actor, Corridor, Dossier, HistoryEntry
from ..recap import BlocView, Ligne, Recapitulatif, recapitulatif
from ..states import DOSSIER, Status
from ..vocabulary import Bloc, Controle, PieceKind

if TYPE_CHECKING:
    import jinja2

__all__ = ["consultation_html", "describe_entry", "instruction_html"]

_WAITING = frozenset({Status.SOLDE_A_MODIFIER, Status.SOLDE_EN_ATTENTE_PIECE})


@cache
def _environment() -> jinja2.Environment:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("segur_workflow.screens", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["badge_class"] = _badge_class
    return env


# -- the values the templates show --------------------------------------------------------------------------------
@attrs.frozen
class Demande:
    """What the gestionnaire asked while the request waits for the provider (« A modifier »…)."""

    statut: str
    commentaire: str | None
    piece: str | None


@attrs.frozen
class Commande:
    """One command of the gestionnaire's screen: its label and why it is not possible now (empty: it is)."""

    trigger: str
    libelle: str
    raisons: tuple[str, ...]


@attrs.frozen
class Evenement:
    """One history entry in people's words."""

    quand: str
    qui: str
    quoi: str
    statut: str
    commentaire: str | None
    precisions: tuple[str, ...]


def _badge_class(bloc: BlocView) -> str:
    return {Controle.OK: "ok", Controle.KO: "ko", Controle.A_INSTRUIRE: "a-instruire"}.get(bloc.badge, "") \
        if bloc.badge is not None else ""


def _demande(recap: Recapitulatif, dossier: Dossier) -> Demande | None:
    """The gestionnaire's request while the provider must act; the recapitulatif's own fields when it has them."""
    if dossier.status not in _WAITING:
        return None
    commentaire = getattr(recap, "commentaire_gestionnaire", None) or dossier.demande_commentaire
    piece = getattr(recap, "piece_demandee", None)
    if piece is None and dossier.piece_demandee is not None:
        piece = dossier.piece_demandee.label
    return Demande(dossier.status.label, commentaire, piece if isinstance(piece, str) else None)


def _statut(status: Status | None) -> str:
    if status is None:
        return "—"
    return f"{status.label} ({status.phase.label.removeprefix('Ma ')})"


def _actor(actor: Actor) -> str:
    return f"{actor.role.label} {actor.id}"


def _precisions(details: Mapping[str, str]) -> tuple[str, ...]:
    """The details of an entry in words (known keys); any other key is shown as it is."""
    out: list[str] = []
    rest = dict(details)
    bloc, resultat = rest.pop("bloc", None), rest.pop("resultat", None)
    if bloc is not None:
        try:
            words = f"{Bloc(bloc).label} : {Controle(resultat).label}" if resultat else Bloc(bloc).label
        except ValueError:
            words = f"{bloc} : {resultat}"
        out.append(words)
    if pieces := rest.pop("pieces", None):
        out.append("Pièces : " + ", ".join(_piece(p) for p in pieces.split(",")))
    if piece := rest.pop("piece", None):
        out.append(f"Pièce demandée : {_piece(piece)}")
    if montant := rest.pop("montant", None):
        out.append(f"Montant : {montant} €")
    gestionnaire, precedent = rest.pop("gestionnaire", None), rest.pop("precedent", None)
    if gestionnaire:
        out.append(f"Confié à {gestionnaire}" + (f" (auparavant {precedent})" if precedent else ""))
    if rest.pop("coordonnees_bancaires", None):  # the fingerprint of the bank details deposited
        out.append("Coordonnées bancaires enregistrées")
    if rest.pop("contact_support", None):
        out.append("Coordonnées de contact de support modifiées")
    out += [f"{k} : {v}" for k, v in sorted(rest.items())]
    return tuple(out)


def _piece(value: str) -> str:
    try:
        return PieceKind(value).label
    except ValueError:
        return value


def describe_entry(entry: HistoryEntry) -> Evenement:
    """``entry`` as the gestionnaire's screen tells it (date in Paris, who, what, status, details)."""
    spec = next((t for t in DOSSIER.transitions if t.trigger == entry.trigger and
                 (entry.source is None) == t.creates), None)
    quoi = (spec.recit or spec.label) if spec is not None and (spec.recit or spec.label) else entry.trigger
    statut = _statut(entry.dest) if entry.source in (None, entry.dest) else \
        f"{_statut(entry.source)} → {_statut(entry.dest)}"
    return Evenement(
        quand=entry.at.astimezone(PARIS).strftime("%d/%m/%Y %H:%M"),
        qui=_actor(entry.actor), quoi=quoi, statut=statut, commentaire=entry.comment,
        precisions=_precisions(entry.details),
    )


def _commandes(dossier: Dossier, actor: Actor, corridor: Corridor) -> tuple[Commande, ...]:
    return tuple(Commande(trigger, DOSSIER.labels[trigger], tuple(v.message for v in why))
                 for trigger, why in explain(dossier, actor, corridor).items())


def _common(dossier: Dossier) -> dict[str, Any]:
    recap = recapitulatif(dossier)
    return {
        "recap": recap,
        "lignes": (*recap.lignes(), Ligne("Gestionnaire en charge", dossier.gestionnaire or "non affecté")),
        "demande": _demande(recap, dossier),
        "gestionnaire": dossier.gestionnaire,
    }


def _check(dossier: object) -> Dossier:
    if not isinstance(dossier, Dossier):
        raise InvalidInput("dossier", "un Dossier", dossier)
    return dossier


def consultation_html(dossier: Dossier) -> str:
    """The provider's consultation screen of ``dossier`` as a complete HTML page."""
    dossier = _check(dossier)
    return _environment().get_template("consultation.html").render(**_common(dossier))


def instruction_html(dossier: Dossier, actor: Actor, corridor: Corridor = SAS) -> str:
    """The gestionnaire's screen of ``dossier`` for ``actor``: blocs, badges, commands and why not, history."""
    dossier = _check(dossier)
    if not isinstance(actor, Actor):
        raise InvalidInput("actor", "un Actor", actor)
    if not isinstance(corridor, Corridor):
        raise InvalidInput("corridor", "un Corridor", corridor)
    history: Sequence[Evenement] = tuple(describe_entry(e) for e in reversed(dossier.history))
    return _environment().get_template("instruction.html").render(
        **_common(dossier), acteur=_actor(actor), commandes=_commandes(dossier, actor, corridor), historique=history,
    )
