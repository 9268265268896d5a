"""The contract every :class:`~segur_workflow.ports.DossierRepository` adapter must pass.

Subclass :class:`RepositoryContract` in your test suite and override the ``repository`` fixture
(the factory hook) so that it returns a fresh, empty repository::

    from segur_workflow.testing.contract import RepositoryContract

    class TestMyRepository(RepositoryContract):
        @pytest.fixture
        def repository(self, tmp_path):
            return MyRepository(tmp_path / "db")

Multi-process checks (:func:`run_race`, :func:`run_service_race`, :func:`crash_between_state_and_outbox`)
take a picklable factory (e.g. ``functools.partial(MyRepository, dsn)``): each OS process opens its
own repository on the same storage.

Tampering. A stored dossier is evidence: an adapter that keeps dossiers outside the process must
refuse, with :class:`~segur_workflow.errors.DossierAltere`, a dossier whose stored form was edited,
truncated or rolled back behind its back. Override the ``tampering`` fixture to return a
:class:`Tampering` for your storage (``SQLTampering`` does it for the layout of our SQL adapters);
the default ``None`` skips those cases (right for a repository that keeps nothing outside the process).
"""

from __future__ import annotations

import json
import multiprocessing
import os
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import attrs
import pytest

from .. import engine, examples
from .._email import Email
from ..commands import Command, Completer, ControlerBloc, DemanderPiece, Reaffecter
from ..errors import ConcurrencyConflict, DossierAltere, DossierNotFound, DuplicateFinancingRequest, InvalidInput
from ..model import Dossier, Fournisseur
from ..ports import DossierRepository, DossierSummary
from ..states import Status
from ..vocabulary import Bloc, Controle, PieceKind

__all__ = [
    "RaceReport",
    "RepositoryContract",
    "RepositoryFactory",
    "SQLTampering",
    "Tampering",
    "check_race",
    "crash_between_state_and_outbox",
    "make_dossier",
    "postgres_dsn",
    "run_race",
    "run_service_race",
    "step",
]

RepositoryFactory = Callable[[], DossierRepository]


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


# -- tampering with what is stored --------------------------------------------------------------------------------
class Tampering(Protocol):
    """What an attacker with write access to the storage (not to the key) does, for the contract's cases.

    ``path`` goes down a stored JSON value by keys and list indexes, e.g. ``("coordonnees_bancaires", "iban")``.
    """

    def edit_snapshot(self, numero: str, path: Sequence[str | int], value: object) -> None:
        """Set one field of the stored dossier (outside its history)."""

    def edit_history(self, numero: str, index: int, path: Sequence[str | int], value: object) -> None:
        """Set one field of history entry ``index`` (0 = the first) as stored."""

    def drop_last_write(self, numero: str) -> None:
        """Remove what the last write appended to the history (the state row left as it is)."""

    def copy_state(self, numero: str) -> object:
        """An opaque copy of the stored state row, for :meth:`restore_state`."""

    def restore_state(self, numero: str, copy: object) -> None:
        """Put an older copy of the state row back (a rollback)."""


def _set_path(value: Any, path: Sequence[str | int], new: object) -> Any:
    target = value
    for step_ in path[:-1]:
        target = target[step_]
    target[path[-1]] = new
    return value


