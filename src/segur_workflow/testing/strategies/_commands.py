"""Commands of the dossier's triggers, valid (past the command-level guards) or deliberately flawed."""

from __future__ import annotations

import enum
import typing
from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Any

import attrs
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from ...commands import Command
from ...engine import DOSSIER_BINDING
from ...model import SAS, Actor, Corridor, Dossier
from ...rules import MAX_TEXT
from ...states import DOSSIER, Status, TransitionSpec
from ...vocabulary import Phase, PieceKind, Role
from ._args import memo, require, require_corridor
from ._files import attachments, hostile_attachments, pieces
from ._values import actors, contacts, coordonnees_bancaires, fournisseurs, texts

__all__ = ["COMMANDS", "COMMAND_IDS", "DELAYS", "GESTIONNAIRES", "commands", "one_command"]

#: The dossier's command classes, by trigger (from its binding).
COMMANDS = DOSSIER_BINDING.commands


@memo
def _subsets(items: tuple[Any, ...], min_size: int = 0) -> st.SearchStrategy[frozenset[Any]]:
    return st.frozensets(st.sampled_from(items), min_size=min_size)


# -- commands ---------------------------------------------------------------------------------------------------------
def _spec(trigger: str) -> TransitionSpec:
    return next(t for t in DOSSIER.transitions if t.trigger == trigger)


def _phase(trigger: str) -> Phase:
    """The phase a trigger's pieces and amount belong to: the one of the state it leads to."""
    spec = _spec(trigger)
    return Status(spec.target(spec.sources[0] if spec.sources else "")).phase


def _fields(trigger: str) -> Mapping[str, attrs.Attribute[Any]]:
    return {a.name: a for a in attrs.fields(COMMANDS[trigger]) if a.name != "command_id"}


def _optional(attribute: attrs.Attribute[Any]) -> bool:
    return attribute.default is not attrs.NOTHING


_OPTIONAL_TEXTS = st.one_of(st.none(), texts())
GESTIONNAIRES = st.lists(actors(Role.GESTIONNAIRE), min_size=1, max_size=3)


def _valid_fields(draw: st.DrawFn, trigger: str, dossier: Dossier | None, corridor: Corridor) -> dict[str, Any]:
    """Field values passing the trigger's command-level guards (dossier-level ones are not its concern)."""
    spec = _spec(trigger)
    fields = _fields(trigger)
    hints = typing.get_type_hints(COMMANDS[trigger])
    out: dict[str, Any] = {}
    if "fournisseur" in fields:
        out["fournisseur"] = draw(fournisseurs())
    for name, attribute in fields.items():
        if name in out or name == "actor":
            continue
        optional = _optional(attribute)
        if name == "coordonnees_bancaires":
            out[name] = draw(coordonnees_bancaires())
        elif name == "montant":
            out[name] = corridor.montant(_phase(trigger))
        elif name == "pieces" and not optional:
            out[name] = draw(pieces(_phase(trigger), corridor))
        elif name == "pieces":  # a complement: some of the phase's pieces, the requested one included
            wanted = dossier.piece_demandee if dossier is not None else None
            kinds = set(draw(_subsets(corridor.pieces(_phase(trigger)))))
            if wanted is not None:
                kinds.add(wanted)
            out[name] = {k: draw(attachments()) for k in sorted(kinds)}
        elif name == "contact_support":
            out[name] = draw(st.one_of(st.none(), contacts())) if optional else draw(contacts())
        elif name == "gestionnaire":  # reaffecter: someone else than the gestionnaire in charge
            chosen = draw(actors(Role.GESTIONNAIRE)).id
            out[name] = chosen + "-2" if dossier is not None and chosen == dossier.gestionnaire else chosen
        elif name == "piece":  # a piece of the phase under instruction (rules.piece_de_la_phase)
            out[name] = draw(st.sampled_from(corridor.pieces(_phase(trigger))))
        elif isinstance(hints[name], type) and issubclass(hints[name], enum.Enum):
            out[name] = draw(st.sampled_from(list(hints[name])))
        elif optional:
            out[name] = draw(_OPTIONAL_TEXTS)
        else:
            out[name] = draw(texts())
    if "pieces" in fields and _optional(fields["pieces"]) and not out["pieces"] and out.get("contact_support") is None:
        out["contact_support"] = draw(contacts())  # a complement must bring something
    if "fournisseur" in out:
        out["actor"] = Actor(Role.FOURNISSEUR, out["fournisseur"].ans_id)
    elif spec.owner_only and dossier is not None:
        out["actor"] = Actor(Role.FOURNISSEUR, dossier.fournisseur.ans_id)
    else:
        roles = sorted({r for t in DOSSIER.transitions if t.trigger == trigger for r in t.roles})
        out["actor"] = draw(actors(draw(st.sampled_from(roles))))
    return out


def _other_phase_pieces(trigger: str, corridor: Corridor) -> tuple[PieceKind, ...]:
    phase = _phase(trigger)
    return tuple(k for p in Phase if p is not phase for k in corridor.pieces(p) if k not in corridor.pieces(phase))


