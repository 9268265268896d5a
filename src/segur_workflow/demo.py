"""The demo run by ``make demo`` / ``segur-workflow demo``: two SAS dossiers on an SQLite file.

Everything goes through :class:`~segur_workflow.service.WorkflowService` and
:class:`~segur_workflow.adapters.sqlite.SQLiteRepository`, as a host would do it:

1. LE SELECT files its advance request, the gestionnaire checks the three blocs and decides; the
   balance request is filed, a bloc is found KO, a modification is requested, the provider
   completes, the blocs are checked again and the balance is decided;
2. a second provider files an advance request, which is rejected.

3. the outbox is relayed for real: a local SMTP server (aiosmtpd, the ``smtp`` extra) is started on a
   free port, a :class:`~segur_workflow.delivery.Dispatcher` delivers every pending e-mail to it with
   :class:`~segur_workflow.delivery.SmtpTransport` and hands the integration events (the payments
   first) to a host callback; what the server received is printed.

Re-runnable on the same file: each run adds two new dossiers with the next numbers and providers
not used yet (LE SELECT, ``tndSAS0032``, first), so the file keeps every earlier run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import attrs

from . import examples
from .commands import (
    Command,
    Completer,
    ControlerBloc,
    Decider,
    DemanderModification,
    DeposerAvance,
    DeposerSolde,
    Rejeter,
)
from .engine import format_montant
from .errors import StorageError, WorkflowError
from .history import is_automatic, verify_history
from .model import SAS, Actor, Fournisseur
from .ports import OutboxRelay
from .service import Result, WorkflowService
from .vocabulary import Bloc, Controle, Phase, PieceKind, Role

Write = Callable[[str], None]

#: The From of the demo's e-mails (the ASP's no-reply address in the guides' spirit; a reserved domain).
DEMO_SENDER = "ne-pas-repondre@asp-public.example"


def _providers(service: WorkflowService) -> Iterator[Fournisseur]:
    """Providers without a dossier in this file yet: LE SELECT first, then numbered ones."""
    candidates = [examples.FOURNISSEUR] + [
        attrs.evolve(examples.FOURNISSEUR, ans_id=f"tndSAS{n:04d}", raison_sociale=f"PLATEFORME SAS DÉMO {n}",
                     email=f"contact{n}@plateforme-demo.example")
        for n in range(1000, 10_000)
    ]
    for fournisseur in candidates:
        if service.repository.find_by_provider(fournisseur.ans_id) is None:
            yield fournisseur


def _step(service: WorkflowService, write: Write, numero: str | None, command: Command) -> Result:
    if isinstance(command, DeposerAvance):
        result = service.start(command)
    else:
        assert numero is not None
        result = service.handle(numero, command)
    who = f"{command.actor.role.label} {command.actor.id}"
    what = command.TRIGGER
    if isinstance(command, ControlerBloc):
        what += f" {command.bloc.label} → {command.resultat.label}"
    line = f"[{result.numero} v{result.version}] {what} ({who}) — statut : {result.dossier.status.label}"
    line += f" ({result.dossier.phase.label})"
    write(line)
    if isinstance(command, DeposerAvance | DeposerSolde):
        for entry in result.dossier.history:
            if entry.at == result.dossier.history[-1].at and is_automatic(entry):
                write(f"      portail (Système) : {Bloc(entry.details['bloc']).label} → Contrôle OK — {entry.comment}")
    for email in result.emails:
        write(f"      courriel à {email.to} : {email.subject}")
    return result


def _controler_tout(service: WorkflowService, write: Write, numero: str, gestionnaire: Actor) -> None:
    """The gestionnaire marks OK every bloc not OK yet (the portal checked some of them at deposit)."""
    controles = service.get(numero).dossier.demande_courante.controles
    for bloc in Bloc:
        if controles[bloc] is not Controle.OK:
            _step(service, write, numero, ControlerBloc(gestionnaire, bloc, Controle.OK))


def _montants(service: WorkflowService) -> str:
    """Where the amounts shown come from: a placeholder is said to be an example, never shown as fact."""
    parts = []
    for phase in Phase:
        montant = format_montant(service.corridor.montant(phase))
        if service.corridor.montant_provisoire(phase):
            parts.append(f"{phase.montant_label} : {montant} € = montant d'EXEMPLE (les guides de l'ASP ne le "
                         "donnent pas ; un hôte configure le montant réel du couloir)")
        else:
            parts.append(f"{phase.montant_label} : {montant} € (source : {service.corridor.source_montant(phase)})")
    return "   " + "\n   ".join(parts)


def _deliver(repository: OutboxRelay, write: Write) -> None:
    """Relay the outbox to a local SMTP server and print what it received, and the events."""
    from .delivery import Dispatcher, SmtpTransport
    from .engine import Event, PaiementDeclenche

    try:
        from .testing.smtp import LocalSmtpServer

        server = LocalSmtpServer()
    except ImportError:
        write("\n== Boîte d'envoi : aiosmtpd n'est pas installé (pip install 'segur-workflow[smtp]') : "
              "les courriels restent en attente.")
        return

    events: list[str] = []

    def on_event(event: Event) -> None:  # the host's side: a payment system would be called here
        events.append(event.event_id)
        if isinstance(event, PaiementDeclenche):
            write(f"   événement {event.event_id} : paiement {event.phase.label} de {event.montant} € déclenché")

    with server:
        write(f"\n== Boîte d'envoi : relais vers le serveur SMTP local {server.host}:{server.port} (aiosmtpd)")
        transport = SmtpTransport(server.host, server.port, sender=DEMO_SENDER)
        dispatcher = Dispatcher(repository, transport=transport, worker_id="demo", on_event=on_event)
        try:
            total = DeliveryTotals()
            while (report := dispatcher.run_once(limit=100)).claimed:
                total.add(report.sent, report.retried, report.dead)
        finally:
            dispatcher.close()
        received = server.messages()
    write(f"   remis : {total.sent - len(events)} courriel(s) et {len(events)} événement(s) ; "
          f"à réessayer : {total.retried} ; abandonnés : {total.dead}")
    write(f"   le serveur a reçu {len(received)} courriel(s) :")
    for message in received:
        write(f"   {message.message_id}  à {', '.join(message.rcpt_tos)} : {message.subject}")


@attrs.define
class DeliveryTotals:
    """Counts over the demo's delivery batches."""

    sent: int = 0
    retried: int = 0
    dead: int = 0

    def add(self, sent: int, retried: int, dead: int) -> None:
        self.sent += sent
        self.retried += retried
        self.dead += dead


