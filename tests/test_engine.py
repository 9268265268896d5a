"""The engine against DESIGN.md's transition table, its refusals and its purity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import attrs
import pytest

import segur_workflow as sw
from segur_workflow import examples as ex
from segur_workflow.history import is_automatic
from segur_workflow.states import INITIAL, MachineDefinition, StateSpec, TransitionSpec

S = sw.Status
F, G = sw.Role.FOURNISSEUR, sw.Role.GESTIONNAIRE

# DESIGN.md's table, transcribed as the specification the definition must match.
DESIGN_TABLE = {
    ("deposer_avance", None, S.AVANCE_EN_INSTRUCTION, F),
    ("controler_bloc", S.AVANCE_EN_INSTRUCTION, S.AVANCE_EN_INSTRUCTION, G),
    ("controler_bloc", S.SOLDE_EN_INSTRUCTION, S.SOLDE_EN_INSTRUCTION, G),
    ("decider", S.AVANCE_EN_INSTRUCTION, S.AVANCE_DECIDEE, G),
    ("rejeter", S.AVANCE_EN_INSTRUCTION, S.AVANCE_REJETEE, G),
    ("deposer_solde", S.AVANCE_DECIDEE, S.SOLDE_EN_INSTRUCTION, F),
    ("demander_modification", S.SOLDE_EN_INSTRUCTION, S.SOLDE_A_MODIFIER, G),
    ("demander_piece", S.SOLDE_EN_INSTRUCTION, S.SOLDE_EN_ATTENTE_PIECE, G),
    ("completer", S.SOLDE_A_MODIFIER, S.SOLDE_EN_INSTRUCTION, F),
    ("completer", S.SOLDE_EN_ATTENTE_PIECE, S.SOLDE_EN_INSTRUCTION, F),
    ("decider", S.SOLDE_EN_INSTRUCTION, S.SOLDE_DECIDEE, G),
    ("rejeter", S.SOLDE_EN_INSTRUCTION, S.SOLDE_REJETEE, G),
} | {
    # issue 16 (the gestionnaire's desk): a dossier under way can be handed to another gestionnaire
    ("reaffecter", s, s, role) for s in S if not s.final for role in (G, sw.Role.SYSTEME)
}
LATER = ex.T0 + timedelta(days=30)


def _edges() -> set[tuple[str, S | None, S, sw.Role]]:
    return {
        (t.trigger, None if src == INITIAL else S(src), S(dst), role)
        for src, t, dst in sw.DOSSIER.edges()
        for role in t.roles
    }


def test_definition_is_exactly_the_design_table() -> None:
    assert _edges() == DESIGN_TABLE
    assert sw.DOSSIER.final_states == {"avance_rejetee", "solde_decidee", "solde_rejetee"}


def test_status_values_and_labels_are_the_contract() -> None:
    assert [s.value for s in S] == [
        "avance_en_instruction", "avance_decidee", "avance_rejetee", "solde_en_instruction",
        "solde_a_modifier", "solde_en_attente_piece", "solde_decidee", "solde_rejetee",
    ]
    assert S.AVANCE_EN_INSTRUCTION.label == "En cours"
    assert S.SOLDE_A_MODIFIER.label == "A modifier"
    assert S.SOLDE_EN_ATTENTE_PIECE.label == "En attente de pièce justificative"
    assert S.AVANCE_REJETEE.label == S.SOLDE_REJETEE.label == "Rejetée"


@pytest.mark.parametrize(
    ("trigger", "source", "dest", "role"),
    sorted((r for r in DESIGN_TABLE if r[1] is not None), key=str),
    ids=lambda v: str(getattr(v, "value", v)),
)
def test_each_row_fires_records_and_mails(trigger: str, source: S, dest: S, role: sw.Role) -> None:
    dossier = ex.dossier_at(source)
    commands = ex.commands_to_fire(dossier, trigger)
    now = LATER
    for command in commands[:-1]:
        dossier = sw.handle(dossier, command, now=now).dossier
    before = dossier
    last = commands[-1]
    if last.actor.role is not role:  # a row of another role (reaffecter by the portal): the same command, its actor
        last = attrs.evolve(last, actor=sw.Actor(role, "portail"))
    assert last.actor.role is role
    assert trigger in sw.allowed_commands(dossier, last.actor)
    outcome = sw.handle(dossier, last, now=now + timedelta(minutes=5))
    after = outcome.dossier
    assert after.status is dest
    added = after.history[len(before.history):]
    assert after.history[:len(before.history)] == before.history
    entry = added[0]
    # a deposit is followed by the portal's own controls (see tests/test_guides.py); nothing else adds any
    assert all(is_automatic(e) for e in added[1:])
    assert len(added) == (1 if trigger != "deposer_solde" else 2)
    assert (entry.trigger, entry.source, entry.dest, entry.actor) == (trigger, source, dest, last.actor)
    assert entry.at == now + timedelta(minutes=5)
    sends_mail = trigger not in {"controler_bloc", "reaffecter"}  # the internal transitions mail no one
    assert len(outcome.emails) == (1 if sends_mail else 0)
    assert after.emails_sent[len(before.emails_sent):] == tuple(
        sw.EmailRecord(at=entry.at, template=e.template, subject=e.subject, to=e.to) for e in outcome.emails
    )
    assert all(e.to == after.fournisseur.email for e in outcome.emails)
    expected_change = entry.at if source is not dest else before.date_changement_statut
    assert after.date_changement_statut == expected_change
    assert sw.verify_history(after)


def test_start_creates_the_dossier_of_the_seed() -> None:
    outcome = sw.start(ex.deposer_avance(), numero="FINSAS009250", now=ex.T0)
    d = outcome.dossier
    assert (d.numero, d.status, d.date_depot, d.date_changement_statut) == (
        "FINSAS009250", S.AVANCE_EN_INSTRUCTION, ex.T0, ex.T0)
    assert d.avance.montant == Decimal("30000")
    # the deposit day of the guide: the portal's own checks passed, the pieces wait for the gestionnaire
    assert dict(d.avance.controles) == {sw.Bloc.INFORMATIONS: sw.Controle.OK,
                                        sw.Bloc.COORDONNEES_BANCAIRES: sw.Controle.OK,
                                        sw.Bloc.PIECES_JUSTIFICATIVES: sw.Controle.A_INSTRUIRE}
    assert [e.template for e in outcome.emails] == ["accuse_reception_avance"]
    assert d.history[0].source is None and d.history[0].trigger == "deposer_avance"
    assert [e.actor.role for e in d.history] == [sw.Role.FOURNISSEUR, sw.Role.SYSTEME, sw.Role.SYSTEME]
    assert [type(e).__name__ for e in outcome.events] == ["DossierDepose", "BlocControle", "BlocControle",
                                                          "StatutChange"]


def test_decider_triggers_payment_once_per_phase() -> None:
    d = ex.dossier_at(S.SOLDE_DECIDEE)
    assert d.avance.paiement is not None and d.solde is not None and d.solde.paiement is not None
    assert d.total_paye == Decimal("60000")
    paiements = [e for e in d.history if e.trigger == "decider"]
    assert len(paiements) == 2


def test_decider_emits_paiement_event() -> None:
    d = ex.dossier_at(S.AVANCE_EN_INSTRUCTION)
    for c in ex.commands_to_fire(d, "decider")[:-1]:
        d = sw.handle(d, c, now=LATER).dossier
    outcome = sw.handle(d, sw.Decider(ex.GESTIONNAIRE), now=LATER)
    pay = [e for e in outcome.events if isinstance(e, sw.PaiementDeclenche)]
    assert pay == [sw.PaiementDeclenche("FINSAS009250", LATER, sw.Phase.AVANCE, Decimal("30000"),
                                        event_id=pay[0].event_id)]
    assert pay[0].event_id.startswith("FINSAS009250/")


# -- refusals: each raises a WorkflowError subclass with data, and the dossier is unchanged ---------------
def _refused(dossier: sw.Dossier, command: sw.Command, error: type[sw.WorkflowError],
             now: datetime = LATER) -> sw.WorkflowError:
    snapshot = attrs.evolve(dossier)
    with pytest.raises(error) as info:
        sw.handle(dossier, command, now=now)
    assert dossier == snapshot
    assert isinstance(info.value, sw.WorkflowError) and info.value.code
    return info.value


def test_wrong_status_lists_what_is_allowed() -> None:
    d = ex.dossier_at(S.AVANCE_DECIDEE)
    err = _refused(d, sw.Decider(ex.GESTIONNAIRE), sw.TransitionNotAllowed)
    assert isinstance(err, sw.TransitionNotAllowed)
    assert (err.status, err.trigger, err.allowed) == ("avance_decidee", "decider", frozenset({"reaffecter"}))
    err = _refused(d, sw.Completer(ex.owner(d)), sw.TransitionNotAllowed)
    assert isinstance(err, sw.TransitionNotAllowed) and err.allowed == {"deposer_solde"}


@pytest.mark.parametrize("status", [S.AVANCE_REJETEE, S.SOLDE_DECIDEE, S.SOLDE_REJETEE])
def test_final_states_accept_nothing(status: S) -> None:
    d = ex.dossier_at(status)
    for actor in (ex.owner(d), ex.GESTIONNAIRE):
        assert sw.allowed_commands(d, actor) == frozenset()
    _refused(d, sw.Rejeter(ex.GESTIONNAIRE, "motif"), sw.TransitionNotAllowed)


def test_wrong_role_is_permission_denied() -> None:
    d = ex.dossier_at(S.AVANCE_EN_INSTRUCTION)
    err = _refused(d, sw.Decider(ex.owner(d)), sw.PermissionDenied)
    assert isinstance(err, sw.PermissionDenied) and err.trigger == "decider" and err.role == "fournisseur"
    _refused(d, sw.Decider(sw.Actor(sw.Role.SYSTEME, "batch")), sw.PermissionDenied)


def test_provider_cannot_act_on_another_providers_dossier() -> None:
    d = ex.dossier_at(S.AVANCE_DECIDEE)
    intruder = sw.Actor(sw.Role.FOURNISSEUR, "tndSAS9999")
    command = ex.commands_to_fire(d, "deposer_solde")[0]
    err = _refused(d, attrs.evolve(command, actor=intruder), sw.PermissionDenied)
    assert "autre fournisseur" in err.message
    assert sw.allowed_commands(d, intruder) == frozenset()


def test_start_refuses_another_provider_filing() -> None:
    cmd = attrs.evolve(ex.deposer_avance(), actor=sw.Actor(sw.Role.FOURNISSEUR, "tndSAS9999"))
    with pytest.raises(sw.RuleViolations) as info:
        sw.start(cmd, numero="FINSAS000001", now=ex.T0)
    assert "fournisseur.acteur" in info.value.codes


@pytest.mark.parametrize("motif", ["", "   ", "\n\t"])
def test_rejeter_needs_a_motif(motif: str) -> None:
    d = ex.dossier_at(S.SOLDE_EN_INSTRUCTION)
    err = _refused(d, sw.Rejeter(ex.GESTIONNAIRE, motif), sw.RuleViolations)
    assert isinstance(err, sw.RuleViolations) and err.codes == {"motif.requis"}


def test_decider_needs_every_bloc_ok() -> None:
    d = ex.dossier_at(S.AVANCE_EN_INSTRUCTION)
    d = sw.handle(d, sw.ControlerBloc(ex.GESTIONNAIRE, sw.Bloc.COORDONNEES_BANCAIRES, sw.Controle.A_INSTRUIRE),
                  now=LATER).dossier
    assert "decider" not in sw.allowed_commands(d, ex.GESTIONNAIRE)
    err = _refused(d, sw.Decider(ex.GESTIONNAIRE), sw.RuleViolations)
    assert isinstance(err, sw.RuleViolations)
    assert {v.field for v in err.violations} == {"controles.coordonnees_bancaires", "controles.pieces_justificatives"}


def test_demander_modification_needs_a_ko_bloc_and_a_comment() -> None:
    d = ex.dossier_at(S.SOLDE_EN_INSTRUCTION)
    assert "demander_modification" not in sw.allowed_commands(d, ex.GESTIONNAIRE)
    err = _refused(d, sw.DemanderModification(ex.GESTIONNAIRE, " "), sw.RuleViolations)
    assert isinstance(err, sw.RuleViolations) and err.codes == {"commentaire.requis", "bloc.aucun_ko"}


def test_completer_must_bring_the_requested_piece() -> None:
    d = ex.dossier_at(S.SOLDE_EN_ATTENTE_PIECE)
    assert d.piece_demandee is sw.PieceKind.PV_VSR
    err = _refused(d, sw.Completer(ex.owner(d), contact_support="support@example.org"), sw.RuleViolations)
    assert isinstance(err, sw.RuleViolations) and "piece.demandee_manquante" in err.codes
    ok = sw.handle(d, ex.commands_to_fire(d, "completer")[0], now=LATER).dossier
    assert ok.status is S.SOLDE_EN_INSTRUCTION and ok.piece_demandee is None


def test_completer_sends_ko_blocs_back_to_instruction() -> None:
    d = ex.dossier_at(S.SOLDE_A_MODIFIER)
    assert d.solde is not None and d.solde.controles[sw.Bloc.PIECES_JUSTIFICATIVES] is sw.Controle.KO
    after = sw.handle(d, ex.commands_to_fire(d, "completer")[0], now=LATER).dossier
    assert after.solde is not None
    assert sw.Controle.KO not in after.solde.controles.values()
    assert after.avance == d.avance


def test_deposer_solde_refuses_another_amount_and_reports_everything() -> None:
    d = ex.dossier_at(S.AVANCE_DECIDEE)
    bad = sw.DeposerSolde(ex.owner(d), {}, "", Decimal("99999"))
    err = _refused(d, bad, sw.RuleViolations)
    assert isinstance(err, sw.RuleViolations)
    assert {"piece.manquante", "contact_support.requis", "montant.solde"} <= err.codes


def test_start_reports_all_problems_at_once() -> None:
    cmd = ex.deposer_avance()
    cmd = attrs.evolve(
        cmd,
        pieces={sw.PieceKind.PV_MISE_EN_SERVICE: cmd.pieces[sw.PieceKind.PV_MISE_EN_SERVICE]},
        montant=Decimal("1"),
        coordonnees_bancaires=attrs.evolve(cmd.coordonnees_bancaires, iban="FR00 1234"),
    )
    with pytest.raises(sw.RuleViolations) as info:
        sw.start(cmd, numero="FINSAS12", now=ex.T0)
    codes = info.value.codes
    assert {"piece.manquante", "montant.avance", "iban.format", "numero.format"} <= codes
    assert sum(v.code == "piece.manquante" for v in info.value.violations) == 2


def test_start_refuses_a_second_funding_request() -> None:
    with pytest.raises(sw.DuplicateFinancingRequest) as info:
        sw.start(ex.deposer_avance(), numero="FINSAS000002", now=ex.T0, existing_request="FINSAS009250")
    assert info.value.existing == "FINSAS009250"


@pytest.mark.parametrize("flag", ["enrole", "reference"])
def test_start_needs_an_enrolled_referenced_provider(flag: str) -> None:
    fournisseur = attrs.evolve(ex.FOURNISSEUR, enrole=flag != "enrole", reference=flag != "reference")
    with pytest.raises(sw.RuleViolations) as info:
        sw.start(ex.deposer_avance(fournisseur), numero="FINSAS000001", now=ex.T0)
    assert info.value.codes == {f"fournisseur.non_{flag}"}


def test_naive_or_missing_now_is_refused_clearly() -> None:
    d = ex.dossier_at(S.AVANCE_EN_INSTRUCTION)
    command = sw.ControlerBloc(ex.GESTIONNAIRE, sw.Bloc.INFORMATIONS, sw.Controle.OK)
    for bad in (datetime(2023, 6, 1), "2023-06-01", None):
        err = _refused(d, command, sw.InvalidInput, now=bad)  # type: ignore[arg-type,unused-ignore]
        assert isinstance(err, sw.InvalidInput) and err.parameter == "now"
        assert isinstance(err, TypeError)
    with pytest.raises(sw.InvalidInput):
        sw.start(ex.deposer_avance(), numero="FINSAS000001", now=datetime(2023, 6, 1))


def test_commands_dated_before_the_last_entry_are_refused() -> None:
    d = ex.dossier_at(S.AVANCE_EN_INSTRUCTION)
    command = sw.ControlerBloc(ex.GESTIONNAIRE, sw.Bloc.INFORMATIONS, sw.Controle.OK)
    err = _refused(d, command, sw.RuleViolations, now=ex.T0 - timedelta(seconds=1))
    assert isinstance(err, sw.RuleViolations) and err.codes == {"date.anterieure"}


@pytest.mark.parametrize(
    "build",
    [
        lambda: sw.Rejeter(ex.GESTIONNAIRE, None),  # type: ignore[arg-type]
        lambda: sw.DeposerSolde(ex.FOURNISSEUR_ACTOR, {}, "x", 30000.0),  # type: ignore[arg-type]
        lambda: sw.DeposerSolde(ex.FOURNISSEUR_ACTOR, {}, "x", "30000"),  # type: ignore[arg-type]
        lambda: sw.ControlerBloc(ex.GESTIONNAIRE, "banque", sw.Controle.OK),
        lambda: sw.DemanderPiece(ex.GESTIONNAIRE, "facture", "x"),
        lambda: sw.Completer(ex.FOURNISSEUR_ACTOR, pieces={sw.PieceKind.PV_VSR: b"%PDF-"}),
        lambda: sw.Decider("gestionnaire"),  # type: ignore[arg-type]
        lambda: sw.Actor("admin", "x"),
        lambda: sw.Actor(sw.Role.GESTIONNAIRE, ""),
    ],
)
def test_wrong_types_are_invalid_input(build: object) -> None:
    with pytest.raises(sw.InvalidInput):
        build()  # type: ignore[operator]


def test_handle_refuses_non_dossier_and_foreign_corridor() -> None:
    with pytest.raises(sw.InvalidInput):
        sw.handle({"numero": "x"}, sw.Decider(ex.GESTIONNAIRE), now=LATER)  # type: ignore[arg-type]
    d = ex.dossier_at(S.AVANCE_EN_INSTRUCTION)
    other = attrs.evolve(sw.SAS, code="AUTRE")
    with pytest.raises(sw.InvalidInput):
        sw.handle(d, sw.Decider(ex.GESTIONNAIRE), now=LATER, corridor=other)


def test_errors_serialise_for_apis() -> None:
    d = ex.dossier_at(S.AVANCE_DECIDEE)
    with pytest.raises(sw.TransitionNotAllowed) as info:
        sw.handle(d, sw.Decider(ex.GESTIONNAIRE), now=LATER)
    assert info.value.to_dict() == {
        "code": "transition.interdite", "message": info.value.message,
        "status": "avance_decidee", "trigger": "decider", "allowed": ["reaffecter"],
    }


# -- purity and sharing --------------------------------------------------------------------------------------
def test_input_dossier_is_never_mutated_and_values_are_frozen() -> None:
    d = ex.dossier_at(S.AVANCE_EN_INSTRUCTION)
    snapshot = attrs.evolve(d)
    sw.handle(d, sw.ControlerBloc(ex.GESTIONNAIRE, sw.Bloc.INFORMATIONS, sw.Controle.KO), now=LATER)
    assert d == snapshot
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        d.status = S.AVANCE_DECIDEE  # type: ignore[misc]
    with pytest.raises(TypeError):
        d.avance.controles[sw.Bloc.INFORMATIONS] = sw.Controle.OK  # type: ignore[index]


def test_one_shared_machine_and_no_models_attached() -> None:
    machine = sw.DOSSIER.machine
    ex.dossier_at(S.SOLDE_DECIDEE)
    assert sw.DOSSIER.machine is machine
    assert machine.models == []


def test_controler_bloc_history_records_the_bloc_and_comment() -> None:
    d = ex.dossier_at(S.AVANCE_EN_INSTRUCTION)
    cmd = sw.ControlerBloc(ex.GESTIONNAIRE, sw.Bloc.PIECES_JUSTIFICATIVES, sw.Controle.KO, "PV flou",
                           command_id="cmd-42")
    out = sw.handle(d, cmd, now=LATER)
    entry = out.dossier.history[-1]
    assert dict(entry.details) == {"bloc": "pieces_justificatives", "resultat": "ko"}
    assert (entry.comment, entry.command_id) == ("PV flou", "cmd-42")
    assert out.emails == () and out.dossier.date_changement_statut == d.date_changement_statut


# -- the definition checks itself ---------------------------------------------------------------------------
def _definition(states: tuple[StateSpec, ...], transitions: tuple[TransitionSpec, ...]) -> MachineDefinition:
    return MachineDefinition(name="essai", title="essai", states=states, transitions=transitions)


def test_definition_refuses_unreachable_trap_and_unknown_states() -> None:
    roles = frozenset({G})

    def t(trigger: str, sources: tuple[str, ...], dest: str) -> TransitionSpec:
        return TransitionSpec(trigger, sources, dest, roles)

    a, b, c, fin = StateSpec("a", "A"), StateSpec("b", "B"), StateSpec("c", "C"), StateSpec("fin", "Fin", final=True)
    with pytest.raises(sw.DefinitionError, match="inaccessible"):
        _definition((a, b, fin), (t("creer", (), "a"), t("finir", ("a",), "fin")))
    with pytest.raises(sw.DefinitionError, match="piège"):
        _definition((a, b, fin), (t("creer", (), "a"), t("aller", ("a",), "b"), t("finir", ("a",), "fin")))
    with pytest.raises(sw.DefinitionError, match="inconnu"):
        _definition((a, fin), (t("creer", (), "a"), t("finir", ("a",), "zz")))
    with pytest.raises(sw.DefinitionError, match="n'atteint aucun"):
        _definition((a, c, fin), (t("creer", (), "a"), t("x", ("a",), "c"), t("y", ("c",), "a"), t("z", (), "fin")))


def test_recapitulatif_reads_like_the_consultation_screen() -> None:
    d = ex.dossier_at(S.AVANCE_EN_INSTRUCTION)
    d = sw.handle(d, sw.ControlerBloc(ex.GESTIONNAIRE, sw.Bloc.COORDONNEES_BANCAIRES, sw.Controle.KO, "RIB illisible"),
                  now=datetime(2023, 5, 23, 22, 30, tzinfo=UTC)).dossier
    r = sw.recapitulatif(d)
    assert [(line.libelle, line.valeur) for line in r.lignes()] == [
        ("N° unique de référencement (ANS)", "tndSAS0032"),
        ("SIRET", "39431067600017"),
        ("Dénomination sociale", "LE SELECT"),
        ("Adresse", "184 av DU BOIS DE VERRIERES , 92160, ANTONY"),
        ("Numéro de dossier", "FINSAS009250"),
        ("Date de dépôt", "23/05/2023"),
        ("Statut de la demande", "En cours"),
        ("Date de changement de statut", "23/05/2023"),
    ]
    avance = r.phases[0]
    assert [(b.titre, b.badge_label) for b in avance.blocs] == [
        ("Informations de la demande", "Contrôle OK"),
        ("Coordonnées bancaires", "Contrôle KO"),
        ("Pièces justificatives", "A instruire"),
    ]
    assert ("Taux de TVA", "HT - 0%") in [(x.libelle, x.valeur) for x in avance.blocs[0].lignes]
    assert r.courriels.lignes[0].libelle == "23/05/2023"


def test_dates_shown_to_people_are_paris_days() -> None:
    # 23:30 UTC on 31/12 is already 01/01 in Paris (UTC+1); 22:30 UTC on 31/07 too (UTC+2).
    assert sw.engine.format_date(datetime(2023, 12, 31, 23, 30, tzinfo=UTC)) == "01/01/2024"
    assert sw.engine.format_date(datetime(2023, 7, 31, 22, 30, tzinfo=UTC)) == "01/08/2023"
