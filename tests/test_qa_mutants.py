"""Tests written from the surviving mutants of `make mutation` (docs/qa.md, "Tests de mutation").

Each one pins a behaviour a mutant changed without any other test noticing: the exact parameter named by
an InvalidInput, the definition checks that run only at import, the obfuscated-scheme detection.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest

import segur_workflow as sw
from segur_workflow import examples, rules
from segur_workflow.errors import DefinitionError
from segur_workflow.history import command_entry
from segur_workflow.observation import Edge, observing
from segur_workflow.rules import _guards_dossier, _registry, _text_contact
from segur_workflow.states import MachineDefinition, StateSpec, TransitionSpec
from segur_workflow.vocabulary import Role


def _bad(value: object) -> Any:
    return value


@pytest.mark.parametrize(("args", "parameter", "expected"), [
    ((examples.dossier_at(sw.Status.AVANCE_EN_INSTRUCTION), "gestionnaire"), "actor", "un Actor"),
    (("FINSAS000001", examples.GESTIONNAIRE), "dossier", "un Dossier"),
    ((examples.dossier_at(sw.Status.AVANCE_EN_INSTRUCTION), examples.GESTIONNAIRE, "SAS"), "corridor", "un Corridor"),
])
def test_allowed_commands_names_the_wrong_argument(args: tuple[Any, ...], parameter: str, expected: str) -> None:
    with pytest.raises(sw.InvalidInput) as err:
        sw.allowed_commands(*(_bad(a) for a in args))
    assert (err.value.parameter, err.value.expected) == (parameter, expected)
    assert err.value.received_type == "str" and "str reçu" in str(err.value)  # what was received, said


def test_allowed_commands_evaluates_the_dossier_guards_only() -> None:
    dossier = examples.dossier_at(sw.Status.SOLDE_EN_INSTRUCTION)
    # blocs not all OK and none KO: neither decider nor demander_modification, the rest is open
    # (reaffecter: the desk's assignment, open to any gestionnaire while the dossier is not final)
    assert sw.allowed_commands(dossier, examples.GESTIONNAIRE) == {"controler_bloc", "rejeter", "demander_piece",
                                                                   "reaffecter"}
    assert sw.allowed_commands(dossier, examples.owner(dossier)) == frozenset()


# -- the checks that run once, at import ------------------------------------------------------------------------
def _rule(**changes: Any) -> rules.Rule:
    return rules.Rule(**{"name": "essai", "description": "Règle d'essai.", "check": lambda _c: (), **changes})


@pytest.mark.parametrize(("rule", "message"), [
    (_rule(codes=("pas.un.code",)), "code inconnu pas.un.code (règle essai)"),
    (_rule(codes=("motif.requis",), unreachable={"motif.trop_long": "…"}),
     "issue inatteignable inconnue motif.trop_long (règle essai)"),
])
def test_unknown_codes_of_a_rule_are_refused(monkeypatch: pytest.MonkeyPatch, rule: rules.Rule, message: str) -> None:
    monkeypatch.setattr(_registry, "RULES", {**rules.RULES, rule.name: rule})
    with pytest.raises(DefinitionError) as err:
        _registry._check_guards_known()
    assert message in str(err.value)
    assert err.value.machine == "rules"


def test_a_declared_unreachable_ok_or_code_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    rule = _rule(codes=("motif.requis",), unreachable={"ok": "toujours refusée", "motif.requis": "…"})
    monkeypatch.setattr(_registry, "RULES", {**rules.RULES, rule.name: rule})
    _registry._check_guards_known()
    assert dict(rule.unreachable) == {"ok": "toujours refusée", "motif.requis": "…"}
    with pytest.raises(TypeError):
        rule.unreachable["x"] = "y"  # type: ignore[index]


def test_a_guard_naming_no_rule_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    machine = MachineDefinition(
        name="essai", title="Essai",
        states=(StateSpec("a", "A", final=True),),
        transitions=(TransitionSpec("creer", (), "a", frozenset({Role.SYSTEME}), guards=("regle_absente",)),),
    )
    monkeypatch.setattr(_registry, "DEFINITIONS", {"essai": machine})
    with pytest.raises(DefinitionError) as err:
        _registry._check_guards_known()
    assert "essai : règle inconnue : regle_absente" in str(err.value)


def test_the_engines_own_codes_are_catalogued() -> None:
    # what the engines check besides the guards is declared by Rule objects of their bindings: each code is in
    # the catalogue, and each rule applies to at least one trigger
    from segur_workflow._machines import BINDINGS

    for binding in BINDINGS.values():
        for rule, triggers in binding.own_rules:
            assert set(rule.codes) <= set(rules.CODES), rule.name
            assert triggers and set(triggers) <= set(binding.definition.triggers), rule.name
    assert set(BINDINGS["dossier"].own_codes["numero.format"]) == {"deposer_avance"}
    assert set(BINDINGS["dossier"].own_codes["paiement.montant"]) == {"decider"}
    assert set(BINDINGS["compte"].own_codes) == {"date.anterieure"}


@pytest.mark.parametrize(("required", "text", "codes"), [
    (True, "  ", ("motif.requis",)), (False, "  ", ()), (True, "x" * (rules.MAX_TEXT + 1), ("motif.trop_long",)),
    (True, "Non conforme.", ()),
])
def test_the_text_rule_factory(required: bool, text: str, codes: tuple[str, ...]) -> None:
    check = _guards_dossier._text("motif", required=required)
    ctx = rules.RuleContext(command=sw.Rejeter(examples.GESTIONNAIRE, text))
    assert tuple(v.code for v in check(ctx)) == codes
    assert all(v.field == "motif" for v in check(ctx))


@pytest.mark.parametrize(("text", "dangerous"), [
    ("javascript:alert(1)", True), ("java\tscript:alert(1)", True), ("j\na\rv\x01ascript :x", False),
    ("java\u200bscript:x", True), ("javascript\t:x", True), ("DATA:text/html,x", True), ("file:///etc", True),
    ("monjavascript:x", False), ("https://support.example.fr/javascript", False), ("javascript", False),
])
def test_scheme_patterns_see_through_separators(text: str, dangerous: bool) -> None:
    assert rules.has_dangerous_link(text) is dangerous


@pytest.mark.parametrize(("text", "matches"), [
    ("javascript:", True), ("j\ta\nv\ra\x00s\u200bc\u202eript\ufeff:", True), ("data:", False),
    ("javascrip:", False), ("java script:", False), ("javascript", False), ("JAVASCRIPT:", False),
])
def test_a_scheme_pattern_allows_only_invisible_separators(text: str, matches: bool) -> None:
    assert (re.fullmatch(_text_contact._scheme("javascript"), text) is not None) is matches


# -- the effects of completer and demander_modification ----------------------------------------------------------
G = examples.GESTIONNAIRE
LATER = timedelta(hours=1)


def _send(dossier: sw.Dossier, *commands: sw.Command) -> sw.Dossier:
    for command in commands:
        dossier = sw.handle(dossier, command, now=dossier.history[-1].at + LATER).dossier
    return dossier


def _controls(dossier: sw.Dossier) -> dict[sw.Bloc, sw.Controle]:
    assert dossier.solde is not None
    return dict(dossier.solde.controles)


def _a_modifier() -> sw.Dossier:
    """A solde sent back for modification with INFORMATIONS and COORDONNEES OK and PIECES KO."""
    dossier = examples.dossier_at(sw.Status.SOLDE_EN_INSTRUCTION)
    dossier = _send(dossier, sw.ControlerBloc(G, sw.Bloc.INFORMATIONS, sw.Controle.OK),
                    sw.ControlerBloc(G, sw.Bloc.COORDONNEES_BANCAIRES, sw.Controle.OK),
                    sw.ControlerBloc(G, sw.Bloc.PIECES_JUSTIFICATIVES, sw.Controle.KO, "PV illisible"),
                    sw.DemanderModification(G, "Le PV est illisible."))
    return dossier


def test_demander_modification_keeps_its_comment_on_the_dossier_and_in_history() -> None:
    dossier = _a_modifier()
    assert dossier.demande_commentaire == "Le PV est illisible."
    assert dossier.history[-1].comment == "Le PV est illisible."


def test_a_complement_of_pieces_reopens_what_was_ko_and_the_pieces_only() -> None:
    before = _a_modifier()
    assert before.solde is not None
    pv = sw.Attachment.from_bytes("pv_vsr_signe.pdf", examples.pdf_bytes("PV signé"))
    after = _send(before, sw.Completer(examples.owner(before), pieces={sw.PieceKind.PV_VSR: pv}))
    assert _controls(after) == {sw.Bloc.INFORMATIONS: sw.Controle.OK, sw.Bloc.COORDONNEES_BANCAIRES: sw.Controle.OK,
                                sw.Bloc.PIECES_JUSTIFICATIVES: sw.Controle.A_INSTRUIRE}
    assert after.solde is not None and after.solde.pieces[sw.PieceKind.PV_VSR] == pv
    assert after.solde.contact_support == before.solde.contact_support  # untouched without a new contact
    assert after.demande_commentaire is None and after.piece_demandee is None
    assert dict(after.history[-1].details) == {"pieces": "pv_vsr"}


def test_a_complement_of_contact_reopens_the_informations_bloc() -> None:
    before = _a_modifier()
    after = _send(before, sw.Completer(examples.owner(before), contact_support="Support : 01 23 45 67 89"))
    assert _controls(after) == {sw.Bloc.INFORMATIONS: sw.Controle.A_INSTRUIRE,
                                sw.Bloc.COORDONNEES_BANCAIRES: sw.Controle.OK,
                                sw.Bloc.PIECES_JUSTIFICATIVES: sw.Controle.A_INSTRUIRE}  # it was KO
    assert after.solde is not None and after.solde.contact_support == "Support : 01 23 45 67 89"
    assert before.solde is not None and after.solde.pieces == before.solde.pieces
    assert dict(after.history[-1].details) == {"pieces": "", "contact_support": "modifié"}


def test_a_requested_piece_brought_leaves_the_other_ok_blocs_alone() -> None:
    dossier = examples.dossier_at(sw.Status.SOLDE_EN_INSTRUCTION)
    dossier = _send(dossier, *(sw.ControlerBloc(G, b, sw.Controle.OK) for b in sw.Bloc),
                    sw.DemanderPiece(G, sw.PieceKind.PV_VSR, "Le PV signé, svp."))
    assert dossier.piece_demandee is sw.PieceKind.PV_VSR
    after = _send(dossier, sw.Completer(examples.owner(dossier),
                                        pieces={sw.PieceKind.PV_VSR: examples.attachment(sw.PieceKind.PV_VSR)}))
    assert _controls(after) == {sw.Bloc.INFORMATIONS: sw.Controle.OK, sw.Bloc.COORDONNEES_BANCAIRES: sw.Controle.OK,
                                sw.Bloc.PIECES_JUSTIFICATIVES: sw.Controle.A_INSTRUIRE}
    assert after.piece_demandee is None and after.status is sw.Status.SOLDE_EN_INSTRUCTION


def test_deposer_solde_builds_the_solde_request_from_the_command() -> None:
    dossier = examples.dossier_at(sw.Status.AVANCE_DECIDEE)
    command = examples.commands_to_fire(dossier, "deposer_solde")[0]
    assert isinstance(command, sw.DeposerSolde)
    now = dossier.history[-1].at + LATER
    after = sw.handle(dossier, command, now=now).dossier
    solde = after.solde
    assert solde is not None and solde.phase is sw.Phase.SOLDE
    assert (solde.montant, solde.taux_tva, solde.date_depot) == (sw.SAS.montant_solde, sw.SAS.taux_tva, now)
    assert solde.contact_support == command.contact_support and dict(solde.pieces) == dict(command.pieces)
    entry = command_entry(after)  # the deposit's entry; the portal's own controls follow it
    assert entry is not None and dict(entry.details) == {"pieces": "pv_vsr", "montant": "30000"}
    assert after.avance == dossier.avance  # the advance request is kept as it was


def test_demander_piece_records_the_piece_and_the_comment() -> None:
    dossier = examples.dossier_at(sw.Status.SOLDE_EN_INSTRUCTION)
    after = _send(dossier, sw.DemanderPiece(G, sw.PieceKind.PV_VSR, "Le PV signé, svp."))
    assert (after.piece_demandee, after.demande_commentaire) == (sw.PieceKind.PV_VSR, "Le PV signé, svp.")
    assert after.history[-1].comment == "Le PV signé, svp."
    assert dict(after.history[-1].details) == {"piece": "pv_vsr"}


def test_a_missing_requested_piece_names_its_field_and_title() -> None:
    dossier = examples.dossier_at(sw.Status.SOLDE_EN_ATTENTE_PIECE)
    with pytest.raises(sw.RuleViolations) as err:
        _send(dossier, sw.Completer(examples.owner(dossier), contact_support="support@le-select.example"))
    (v,) = err.value.violations
    assert (v.code, v.field) == ("piece.demandee_manquante", "pieces.pv_vsr")
    assert sw.PieceKind.PV_VSR.label in v.message


def test_binding_names_every_missing_or_extra_command() -> None:
    from segur_workflow.binding import Bind
    from segur_workflow.commands import Command
    from segur_workflow.engine import DOSSIER_BINDING

    entries = DOSSIER_BINDING.entries
    assert set(DOSSIER_BINDING.commands) == set(DOSSIER_BINDING.definition.triggers)  # the shipped one is complete

    @attrs.frozen
    class Archiver(Command):
        pass

    broken = [e for e in entries if e.command is not sw.Rejeter] + [Bind(Archiver, entries[0].effect),
                                                                    Bind(sw.Decider, entries[0].effect)]
    with pytest.raises(DefinitionError) as err:
        attrs.evolve(DOSSIER_BINDING, entries=tuple(broken))
    text = str(err.value)
    assert err.value.machine == "dossier"
    assert "commande manquante : rejeter" in text
    assert "commande sans transition : Archiver (archiver)" in text
    assert "deux commandes pour decider" in text


# -- second run (2,176 mutants of engine.py and rules/): what the survivors said ----------------------------------
def _all_ok(dossier: sw.Dossier) -> sw.Dossier:
    return _send(dossier, *(sw.ControlerBloc(G, b, sw.Controle.OK) for b in sw.Bloc))


def test_an_advance_already_paid_is_never_paid_twice() -> None:
    # a stored row whose status was set back to « en instruction » after the payment: the engine's hard stop
    paid = examples.dossier_at(sw.Status.AVANCE_DECIDEE)
    reset = attrs.evolve(paid, status=sw.Status.AVANCE_EN_INSTRUCTION)
    with pytest.raises(sw.TransitionNotAllowed) as err:
        _send(reset, sw.Decider(G))
    assert (err.value.status, err.value.trigger, err.value.allowed) == ("avance_en_instruction", "decider", frozenset())


class _Told:
    """An observer that keeps the refusals it is told of (a host's own observer)."""

    def __init__(self) -> None:
        self.refused: list[tuple[str, str, tuple[str, ...]]] = []

    def transition(self, definition: MachineDefinition, edge: Edge, previous: Edge | None, subject: str) -> None:
        pass

    def rule(self, rule: str, codes: tuple[str, ...]) -> None:
        pass

    def violations(self, definition: MachineDefinition, trigger: str, codes: tuple[str, ...]) -> None:
        self.refused.append((definition.name, trigger, codes))


def test_a_refused_payment_names_its_trigger_its_amounts_and_is_reported() -> None:
    dossier = _all_ok(examples.dossier_at(sw.Status.AVANCE_EN_INSTRUCTION))
    # the corridor's amounts changed since the deposit (same corridor code)
    corridor = attrs.evolve(sw.SAS, montant_avance=Decimal("1"), montant_solde=Decimal("2"))
    with observing(_Told()) as told, pytest.raises(sw.RuleViolations) as err:
        sw.handle(dossier, sw.Decider(G), now=dossier.history[-1].at + LATER, corridor=corridor)
    assert err.value.trigger == "decider"
    (v,) = err.value.violations
    assert (v.code, v.field) == ("paiement.montant", "avance.montant")
    assert "(30000 €)" in v.message and "(1 €)" in v.message
    assert told.refused == [("dossier", "decider", ("paiement.montant",))]


#: A host's corridor whose balance asks for two pieces and which accepts PDF only.
DEUX = attrs.evolve(sw.SAS, code="DEUX", prefixe_numero="FINDEU",
                    pieces_solde=(sw.PieceKind.PV_VSR, sw.PieceKind.JUSTIFICATIF_TRANSMISSION),
                    allowed_types={".pdf": "application/pdf"})


def _in_deux(status: sw.Status) -> sw.Dossier:
    return examples.dossier_at(status, numero="FINDEU000001", corridor=DEUX)


def test_deposer_solde_records_its_event_and_every_piece() -> None:
    dossier = _in_deux(sw.Status.AVANCE_DECIDEE)
    now = dossier.history[-1].at + LATER
    out = sw.handle(dossier, examples.commands_to_fire(dossier, "deposer_solde", DEUX)[0], now=now, corridor=DEUX)
    deposes = [(e.numero, e.at, e.phase, e.montant) for e in out.events if isinstance(e, sw.DossierDepose)]
    assert deposes == [("FINDEU000001", now, sw.Phase.SOLDE, DEUX.montant_solde)]
    entry = command_entry(out.dossier)
    assert entry is not None and entry.details["pieces"] == "justificatif_transmission,pv_vsr"


def test_a_complement_lists_every_piece_and_is_judged_by_the_dossiers_corridor() -> None:
    dossier = _in_deux(sw.Status.SOLDE_A_MODIFIER)
    pieces = {k: examples.attachment(k) for k in DEUX.pieces_solde}
    after = sw.handle(dossier, sw.Completer(examples.owner(dossier), pieces=pieces),
                      now=dossier.history[-1].at + LATER, corridor=DEUX).dossier
    assert after.history[-1].details["pieces"] == "justificatif_transmission,pv_vsr"
    png = {sw.PieceKind.PV_VSR: sw.Attachment.from_bytes("pv.png", examples.png_bytes())}  # fine in SAS
    with pytest.raises(sw.RuleViolations) as err:
        sw.handle(dossier, sw.Completer(examples.owner(dossier), pieces=png), now=dossier.history[-1].at + LATER,
                  corridor=DEUX)
    assert [v.code for v in err.value.violations] == ["piece.type_interdit"]


def test_a_complement_of_contact_alone_leaves_an_ok_pieces_bloc_alone() -> None:
    dossier = _all_ok(examples.dossier_at(sw.Status.SOLDE_EN_INSTRUCTION))
    dossier = _send(dossier, sw.ControlerBloc(G, sw.Bloc.INFORMATIONS, sw.Controle.KO, "Contact injoignable"),
                    sw.DemanderModification(G, "Merci de corriger le contact de support."))
    after = _send(dossier, sw.Completer(examples.owner(dossier), contact_support="support@le-select.example"))
    assert _controls(after) == {sw.Bloc.INFORMATIONS: sw.Controle.A_INSTRUIRE,
                                sw.Bloc.COORDONNEES_BANCAIRES: sw.Controle.OK,
                                sw.Bloc.PIECES_JUSTIFICATIVES: sw.Controle.OK}


def test_a_piece_of_the_advance_asked_for_in_the_balance_is_named() -> None:
    dossier = examples.dossier_at(sw.Status.SOLDE_EN_INSTRUCTION)
    kind = sw.PieceKind.PV_MISE_EN_SERVICE
    with pytest.raises(sw.RuleViolations) as err:
        _send(dossier, sw.DemanderPiece(G, kind, "Le PV de mise en service, svp."))
    (v,) = err.value.violations
    assert v.code == "piece.autre_phase" and kind.label in v.message


def test_amounts_in_messages_show_cents_only_when_there_are() -> None:
    cents = attrs.evolve(sw.SAS, montant_avance=Decimal("30000.5"))
    (v,) = rules.check_montant(Decimal("30000"), sw.Phase.AVANCE, cents)
    assert "fixé à 30000.50 €" in v.message
    (v,) = rules.check_montant(Decimal("1"), sw.Phase.AVANCE)
    assert "fixé à 30000 €" in v.message


@pytest.mark.parametrize(("check", "parameter"), [(rules.has_dangerous_link, "text"),
                                                  (rules.normaliser_nom, "filename")])
def test_text_helpers_name_their_parameter(check: Any, parameter: str) -> None:
    with pytest.raises(sw.InvalidInput) as err:
        check(42)
    assert err.value.parameter == parameter


def test_a_file_name_is_judged_in_its_nfkc_form() -> None:
    assert rules.normaliser_nom("ｐｖ\u2024pdf") == "pv.pdf"  # full-width letters, one-dot leader
    assert rules.normaliser_nom("ﬁchier.pdf") == "fichier.pdf"  # a ligature


def test_a_decision_records_the_payment_its_day_and_amount() -> None:
    dossier = _all_ok(examples.dossier_at(sw.Status.AVANCE_EN_INSTRUCTION))
    now = dossier.history[-1].at + LATER
    after = sw.handle(dossier, sw.Decider(G), now=now).dossier
    assert after.avance.paiement is not None
    assert (after.avance.paiement.montant, after.avance.paiement.declenche_le) == (sw.SAS.montant_avance, now)
    entry = command_entry(after)
    assert entry is not None and dict(entry.details) == {"montant": "30000"}


def test_the_portals_deposit_day_controls_say_what_they_checked() -> None:
    dossier = examples.dossier_at(sw.Status.AVANCE_EN_INSTRUCTION)
    portail = [(e.comment, dict(e.details), e.command_id) for e in dossier.history if e.actor.role is sw.Role.SYSTEME]
    assert portail == [
        ("Contrôle automatique du portail : Montant de l'avance (30000 €) et taux de TVA (HT - 0%) conformes au "
         "couloir.", {"bloc": "informations", "resultat": "ok"}, None),
        ("Contrôle automatique du portail : IBAN (clés de contrôle) et BIC valides, de même pays.",
         {"bloc": "coordonnees_bancaires", "resultat": "ok"}, None),
    ]


def test_a_bloc_control_is_an_event_with_its_bloc_result_and_phase() -> None:
    dossier = examples.dossier_at(sw.Status.SOLDE_EN_INSTRUCTION)
    now = dossier.history[-1].at + LATER
    out = sw.handle(dossier, sw.ControlerBloc(G, sw.Bloc.PIECES_JUSTIFICATIVES, sw.Controle.KO, "Illisible"), now=now)
    controles = [(e.numero, e.at, e.phase, e.bloc, e.resultat) for e in out.events if isinstance(e, sw.BlocControle)]
    assert controles == [(dossier.numero, now, sw.Phase.SOLDE, sw.Bloc.PIECES_JUSTIFICATIVES, sw.Controle.KO)]
