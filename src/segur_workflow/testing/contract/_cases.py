"""The cases of :class:`RepositoryContract`, one test method per promise of the repository port."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import attrs
import pytest

from ... import examples
from ...commands import Reaffecter
from ...errors import ConcurrencyConflict, DossierAltere, DossierNotFound, DuplicateFinancingRequest, InvalidInput
from ...model import Dossier
from ...ports import DossierRepository, DossierSummary
from ...states import Status
from ._data import _apply, fournisseur, make_dossier, step
from ._tampering import Tampering

__all__ = ["RepositoryContract"]

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
        # refused by the read, or (a repository that reads the entries below its journal's head only when
        # they are needed, docs/persistence.md) as soon as they are read
        with pytest.raises(DossierAltere):
            _read_whole(repository, dossier.numero)

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


def _read_whole(repository: DossierRepository, numero: str) -> tuple[object, ...]:
    """Every history entry and e-mail record of the stored dossier ``numero``, read now."""
    stored = repository.get(numero)
    return (*stored.dossier.history, *stored.dossier.emails_sent)
