"""The library's invariants as plain checks (no hypothesis needed): each raises ``AssertionError``.

The state machine of :mod:`.machine` runs them after every step; hosts can call them in their own
example-based tests, on dossiers read back from their storage for instance.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal

import attrs

from .. import examples
from ..commands import Command, Decider
from ..engine import allowed_commands, handle
from ..errors import WorkflowError
from ..history import history_problems, is_automatic
from ..model import SAS, Actor, Corridor, Dossier
from ..states import DOSSIER, Status, TransitionSpec
from ..vocabulary import Bloc, Controle, Phase, Role


def spec_of(entry_source: str | None, trigger: str) -> TransitionSpec:
    """The transition a history entry records (``None`` source: the creation)."""
    spec = DOSSIER.resolve(entry_source, trigger)
    assert spec is not None, f"l'historique contient une transition inconnue : {entry_source} --{trigger}-->"
    return spec


def check_status(dossier: Dossier) -> None:
    assert dossier.status.value in DOSSIER.state_names, f"statut non déclaré : {dossier.status!r}"


def check_history(dossier: Dossier, *, strictly_increasing_times: bool = False) -> None:
    """Chained and intact (:func:`~segur_workflow.history.verify_history`), ordered by time, each
    entry a transition of the definition; ``strictly_increasing_times`` for runs that never reuse a time."""
    bad = history_problems(dossier)
    assert not bad, f"historique corrompu aux entrées {bad}"
    assert dossier.history, "un dossier a au moins l'entrée de son dépôt"
    assert dossier.history[0].source is None, "la première entrée est la création"
    for before, after in zip(dossier.history, dossier.history[1:], strict=False):
        if strictly_increasing_times and not is_automatic(after):  # the portal's controls share the deposit's instant
            assert before.at < after.at, f"historique non strictement ordonné : {before.at} puis {after.at}"
        else:
            assert before.at <= after.at, f"historique désordonné : {before.at} puis {after.at}"
    for entry in dossier.history:
        spec_of(entry.source.value if entry.source is not None else None, entry.trigger)
    changes = [e.at for e in dossier.history if e.source is not e.dest]
    assert dossier.date_changement_statut == changes[-1], "date_changement_statut ≠ dernier changement de statut"
    assert dossier.date_depot == dossier.history[0].at


def enters_phase(spec: TransitionSpec) -> bool:
    """Whether ``spec`` files a request: it creates the dossier or leads into another phase (a deposit)."""
    if spec.creates:
        return True
    return any(Status(spec.target(src)).phase is not Status(src).phase for src in spec.sources)


#: The blocs the portal may mark by itself; the pieces are always the gestionnaire's.
BLOCS_AUTOMATIQUES = frozenset({Bloc.INFORMATIONS.value, Bloc.COORDONNEES_BANCAIRES.value})


def check_automatic_controls(dossier: Dossier) -> None:
    """The portal's own controls (``Role.SYSTEME`` entries) come only right after a deposit, at its
    instant, mark only « Informations de la demande » or « Coordonnées bancaires », and only OK."""
    for i, entry in enumerate(dossier.history):
        if entry.actor.role is not Role.SYSTEME:
            continue
        if not is_automatic(entry):
            # a command the definition lets the portal fire itself (reaffecter), not one of its controls
            spec = spec_of(entry.source.value if entry.source is not None else None, entry.trigger)
            assert Role.SYSTEME in spec.roles, f"entrée {i} du portail qui n'est pas un contrôle : {entry.trigger}"
            continue
        assert i > 0, "un contrôle automatique ne peut ouvrir l'historique"
        j = i - 1
        while j > 0 and is_automatic(dossier.history[j]):
            j -= 1
        deposit = dossier.history[j]
        spec = spec_of(deposit.source.value if deposit.source is not None else None, deposit.trigger)
        assert enters_phase(spec), f"contrôle automatique {i} hors d'un dépôt"
        assert not is_automatic(deposit), f"contrôle automatique {i} sans dépôt avant lui"
        assert entry.at == deposit.at, "un contrôle automatique est daté du dépôt"
        assert entry.source is entry.dest is deposit.dest
        assert entry.details.get("bloc") in BLOCS_AUTOMATIQUES, f"le portail a contrôlé {entry.details.get('bloc')}"
        assert entry.details.get("resultat") == Controle.OK.value
        assert entry.command_id is None


def check_emails(dossier: Dossier) -> None:
    """One e-mail per transition whose spec names a template, none otherwise, in history order."""
    expected = []
    for entry in dossier.history:
        spec = spec_of(entry.source.value if entry.source is not None else None, entry.trigger)
        if spec.email is not None:
            expected.append((entry.at, spec.email))
    sent = [(r.at, r.template) for r in dossier.emails_sent]
    assert sent == expected, f"courriels {sent} ≠ transitions avec courriel {expected}"
    for record in dossier.emails_sent:
        assert record.to == dossier.fournisseur.email, "un courriel va au fournisseur du dossier"


def check_payments(dossier: Dossier, corridor: Corridor = SAS) -> None:
    """At most one payment per phase, only after the paying transition, for the corridor's amount."""
    paying: dict[Phase, int] = dict.fromkeys(Phase, 0)
    for entry in dossier.history:
        if entry.trigger == Decider.TRIGGER:  # the instruction's decision triggers the phase's payment
            assert entry.source is not None
            paying[entry.source.phase] += 1
    for phase, demande in ((Phase.AVANCE, dossier.avance), (Phase.SOLDE, dossier.solde)):
        assert paying[phase] <= 1, f"paiement de la phase {phase} déclenché {paying[phase]} fois"
        paid = demande is not None and demande.paiement is not None
        assert paid == (paying[phase] == 1), f"paiement de {phase} incohérent avec l'historique"
        if demande is not None and demande.paiement is not None:
            assert demande.paiement.montant == demande.montant == corridor.montant(phase)
    ceiling = corridor.montant_avance + corridor.montant_solde
    assert Decimal(0) <= dossier.total_paye <= ceiling, f"total payé {dossier.total_paye} > {ceiling}"


