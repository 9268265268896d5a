"""The suite's coverage of the machine definitions, made deterministic.

``make test`` runs with ``--segur-coverage-fail-under=100``: every transition and every rule outcome the
definitions declare must be exercised on every run, not only when hypothesis happens to draw it. This
module fires each of them once, through the public engines (``start``/``handle``, ``handle_compte``).

Nothing here lists a transition or a code by hand. The transitions are ``definition.edges()`` and the
outcomes are :meth:`MachineInfo.outcomes` (each guard's ``Rule.codes`` and ``"ok"``, the engine's own codes:
its binding's own rules, ``Binding.own_codes``) minus what a rule declares
:attr:`~segur_workflow.rules.Rule.unreachable`: the
very lists ``--segur-coverage`` counts against. A source state is reached by a shortest path of
:mod:`segur_workflow.testing.paths`, and the command that fires the edge is the example one; what is
written here is only how to *spoil* that command for each violation code (:data:`SPOILERS`). A code
without a spoiler fails :func:`test_every_violation_code_has_an_input`, so a new code cannot go unexercised.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest

import segur_workflow as sw
from segur_workflow import examples, rules
from segur_workflow._machines import BINDINGS
from segur_workflow.commands import Command
from segur_workflow.compte import handle_compte
from segur_workflow.model import Corridor
from segur_workflow.observation import observing
from segur_workflow.states import DEFINITIONS, DOSSIER, INITIAL, MachineDefinition, TransitionSpec
from segur_workflow.testing import fichiers
from segur_workflow.testing.coverage import ENGINE, OK, MachineInfo, Recorder, unreachable_reason
from segur_workflow.testing.paths import Path, shortest_paths
from segur_workflow.testing.strategies import iban_check_digits, rib_key
from segur_workflow.vocabulary import Bloc, Controle, PieceKind, Role

Edge = tuple[str, str, str]
Outcome = tuple[str, str]

MACHINES = tuple(MachineInfo.of(d) for d in DEFINITIONS.values())
EDGES = [(info.name, edge) for info in MACHINES for edge in info.edges]
OUTCOMES = [(info.name, o) for info in MACHINES for o in info.outcomes() if unreachable_reason(o) is None]
EXCLUDED = [(info.name, o) for info in MACHINES for o in info.outcomes() if unreachable_reason(o) is not None]
LATER = timedelta(hours=1)

#: A host's own corridor (public API: ``sw.Corridor``) without the transmission piece: the only way a
#: piece kind is foreign to every phase (``piece.inconnue``).
PETIT = attrs.evolve(sw.SAS, code="PETIT", prefixe_numero="FINPET",
                     pieces_avance=(PieceKind.PV_MISE_EN_SERVICE, PieceKind.ATTESTATION_PROCURATION))


# -- one command sent to an engine ----------------------------------------------------------------------------
@attrs.frozen
class Firing:
    """The command that fires ``spec`` from ``source``, and everything it is sent with."""

    definition: MachineDefinition
    source: str
    spec: TransitionSpec
    subject: Any  # the dossier or account it is sent to (None: creation)
    command: Command
    now: datetime
    corridor: Corridor = sw.SAS
    numero: str = examples.NUMERO

    def send(self) -> Any:
        if self.definition is DOSSIER:
            if self.subject is None:
                return sw.start(self.command, numero=self.numero, now=self.now,  # type: ignore[arg-type]
                                corridor=self.corridor)
            return sw.handle(self.subject, self.command, now=self.now, corridor=self.corridor)
        return handle_compte(self.subject, self.command, now=self.now)

    def with_(self, **changes: Any) -> Firing:
        """The same firing, its command's fields changed."""
        return attrs.evolve(self, command=attrs.evolve(self.command, **changes))

    def after(self, *commands: Command) -> Firing:
        """The same firing, sent once ``commands`` have been applied to the subject."""
        subject, now = self.subject, self.now
        for command in commands:
            subject = sw.handle(subject, command, now=now, corridor=self.corridor).dossier
            now += LATER
        return attrs.evolve(self, subject=subject, now=now)

    def in_corridor(self, corridor: Corridor) -> Firing:
        return firing(self.definition, self.source, self.spec, corridor)


