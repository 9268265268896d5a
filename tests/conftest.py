"""Session set-up shared by the test files."""

from __future__ import annotations

from segur_workflow import emails

# The e-mail templates are checked and compiled on the first render (emails._compiled). Pay that once
# here, not inside the first example of whichever hypothesis test renders first in a worker, where it
# counted against the 200 ms deadline on a loaded machine (a flaky DeadlineExceeded).
emails.render("accuse_reception_avance", to="contact@le-select.example", context=emails.example_context())
