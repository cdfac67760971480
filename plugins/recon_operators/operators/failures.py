"""Failing a task the way ``recon`` fails a command: with the same one masked line.

An operator records that line as its run's error and raises it, never the original exception
(whose text can hold a password a driver echoed or a subscriber's number from a value it could
not read). Input that is wrong fails without retry: only fixing the input helps. Anything else
(a store or a server briefly away) may be retried.
"""

from __future__ import annotations

from airflow.sdk.exceptions import AirflowException, AirflowFailException

from recon_operators.connections import ConnectionConfigError
from recon_operators.engine.identifiers import IdentifierError
from recon_operators.engine.normalise import NormaliseError
from recon_operators.engine.rowdiff.model import DiffError
from recon_operators.engine.scope import ScopeError
from recon_operators.engine.spec import SuiteError
from recon_operators.errors import error_line
from recon_operators.yaml_lines import YamlFileError

BAD_INPUT = (SuiteError, DiffError, ScopeError, ConnectionConfigError, NormaliseError, IdentifierError, YamlFileError)


class ReconTaskError(AirflowException):
    """A task failed for a reason a retry may cure; the message is already masked."""


def task_failure(exc: BaseException, *, retry: bool = True) -> AirflowException:
    """The exception to raise (``from None``) for ``exc``: same line as the CLI prints. Bad input,
    or any failure when ``retry`` is off, fails without retry."""
    line = error_line(exc)
    return AirflowFailException(line) if isinstance(exc, BAD_INPUT) or not retry else ReconTaskError(line)