CORRIDORS = {c.code: c for c in (sw.SAS, PETIT)}


@functools.cache
def _walk(machine: str, source: str, trigger: str, corridor_code: str) -> Firing:
    definition, corridor = DEFINITIONS[machine], CORRIDORS[corridor_code]
    spec = definition.resolve(None if source == INITIAL else source, trigger)
    assert spec is not None
    # a shortest path to the source, then the edge itself: the last command sent is the one that fires it
    start = Path((), (), definition) if source == INITIAL else shortest_paths(definition)[source]
    numero = corridor.prefixe_numero + examples.NUMERO[-6:]
    steps = start.then(source, spec).walk(corridor=corridor, numero=numero)  # both ignored by the account
    before = [o for step in steps for o in step.outcomes][:-1]  # every outcome but the firing command's
    subject = None if not before else before[-1].dossier if definition is DOSSIER else before[-1].compte
    now = examples.T0 if subject is None else subject.history[-1].at + LATER
    return Firing(definition, source, spec, subject, steps[-1].commands[-1], now, corridor, numero)


def firing(definition: MachineDefinition, source: str, spec: TransitionSpec, corridor: Corridor = sw.SAS) -> Firing:
    return _walk(definition.name, source, spec.trigger, corridor.code)


Refusal = sw.RuleViolations | sw.PermissionDenied | sw.TransitionNotAllowed


def recorded(f: Firing) -> tuple[Recorder, Refusal | None]:
    """Send ``f`` under a recorder (which passes everything on to ``--segur-coverage``'s)."""
    with observing(Recorder()) as recorder:
        try:
            f.send()
        except (sw.RuleViolations, sw.PermissionDenied, sw.TransitionNotAllowed) as exc:
            return recorder, exc
    return recorder, None


# -- every transition -----------------------------------------------------------------------------------------
def _spec(machine: str, edge: Edge) -> TransitionSpec:
    definition = DEFINITIONS[machine]
    spec = definition.resolve(None if edge[0] == INITIAL else edge[0], edge[1])
    assert spec is not None
    return spec


@pytest.mark.parametrize(("machine", "edge"), EDGES, ids=[f"{m}:{s}-{t}->{d}" for m, (s, t, d) in EDGES])
def test_every_transition_fires_through_the_engine(machine: str, edge: Edge) -> None:
    definition = DEFINITIONS[machine]
    f = firing(definition, edge[0], _spec(machine, edge))
    with observing(Recorder()) as rec:
        out = f.send()
    after = out.dossier if definition is DOSSIER else out.compte
    assert after.status.value == edge[2]
    assert rec.transitions[(machine, edge)] == 1


# -- every rule outcome ---------------------------------------------------------------------------------------
def _other_piece(f: Firing) -> PieceKind:
    """A piece of another phase than the dossier's (``piece.autre_phase``)."""
    phase = f.subject.phase
    return next(k for k in PieceKind if k not in f.corridor.pieces(phase))


def _foreign_piece(corridor: Corridor) -> PieceKind:
    """A piece kind no phase of ``corridor`` has (``piece.inconnue``)."""
    return next(k for k in PieceKind if all(k not in corridor.pieces(p) for p in sw.Phase))


def _piece(f: Firing, kind: PieceKind) -> Firing:
    """``kind`` asked for (``DemanderPiece``) or brought (a command with pieces)."""
    if hasattr(f.command, "piece"):
        return f.with_(piece=kind)
    return f.with_(pieces={kind: examples.attachment(kind)})


def _bad_file(make: Callable[[], sw.Attachment]) -> Callable[[Firing], Firing]:
    """The first piece of the command replaced by a refused file."""
    def spoil(f: Firing) -> Firing:
        pieces = dict(f.command.pieces)  # type: ignore[attr-defined]
        pieces[next(iter(pieces))] = make()
        return f.with_(pieces=pieces)

    return spoil


