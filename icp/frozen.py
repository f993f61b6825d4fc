"""The one base of every settings and result model: frozen (a saved ICP or a computed result is
never changed in place, only copied) and strict about fields (a misspelt key in a loaded icp.json
is refused, not ignored)."""

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
