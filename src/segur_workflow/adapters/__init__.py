"""Reference adapters of :class:`~segur_workflow.ports.DossierRepository`.

* :class:`.memory.InMemoryRepository` — thread-safe, for tests and prototypes;
* :class:`.sqlite.SQLiteRepository` — stdlib ``sqlite3`` (WAL), the embedded default;
* :class:`.postgres.PostgresRepository` — psycopg 3 (``pip install 'segur-workflow[postgres]'``).

The PostgreSQL module is not imported here, so that the package works without psycopg.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, timedelta

from .._checks import email_problem, ensure_str, has_surrogate, identifier_problem
from .._email import Email
from ..engine import Event
from ..errors import InvalidInput
from ..history import command_entry
from ..model import Dossier
from ..ports import Claim, CommandRecord, EntryKind, NewDossier

__all__ = [
    "NUMERO_DIGITS", "SQL_INT_MAX", "SQL_INT_MIN", "applied_command_id", "check_claim", "check_claim_value",
    "check_dossier", "check_events", "check_gestionnaires", "check_kinds", "check_limit", "check_new", "check_now",
    "check_outbox",
    "check_text", "check_version", "check_writes", "command_record", "format_numero", "number_range", "number_value",
]

#: Digits after the corridor's prefix in a dossier number.
NUMERO_DIGITS = 6
#: The range of a 64-bit SQL integer (``BIGINT``, SQLite's ``INTEGER``): ids and versions beyond it cannot exist.
SQL_INT_MIN, SQL_INT_MAX = -(2**63), 2**63 - 1
_WORKER = re.compile(r"[\x21-\x7e]{1,128}")


def format_numero(prefix: str, n: int) -> str:
    """Number ``n`` of ``prefix`` (``FINSAS`` and 1 → ``FINSAS000001``)."""
    return f"{prefix}{n:0{NUMERO_DIGITS}d}"


def number_range(prefix: str) -> tuple[str, str]:
    """The lowest and highest well-formed numbers of ``prefix``: the bounds of a range scan."""
    return prefix + "0" * NUMERO_DIGITS, prefix + "9" * NUMERO_DIGITS


def number_value(prefix: str, numero: str | None) -> int:
    """The counter value of ``numero`` (0 for ``None``)."""
    if numero is None:
        return 0
    digits = numero[len(prefix):]
    if not (numero.startswith(prefix) and len(digits) == NUMERO_DIGITS and digits.isdigit()):
        raise InvalidInput("last_numero", f"un numéro {prefix} suivi de {NUMERO_DIGITS} chiffres", numero)
    return int(digits)


def check_dossier(dossier: object) -> Dossier:
    if not isinstance(dossier, Dossier):
        raise InvalidInput("dossier", "un Dossier", dossier)
    return dossier


def check_outbox(outbox: object) -> tuple[Email, ...]:
    """The outbox as a tuple of :class:`Email`, checked before anything is written."""
    if isinstance(outbox, str | bytes) or not isinstance(outbox, Sequence):
        raise InvalidInput("outbox", "une liste d'Email", outbox)
    for item in outbox:
        if not isinstance(item, Email):
            raise InvalidInput("outbox", "une liste d'Email", item)
        if not isinstance(item.to, str) or email_problem(item.to) is not None:
            # one bare address: "a@x, b@y" or "Nom <a@b>, <c@d>" would reach several people
            raise InvalidInput("outbox", "des courriels à une seule adresse valide", item.to)
        for header in (item.template, item.subject):  # one line: a header (no "\r\nBcc: …"), a template's name
            if not isinstance(header, str) or identifier_problem(header) is not None:
                raise InvalidInput("outbox", "des courriels dont le modèle et l'objet sont des textes d'une ligne, "
                                   "sans caractère de contrôle", header)
        for body in (item.text, item.html):  # what every driver stores alike (PostgreSQL refuses NUL)
            if not isinstance(body, str) or "\x00" in body or has_surrogate(body):
                raise InvalidInput("outbox", "des courriels dont les corps sont des textes sans caractère NUL ni "
                                   "substitut isolé", body)
    return tuple(outbox)


def check_events(events: object) -> tuple[Event, ...]:
    """The events as a tuple of engine events, each with its ``event_id``."""
    if isinstance(events, str | bytes) or not isinstance(events, Sequence):
        raise InvalidInput("events", "une liste d'événements", events)
    for item in events:
        if not isinstance(item, Event) or not item.event_id:
            raise InvalidInput("events", "une liste d'événements du moteur (avec event_id)", item)
    return tuple(events)


def check_writes(outbox: object, events: object, command: object
                 ) -> tuple[tuple[Email, ...], tuple[Event, ...], CommandRecord | None]:
    """What a write carries besides the dossier, checked before anything is written."""
    if command is not None and not isinstance(command, CommandRecord):
        raise InvalidInput("command", "un CommandRecord ou None", command)
    return check_outbox(outbox), check_events(events), command


def check_new(new: object, numero: str) -> NewDossier:
    """What ``create``'s ``build`` returned, for the number it was given."""
    if not isinstance(new, NewDossier):
        raise InvalidInput("build", "une fonction qui renvoie un NewDossier", new)
    check_dossier(new.dossier)
    if new.dossier.numero != numero:
        raise InvalidInput("build", f"un dossier numéroté {numero}", new.dossier.numero)
    check_writes(new.outbox, new.events, new.command)
    return new