def _from_corpus(case: fichiers.CasFichier) -> sw.Attachment:
    return sw.Attachment.from_bytes(case.name, case.data)


def _named(code: str) -> Callable[[], sw.Attachment]:
    """A file of the hostile corpus (testing/fichiers.py) whose *name* gets ``code``."""
    return lambda: _from_corpus(next(c for c in map(fichiers.hostile, fichiers.HOSTILES) if c.code == code))


def _text(field: str, value: str) -> Callable[[Firing], Firing]:
    return lambda f: f.with_(**{field: value})


def _texts(field: str, limit: int) -> dict[str, Callable[[Firing], Firing]]:
    """The three refusals of a free text: blank, too long, a character that is not text."""
    return {f"{field}.requis": _text(field, "   "), f"{field}.trop_long": _text(field, "x" * (limit + 1)),
            f"{field}.caracteres": _text(field, "Texte \ud800")}  # a lone surrogate is not text


def _fournisseur(**changes: Any) -> Callable[[Firing], Firing]:
    def spoil(f: Firing) -> Firing:
        fournisseur = attrs.evolve(f.command.fournisseur, **changes)  # type: ignore[attr-defined]
        return f.with_(fournisseur=fournisseur, actor=sw.Actor(Role.FOURNISSEUR, fournisseur.ans_id))

    return spoil


def _banque(**changes: str) -> Callable[[Firing], Firing]:
    return lambda f: f.with_(coordonnees_bancaires=attrs.evolve(f.command.coordonnees_bancaires,  # type: ignore[attr-defined]
                                                                **changes))


def _iban(country: str, bban: str) -> str:
    return country + iban_check_digits(country, bban) + bban


def _bad_rib_key() -> str:
    banque, guichet, compte = "30004", "00001", "00012345678"
    return _iban("FR", banque + guichet + compte + f"{(int(rib_key(banque, guichet, compte)) + 1) % 97:02d}")


def _new_password(value: str) -> Callable[[Firing], Firing]:
    return lambda f: f.with_(nouveau_mot_de_passe=value, confirmation=value)


def _wrong_password(f: Firing) -> Firing:
    field = "ancien_mot_de_passe" if hasattr(f.command, "ancien_mot_de_passe") else "mot_de_passe"
    return f.with_(**{field: "Pas.le-bon1"})


def _edited_bank_details(f: Firing) -> Firing:
    # a stored row whose IBAN was edited after the deposit: the payment re-check refuses it
    other = attrs.evolve(f.subject.coordonnees_bancaires, iban=_iban("FR", "30004000010001234567853"))
    return attrs.evolve(f, subject=attrs.evolve(f.subject, coordonnees_bancaires=other))


G = examples.GESTIONNAIRE
PDF = examples.pdf_bytes


def _reserved(f: Firing, gestionnaire: str | None) -> Firing:
    """Instruction reserved to the assigned gestionnaire, the dossier assigned to ``gestionnaire``."""
    if f.subject is None:
        return f
    return attrs.evolve(f, corridor=attrs.evolve(f.corridor, instruction_reservee=True),
                        subject=attrs.evolve(f.subject, gestionnaire=gestionnaire))


def _trop_grand() -> sw.Attachment:
    # one byte more than the corridor accepts: described by its head, never inspected
    return sw.Attachment.from_bytes("gros.pdf", PDF() + bytes(sw.SAS.max_attachment_bytes))


