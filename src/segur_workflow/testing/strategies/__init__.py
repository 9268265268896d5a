"""Hypothesis strategies for segur_workflow values, commands and dossiers.

Requires the ``testing`` extra (hypothesis). Every function returns a strategy, like hypothesis' own
``st.*``; a bad argument raises hypothesis' ``InvalidArgument``.

Identifiers are *computed*, never picked from a list: a SIRET gets its Luhn digits, a French IBAN
its RIB key and its ISO 13616 check digits, a BIC the ISO 9362 shape. Dossiers are reached by
random legal paths through :data:`segur_workflow.states.DOSSIER`. One module per job: identifiers,
texts and values, attachments, commands, dossiers, and the ``st.from_type`` registrations (done when
this package is imported).
"""

from __future__ import annotations

from ._commands import COMMANDS as COMMANDS
from ._commands import commands
from ._dossiers import dossiers
from ._files import attachments, hostile_attachments, hostile_filenames, pieces
from ._from_type import register_type_strategies as register_type_strategies
from ._identifiers import bics, ibans, invalid_bics, invalid_ibans, invalid_sirets, numeros, sirets
from ._identifiers import iban_check_digits as iban_check_digits
from ._identifiers import rib_key as rib_key
from ._values import actors, contacts, coordonnees_bancaires, fournisseurs, hostile_texts, instants, texts
from ._values import emails as emails

__all__ = [
    "actors",
    "attachments",
    "bics",
    "commands",
    "contacts",
    "coordonnees_bancaires",
    "dossiers",
    "fournisseurs",
    "hostile_attachments",
    "hostile_filenames",
    "hostile_texts",
    "ibans",
    "instants",
    "invalid_bics",
    "invalid_ibans",
    "invalid_sirets",
    "numeros",
    "pieces",
    "sirets",
    "texts",
]

register_type_strategies()