def _broken_fields(draw: st.DrawFn, trigger: str, dossier: Dossier | None, corridor: Corridor) -> dict[str, Any]:
    """Valid fields, then one or more deliberate flaws the guards or permissions must refuse."""
    out = _valid_fields(draw, trigger, dossier, corridor)
    fields = _fields(trigger)
    roles = {r for t in DOSSIER.transitions if t.trigger == trigger for r in t.roles}
    flaws: list[str] = ["actor"]
    for name, attribute in fields.items():
        if name in ("fournisseur", "coordonnees_bancaires", "montant", "pieces", "commentaire", "motif",
                    "contact_support") or (name == "piece" and _other_phase_pieces(trigger, corridor)):
            flaws.append(name)
        if name == "commentaire" and _optional(attribute):
            flaws.remove(name)
            flaws.append("commentaire_long")
    if dossier is not None and dossier.piece_demandee is not None and "pieces" in fields:
        flaws.append("piece_demandee")
    chosen = draw(_subsets(tuple(flaws), min_size=1))
    for flaw in sorted(chosen):
        if flaw == "actor":
            others = sorted(set(Role) - roles)
            choices = [draw(actors(draw(st.sampled_from(others))))] if others else []
            if _spec(trigger).owner_only or "fournisseur" in fields:
                owner_id = out["fournisseur"].ans_id if "fournisseur" in out else (
                    dossier.fournisseur.ans_id if dossier is not None else "")
                other = draw(actors(Role.FOURNISSEUR))
                choices.append(other if other.id != owner_id else Actor(Role.FOURNISSEUR, owner_id + "-autre"))
            if choices:
                out["actor"] = draw(st.sampled_from(choices))
        elif flaw == "fournisseur":
            out["fournisseur"] = draw(fournisseurs(valid=False, ans_id=out["fournisseur"].ans_id))
        elif flaw == "coordonnees_bancaires":
            out["coordonnees_bancaires"] = draw(coordonnees_bancaires(valid=False))
        elif flaw == "montant":
            expected = corridor.montant(_phase(trigger))
            montant = draw(_MONTANTS)
            out["montant"] = montant if montant != expected else montant + Decimal("0.01")
        elif flaw == "pieces" and _optional(fields["pieces"]):  # a complement with a hostile file
            kind = draw(st.sampled_from(corridor.pieces(_phase(trigger))))
            out["pieces"] = {**out["pieces"], kind: draw(hostile_attachments(corridor))}
        elif flaw == "pieces":
            required = corridor.pieces(_phase(trigger))
            current = dict(out["pieces"])
            # only a piece that is there can go missing (another flaw may have taken one out already)
            present = [k for k in required if k in current]
            how = draw(st.sampled_from(("missing", "hostile", "extra") if present else ("hostile", "extra")))
            if how == "missing":
                del current[draw(st.sampled_from(present))]
            elif how == "hostile":
                current[draw(st.sampled_from(required))] = draw(hostile_attachments(corridor))
            else:
                extra = [k for k in PieceKind if k not in required]
                if extra:
                    current[draw(st.sampled_from(extra))] = draw(attachments())
                else:
                    current[draw(st.sampled_from(required))] = draw(hostile_attachments(corridor))
            out["pieces"] = current
        elif flaw == "piece_demandee":
            assert dossier is not None
            assert dossier.piece_demandee is not None
            current = {k: v for k, v in out["pieces"].items() if k is not dossier.piece_demandee}
            out["pieces"] = current
            if not current and out.get("contact_support") is None:
                out["contact_support"] = draw(contacts())
        elif flaw == "piece":  # a piece of the other phase: never asked for during this one
            out["piece"] = draw(st.sampled_from(_other_phase_pieces(trigger, corridor)))
        elif flaw == "commentaire_long":
            out["commentaire"] = "x" * (MAX_TEXT + draw(st.integers(1, 10)))
        elif flaw == "contact_support":
            out["contact_support"] = draw(contacts(valid=False))
        else:  # a required text left blank or too long
            out[flaw] = draw(texts(valid=False))
    return out


def commands(
    trigger: str | None = None,
    *,
    dossier: Dossier | None = None,
    valid: bool | None = None,
    corridor: Corridor = SAS,
    command_id: st.SearchStrategy[str | None] | None = None,
) -> st.SearchStrategy[Command]:
    """Commands of ``trigger`` (any trigger of the definition if ``None``).

    * ``valid=True``: the content passes the trigger's command-level guards and the actor has the
      right role (the dossier's owner for owner-only triggers, when ``dossier`` is given). Guards
      on the dossier itself (every bloc OK before ``decider``…) are not the command's business.
    * ``valid=False``: at least one deliberate flaw (wrong actor, blank or overlong text, missing,
      extra or hostile piece, wrong amount, invalid provider or bank details, the requested piece
      left out): ``handle``/``start`` must refuse it whatever the dossier.
    * ``valid=None`` (default): either.
    """
    require(valid is None or isinstance(valid, bool), "commands(valid=…)", "True, False ou None", valid)
    require(dossier is None or isinstance(dossier, Dossier), "commands(dossier=…)", "un Dossier ou None", dossier)
    require_corridor("commands", corridor)
    require(command_id is None or isinstance(command_id, st.SearchStrategy), "commands(command_id=…)",
             "une stratégie de command_id ou None", command_id)
    triggers = (trigger,) if trigger is not None else DOSSIER.triggers
    for t in triggers:
        if t not in COMMANDS:
            raise InvalidArgument(
                f"commands(trigger={t!r}) : déclencheur inconnu ; un de {', '.join(DOSSIER.triggers)}")
    return one_command(triggers, dossier, valid, corridor, command_id if command_id is not None else COMMAND_IDS)


_MONTANTS = st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-10**7, max_value=10**7)
DELAYS = st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=20))
COMMAND_IDS: st.SearchStrategy[str | None] = st.one_of(st.none(), st.uuids().map(str))


@st.composite
def one_command(draw: st.DrawFn, triggers: tuple[str, ...], dossier: Dossier | None, valid: bool | None,  # noqa: PLR0917
             corridor: Corridor, ids: st.SearchStrategy[str | None]) -> Command:
    trigger = draw(st.sampled_from(triggers))
    broken = draw(st.booleans()) if valid is None else not valid
    fields = (_broken_fields if broken else _valid_fields)(draw, trigger, dossier, corridor)
    return COMMANDS[trigger](**fields, command_id=draw(ids))
