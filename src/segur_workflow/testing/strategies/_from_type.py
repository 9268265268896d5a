"""``st.from_type`` for the public types: the strategies registered when ``segur_workflow.testing`` is imported."""

from __future__ import annotations

import functools
import string
import typing
from collections.abc import Callable
from typing import Any

import attrs
from hypothesis import strategies as st
from hypothesis.strategies._internal import types as _hypothesis_types

from ...commands import Command
from ...model import Actor, Attachment, CoordonneesBancaires, Dossier, Fournisseur
from ...vocabulary import Role
from ._args import DIGITS
from ._commands import COMMAND_IDS, COMMANDS, commands
from ._dossiers import dossiers
from ._files import attachments
from ._values import actors, coordonnees_bancaires, emails, fournisseurs, texts

__all__ = ["register_type_strategies"]

_LOGINS = st.from_regex(r"[a-z][a-z0-9._-]{2,30}", fullmatch=True)
# the portal's policy: 8+ characters, a digit, a special character, ASCII, not the login
_PASSWORDS = st.builds(lambda head, digit, special, tail: head + digit + special + tail,
                       st.text(string.ascii_letters, min_size=6, max_size=20), st.sampled_from(DIGITS),
                       st.sampled_from(".,;?!:%#"), st.text(string.ascii_letters + DIGITS, max_size=10))
_SALTS = st.binary(min_size=16, max_size=32)
_SHORT_TEXTS = texts(max_size=60)


def _compte_commands() -> dict[type[Command], Callable[[], st.SearchStrategy[Any]]]:
    """Account commands with valid contents (the portal's password policy, salts of 16 bytes and more)."""
    from ... import compte as c

    portail, titulaire = actors(Role.SYSTEME), actors(Role.FOURNISSEUR)

    def changes() -> st.SearchStrategy[Any]:
        return st.builds(lambda actor, old, new, sel: c.ChangerMotDePasse(actor, old, new, new, sel),
                         titulaire, _PASSWORDS, _PASSWORDS, _SALTS).filter(
            lambda cmd: cmd.nouveau_mot_de_passe != cmd.ancien_mot_de_passe
            and cmd.nouveau_mot_de_passe.casefold() != cmd.actor.id.casefold())

    return {
        c.CreerCompte: lambda: st.builds(c.CreerCompte, portail, _LOGINS, _PASSWORDS, _SALTS, email=emails()),
        c.PremiereConnexion: lambda: st.builds(c.PremiereConnexion, titulaire, _PASSWORDS),
        c.ChangerMotDePasse: changes,
        c.DefinirQuestionSecrete: lambda: st.builds(c.DefinirQuestionSecrete, titulaire, _SHORT_TEXTS, _SHORT_TEXTS,
                                                    _SALTS),
        c.OublierMotDePasse: lambda: st.builds(c.OublierMotDePasse, titulaire, _SHORT_TEXTS, _PASSWORDS, _SALTS),
        c.OublierIdentifiant: lambda: st.builds(c.OublierIdentifiant, portail, emails()),  # fired by the portal
        c.CloturerCompte: lambda: st.builds(c.CloturerCompte, portail, st.one_of(st.none(), _SHORT_TEXTS)),
    }


def register_type_strategies() -> None:
    """Make ``st.from_type`` give valid values of the public types (done when ``segur_workflow.testing``
    is imported): ``Dossier`` (a legal path), ``Fournisseur``, ``CoordonneesBancaires``, ``Attachment``,
    ``Actor``, every dossier command (``commands(trigger, valid=True)``; ``Command`` itself: any of them),
    every account command, and every command class a host has defined so far (its fields inferred from
    their types, its ``command_id`` a valid one or ``None``). Registering again is harmless: the pytest
    plugin calls this again once the test modules are collected, so the host's classes defined there are
    included; outside pytest, call it after defining them.

    Each type is registered with a resolver function, not a strategy: hypothesis then builds nothing
    until a test asks (registering a strategy would evaluate it, at pytest start-up for the plugin)."""
    registered: dict[type[Any], Callable[[], st.SearchStrategy[Any]]] = {
        Dossier: dossiers,
        Fournisseur: fournisseurs,
        CoordonneesBancaires: coordonnees_bancaires,
        Attachment: attachments,
        Actor: actors,
        Command: lambda: commands(valid=True),
    }
    for trigger, cls in COMMANDS.items():
        registered[cls] = functools.partial(commands, trigger, valid=True)
    registered.update(_compte_commands())
    for cls in _subclasses(Command):
        # hypothesis never asks a base class's resolver for a subclass: left alone, it would draw the
        # inherited ``command_id: str | None`` as any text, which the command refuses
        registered.setdefault(cls, functools.partial(_host_command, cls))
    for cls, make in registered.items():
        st.register_type_strategy(cls, _resolver(cls, make))
    # A class defined later (a host's test module, after importing the kit) is resolved when hypothesis first
    # meets it, and hypothesis resolves ``st.from_type`` eagerly, as ``@given`` is applied: hypothesis'
    # lookup of the types of other libraries (what its numpy support uses) is the only hook early enough.
    # It is not public API: without it, the classes registered above and the plugin's second call remain.
    extra = getattr(_hypothesis_types, "_global_extra_lookup", None)
    if isinstance(extra, dict):
        extra["segur_workflow"] = _unregistered_command


def _unregistered_command(thing: object) -> st.SearchStrategy[Any] | None:
    if isinstance(thing, type) and issubclass(thing, Command) and thing is not Command:
        return _host_command(thing)
    return None


def _host_command(cls: type[Command]) -> st.SearchStrategy[Command]:
    """A host's command class: each field without a default drawn from its type (``st.from_type``, so the
    kit's own values for ``Actor``, ``Attachment``…), the defaults kept, and a valid ``command_id``."""
    try:
        hints = typing.get_type_hints(cls)
    except (NameError, TypeError):  # a name its annotations use cannot be resolved: hypothesis infers what it can
        hints = {}
    drawn = {a.name: st.from_type(hints[a.name]) for a in attrs.fields(cls)
             if a.init and a.default is attrs.NOTHING and a.name in hints}
    return st.builds(cls, **drawn, command_id=COMMAND_IDS)


def _subclasses(base: type[Any]) -> list[type[Any]]:
    out: list[type[Any]] = []
    todo = list(base.__subclasses__())
    while todo:
        cls = todo.pop()
        if cls not in out:
            out.append(cls)
            todo.extend(cls.__subclasses__())
    return out


def _resolver(cls: type[Any], make: Callable[[], st.SearchStrategy[Any]]) -> Callable[[type[Any]], Any]:
    def resolve(asked: type[Any]) -> Any:
        # from_type(Command) also offers the registered subclasses' strategies: only the exact type is ours
        return make() if asked is cls else NotImplemented

    return resolve
