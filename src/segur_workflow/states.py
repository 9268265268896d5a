"""The machine definitions, declared once.

Everything else — the engine, permissions, ``allowed_commands``, diagrams, catalogues and the QA
strategies — reads these definitions; no other module lists transitions.

Each definition builds one ``transitions.Machine`` (without models) when it is created. The engine
uses that machine's event table to resolve ``(status, trigger)``; dossiers never carry a machine.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Iterable, Mapping
from functools import cached_property
from types import MappingProxyType

import attrs
from transitions import Machine, State

from .errors import DefinitionError
from .vocabulary import Phase, Role

#: Name of the pseudo-state before a creating trigger (``deposer_avance``, ``creer_compte``).
INITIAL = "__initial__"


class Status(enum.StrEnum):
    """Status of a funding dossier. Values are part of the public contract."""

    AVANCE_EN_INSTRUCTION = "avance_en_instruction"
    AVANCE_DECIDEE = "avance_decidee"
    AVANCE_REJETEE = "avance_rejetee"
    SOLDE_EN_INSTRUCTION = "solde_en_instruction"
    SOLDE_A_MODIFIER = "solde_a_modifier"
    SOLDE_EN_ATTENTE_PIECE = "solde_en_attente_piece"
    SOLDE_DECIDEE = "solde_decidee"
    SOLDE_REJETEE = "solde_rejetee"

    @property
    def label(self) -> str:
        """The status as the portal shows it ("Statut de la demande")."""
        return DOSSIER.state(self.value).label

    @property
    def phase(self) -> Phase:
        return Phase.AVANCE if self.value.startswith("avance") else Phase.SOLDE

    @property
    def final(self) -> bool:
        return DOSSIER.state(self.value).final


class CompteStatus(enum.StrEnum):
    """Status of a provider's account on the private portal (first login and resets)."""

    IDENTIFIANTS_TRANSMIS = "identifiants_transmis"
    MOT_DE_PASSE_A_CHANGER = "mot_de_passe_a_changer"
    QUESTION_SECRETE_A_DEFINIR = "question_secrete_a_definir"  # noqa: S105 - a status, not a secret
    ACTIF = "actif"
    MOT_DE_PASSE_REINITIALISE = "mot_de_passe_reinitialise"
    CLOTURE = "cloture"

    @property
    def label(self) -> str:
        return COMPTE.state(self.value).label


@attrs.frozen
class StateSpec:
    """A state: its name, French label, group (phase) for diagrams, and whether it is final."""

    name: str
    label: str
    group: str | None = None
    final: bool = False
    description: str = ""


@attrs.frozen
class TransitionSpec:
    """One row of the transition table.

    ``sources`` empty means the trigger creates the subject (from :data:`INITIAL`).
    ``dest`` ``None`` means an internal transition: the status stays the same.
    ``guards`` name rules of :mod:`segur_workflow.rules`; all of them run, and all violations are reported.
    ``owner_only``: a provider may fire it only on its own subject.
    ``email``: the template sent to the provider when it fires, if any.
    ``assigned_only``: when the corridor reserves instruction (``Corridor.instruction_reservee``), only
    the gestionnaire the dossier is assigned to may fire it.
    ``label``: the transition in the process's words, as diagrams and tables show it ("Déposer la demande
    d'avance"); the trigger stays the identifier (tooltips, SCXML, legends). ``recit``: what happened,
    as a history entry tells it ("Demande d'avance déposée").
    """

    trigger: str
    sources: tuple[str, ...]
    dest: str | None
    roles: frozenset[Role]
    guards: tuple[str, ...] = ()
    owner_only: bool = False
    email: str | None = None
    description: str = ""
    assigned_only: bool = False
    recit: str = ""
    #: further templates sent when it fires, after ``email`` (the account's creation sends two mails)
    extra_emails: tuple[str, ...] = ()
    label: str = ""

    @property
    def emails(self) -> tuple[str, ...]:
        """Every template sent when it fires, in order."""
        return ((self.email,) if self.email is not None else ()) + self.extra_emails

    @property
    def libelle(self) -> str:
        """``label``, or the trigger in words when a definition gives none."""
        return self.label or self.trigger.replace("_", " ").capitalize()

    @property
    def creates(self) -> bool:
        return not self.sources

    @property
    def internal(self) -> bool:
        return self.dest is None

    def target(self, source: str) -> str:
        """The state reached from ``source``."""
        return source if self.dest is None else self.dest


