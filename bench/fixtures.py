"""The SAS dossier work every case runs: dossiers, commands and dates prepared once, outside timing."""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

from segur_workflow import Bloc, Command, Controle, ControlerBloc, Decider, Dossier, Status, examples, handle, start
from segur_workflow.commands import DeposerAvance
from segur_workflow.examples import GESTIONNAIRE
from segur_workflow.model import Fournisseur

#: A date after every prepared dossier's history, so each command is "now or later".
NOW = examples.T0 + timedelta(days=30)

#: The triggers of a full lifecycle after the deposit, through both phases, a piece request and a modification
#: request: with the deposit and the bloc controls the guards need, the 13-command life of issue 19.
LIFECYCLE_TRIGGERS = ("controler_bloc", "decider", "deposer_solde", "demander_piece", "completer",
                      "demander_modification", "completer", "decider")


@attrs.frozen
class Work:
    """A dossier before a command, the command, and when it is handled."""

    dossier: Dossier
    command: Command
    now: datetime = NOW


def controler_bloc() -> Work:
    """An instruction step that sends no e-mail (``controler_bloc`` is internal, mails nobody)."""
    d = examples.dossier_at(Status.AVANCE_EN_INSTRUCTION)
    return Work(d, ControlerBloc(GESTIONNAIRE, Bloc.INFORMATIONS, Controle.OK))


def decider() -> Work:
    """The advance decision (guard: every bloc OK), which renders and sends one e-mail."""
    d = examples.dossier_at(Status.AVANCE_EN_INSTRUCTION)
    for bloc in Bloc:
        d = handle(d, ControlerBloc(GESTIONNAIRE, bloc, Controle.OK), now=NOW).dossier
    return Work(d, Decider(GESTIONNAIRE))


def lifecycle() -> tuple[Dossier, tuple[tuple[Command, datetime], ...]]:
    """The deposited dossier and every later command of a full lifecycle (ends ``solde_decidee``)."""
    first = examples.dossier_at(Status.AVANCE_EN_INSTRUCTION)
    d = first
    now = NOW
    steps: list[tuple[Command, datetime]] = []
    for trigger in LIFECYCLE_TRIGGERS:
        for command in examples.commands_to_fire(d, trigger):
            now += timedelta(minutes=1)
            steps.append((command, now))
            d = handle(d, command, now=now).dossier
    assert d.status is Status.SOLDE_DECIDEE
    return first, tuple(steps)


def with_history(length: int) -> Dossier:
    """A dossier under instruction whose history holds ``length`` entries (repeated bloc controls)."""
    return life_with_history(length)[-1]


def life_with_history(length: int) -> list[Dossier]:
    """Every state of :func:`with_history`'s dossier, one per command: what a repository stores one journal
    row each for (``bench.case_storage.clone_sealed``)."""
    states = [examples.dossier_at(Status.AVANCE_EN_INSTRUCTION)]
    now = examples.T0
    results = (Controle.A_INSTRUIRE, Controle.KO)
    for i in range(length - len(states[0].history)):
        now += timedelta(seconds=1)
        states.append(handle(states[-1], ControlerBloc(GESTIONNAIRE, Bloc.INFORMATIONS, results[i % 2]),
                             now=now).dossier)
    assert len(states[-1].history) == length
    return states


def fournisseur(i: int) -> Fournisseur:
    """A distinct provider per dossier (one funding request per provider)."""
    return attrs.evolve(examples.FOURNISSEUR, ans_id=f"tndSAS{i:06d}", raison_sociale=f"PLATEFORME {i}",
                        email=f"contact{i}@plateforme.example")


def deposer(i: int) -> DeposerAvance:
    return examples.deposer_avance(fournisseur(i))


def numero(i: int) -> str:
    return f"FINSAS{i:06d}"


def fresh_dossier(i: int, *, at_status: Status = Status.SOLDE_EN_INSTRUCTION) -> Dossier:
    """A dossier of its own (its own provider, files, dates), brought to ``at_status`` by the engine."""
    now = examples.T0 + timedelta(seconds=i)
    d = start(deposer(i), numero=numero(i), now=now).dossier
    for trigger in examples.PATHS[at_status]:
        for command in examples.commands_to_fire(d, trigger):
            now += timedelta(minutes=1)
            d = handle(d, command, now=now).dossier
    return d
