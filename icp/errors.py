"""Errors whose message is written for the user: a plain sentence, never a traceback."""


class IcpError(Exception):
    """Base class: ``str(err)`` is shown to the user as it is."""


class InputFileError(IcpError):
    """A file that cannot be read; names the file and the problem."""

    def __init__(self, file: str, problem: str):
        self.file = file
        self.problem = problem
        super().__init__(f"{file}: {problem}")


class LimitExceeded(InputFileError):
    """A file over one of the configured limits (size, rows, columns, cell length, inflated size)."""


class WorkspaceError(IcpError):
    """A workspace that cannot be opened or changed."""


class WorkspaceNotFound(WorkspaceError):
    """No workspace with that id (or an id that is not valid)."""


class AnalysisError(IcpError):
    """Settings the analysis cannot work with (no dimension chosen, too few accounts, ...)."""