#: How each violation code is obtained from the example command that fires a transition guarded by its rule.
#: Keyed by code (a code means the same in every rule that declares it); ``ok`` is the example command itself.
SPOILERS: dict[str, Callable[[Firing], Firing]] = {
    OK: lambda f: f,
    # the deposit of the advance
    "fournisseur.non_enrole": _fournisseur(enrole=False),
    "fournisseur.non_reference": _fournisseur(reference=False),
    "fournisseur.acteur": lambda f: f.with_(actor=sw.Actor(Role.FOURNISSEUR, "tndSAS9999")),
    "siret.format": _fournisseur(siret="3943106760"),
    "siret.cle": _fournisseur(siret="39431067600018"),
    "reference_ans.format": _fournisseur(ans_id="tnd SAS"),
    "iban.format": _banque(iban="FR76"),
    "iban.pays": _banque(iban="US64SVBKUS6S3300958879"),  # the United States have no IBAN
    "iban.cle": _banque(iban="FR7730006000011234567890189"),
    "iban.cle_rib": _banque(iban=_bad_rib_key()),
    "iban.cle_nationale": _banque(iban=_iban("BE", "539007547035"), bic="GEBABEBB"),  # Belgian key 34, not 35
    "bic.format": _banque(bic="AGRI"),
    "bic.pays_incoherent": _banque(bic="DEUTDEFF"),
    "montant.avance": _text("montant", Decimal("29999")),  # type: ignore[arg-type]
    "montant.solde": _text("montant", Decimal("1")),  # type: ignore[arg-type]
    "montant.invalide": _text("montant", Decimal("NaN")),  # type: ignore[arg-type]
    "numero.format": lambda f: attrs.evolve(f, numero="FINSAS12"),
    # pieces
    "piece.manquante": lambda f: f.with_(pieces=dict(list(f.command.pieces.items())[1:])),  # type: ignore[attr-defined]
    "piece.non_attendue": lambda f: f.with_(pieces={**f.command.pieces,  # type: ignore[attr-defined]
                                                     **{k: examples.attachment(k) for k in PieceKind}}),
    "piece.autre_phase": lambda f: _piece(f, _other_piece(f)),
    "piece.inconnue": lambda f: _piece(f.in_corridor(PETIT), _foreign_piece(PETIT)),
    "piece.demandee_manquante": lambda f: f.with_(pieces={}, contact_support="support@le-select.example"),
    "complement.vide": lambda f: f.with_(pieces={}, contact_support=None),
    "piece.vide": _bad_file(lambda: sw.Attachment.from_bytes("vide.pdf", b"")),
    "piece.trop_grande": _bad_file(_trop_grand),
    "piece.type_interdit": _bad_file(lambda: sw.Attachment.from_bytes("piece.docx", PDF())),
    "piece.contenu_incoherent": _bad_file(lambda: sw.Attachment.from_bytes("piece.png", PDF())),
    "piece.incomplet": _bad_file(lambda: sw.Attachment.from_bytes("piece.pdf", PDF()[:-30])),
    "piece.contenu_suspect": _bad_file(lambda: _from_corpus(fichiers.hostile("pdf-js-objstm"))),
    "piece.nom_vide": _bad_file(lambda: sw.Attachment.from_bytes(".pdf", PDF())),
    "piece.nom_trop_long": _bad_file(lambda: sw.Attachment.from_bytes("a" * 300 + ".pdf", PDF())),
    "piece.double_extension": _bad_file(lambda: sw.Attachment.from_bytes("facture.exe.pdf", PDF())),
    "piece.nom_caracteres": _bad_file(_named("piece.nom_caracteres")),
    "piece.nom_reserve": _bad_file(_named("piece.nom_reserve")),
    "piece.nom_espace": _bad_file(_named("piece.nom_espace")),
    # the support contact, comments, motifs
    "contact_support.requis": _text("contact_support", "   "),
    "contact_support.trop_long": _text("contact_support", "support@le-select.example " + "x" * rules.MAX_CONTACT),
    "contact_support.caracteres": _text("contact_support", "support@le-select.example\ue000"),
    "contact_support.lien_dangereux": _text("contact_support", "javascript:alert(1)"),
    "contact_support.introuvable": _text("contact_support", "Appelez-nous."),
    **_texts("commentaire", rules.MAX_TEXT),
    **_texts("motif", rules.MAX_TEXT),
    # the instruction
    "bloc.non_ok": lambda f: f.after(sw.ControlerBloc(G, Bloc.PIECES_JUSTIFICATIVES, Controle.KO, "Illisible")),
    "bloc.aucun_ko": lambda f: f.after(*(sw.ControlerBloc(G, b, Controle.OK) for b in Bloc)),
    "paiement.montant": lambda f: attrs.evolve(f, corridor=attrs.evolve(f.corridor, montant_avance=Decimal("1"),
                                                                        montant_solde=Decimal("1"))),
    "paiement.coordonnees_bancaires": _edited_bank_details,
    "date.anterieure": lambda f: attrs.evolve(f, now=f.subject.history[-1].at - timedelta(days=1)),
    # assignment, and the reasons explain() gives for a refused permission or status (the desk's)
    "gestionnaire.requis": _text("gestionnaire", "   "),
    "gestionnaire.inchange": lambda f: f.after(sw.Reaffecter(G, "c.martin")).with_(gestionnaire="c.martin"),
    "permission.role": lambda f: f.with_(actor=sw.Actor(
        Role.GESTIONNAIRE if f.command.actor.role is Role.FOURNISSEUR else Role.FOURNISSEUR, "tndSAS0032")),
    "permission.proprietaire": lambda f: f.with_(actor=sw.Actor(Role.FOURNISSEUR, "tndSAS9999")),
    "permission.affectation": lambda f: _reserved(f, "c.martin"),
    "permission.non_affecte": lambda f: _reserved(f, None),
    "statut.interdit": lambda f: f if f.subject is None else attrs.evolve(
        f, subject=examples.dossier_at(sw.Status.AVANCE_REJETEE)),
    "dossier.existant": lambda f: attrs.evolve(f, subject=examples.dossier_at(sw.Status.AVANCE_EN_INSTRUCTION)),
    # the portal account
    "identifiant.format": _text("identifiant", "a"),
    "mot_de_passe.requis": _text("mot_de_passe_provisoire", ""),
    "compte.email": _text("email", "pas-une-adresse"),
    "compte.email_inconnu": _text("email", "autre@exemple.fr"),
    "mot_de_passe.incorrect": _wrong_password,
    "mot_de_passe.trop_court": _new_password("Aa1."),
    "mot_de_passe.trop_long": _new_password("Aa1." + "x" * rules.MAX_PASSWORD),
    "mot_de_passe.chiffre": _new_password("Abcdefgh."),
    "mot_de_passe.caractere_special": _new_password("Abcdefgh1"),
    "mot_de_passe.identifiant": _new_password(examples.IDENTIFIANT.upper()),
    "mot_de_passe.accents": _new_password("Éléphant.1"),
    "mot_de_passe.caracteres": _new_password("Nouveau.mdp1\x07"),
    "mot_de_passe.confirmation": lambda f: f.with_(confirmation="Autre.mdp2"),
    "mot_de_passe.inchange": lambda f: _new_password(f.command.ancien_mot_de_passe)(f),  # type: ignore[attr-defined]
    "question_secrete.requise": _text("question", "  "),
    "question_secrete.trop_longue": _text("question", "q" * (rules.MAX_QUESTION + 1)),
    "reponse_secrete.requise": _text("reponse", "  "),
    "reponse_secrete.trop_longue": _text("reponse", "r" * (rules.MAX_QUESTION + 1)),
    "reponse_secrete.incorrecte": _text("reponse", "Paris"),
}


