"""The delivery commands of ``segur-workflow``: ``deliver`` and ``dead-letters``.

``deliver --db BASE --smtp HOST:PORT --sender ADDRESS [--loop]`` runs a :class:`~.delivery.Dispatcher`
on the outbox of ``BASE`` (an SQLite file or a PostgreSQL connection string), one batch or until interrupted
with ``--loop``; the SMTP password, if any, comes from the ``SEGUR_SMTP_PASSWORD`` environment variable,
never from the command line.
Integration events are left in the outbox: they are for the host's ``on_event``.
``dead-letters --db BASE [--requeue KIND:ID …]`` lists what was given up, and gives entries a fresh start.
"""

from __future__ import annotations

import argparse
import os
import signal
import threading
from datetime import timedelta
from types import FrameType
from typing import Any, TextIO

from ..delivery import DeliveryReport, Dispatcher, SmtpTransport, default_worker_id
from ._common import CliError, add_db_option, clean, open_repository

__all__ = [
    "PASSWORD_VARIABLE",
    "add_parsers",
]

PASSWORD_VARIABLE = "SEGUR_SMTP_PASSWORD"  # noqa: S105 - the name of a variable, not a password


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"« {text} » : HÔTE:PORT attendu (ex. localhost:1025)")
    return host.strip("[]"), int(port)


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"« {text} » : un nombre positif attendu") from None
    if not 0 < value < 10**7:
        raise argparse.ArgumentTypeError(f"« {text} » : un nombre positif attendu")
    return value


def _count(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 100_000:
        raise argparse.ArgumentTypeError(f"« {text} » : un entier de 1 à 100000 attendu")
    return int(text)


def _entry(text: str) -> tuple[str, int]:
    kind, sep, ident = text.partition(":")
    if not sep or kind not in {"email", "event"} or not ident.isdigit() or len(ident) > 18:
        raise argparse.ArgumentTypeError(f"« {text} » : TYPE:ID attendu (ex. email:12 ou event:3)")
    return kind, int(ident)


def _summary(report: DeliveryReport) -> str:
    line = f"envoyés : {report.sent}, à réessayer : {report.retried}, abandonnés : {report.dead}"
    return line + (f", baux expirés : {report.lost}" if report.lost else "")


def _cmd_deliver(args: argparse.Namespace, out: TextIO) -> int:
    host, port = args.smtp
    password = os.environ.get(PASSWORD_VARIABLE) if args.username else None
    if args.username and password is None:
        raise CliError(f"--username demande le mot de passe dans la variable d'environnement {PASSWORD_VARIABLE}.")
    transport = SmtpTransport(host, port, sender=args.sender, starttls=args.starttls, username=args.username,
                              password=password)
    repository = open_repository(args.db, read_only=False)  # it claims and settles outbox entries
    dispatcher = Dispatcher(repository, transport=transport, worker_id=args.worker_id or default_worker_id(),
                            lease=timedelta(seconds=args.lease), max_attempts=args.max_attempts)
    stop = threading.Event()
    previous: dict[signal.Signals, Any] = {}

    def interrupted(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    if args.loop:  # finish the entry in hand, then stop: nothing left claimed for a whole lease
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, interrupted)
    try:
        while True:
            report = dispatcher.run_once(limit=args.batch)
            if report.claimed or not args.loop:
                print(_summary(report), file=out, flush=True)
            if not args.loop or stop.wait(0 if report.claimed == args.batch else args.interval):
                break
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        dispatcher.close()
        repository.close()
    return 0


def _cmd_dead_letters(args: argparse.Namespace, out: TextIO) -> int:
    repository = open_repository(args.db, read_only=not args.requeue)  # listing only reads
    try:
        code = 0
        for kind, ident in args.requeue or ():
            if repository.requeue(kind, ident):
                print(f"{kind}:{ident} remis en file", file=out)
            else:
                print(f"{kind}:{ident} n'est pas une lettre morte", file=out)
                code = 1
        if not args.requeue:
            letters = repository.dead_letters(limit=args.limit)
            for d in letters:
                print(f"{d.kind}:{d.id}\t{d.numero} v{d.version}\t{d.attempts} essai(s)\t"
                      f"{d.dead_at.isoformat(timespec='seconds')}\t{clean(d.summary)}\t{clean(d.last_error)}", file=out)
            print(f"{len(letters)} lettre(s) morte(s)", file=out)
    finally:
        repository.close()
    return code


def add_parsers(sub: Any) -> None:
    """Register ``deliver`` and ``dead-letters`` on the ``segur-workflow`` sub-command parser."""
    p = sub.add_parser("deliver", help="envoie les courriels de la boîte d'envoi par SMTP",
                       description="Envoie les courriels en attente d'une base SQLite ou PostgreSQL à un serveur SMTP. "
                                   "Plusieurs répartiteurs peuvent tourner ensemble : chaque courriel est réservé "
                                   "par l'un d'eux le temps d'un bail. Mot de passe SMTP : variable "
                                   f"{PASSWORD_VARIABLE}.")
    add_db_option(p, use="sa boîte d'envoi")
    p.add_argument("--smtp", metavar="HÔTE:PORT", required=True, type=_host_port, help="serveur SMTP")
    p.add_argument("--sender", metavar="ADRESSE", required=True, help="adresse d'expéditeur (From)")
    p.add_argument("--loop", action="store_true", help="continue jusqu'à interruption (Ctrl-C, SIGTERM)")
    p.add_argument("--starttls", action="store_true", help="passe la connexion en TLS (STARTTLS)")
    p.add_argument("--username", metavar="IDENTIFIANT", help="identifiant SMTP (mot de passe : variable "
                                                              f"{PASSWORD_VARIABLE})")
    p.add_argument("--worker-id", metavar="ID", help="nom de ce répartiteur (défaut : hôte-pid)")
    p.add_argument("--batch", type=_count, default=100, help="courriels réservés par lot (défaut : 100)")
    p.add_argument("--interval", type=_positive, default=5.0, help="attente entre deux lots vides, en secondes")
    p.add_argument("--lease", type=_positive, default=300.0, help="durée du bail, en secondes (défaut : 300)")
    p.add_argument("--max-attempts", type=_count, default=8, help="essais avant abandon (défaut : 8)")
    p.set_defaults(run=_cmd_deliver)

    p = sub.add_parser("dead-letters", help="liste les envois abandonnés, ou les remet en file",
                       description="Liste les courriels et événements abandonnés après trop d'essais (avec la "
                                   "dernière erreur), ou les remet en file avec --requeue.")
    add_db_option(p)
    p.add_argument("--requeue", metavar="TYPE:ID", type=_entry, nargs="+", help="remet ces entrées en file "
                                                                                "(ex. email:12 event:3)")
    p.add_argument("--limit", type=_count, default=1000, help="lettres listées au plus (défaut : 1000)")
    p.set_defaults(run=_cmd_dead_letters)
