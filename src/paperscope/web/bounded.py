"""`Bounded(limit)`: a `paperscope.limits.TextLimit` as pydantic metadata, so a JSON body field, a query
parameter or a form field is checked with the store's own rule and /openapi.json documents it (`maxLength`,
`pattern`). Use it as `Annotated[str, Bounded(COLLECTION_NAME)]`, or with `Query()`/`Form()` beside it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from paperscope.limits import TextLimit

#: The `type` of a validation error that Bounded raises; its message names the field already.
TEXT_LIMIT_ERROR = "text_limit"


@dataclass(frozen=True, slots=True)
class Bounded:
    """Pydantic metadata that validates a string against `limit` and documents the limit in the schema."""

    limit: TextLimit

    def _validate(self, value: str) -> str:
        problem = self.limit.problem(value)
        if problem:
            raise PydanticCustomError(TEXT_LIMIT_ERROR, problem)
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        inner = handler(source)
        if inner.get("type") == "nullable":  # `str | None`: None passes, a string is checked
            nullable: Any = inner
            nullable["schema"] = core_schema.no_info_after_validator_function(self._validate, nullable["schema"])
            return nullable  # type: ignore[no-any-return]
        return core_schema.no_info_after_validator_function(self._validate, inner)

    def __get_pydantic_json_schema__(self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
                                     ) -> JsonSchemaValue:
        documented = handler(schema)
        target = documented
        for option in documented.get("anyOf", ()):  # `str | None`: the string branch carries the bounds
            if option.get("type") == "string":
                target = option
        target.update(maxLength=self.limit.max_length, pattern=self.limit.pattern)
        if self.limit.required:
            target["minLength"] = 1
        return documented
