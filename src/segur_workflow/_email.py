"""The rendered e-mail value: what the engine returns, the outbox stores and a transport sends.

It sits below the renderer (:mod:`segur_workflow.emails`) so that ports, adapters and transports can
name it without loading Jinja and compiling the templates.
"""

from __future__ import annotations

import attrs

__all__ = ["Email"]


@attrs.frozen
class Email:
    """A rendered e-mail, ready to hand to the host's mailer (through the outbox)."""

    template: str
    to: str
    subject: str
    text: str
    html: str
