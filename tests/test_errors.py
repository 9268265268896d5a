"""Every error: in one module, every field in ``to_dict()``, a pickle round trip, messages in people's words.

The classes are found by walking ``WorkflowError``'s subclasses once every module of the package is
imported, so an error added anywhere is tested without being listed here.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pickle
import pkgutil
import re
import subprocess
import sys
import typing
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import segur_workflow
from segur_workflow import errors
from segur_workflow.errors import WorkflowError
from segur_workflow.states import DEFINITIONS, MachineDefinition
from segur_workflow.vocabulary import Role


def _import_everything() -> None:
    for info in pkgutil.walk_packages(segur_workflow.__path__, "segur_workflow."):
        if info.name.endswith(".__main__"):  # running it is its import
            continue
        try:
            importlib.import_module(info.name)
        except ImportError:  # an optional extra that is not installed (psycopg…)
            continue


def _subclasses(cls: type[WorkflowError]) -> list[type[WorkflowError]]:
    out = [cls]
    for sub in cls.__subclasses__():
        out += _subclasses(sub)
    return out


_import_everything()
ERRORS = sorted(set(_subclasses(WorkflowError)), key=lambda c: c.__qualname__)


def test_the_walk_finds_the_errors_of_every_layer() -> None:
    names = {c.__name__ for c in ERRORS}
    assert {"InvalidInput", "TransitionNotAllowed", "DossierAltere", "DeliveryFailed", "GraphvizFailed",
            "NumerosEpuises", "CliError", "StorageUnavailable"} <= names


@pytest.mark.parametrize("cls", ERRORS, ids=lambda c: c.__name__)
def test_every_error_lives_in_the_errors_module_with_a_stable_code(cls: type[WorkflowError]) -> None:
    assert cls.__module__ == errors.__name__
    assert cls.__name__ in errors.__all__
    assert cls.code and cls.code.islower() and " " not in cls.code


def test_codes_are_distinct() -> None:
    codes = [c.code for c in ERRORS]
    assert len(codes) == len(set(codes))


def _built(cls: type[WorkflowError]) -> st.SearchStrategy[WorkflowError]:
    """Errors of ``cls`` with any values of its constructor's parameters (its fields, or what a hand-written
    ``__init__`` takes, such as ``InvalidInput``'s ``received``)."""
    if attrs.has(cls) and "__attrs_init__" not in cls.__dict__:
        built: st.SearchStrategy[WorkflowError] = st.builds(typing.cast(Any, cls))
        return built
    hints = typing.get_type_hints(cls.__init__)
    params = [p for p in inspect.signature(cls.__init__).parameters.values() if p.name != "self"]
    args = {p.name: st.from_type(hints[p.name]) for p in params if p.default is inspect.Parameter.empty}
    return st.builds(cls, **args)


@pytest.mark.parametrize("cls", ERRORS, ids=lambda c: c.__name__)
def test_every_error_survives_a_pickle_round_trip_with_every_field(cls: type[WorkflowError]) -> None:
    @settings(max_examples=25, deadline=None)
    @given(_built(cls))
    def check(error: WorkflowError) -> None:
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is cls
        assert (str(copy), copy.args, copy.to_dict()) == (str(error), error.args, error.to_dict())
        document = error.to_dict()
        json.dumps(document)  # JSON-ready
        assert (document["code"], document["message"]) == (cls.code, error.message)
        fields = {f.name for f in attrs.fields(cls)} if attrs.has(cls) else set()
        assert fields <= set(document), f"{cls.__name__}.to_dict() omet {fields - set(document)}"
        for name in fields:
            assert getattr(copy, name) == getattr(error, name)

    check()


def test_messages_use_the_portal_words() -> None:
    refused = errors.TransitionNotAllowed("avance_en_instruction", "deposer_solde", {"decider", "rejeter"})
    assert "« Déposer la demande de solde »" in refused.message
    assert "« Décider — paiement déclenché », « Rejeter la demande »" in refused.message
    assert "deposer_solde" not in refused.message and "avance_en_instruction" not in refused.message
    denied = errors.PermissionDenied("fournisseur", "tndSAS0032", "rejeter", "réservée à : Gestionnaire")
    assert "« Rejeter la demande »" in denied.message and "rejeter" not in denied.message.split("»")[0]
    assert "None" not in errors.DuplicateFinancingRequest("tndSAS0032").message
    assert "None" not in errors.TransitionNotAllowed(None, "creer_compte", ()).message
    assert "None" not in errors.DeliveryFailed("serveur injoignable").message


def test_documented_fields_are_in_to_dict() -> None:
    cases = {
        errors.ConcurrencyConflict("FINSAS000001", 2, 3): {"numero", "expected_version", "actual_version"},
        errors.DuplicateFinancingRequest("tndSAS0032", "FINSAS000001"): {"ans_id", "existing"},
        errors.DossierNotFound("FINSAS000001"): {"numero"},
        errors.SerializationError("avance.montant", "pas un nombre"): {"field", "reason"},
        errors.PermissionDenied("fournisseur", "tndSAS0032", "decider", "réservée"): {
            "role", "actor_id", "trigger", "reason"},
        errors.InvalidInput("now", "une date", 3): {"parameter", "expected", "received_type"},
    }
    for error, names in cases.items():
        assert names <= set(error.to_dict()), type(error).__name__


def _ids_shown(message: str, ids: set[str]) -> list[str]:
    # an identifier shown as a word of its own (labels such as « Rejeter la demande » are capitalised and
    # accented, so the trigger `rejeter` is not found in them)
    return sorted(i for i in ids if re.search(rf"(?<![\w-]){re.escape(i)}(?![\w-])", message))


@pytest.mark.parametrize("definition", list(DEFINITIONS.values()), ids=lambda d: d.name)
def test_no_message_shows_a_status_trigger_or_role_id(definition: MachineDefinition) -> None:
    statuses = set(definition.state_names)
    triggers = {t.trigger for t in definition.transitions}
    roles = {r for t in definition.transitions for r in t.roles}
    ids = statuses | triggers  # a role's id is a plain word (« gestionnaire »): its label is checked instead
    for status in [None, *sorted(statuses)]:
        for trigger in sorted(triggers):
            made = [errors.TransitionNotAllowed(status, trigger, triggers),
                    errors.CommandIdReused("cmd-1", trigger),
                    *(errors.PermissionDenied(role.value, "tndSAS0032", trigger, "réservée") for role in sorted(roles))]
            for error in made:
                assert _ids_shown(error.message, ids) == [], error.message
                assert "None" not in error.message and "au statut actuel" not in error.message
                if isinstance(error, errors.PermissionDenied):
                    assert f"pour {Role(error.role).label} «" in error.message


def test_an_error_unpickled_in_a_fresh_process_still_speaks_the_portal_words() -> None:
    # the labels come from the definitions, which fill errors' slot when the package loads: a process that
    # only unpickles an error (a Celery worker, a pool) must get them without importing `states` itself
    refused = errors.TransitionNotAllowed("solde_a_modifier", "deposer_solde", {"completer"})
    code = "import pickle, sys; print(pickle.loads(sys.stdin.buffer.read()).message)"
    done = subprocess.run([sys.executable, "-c", code], input=pickle.dumps(refused), capture_output=True,
                          check=True)
    message = done.stdout.decode("utf-8").strip()
    assert message == refused.message
    assert "« A modifier » (Ma demande de solde)" in message and "« Compléter la demande »" in message
    assert _ids_shown(message, {"solde_a_modifier", "deposer_solde", "completer"}) == []
