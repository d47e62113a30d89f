"""The one shape of a domain error: which input field is wrong, and why (the edge renders it)."""


class DomainError(ValueError):
    """Bad input to a domain rule; `field` names the input, `message` says what is wrong with it."""

    slug = "invalid-input"      # the problem type the edge answers with; each kind names its own

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