def _edges_of(machine: str, outcome: Outcome) -> list[tuple[str, TransitionSpec]]:
    """The edges whose command ``outcome`` can come from: its rule guards them, or the engine code applies."""
    definition = DEFINITIONS[machine]
    rule = outcome[0]
    out = []
    for source, spec, _target in definition.edges():
        if rule == ENGINE:
            if spec.trigger in BINDINGS[machine].own_codes[outcome[1]]:
                out.append((source, spec))
        elif rule in spec.guards:
            out.append((source, spec))
    return out


def _seen(rec: Recorder, machine: str, outcome: Outcome) -> bool:
    return rec.outcome_count(machine, outcome) > 0


@pytest.mark.parametrize(("machine", "outcome"), OUTCOMES, ids=[f"{m}:{r}:{o}" for m, (r, o) in OUTCOMES])
def test_every_rule_outcome_is_produced_through_the_engine(machine: str, outcome: Outcome) -> None:
    spoil = SPOILERS[outcome[1]]
    tried = []
    # the first edge the outcome can come from where the spoiled command gets it (a requested piece that is
    # missing needs a piece request; the date check, a subject with a history)
    for source, spec in _edges_of(machine, outcome):
        f = firing(DEFINITIONS[machine], source, spec)
        if outcome[1] == "date.anterieure" and f.subject is None:
            continue
        rec, refused = recorded(spoil(f))
        if _seen(rec, machine, outcome):
            if outcome[1] == OK:
                assert refused is None, refused
            elif isinstance(refused, sw.RuleViolations):
                assert outcome[1] in {v.code for v in refused.violations}
            else:  # a permission or status refusal: the reasons explain() gives, seen by the recorder
                assert refused is not None
            return
        tried.append(f"{source} —{spec.trigger}→ : {refused!r}")
    pytest.fail(f"{outcome} jamais obtenu :\n" + "\n".join(tried))