@attrs.frozen(eq=False)
class MachineDefinition:
    """States and transitions of one machine, checked and compiled once."""

    name: str
    title: str
    states: tuple[StateSpec, ...]
    transitions: tuple[TransitionSpec, ...]
    #: why a provider may not fire an owner-only trigger on another's subject, in people's words
    owner_refusal: str = attrs.field(kw_only=True, default=attrs.Factory(
        lambda self: f"réservée au titulaire de ce {self.name}", takes_self=True))

    def __attrs_post_init__(self) -> None:
        self.check()
        # Build the shared machine and index eagerly so a broken definition fails at import.
        _ = self.machine, self._index

    # -- lookups -----------------------------------------------------------------------------
    @cached_property
    def _states(self) -> Mapping[str, StateSpec]:
        return MappingProxyType({s.name: s for s in self.states})

    def state(self, name: str) -> StateSpec:
        return self._states[name]

    @cached_property
    def state_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.states)

    @cached_property
    def final_states(self) -> frozenset[str]:
        return frozenset(s.name for s in self.states if s.final)

    @cached_property
    def triggers(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for t in self.transitions:
            seen.setdefault(t.trigger, None)
        return tuple(seen)

    @cached_property
    def permissions(self) -> Mapping[str, tuple[frozenset[Role], bool]]:
        """Per trigger: the roles that may fire it (over all its transitions) and whether only the owner may.

        Computed once per definition: the engine asks on every command.
        """
        table: dict[str, tuple[frozenset[Role], bool]] = {}
        for trigger in self.triggers:
            specs = [t for t in self.transitions if t.trigger == trigger]
            table[trigger] = (frozenset().union(*(t.roles for t in specs)), any(t.owner_only for t in specs))
        return MappingProxyType(table)

    @cached_property
    def assigned_only(self) -> frozenset[str]:
        """Triggers reserved to the assigned gestionnaire when the corridor reserves instruction."""
        return frozenset(t.trigger for t in self.transitions if t.assigned_only)

    @cached_property
    def labels(self) -> Mapping[str, str]:
        """Per trigger, the action in people's words (the trigger itself when no label is declared)."""
        return MappingProxyType({t: next(s.libelle for s in self.transitions if s.trigger == t)
                                 for t in self.triggers})

    @cached_property
    def machine(self) -> Machine:
        """The one ``transitions.Machine`` of this definition (no models are ever attached)."""
        states = [State(INITIAL)] + [State(s.name, final=s.final) for s in self.states]
        rows = [
            {
                "trigger": t.trigger,
                "source": list(t.sources) if t.sources else [INITIAL],
                "dest": t.dest,
                "conditions": list(t.guards),
            }
            for t in self.transitions
        ]
        return Machine(
            model=None,
            states=states,
            initial=INITIAL,
            transitions=rows,
            auto_transitions=False,
            ignore_invalid_triggers=False,
        )

    @cached_property
    def _index(self) -> Mapping[tuple[str, str], TransitionSpec]:
        by_key = {(t.trigger, t.dest, t.sources or (INITIAL,)): t for t in self.transitions}
        index: dict[tuple[str, str], TransitionSpec] = {}
        for trigger, event in self.machine.events.items():
            for source, compiled in event.transitions.items():
                for tr in compiled:
                    spec = next(
                        s for (trg, dest, srcs), s in by_key.items()
                        if trg == trigger and dest == tr.dest and source in srcs
                    )
                    index[(source, trigger)] = spec
        return MappingProxyType(index)

    def resolve(self, state: str | None, trigger: str) -> TransitionSpec | None:
        """The transition ``trigger`` fires from ``state`` (``None``: before creation), if any."""
        return self._index.get((INITIAL if state is None else state, trigger))

    def outgoing(self, state: str | None) -> tuple[TransitionSpec, ...]:
        """Transitions that leave ``state`` (``None``: the creating ones), in declaration order."""
        src = INITIAL if state is None else state
        return tuple(t for t in self.transitions if src in (t.sources or (INITIAL,)))

    def triggers_from(self, state: str | None) -> frozenset[str]:
        return frozenset(self.machine.get_triggers(INITIAL if state is None else state))

    def edges(self) -> Iterable[tuple[str, TransitionSpec, str]]:
        """Every (source, transition, target) edge; the source is :data:`INITIAL` for creation."""
        for t in self.transitions:
            for src in t.sources or (INITIAL,):
                yield src, t, t.target(src)

    # -- display in notebooks (IPython's protocol; the diagram module is loaded only when asked) ---
    def _repr_svg_(self) -> str | None:
        from .diagrams import Diagramme

        return Diagramme(self)._repr_svg_()

    def _repr_mimebundle_(self, include: object = None, exclude: object = None) -> dict[str, str]:
        from .diagrams import Diagramme

        return Diagramme(self)._repr_mimebundle_(include, exclude)

    # -- checks ------------------------------------------------------------------------------
    def check(self) -> None:
        """Refuse a definition with unknown states, duplicates, unreachable or trap states."""
        problems: list[str] = []
        names = [s.name for s in self.states]
        known = set(names)
        if len(known) != len(names):
            problems.append("état déclaré deux fois")
        if not any(t.creates for t in self.transitions):
            problems.append("aucune transition de création")
        seen_pairs: set[tuple[str, str]] = set()
        for t in self.transitions:
            for s in (*t.sources, *((t.dest,) if t.dest else ())):
                if s not in known:
                    problems.append(f"{t.trigger} : état inconnu {s!r}")
            if t.creates and t.dest is None:
                problems.append(f"{t.trigger} : une création doit avoir une destination")
            if not t.roles:
                problems.append(f"{t.trigger} : aucun rôle ne peut la déclencher")
            if t.assigned_only and Role.GESTIONNAIRE not in t.roles:
                problems.append(f"{t.trigger} : réservée au gestionnaire affecté mais pas aux gestionnaires")
            for s in t.sources or (INITIAL,):
                if (s, t.trigger) in seen_pairs:
                    problems.append(f"{t.trigger} : deux transitions depuis {s!r}")
                seen_pairs.add((s, t.trigger))
            for s in t.sources:
                if s in known and self._states[s].final:
                    problems.append(f"{t.trigger} : part de l'état final {s!r}")
        if problems:
            raise DefinitionError(self.name, problems)

        succ: dict[str, set[str]] = {n: set() for n in (INITIAL, *names)}
        for src, _t, dst in self.edges():
            succ[src].add(dst)
        reachable = _closure(INITIAL, succ)
        for n in names:
            if n not in reachable:
                problems.append(f"état inaccessible {n!r}")
            elif not self._states[n].final and not (succ[n] - {n}):
                problems.append(f"état piège {n!r} (ni final ni sortie)")
            elif not (_closure(n, succ) & self.final_states):
                problems.append(f"l'état {n!r} n'atteint aucun état final")
        if not self.final_states:
            problems.append("aucun état final")
        if problems:
            raise DefinitionError(self.name, problems)


def _closure(start: str, succ: Mapping[str, set[str]]) -> set[str]:
    seen = {start}
    todo = deque([start])
    while todo:
        for nxt in succ[todo.popleft()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


_F = frozenset({Role.FOURNISSEUR})
_G = frozenset({Role.GESTIONNAIRE})
_S = frozenset({Role.SYSTEME})
_A, _SO = Phase.AVANCE.value, Phase.SOLDE.value

_DOSSIER_STATES = (
    StateSpec("avance_en_instruction", "En cours", _A,
              description="Demande d'avance déposée, en attente d'instruction par un gestionnaire."),
    StateSpec("avance_decidee", "Validée", _A,
              description=("Avance décidée : le paiement de l'avance est déclenché ; "
                           "la demande de solde est ouverte.")),
    StateSpec("avance_rejetee", "Rejetée", _A, final=True,
              description="Demande d'avance non conforme, rejetée : aucun paiement."),
    StateSpec("solde_en_instruction", "En cours", _SO,
              description="Demande de solde déposée (ou complétée), en instruction."),
    StateSpec("solde_a_modifier", "A modifier", _SO,
              description="Le gestionnaire demande une modification ; le fournisseur complète sa demande."),
    StateSpec("solde_en_attente_piece", "En attente de pièce justificative", _SO,
              description="Le gestionnaire attend une pièce justificative précise."),
    StateSpec("solde_decidee", "Décidée", _SO, final=True,
              description="Solde décidé : la demande est conforme, le paiement du solde est déclenché."),
    StateSpec("solde_rejetee", "Rejetée", _SO, final=True,
              description="Demande de solde non conforme, rejetée : le solde n'est pas payé."),
)

#: The funding dossier of the SAS corridor (DESIGN.md's table).
DOSSIER = MachineDefinition(
    name="dossier",
    title="Demande de financement Ségur numérique — couloir SAS",
    owner_refusal="ce dossier appartient à un autre fournisseur",
    states=_DOSSIER_STATES,
    transitions=(
        TransitionSpec(
            "deposer_avance", (), "avance_en_instruction", _F,
            label="Déposer la demande d'avance",
            guards=("fournisseur_eligible", "pieces_avance", "montant_avance",
                    "coordonnees_bancaires", "identite_fournisseur"),
            owner_only=True, email="accuse_reception_avance",
            description="Le fournisseur dépose sa demande d'avance (3 pièces, montant fixé par le couloir).",
            recit="Demande d'avance déposée",
        ),
        TransitionSpec(
            "controler_bloc", ("avance_en_instruction", "solde_en_instruction"), None, _G,
            label="Contrôler un bloc",
            guards=("commentaire_borne",), assigned_only=True,
            description="Le gestionnaire contrôle un bloc : OK, KO ou à instruire.",
            recit="Bloc contrôlé",
        ),
        TransitionSpec(
            "decider", ("avance_en_instruction",), "avance_decidee", _G,
            label="Décider — paiement déclenché",
            guards=("blocs_tous_ok",), email="avance_decidee", assigned_only=True,
            description="Le gestionnaire valide l'avance ; le paiement de l'avance est déclenché.",
            recit="Avance validée, paiement déclenché",
        ),
        TransitionSpec(
            "rejeter", ("avance_en_instruction",), "avance_rejetee", _G,
            label="Rejeter la demande",
            guards=("motif_requis",), email="avance_rejetee", assigned_only=True,
            description="Le gestionnaire rejette la demande d'avance (motif obligatoire).",
            recit="Demande d'avance rejetée",
        ),
        TransitionSpec(
            "deposer_solde", ("avance_decidee",), "solde_en_instruction", _F,
            label="Déposer la demande de solde",
            guards=("pieces_solde", "contact_support", "montant_solde"),
            owner_only=True, email="accuse_reception_solde",
            description="Le fournisseur dépose sa demande de solde (PV de VSR, contact support).",
            recit="Demande de solde déposée",
        ),
        TransitionSpec(
            "demander_modification", ("solde_en_instruction",), "solde_a_modifier", _G,
            label="Demander une modification",
            guards=("commentaire_requis", "bloc_ko"), email="solde_a_modifier", assigned_only=True,
            description="Le gestionnaire demande une modification (commentaire, au moins un bloc KO).",
            recit="Modification demandée",
        ),
        TransitionSpec(
            "demander_piece", ("solde_en_instruction",), "solde_en_attente_piece", _G,
            label="Demander une pièce justificative",
            guards=("commentaire_requis", "piece_de_la_phase"), email="solde_en_attente_piece", assigned_only=True,
            description="Le gestionnaire demande une pièce justificative précise (commentaire obligatoire).",
            recit="Pièce justificative demandée",
        ),
        TransitionSpec(
            "completer", ("solde_a_modifier", "solde_en_attente_piece"), "solde_en_instruction", _F,
            label="Compléter la demande",
            guards=("complement_non_vide", "piece_demandee_fournie", "pieces_completees",
                    "contact_support_complete"),
            owner_only=True, email="complement_recu",
            description="Le fournisseur complète sa demande ; elle repart en instruction.",
            recit="Demande complétée",
        ),
        TransitionSpec(
            "decider", ("solde_en_instruction",), "solde_decidee", _G,
            label="Décider — paiement déclenché",
            guards=("blocs_tous_ok",), email="solde_decidee", assigned_only=True,
            description="Le gestionnaire valide le solde ; le paiement du solde est déclenché.",
            recit="Solde validé, paiement déclenché",
        ),
        TransitionSpec(
            "rejeter", ("solde_en_instruction",), "solde_rejetee", _G,
            label="Rejeter la demande",
            guards=("motif_requis",), email="solde_rejetee", assigned_only=True,
            description="Le gestionnaire rejette la demande de solde (motif obligatoire).",
            recit="Demande de solde rejetée",
        ),
        TransitionSpec(
            "reaffecter", tuple(s.name for s in _DOSSIER_STATES if not s.final), None, _G | _S,
            label="Réaffecter à un gestionnaire",
            guards=("gestionnaire_change", "commentaire_borne"),
            description="Le dossier est confié à un autre gestionnaire (par un gestionnaire ou par le portail).",
            recit="Dossier réaffecté",
        ),
    ),
)

#: The provider's account on the private portal (first login, secret question, forgotten credentials).
COMPTE = MachineDefinition(
    name="compte",
    title="Compte du portail privé Ségur numérique",
    states=(
        StateSpec("identifiants_transmis", "Identifiants transmis par courriel", "connexion",
                  description="Identifiant et mot de passe provisoire envoyés par courriel (deux courriels)."),
        StateSpec("mot_de_passe_a_changer", "Changement du mot de passe requis", "connexion",
                  description="Première connexion faite : le mot de passe provisoire doit être changé."),
        StateSpec("question_secrete_a_definir", "Question secrète à définir", "connexion",
                  description="Mot de passe changé : la question/réponse secrète reste à définir."),
        StateSpec("actif", "Actif", None, description="Compte utilisable."),
        StateSpec("mot_de_passe_reinitialise", "Nouveau mot de passe transmis par courriel", "connexion",
                  description=("« J'ai oublié mon mot de passe » : un mot de passe provisoire a été envoyé ; "
                               "il doit être changé, la question secrète est conservée.")),
        StateSpec("cloture", "Clôturé", None, final=True, description="Compte fermé."),
    ),
    transitions=(
        TransitionSpec("creer_compte", (), "identifiants_transmis", _S,
                       label="Créer le compte", guards=("identifiant_compte",),
                       email="compte_identifiant", extra_emails=("compte_mot_de_passe",),
                       description=("Le portail crée le compte et transmet l'identifiant et le mot de passe "
                                    "provisoire par deux courriels.")),
        TransitionSpec("premiere_connexion", ("identifiants_transmis",), "mot_de_passe_a_changer", _F,
                       label="Se connecter la première fois",
                       guards=("mot_de_passe_exact",), owner_only=True,
                       description="Première connexion avec le mot de passe transmis."),
        TransitionSpec("changer_mot_de_passe", ("mot_de_passe_a_changer",), "question_secrete_a_definir", _F,
                       label="Changer le mot de passe provisoire",
                       guards=("mot_de_passe_exact", "politique_mot_de_passe"), owner_only=True,
                       description="Changement obligatoire du mot de passe provisoire."),
        TransitionSpec("changer_mot_de_passe", ("mot_de_passe_reinitialise",), "actif", _F,
                       label="Changer le mot de passe provisoire",
                       guards=("mot_de_passe_exact", "politique_mot_de_passe"), owner_only=True,
                       description=("Changement du mot de passe provisoire reçu après un oubli ; la question "
                                    "secrète, déjà définie, est conservée.")),
        TransitionSpec("definir_question_secrete", ("question_secrete_a_definir",), "actif", _F,
                       label="Définir la question secrète",
                       guards=("question_secrete",), owner_only=True,
                       description="Définition de la question/réponse secrète."),
        TransitionSpec("oublier_mot_de_passe", ("actif", "mot_de_passe_reinitialise"), "mot_de_passe_reinitialise",
                       _F, label="Mot de passe oublié", guards=("reponse_secrete",), owner_only=True,
                       email="compte_nouveau_mot_de_passe",
                       description=("« J'ai oublié mon mot de passe » : après la réponse secrète, un nouveau mot "
                                    "de passe provisoire est envoyé par courriel.")),
        TransitionSpec("oublier_identifiant",
                       ("identifiants_transmis", "mot_de_passe_a_changer", "question_secrete_a_definir", "actif",
                        "mot_de_passe_reinitialise"), None, _S, label="Identifiant oublié",
                       guards=("email_du_compte",), email="compte_rappel_identifiant",
                       description=("« J'ai oublié mon identifiant » : le portail envoie l'identifiant à "
                                    "l'adresse électronique du compte.")),
        TransitionSpec("cloturer_compte",
                       ("identifiants_transmis", "mot_de_passe_a_changer", "question_secrete_a_definir", "actif",
                        "mot_de_passe_reinitialise"),
                       "cloture", _S, label="Clôturer le compte", description="Le portail ferme le compte."),
    ),
)

DEFINITIONS: Mapping[str, MachineDefinition] = MappingProxyType({d.name: d for d in (DOSSIER, COMPTE)})