def check_dossier(dossier: Dossier, corridor: Corridor = SAS, *, strictly_increasing_times: bool = False) -> None:
    """Every per-dossier invariant at once."""
    check_status(dossier)
    check_history(dossier, strictly_increasing_times=strictly_increasing_times)
    check_automatic_controls(dossier)
    check_emails(dossier)
    check_payments(dossier, corridor)


def example_command(dossier: Dossier, trigger: str, actor: Actor, corridor: Corridor = SAS) -> Command:
    """The last example command of ``trigger`` for ``dossier``, issued by ``actor``."""
    return attrs.evolve(_last_example(dossier, trigger, corridor), actor=actor)


_EXAMPLES: dict[tuple[object, ...], Command] = {}


def _last_example(dossier: Dossier, trigger: str, corridor: Corridor) -> Command:
    # commands_to_fire builds real PDFs each time; what it returns depends only on this key
    key = (trigger, id(corridor), dossier.fournisseur.ans_id, dossier.piece_demandee, dossier.gestionnaire,
           tuple(dossier.demande_courante.controles.items()))
    command = _EXAMPLES.get(key)
    if command is None:
        if len(_EXAMPLES) > 512:
            _EXAMPLES.clear()
        command = _EXAMPLES[key] = examples.commands_to_fire(dossier, trigger, corridor)[-1]
    return command


def check_allowed_commands(
    dossier: Dossier, actors: Iterable[Actor], now: datetime, corridor: Corridor = SAS
) -> None:
    """``allowed_commands`` agrees with ``handle``: every listed trigger has an accepted example
    command; an unlisted trigger is refused (checked on its example command)."""
    for actor in actors:
        allowed = allowed_commands(dossier, actor, corridor)
        assert allowed <= set(DOSSIER.triggers)
        for trigger in DOSSIER.triggers:
            if any(t.creates for t in DOSSIER.transitions if t.trigger == trigger):
                continue  # creation never applies to an existing dossier; handle refuses it (see machine)
            command = example_command(dossier, trigger, actor, corridor)
            try:
                handle(dossier, command, now=now, corridor=corridor)
            except WorkflowError as exc:
                if trigger in allowed:
                    raise AssertionError(
                        f"{trigger} est listé pour {actor} au statut {dossier.status} mais refusé : {exc}") from exc
            else:
                assert trigger in allowed, f"{trigger} accepté pour {actor} au statut {dossier.status} mais non listé"


def standard_actors(dossier: Dossier) -> tuple[Actor, ...]:
    """The owner, a gestionnaire, another provider and the system: who may or may not act."""
    return (
        Actor(Role.FOURNISSEUR, dossier.fournisseur.ans_id),
        examples.GESTIONNAIRE,
        Actor(Role.FOURNISSEUR, dossier.fournisseur.ans_id + "-autre"),
        Actor(Role.SYSTEME, "portail"),
    )