def test_every_violation_code_has_an_input() -> None:
    declared = {o for _m, (_r, o) in OUTCOMES}
    assert declared - set(SPOILERS) == set(), "un code déclaré sans entrée construite pour lui"
    every = {o for info in MACHINES for _r, o in info.outcomes()}
    assert set(SPOILERS) - every == set(), "une entrée pour un code que plus aucune règle ne déclare"


def _second_request() -> None:
    command = examples.deposer_avance()
    with observing(Recorder()) as rec, pytest.raises(sw.DuplicateFinancingRequest) as refused:
        sw.start(command, numero=examples.NUMERO, now=examples.T0, existing_request="FINSAS000001")
    assert refused.value.code == "demande.doublon"
    assert not rec.outcomes  # refused before any rule ran


def test_a_second_request_is_refused_before_any_rule_runs() -> None:
    # why no guard judges uniqueness (the demande_unique guard that could never refuse was removed)
    _second_request()


#: For each outcome a rule declares unreachable, the proof that the earlier layer its reason names refuses first.
PROOFS: dict[Outcome, Callable[[], None]] = {}


@pytest.mark.parametrize(("machine", "outcome"), EXCLUDED, ids=[f"{m}:{r}:{o}" for m, (r, o) in EXCLUDED])
def test_an_unreachable_outcome_is_refused_before_its_rule(machine: str, outcome: Outcome) -> None:
    PROOFS[outcome]()


def test_every_proof_is_of_a_declared_unreachable_outcome() -> None:
    assert set(PROOFS) == {o for _m, o in EXCLUDED}


def test_a_control_character_in_a_text_is_refused_when_the_command_is_built() -> None:
    # why the spoilers use a lone surrogate or a private-use character: a C0 control never reaches the rules
    with pytest.raises(sw.InvalidInput):
        sw.DeposerSolde(examples.GESTIONNAIRE, examples.pieces(sw.Phase.SOLDE), "support@le-select.example\x07",
                        sw.SAS.montant_solde)


def test_an_accepted_command_records_its_edge_its_pair_and_every_rule_passed() -> None:
    dossier = examples.dossier_at(sw.Status.AVANCE_EN_INSTRUCTION)
    with observing(Recorder()) as rec:
        sw.handle(dossier, sw.Rejeter(examples.GESTIONNAIRE, "Non conforme."), now=dossier.history[-1].at + LATER)
    edge = ("avance_en_instruction", "rejeter", "avance_rejetee")
    assert rec.transitions == {("dossier", edge): 1}
    assert rec.pairs == {("dossier", ((INITIAL, "deposer_avance", "avance_en_instruction"), edge)): 1}
    assert rec.outcomes == {("motif_requis", OK): 1}