def run_demo(db_path: Path | str, write: Write = print, *, error: Write | None = None) -> int:
    """Run the demo scenario on the SQLite file ``db_path``; print each step; return an exit code.

    Errors go to ``error`` (the CLI's stderr; ``write`` when not given): exit code 2 when the file is not a
    usable database (an input problem), 1 when the library refused a step of the scenario.
    """
    report = error if error is not None else write
    from .adapters.sqlite import SQLiteRepository

    path = Path(db_path)
    g = examples.GESTIONNAIRE
    try:
        with SQLiteRepository(path) as repository:
            service = WorkflowService(repository)
            providers = _providers(service)
            write(f"Base SQLite : {path}")

            # 1. a complete dossier: advance, balance, a modification request, the final decision
            fournisseur = next(providers)
            owner = Actor(Role.FOURNISSEUR, fournisseur.ans_id)
            write(f"\n== Dossier complet — {fournisseur.raison_sociale} ({fournisseur.ans_id})")
            numero = _step(service, write, None, examples.deposer_avance(fournisseur)).numero
            _controler_tout(service, write, numero, g)
            _step(service, write, numero, Decider(g))
            _step(service, write, numero, DeposerSolde(owner, examples.pieces(Phase.SOLDE),
                                                       "support@le-select.example — 01 23 45 67 89",
                                                       SAS.montant_solde))
            _step(service, write, numero, ControlerBloc(g, Bloc.PIECES_JUSTIFICATIVES, Controle.KO,
                                                        "PV de VSR non signé"))
            _step(service, write, numero, DemanderModification(
                g, "Le PV de vérification de service régulier n'est pas signé : merci de le déposer signé."))
            _step(service, write, numero, Completer(owner, pieces={
                PieceKind.PV_VSR: examples.attachment(PieceKind.PV_VSR)}))
            _controler_tout(service, write, numero, g)
            final = _step(service, write, numero, Decider(g))
            exemple = " (dont un solde d'EXEMPLE, voir ci-dessous)" if SAS.montant_provisoire(Phase.SOLDE) else ""
            write(f"   total payé : {final.dossier.total_paye} €{exemple} ; historique intact : "
                  f"{'oui' if verify_history(final.dossier) else 'NON'}")
            write(_montants(service))

            # 2. a rejected advance request
            fournisseur = next(providers)
            write(f"\n== Demande rejetée — {fournisseur.raison_sociale} ({fournisseur.ans_id})")
            rejete = _step(service, write, None, examples.deposer_avance(fournisseur)).numero
            _step(service, write, rejete, Rejeter(g, "Le procès-verbal de mise en service n'est pas signé."))

            # 3. the outbox, relayed to a real SMTP server started here
            _deliver(repository, write)
    except StorageError as exc:
        report(f"Erreur : {path} n'est pas une base SQLite utilisable ({exc.reason}).")
        return 2
    except WorkflowError as exc:
        report(f"Erreur ({exc.code}) : {exc.message}")
        return 1
    return 0