class SQLTampering:
    """:class:`Tampering` for the layout of our SQL adapters (``dossiers`` snapshot rows + ``journal`` rows).

    ``connect`` returns a new DB-API connection to the same database (sqlite3, or psycopg with the
    repository's ``search_path``); ``placeholder`` is its parameter style (``?`` or ``%s``).
    """

    def __init__(self, connect: Callable[[], Any], placeholder: str = "?") -> None:
        self.connect = connect
        self.p = placeholder

    def _run(self, statement: str, params: Sequence[object] = ()) -> list[Any]:
        conn = self.connect()
        try:
            cur = conn.cursor()
            cur.execute(statement.replace("?", self.p), tuple(params))
            rows = list(cur.fetchall()) if cur.description else []
            conn.commit()
            return rows
        finally:
            conn.close()

    def _json(self, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    def _text(self, value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    def edit_snapshot(self, numero: str, path: Sequence[str | int], value: object) -> None:
        (data,), = self._run("SELECT data FROM dossiers WHERE numero = ?", (numero,))
        self._run("UPDATE dossiers SET data = ? WHERE numero = ?",
                  (self._text(_set_path(self._json(data), path, value)), numero))

    def edit_history(self, numero: str, index: int, path: Sequence[str | int], value: object) -> None:
        rows = self._run("SELECT position, entries FROM journal WHERE numero = ? ORDER BY position", (numero,))
        for position, raw in rows:
            entries = self._json(raw)
            if index < len(entries):
                _set_path(entries[index], path, value)
                self._run("UPDATE journal SET entries = ? WHERE numero = ? AND position = ?",
                          (self._text(entries), numero, position))
                return
            index -= len(entries)
        raise IndexError(index)

    def drop_last_write(self, numero: str) -> None:
        self._run("DELETE FROM journal WHERE numero = ? AND position = (SELECT max(position) FROM journal"
                  " WHERE numero = ?)", (numero, numero))

    def copy_state(self, numero: str) -> object:
        (row,) = self._run("SELECT version, length, head, data, status FROM dossiers WHERE numero = ?", (numero,))
        return tuple(row)

    def restore_state(self, numero: str, copy: object) -> None:
        row: tuple[Any, ...] = tuple(copy)  # type: ignore[arg-type]
        version, length, head, data, status = row
        self._run("UPDATE dossiers SET version = ?, length = ?, head = ?, data = ?, status = ? WHERE numero = ?",
                  (version, length, head, data if isinstance(data, str) else self._text(data), status, numero))


# -- the contract ---------------------------------------------------------------------------------------------------
class RepositoryContract:
    """The promises of :class:`~segur_workflow.ports.DossierRepository`. Override ``repository``."""

    @pytest.fixture
    def repository(self) -> DossierRepository | Iterator[DossierRepository]:
        """The factory hook: return (or yield, to clean up after) a fresh, empty repository."""
        raise NotImplementedError("override the `repository` fixture: it returns a fresh, empty repository")

    @pytest.fixture
    def tampering(self, repository: DossierRepository) -> Tampering | None:
        """How to edit ``repository``'s storage behind its back (``None``: it keeps nothing outside the process)."""
        return None

    # tampering: every stored field is evidence
    @staticmethod
    def _tampered(tampering: Tampering | None) -> Tampering:
        if tampering is None:
            pytest.skip("ce dépôt ne garde rien hors du processus (fixture `tampering` non fournie)")
        return tampering

    @pytest.mark.parametrize("path", [("coordonnees_bancaires", "iban"), ("avance", "montant"),
                                      ("fournisseur", "raison_sociale"), ("status",)])
    def test_an_edited_field_is_refused_on_read(self, repository: DossierRepository,
                                                tampering: Tampering | None, path: tuple[str, ...]) -> None:
        tampered = self._tampered(tampering)
        dossier, _ = make_dossier(1, Status.AVANCE_DECIDEE)
        repository.add(dossier, outbox=())
        value = {"iban": "FR7612345000019876543210185", "montant": "999999", "raison_sociale": "AUTRE",
                 "status": "avance_en_instruction"}[path[-1]]
        tampered.edit_snapshot(dossier.numero, path, value)
        with pytest.raises(DossierAltere) as info:
            repository.get(dossier.numero)
        assert info.value.numero == dossier.numero

    @staticmethod
    def _stored_twice(repository: DossierRepository) -> Dossier:
        """A dossier added then saved once (version 2): the state the tampering cases edit."""
        dossier, _ = make_dossier(1, Status.SOLDE_EN_INSTRUCTION)
        repository.add(dossier, outbox=())
        changed, emails = step(dossier)
        repository.save(changed, expected_version=1, outbox=emails)
        return dossier

    def test_an_edited_history_entry_is_refused_on_read(self, repository: DossierRepository,
                                                        tampering: Tampering | None) -> None:
        tampered = self._tampered(tampering)
        dossier = self._stored_twice(repository)
        tampered.edit_history(dossier.numero, 1, ("comment",), "contrôle fait par téléphone")
        with pytest.raises(DossierAltere):
            repository.get(dossier.numero)

    def test_a_truncated_history_is_refused_on_read(self, repository: DossierRepository,
                                                    tampering: Tampering | None) -> None:
        tampered = self._tampered(tampering)
        dossier = self._stored_twice(repository)
        tampered.drop_last_write(dossier.numero)
        with pytest.raises(DossierAltere):
            repository.get(dossier.numero)

    def test_a_rolled_back_state_is_refused_on_read(self, repository: DossierRepository,
                                                    tampering: Tampering | None) -> None:
        tampered = self._tampered(tampering)
        dossier, _ = make_dossier(1, Status.SOLDE_EN_INSTRUCTION)
        repository.add(dossier, outbox=())
        older = tampered.copy_state(dossier.numero)
        changed, emails = step(dossier)
        repository.save(changed, expected_version=1, outbox=emails)
        tampered.restore_state(dossier.numero, older)
        with pytest.raises(DossierAltere):
            repository.get(dossier.numero)
        # and the whole rollback (state and history), as seen by the process that saw the later state
        tampered.drop_last_write(dossier.numero)
        with pytest.raises(DossierAltere):
            repository.get(dossier.numero)

    def test_a_refused_read_changes_nothing(self, repository: DossierRepository,
                                            tampering: Tampering | None) -> None:
        tampered = self._tampered(tampering)
        dossier, emails = make_dossier(1, Status.AVANCE_DECIDEE)
        repository.add(dossier, outbox=emails)
        original = tampered.copy_state(dossier.numero)
        tampered.edit_snapshot(dossier.numero, ("coordonnees_bancaires", "iban"), "FR7612345000019876543210185")
        for _ in range(2):  # refused every time, never re-sealed by a read
            with pytest.raises(DossierAltere):
                repository.get(dossier.numero)
        tampered.restore_state(dossier.numero, original)
        assert repository.get(dossier.numero).dossier == dossier

    # add / get
    @pytest.mark.parametrize("status", [Status.AVANCE_EN_INSTRUCTION, Status.SOLDE_A_MODIFIER,
                                        Status.SOLDE_DECIDEE, Status.AVANCE_REJETEE])
    def test_add_then_get_gives_an_equal_dossier_at_version_1(self, repository: DossierRepository,
                                                             status: Status) -> None:
        dossier, _ = make_dossier(1, status)
        assert repository.add(dossier, outbox=()) == 1
        stored = repository.get(dossier.numero)
        assert stored.dossier == dossier
        assert stored.version == 1

    def test_get_unknown_raises_dossier_not_found(self, repository: DossierRepository) -> None:
        with pytest.raises(DossierNotFound) as info:
            repository.get("FINSAS999999")
        assert info.value.numero == "FINSAS999999"

    def test_duplicate_provider_is_refused_and_nothing_written(self, repository: DossierRepository) -> None:
        first, emails = make_dossier(1)
        repository.add(first, outbox=emails)
        other, other_emails = make_dossier(2)
        clone = attrs.evolve(other, fournisseur=first.fournisseur)
        with pytest.raises(DuplicateFinancingRequest) as info:
            repository.add(clone, outbox=other_emails)
        assert info.value.existing == first.numero
        with pytest.raises(DossierNotFound):
            repository.get(clone.numero)
        assert [e.numero for e in repository.pending_emails()] == [first.numero]
        assert repository.find_by_provider(first.fournisseur.ans_id) == first.numero

    def test_duplicate_numero_is_a_conflict(self, repository: DossierRepository) -> None:
        first, _ = make_dossier(1)
        repository.add(first, outbox=())
        other, emails = make_dossier(2)
        with pytest.raises(ConcurrencyConflict):
            repository.add(attrs.evolve(other, numero=first.numero), outbox=emails)
        assert repository.get(first.numero).dossier == first
        assert repository.pending_emails() == []
        assert repository.find_by_provider(other.fournisseur.ans_id) is None

    # save and versions
    def test_save_increments_the_version(self, repository: DossierRepository) -> None:
        dossier, _ = make_dossier(1, Status.SOLDE_EN_INSTRUCTION)
        repository.add(dossier, outbox=())
        for expected in (1, 2, 3):
            dossier, emails = step(dossier)
            assert repository.save(dossier, expected_version=expected, outbox=emails) == expected + 1
            stored = repository.get(dossier.numero)
            assert (stored.dossier, stored.version) == (dossier, expected + 1)

    def test_stale_save_conflicts_and_writes_nothing(self, repository: DossierRepository) -> None:
        base, _ = make_dossier(1, Status.SOLDE_EN_INSTRUCTION)
        repository.add(base, outbox=())
        winner, emails = step(base, command_id="gagnant")
        repository.save(winner, expected_version=1, outbox=emails)
        loser, loser_emails = step(base, command_id="perdant")
        with pytest.raises(ConcurrencyConflict) as info:
            repository.save(loser, expected_version=1, outbox=loser_emails)
        assert (info.value.expected_version, info.value.actual_version) == (1, 2)
        assert repository.get(base.numero) .dossier == winner
        assert [e.version for e in repository.pending_emails()] == [2]
        assert repository.find_command("perdant") is None

    def test_a_save_may_change_the_provider_which_stays_unique(self, repository: DossierRepository) -> None:
        first, _ = make_dossier(1)
        other, _ = make_dossier(2)
        repository.add(first, outbox=())
        repository.add(other, outbox=())
        moved = attrs.evolve(first, fournisseur=fournisseur(3))
        assert repository.save(moved, expected_version=1, outbox=()) == 2
        assert repository.get(first.numero).dossier == moved
        assert repository.find_by_provider(fournisseur(3).ans_id) == first.numero
        assert repository.find_by_provider(first.fournisseur.ans_id) is None
        # A stale save is a conflict whether or not it changes the provider.
        with pytest.raises(ConcurrencyConflict) as conflict:
            repository.save(attrs.evolve(first, fournisseur=fournisseur(4)), expected_version=1, outbox=())
        assert (conflict.value.expected_version, conflict.value.actual_version) == (1, 2)
        assert repository.find_by_provider(fournisseur(4).ans_id) is None
        with pytest.raises(DuplicateFinancingRequest) as taken:
            repository.save(attrs.evolve(moved, fournisseur=other.fournisseur), expected_version=2, outbox=())
        assert taken.value.existing == other.numero
        stored = repository.get(first.numero)
        assert (stored.dossier, stored.version) == (moved, 2)

    def test_save_of_unknown_dossier_raises_not_found(self, repository: DossierRepository) -> None:
        dossier, emails = make_dossier(1)
        with pytest.raises(DossierNotFound):
            repository.save(dossier, expected_version=1, outbox=emails)
        assert repository.pending_emails() == []

    def test_a_failure_after_the_state_write_rolls_everything_back(self, repository: DossierRepository) -> None:
        # The command id "x" is already recorded for dossier 1: writing it again for dossier 2 breaks
        # a constraint *after* dossier 2's new state and e-mail are written; none of them may remain.
        first, emails = make_dossier(1, command_id="x")
        repository.add(first, outbox=emails)
        second, _ = make_dossier(2, Status.SOLDE_EN_INSTRUCTION)
        repository.add(second, outbox=())
        changed, changed_emails = step(second, command_id="x")
        assert changed_emails
        with pytest.raises(ConcurrencyConflict):
            repository.save(changed, expected_version=1, outbox=changed_emails)
        assert repository.get(second.numero).dossier == second
        assert repository.get(second.numero).version == 1
        assert [e.numero for e in repository.pending_emails()] == [first.numero]
        found = repository.find_command("x")
        assert found is not None
        assert found.numero == first.numero

    # outbox
    def test_outbox_is_written_with_the_state_in_order(self, repository: DossierRepository) -> None:
        dossier, emails = make_dossier(1, Status.SOLDE_EN_INSTRUCTION)
        repository.add(dossier, outbox=emails)
        written = [*emails]
        for version in (1, 2, 3):
            dossier, emails = step(dossier)
            repository.save(dossier, expected_version=version, outbox=emails)
            written += emails
        pending = repository.pending_emails()
        assert [p.email for p in pending] == written
        assert [p.version for p in pending] == [1, 2, 3, 4]
        assert {p.numero for p in pending} == {dossier.numero}
        ids = [p.id for p in pending]
        assert ids == sorted(ids)
        assert len(set(ids)) == len(ids)

    def test_pending_emails_limit_and_mark_sent(self, repository: DossierRepository) -> None:
        for n in (1, 2, 3):
            dossier, emails = make_dossier(n)
            repository.add(dossier, outbox=emails)
        everything = repository.pending_emails()
        assert len(everything) == 3
        assert repository.pending_emails(limit=2) == everything[:2]
        repository.mark_sent(everything[0].id)
        repository.mark_sent(everything[0].id)  # idempotent
        repository.mark_sent(10**9)  # unknown: ignored
        assert repository.pending_emails() == everything[1:]
        assert repository.pending_emails(limit=1) == everything[1:2]

    def test_bad_arguments_are_refused_before_writing(self, repository: DossierRepository) -> None:
        dossier, emails = make_dossier(1)
        with pytest.raises(InvalidInput):
            repository.add(dossier, outbox="courriel")  # type: ignore[arg-type]
        with pytest.raises(InvalidInput):
            repository.add(dossier, outbox=[object()])  # type: ignore[list-item]
        with pytest.raises(InvalidInput):
            repository.pending_emails(limit=0)
        repository.add(dossier, outbox=emails)
        with pytest.raises(InvalidInput):
            repository.save(dossier, expected_version=0, outbox=())
        assert repository.get(dossier.numero).version == 1

    # look-ups for the service
    def test_find_command_returns_the_recorded_outcome(self, repository: DossierRepository) -> None:
        dossier, _ = make_dossier(1, Status.SOLDE_EN_INSTRUCTION)
        repository.add(dossier, outbox=())
        assert repository.find_command("c-1") is None
        changed, changed_emails = step(dossier, command_id="c-1")
        repository.save(changed, expected_version=1, outbox=changed_emails)
        found = repository.find_command("c-1")
        assert found is not None
        assert (found.command_id, found.numero, found.trigger, found.version) == (
            "c-1", dossier.numero, "demander_piece", 2)
        assert found.emails == changed_emails
        created, created_emails = make_dossier(2, command_id="depot-2")
        repository.add(created, outbox=created_emails)
        depot = repository.find_command("depot-2")
        assert depot is not None
        assert (depot.trigger, depot.version, depot.emails) == ("deposer_avance", 1, created_emails)

    def test_last_numero_and_find_by_provider(self, repository: DossierRepository) -> None:
        assert repository.last_numero("FINSAS") is None
        for n in (3, 12, 7):
            dossier, _ = make_dossier(n)
            repository.add(dossier, outbox=())
        assert repository.last_numero("FINSAS") == "FINSAS000012"
        assert repository.last_numero("FINXYZ") is None
        assert repository.find_by_provider(fournisseur(7).ans_id) == "FINSAS000007"
        assert repository.find_by_provider("inconnu") is None

    # worklists
    def _desk(self, repository: DossierRepository) -> list[DossierSummary]:
        """Seven dossiers, added out of order, in several statuses and hands; their summaries by numero."""
        plan = [(5, Status.SOLDE_EN_INSTRUCTION, "c.martin"), (2, Status.AVANCE_EN_INSTRUCTION, "c.martin"),
                (9, Status.AVANCE_EN_INSTRUCTION, None), (4, Status.SOLDE_DECIDEE, "a.durand"),
                (7, Status.AVANCE_EN_INSTRUCTION, "a.durand"), (1, Status.SOLDE_A_MODIFIER, "c.martin"),
                (3, Status.AVANCE_EN_INSTRUCTION, "c.martin")]
        out = []
        for n, status, gestionnaire in plan:
            dossier, emails = make_dossier(n, status, gestionnaire=gestionnaire)
            repository.add(dossier, outbox=emails)
            out.append(DossierSummary.of(dossier, 1))
        return sorted(out, key=lambda s: s.numero)

    def test_search_filters_and_orders_by_numero(self, repository: DossierRepository) -> None:
        assert repository.search() == []
        desk = self._desk(repository)
        assert repository.search() == desk
        assert repository.search(status=Status.AVANCE_EN_INSTRUCTION) == [
            s for s in desk if s.status is Status.AVANCE_EN_INSTRUCTION]
        assert repository.search(status="avance_en_instruction", gestionnaire="c.martin") == [
            s for s in desk if s.status is Status.AVANCE_EN_INSTRUCTION and s.gestionnaire == "c.martin"]
        assert [s.numero for s in repository.search(gestionnaire="a.durand")] == ["FINSAS000004", "FINSAS000007"]
        assert repository.search(ans_id=fournisseur(9).ans_id) == [desk[-1]]
        assert repository.search(siret=desk[0].siret, limit=3) == desk[:3]
        assert repository.search(gestionnaire="personne") == []
        assert repository.search(status=Status.SOLDE_REJETEE) == []

    def test_search_pages_by_numero_without_gaps_or_repeats(self, repository: DossierRepository) -> None:
        desk = self._desk(repository)
        pages: list[list[DossierSummary]] = []
        after = None
        while True:
            page = repository.search(limit=3, after=after)
            if not page:
                break
            pages.append(page)
            after = page[-1].numero
        assert [len(p) for p in pages] == [3, 3, 1]
        assert [s for p in pages for s in p] == desk
        # a page is defined by its last number, not by an offset: a dossier added meanwhile is not a repeat
        late, _ = make_dossier(8, gestionnaire="c.martin")
        repository.add(late, outbox=())
        assert [s.numero for s in repository.search(after="FINSAS000007", gestionnaire="c.martin")] == [
            "FINSAS000008"]
        assert repository.search(after="FINSAS999999") == []
        assert repository.search(after="") == repository.search() == sorted(
            [*desk, DossierSummary.of(late, 1)], key=lambda s: s.numero)

    def test_search_follows_each_save(self, repository: DossierRepository) -> None:
        dossier, _ = make_dossier(1, Status.SOLDE_EN_INSTRUCTION, gestionnaire="c.martin")
        repository.add(dossier, outbox=())
        moved, _ = _apply(dossier, Reaffecter(examples.GESTIONNAIRE, "a.durand"),
                          dossier.history[-1].at + timedelta(minutes=1))
        repository.save(moved, expected_version=1, outbox=())
        changed, emails = step(moved)
        repository.save(changed, expected_version=2, outbox=emails)
        assert repository.search() == [DossierSummary.of(changed, 3)]
        assert repository.search(gestionnaire="c.martin") == []
        assert repository.search(status=Status.SOLDE_EN_INSTRUCTION) == []
        assert repository.search(status=changed.status, gestionnaire="a.durand")[0].version == 3
        renamed = attrs.evolve(changed, fournisseur=attrs.evolve(changed.fournisseur, raison_sociale="LE SELECT SAS"))
        repository.save(renamed, expected_version=3, outbox=())
        assert repository.search()[0].raison_sociale == "LE SELECT SAS"

    def test_search_refuses_bad_arguments(self, repository: DossierRepository) -> None:
        for kwargs in ({"status": "validee"}, {"status": 3}, {"limit": 0}, {"limit": True}, {"limit": "10"},
                       {"gestionnaire": 12}, {"after": b"FINSAS000001"}, {"siret": ["1"]}):
            with pytest.raises(InvalidInput):
                repository.search(**kwargs)

    def test_workload_counts_the_dossiers_under_way(self, repository: DossierRepository) -> None:
        self._desk(repository)
        # FINSAS000004 (a.durand) is decided: a final status does not count
        assert repository.workload(["c.martin", "a.durand", "b.nouveau"]) == {
            "c.martin": 4, "a.durand": 1, "b.nouveau": 0}
        assert repository.workload([]) == {}
        with pytest.raises(InvalidInput):
            repository.workload("c.martin")


# -- several OS processes ---------------------------------------------------------------------------------------------
@attrs.frozen
class RaceReport:
    """What the racing processes saw: ``(command_id, version)`` of each win, the ids that lost."""

    wins: tuple[tuple[str, int], ...]
    losses: tuple[str, ...]
    attempts: int


def _spawn_all(target: Callable[..., None], args: list[tuple[Any, ...]], timeout: float) -> list[Any]:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(len(args))
    queue = ctx.Queue()
    procs = [ctx.Process(target=target, args=(*a, barrier, queue)) for a in args]
    for p in procs:
        p.start()
    results = []
    try:
        for _ in procs:
            results.append(queue.get(timeout=timeout))
    finally:
        for p in procs:
            p.join(timeout=10)
            if p.is_alive():
                p.terminate()
    bad = [p.exitcode for p in procs if p.exitcode != 0]
    if bad:
        raise AssertionError(f"processus en échec : codes de sortie {bad}")
    return results


def _race_worker(  # noqa: PLR0917 - a multiprocessing target takes positional arguments
    factory: RepositoryFactory, numero: str, worker: int, rounds: int,
                 barrier: Any, queue: Any) -> None:
    repository = factory()
    wins: list[tuple[str, int]] = []
    losses: list[str] = []
    barrier.wait(timeout=60)
    for r in range(rounds):
        command_id = f"w{worker}-r{r}"
        stored = repository.get(numero)
        dossier, emails = step(stored.dossier, command_id=command_id, now=datetime.now(UTC))
        try:
            version = repository.save(dossier, expected_version=stored.version, outbox=emails)
        except ConcurrencyConflict:
            losses.append(command_id)
        else:
            wins.append((command_id, version))
    queue.put((wins, losses))


def run_race(factory: RepositoryFactory, *, workers: int = 4, rounds: int = 10, timeout: float = 120) -> RaceReport:
    """``workers`` processes each load → decide → save ``rounds`` times on one dossier, no retry.

    The dossier (``FINSAS000001``, in ``solde_en_instruction``) is added first; each accepted
    command sends one e-mail. Any exception other than ``ConcurrencyConflict`` fails a worker.
    """
    repository = factory()
    dossier, _ = make_dossier(1, Status.SOLDE_EN_INSTRUCTION)
    repository.add(dossier, outbox=())
    results = _spawn_all(_race_worker, [(factory, dossier.numero, w, rounds) for w in range(workers)], timeout)
    wins = tuple(w for ws, _ in results for w in ws)
    losses = tuple(lost for _, ls in results for lost in ls)
    return RaceReport(wins, losses, workers * rounds)


def _service_worker(  # noqa: PLR0917 - a multiprocessing target takes positional arguments
    factory: RepositoryFactory, numero: str, worker: int, rounds: int,
                    barrier: Any, queue: Any) -> None:
    from ..service import WorkflowService

    service = WorkflowService(factory(), max_attempts=1000)
    wins: list[tuple[str, int]] = []
    barrier.wait(timeout=60)
    for r in range(rounds):
        command_id = f"s{worker}-r{r}"
        # Controls never become impossible, so every command must eventually succeed through retries.
        command = ControlerBloc(examples.GESTIONNAIRE, list(Bloc)[r % len(Bloc)], Controle.OK, command_id=command_id)
        wins.append((command_id, service.handle(numero, command).version))
    queue.put((wins, []))


def run_service_race(factory: RepositoryFactory, *, workers: int = 4, rounds: int = 8,
                     timeout: float = 120) -> RaceReport:
    """``workers`` processes send ``rounds`` commands each through the service (with retries)."""
    repository = factory()
    dossier, _ = make_dossier(1, Status.SOLDE_EN_INSTRUCTION)
    repository.add(dossier, outbox=())
    results = _spawn_all(_service_worker, [(factory, dossier.numero, w, rounds) for w in range(workers)], timeout)
    return RaceReport(tuple(w for ws, _ in results for w in ws), (), workers * rounds)


def check_race(repository: DossierRepository, report: RaceReport, numero: str = "FINSAS000001",
               *, emails_per_win: int = 1) -> None:
    """Every win is in the history once, every loss nowhere, versions and e-mails add up."""
    stored = repository.get(numero)
    won_ids = [cid for cid, _ in report.wins]
    assert len(won_ids) + len(report.losses) == report.attempts
    assert sorted(v for _, v in report.wins) == list(range(2, 2 + len(report.wins)))
    assert stored.version == 1 + len(report.wins)
    history_ids = Counter(e.command_id for e in stored.dossier.history if e.command_id is not None)
    assert history_ids == Counter(won_ids)
    assert not set(report.losses) & set(history_ids)
    outbox = [e for e in repository.pending_emails(limit=10_000) if e.numero == numero]
    assert Counter(e.version for e in outbox) == Counter({v: emails_per_win for _, v in report.wins})
    for cid, version in report.wins:
        found = repository.find_command(cid)
        assert found is not None
        assert (found.version, len(found.emails)) == (version, emails_per_win)


def _crash_worker(factory: RepositoryFactory, numero: str, code: int, barrier: Any, queue: Any) -> None:
    repository = factory()
    repository._after_state_written = lambda _numero: os._exit(code)  # type: ignore[attr-defined]
    barrier.wait(timeout=60)
    stored = repository.get(numero)
    dossier, emails = step(stored.dossier, command_id="crash")
    repository.save(dossier, expected_version=stored.version, outbox=emails)
    queue.put("not crashed")


def crash_between_state_and_outbox(factory: RepositoryFactory, *, timeout: float = 60) -> int:
    """Kill a process (``os._exit``) after it wrote the new state and before the outbox.

    For adapters with the ``_after_state_written`` hook (ours). Returns the dead process's exit code;
    the caller checks that neither the state nor the e-mail is there.
    """
    repository = factory()
    dossier, _ = make_dossier(1, Status.SOLDE_EN_INSTRUCTION)
    repository.add(dossier, outbox=())
    ctx = multiprocessing.get_context("spawn")
    barrier, queue = ctx.Barrier(1), ctx.Queue()  # kept referenced until the child has unpickled them
    proc = ctx.Process(target=_crash_worker, args=(factory, dossier.numero, 17, barrier, queue))
    proc.start()
    proc.join(timeout)
    if proc.is_alive():
        proc.terminate()
        raise AssertionError("le processus n'a pas été interrompu")
    return int(proc.exitcode or 0)