def command_record(dossier: Dossier, command: CommandRecord | None) -> CommandRecord | None:
    """The record to store for the write of ``dossier``: the service's, else one from its last history entry."""
    command_id = applied_command_id(dossier)
    if command is not None:
        if command.command_id != command_id:
            raise InvalidInput("command", f"l'enregistrement de la commande {command_id!r}", command.command_id)
        return command
    if command_id is None:
        return None
    entry = command_entry(dossier)
    assert entry is not None  # a command id implies a history entry
    # Without the command itself there is no digest: "" never matches a real one, so such an id is never replayed.
    return CommandRecord(command_id, entry.trigger, entry.actor.role.value, entry.actor.id, dossier.numero, "")


def check_now(now: object) -> datetime:
    if not isinstance(now, datetime) or now.utcoffset() is None:
        raise InvalidInput("now", "une date avec fuseau horaire (datetime aware)", now)
    return now


def check_claim(worker_id: object, now: object, lease: object, limit: object) -> tuple[str, datetime, timedelta, int]:
    if not isinstance(worker_id, str) or _WORKER.fullmatch(worker_id) is None:
        raise InvalidInput("worker_id", "un identifiant de 1 à 128 caractères ASCII visibles", worker_id)
    if not isinstance(lease, timedelta) or lease <= timedelta(0):
        raise InvalidInput("lease", "une durée (timedelta) positive", lease)
    return worker_id, check_now(now), lease, check_limit(limit)


def check_kinds(kinds: object) -> tuple[EntryKind, ...]:
    """The entry kinds a claim takes, in order (events first by default), without repeats."""
    if isinstance(kinds, str) or not isinstance(kinds, Sequence) or not kinds:
        raise InvalidInput("kinds", "une liste parmi « event », « email »", kinds)
    out: list[EntryKind] = []
    for kind in kinds:
        if kind not in ("event", "email"):
            raise InvalidInput("kinds", "une liste parmi « event », « email »", kind)
        if kind not in out:
            out.append(kind)
    return tuple(out)


def check_claim_value(claim: object) -> Claim:
    if not isinstance(claim, Claim) or claim.kind not in {"email", "event"}:
        raise InvalidInput("claim", "une Claim renvoyée par claim()", claim)
    return claim


def check_version(expected_version: object) -> int:
    if (isinstance(expected_version, bool) or not isinstance(expected_version, int) or expected_version < 1
            or expected_version >= SQL_INT_MAX):
        raise InvalidInput("expected_version", "un numéro de version entier ≥ 1", expected_version)
    return expected_version


def check_limit(limit: object) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= SQL_INT_MAX:
        raise InvalidInput("limit", "un entier ≥ 1", limit)
    return limit


def check_text(name: str, value: object) -> str:
    """A look-up key: a ``str`` that every driver can encode (no NUL, no lone surrogate)."""
    text = ensure_str(name, value)
    if "\x00" in text or has_surrogate(text):
        raise InvalidInput(name, "un texte sans caractère NUL ni substitut isolé", value)
    return text


def applied_command_id(dossier: Dossier) -> str | None:
    """The ``command_id`` of the command that produced ``dossier`` (its entry: ``history.command_entry``)."""
    entry = command_entry(dossier)  # the deposit's entry, not the portal's controls that follow it
    return entry.command_id if entry is not None else None


def check_gestionnaires(gestionnaires: object) -> tuple[str, ...]:
    """A list of gestionnaire ids (``workload``), without repeats, in the order given."""
    if isinstance(gestionnaires, str | bytes) or not isinstance(gestionnaires, Sequence):
        raise InvalidInput("gestionnaires", "une liste d'identifiants de gestionnaires", gestionnaires)
    for item in gestionnaires:
        if not isinstance(item, str) or not item.strip():
            raise InvalidInput("gestionnaires", "une liste d'identifiants de gestionnaires", item)
    return tuple(dict.fromkeys(gestionnaires))
