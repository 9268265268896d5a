"""Sample data of the adapter contract: providers, dossiers brought to a status, one more accepted command,
the PostgreSQL test server."""

from __future__ import annotations

import os
from datetime import datetime, timedelta

import attrs
import pytest

from ... import engine, examples
from ..._email import Email
from ...commands import Command, Completer, ControlerBloc, DemanderPiece
from ...model import Dossier, Fournisseur
from ...states import Status
from ...vocabulary import Bloc, Controle, PieceKind

__all__ = ["fournisseur", "make_dossier", "postgres_dsn", "step"]

# -- sample data ------------------------------------------------------------------------------------------------
def fournisseur(n: int) -> Fournisseur:
    """Provider number ``n`` (a distinct ANS id and e-mail per ``n``)."""
    return attrs.evolve(examples.FOURNISSEUR, ans_id=f"tndSAS{n:04d}", email=f"contact{n}@fournisseur.example")


def make_dossier(n: int, status: Status = Status.AVANCE_EN_INSTRUCTION, *,
                 command_id: str | None = None, gestionnaire: str | None = None) -> tuple[Dossier, tuple[Email, ...]]:
    """Dossier ``FINSAS{n:06d}`` of provider ``n`` brought to ``status``, and the e-mails of its last step.

    ``gestionnaire``: the gestionnaire it is assigned to at deposit."""
    now = examples.T0
    outcome = engine.start(examples.deposer_avance(fournisseur(n), command_id=command_id),
                           numero=f"FINSAS{n:06d}", now=now, gestionnaire=gestionnaire)
    for trigger in examples.PATHS[status]:
        for command in examples.commands_to_fire(outcome.dossier, trigger):
            now += timedelta(hours=1)
            outcome = engine.handle(outcome.dossier, command, now=now)
    return outcome.dossier, outcome.emails


def step(dossier: Dossier, *, command_id: str | None = None, now: datetime | None = None
         ) -> tuple[Dossier, tuple[Email, ...]]:
    """One more accepted command on ``dossier`` (one that sends an e-mail when the status allows)."""
    when = now or (dossier.history[-1].at + timedelta(minutes=1))
    return _apply(dossier, _next_command(dossier, command_id), when)


def _apply(dossier: Dossier, command: Command, now: datetime) -> tuple[Dossier, tuple[Email, ...]]:
    outcome = engine.handle(dossier, command, now=now)
    return outcome.dossier, outcome.emails


def _next_command(dossier: Dossier, command_id: str | None) -> Command:
    """A command that is always accepted, alternating between two states in the solde phase."""
    if dossier.status is Status.SOLDE_EN_INSTRUCTION:
        return DemanderPiece(examples.GESTIONNAIRE, PieceKind.PV_VSR, "Merci de joindre le PV de VSR signé.",
                             command_id=command_id)
    if dossier.status is Status.SOLDE_EN_ATTENTE_PIECE:
        return Completer(examples.owner(dossier), pieces={PieceKind.PV_VSR: examples.attachment(PieceKind.PV_VSR)},
                         command_id=command_id)
    return ControlerBloc(examples.GESTIONNAIRE, Bloc.INFORMATIONS, Controle.OK, command_id=command_id)


def postgres_dsn() -> str:
    """The DSN of the test server (``SEGUR_TEST_PG_DSN``), or skip — or fail under CI."""
    dsn = os.environ.get("SEGUR_TEST_PG_DSN", "")
    if not dsn:
        reason = ("SEGUR_TEST_PG_DSN n'est pas défini : pas de serveur PostgreSQL de test "
                  "(lancez `make test`, qui démarre scripts/postgres-test-server.sh)")
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(reason + " — sous CI ces tests ne doivent pas être sautés")
        pytest.skip(reason)
    return dsn
