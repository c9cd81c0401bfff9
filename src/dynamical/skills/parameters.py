"""The subset of JSON Schema that skill parameters use, and a checker for it.

Supported: ``type`` (string, number, integer, boolean, array, object), ``properties``, ``required``,
``additionalProperties`` (a boolean), ``items``, ``enum``, ``minimum``, ``maximum``, ``default``,
plus the annotations ``title``, ``description`` and ``$schema``. A schema using any other keyword
is refused when the manifest is loaded: silently ignoring, say, ``pattern`` would let values through
that the skill's author meant to refuse.
"""

from __future__ import annotations

import copy
import math
from typing import Any

from dynamical.skills.errors import SkillParameterError

JSON_TYPES = ("string", "number", "integer", "boolean", "array", "object")
_KEYWORDS = frozenset(
    {
        "type",
        "properties",
        "required",
        "additionalProperties",
        "items",
        "enum",
        "minimum",
        "maximum",
        "default",
        "title",
        "description",
        "$schema",
    }
)


def _where(path: str) -> str:
    return f"parameter {path!r}" if path else "parameters"


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _is_number(value: object) -> bool:
    # bool is an int in Python but not a number in JSON.
    return isinstance(value, int | float) and not isinstance(value, bool)


def _has_type(value: object, json_type: str) -> bool:
    match json_type:
        case "string":
            return isinstance(value, str)
        case "number":
            return _is_number(value) and math.isfinite(value)  # type: ignore[arg-type]
        case "integer":
            return isinstance(value, int) and not isinstance(value, bool)
        case "boolean":
            return isinstance(value, bool)
        case "array":
            return isinstance(value, list | tuple)
        case "object":
            return isinstance(value, dict)
    return False


def check_schema(schema: object, path: str = "") -> None:
    """Raise ``ValueError`` naming the place where ``schema`` is not a schema this checker enforces."""
    where = f"schema of {_where(path)}"
    if not isinstance(schema, dict):
        raise ValueError(f"{where} must be an object, got {type(schema).__name__}")
    unknown = sorted(set(schema) - _KEYWORDS)
    if unknown:
        raise ValueError(f"{where} uses {unknown}, which the parameter checker does not enforce")
    json_type = schema.get("type")
    if json_type not in JSON_TYPES:
        raise ValueError(f"{where} needs a 'type' among {list(JSON_TYPES)}, got {json_type!r}")
    if "enum" in schema and (not isinstance(schema["enum"], list) or not schema["enum"]):
        raise ValueError(f"{where}: 'enum' must be a non-empty list")
    for bound in ("minimum", "maximum"):
        if bound in schema:
            if json_type not in ("number", "integer"):
                raise ValueError(f"{where}: {bound!r} applies only to numbers, not to {json_type!r}")
            if not _is_number(schema[bound]):
                raise ValueError(f"{where}: {bound!r} must be a number, got {schema[bound]!r}")
    if json_type == "object":
        properties = schema.get("properties", {})
        if not isinstance(properties, dict):
            raise ValueError(f"{where}: 'properties' must be an object")
        for name, sub in properties.items():
            check_schema(sub, _join(path, name))
        required = schema.get("required", [])
        if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
            raise ValueError(f"{where}: 'required' must be a list of names")
        missing = [r for r in required if r not in properties]
        if missing:
            raise ValueError(f"{where}: required {missing} not declared in 'properties'")
        if not isinstance(schema.get("additionalProperties", True), bool):
            raise ValueError(f"{where}: 'additionalProperties' must be true or false")
    elif any(k in schema for k in ("properties", "required", "additionalProperties")):
        raise ValueError(f"{where}: 'properties', 'required' and 'additionalProperties' need type 'object'")
    if json_type == "array":
        if "items" in schema:
            check_schema(schema["items"], _join(path, 0))
    elif "items" in schema:
        raise ValueError(f"{where}: 'items' needs type 'array'")
    if "default" in schema:
        try:
            check_value(schema["default"], schema, path)
        except SkillParameterError as exc:
            raise ValueError(f"{where}: its default is invalid: {exc}") from exc


def check_value(value: Any, schema: dict[str, Any], path: str = "") -> Any:
    """Return ``value`` with object defaults filled in; ``SkillParameterError`` naming the parameter if invalid."""
    where = _where(path)
    json_type = schema["type"]
    if not _has_type(value, json_type):
        raise SkillParameterError(f"{where} must be of type {json_type}, got {value!r}")
    if "enum" in schema and value not in schema["enum"]:
        raise SkillParameterError(f"{where} must be one of {schema['enum']}, got {value!r}")
    if "minimum" in schema and value < schema["minimum"]:
        raise SkillParameterError(f"{where} must be ≥ {schema['minimum']}, got {value!r}")
    if "maximum" in schema and value > schema["maximum"]:
        raise SkillParameterError(f"{where} must be ≤ {schema['maximum']}, got {value!r}")
    if json_type == "array" and "items" in schema:
        return [check_value(item, schema["items"], _join(path, i)) for i, item in enumerate(value)]
    if json_type == "object":
        return _check_object(value, schema, path)
    return value


def _check_object(value: dict[str, Any], schema: dict[str, Any], path: str) -> dict[str, Any]:
    properties: dict[str, Any] = schema.get("properties", {})
    for name in schema.get("required", []):
        if name not in value:
            raise SkillParameterError(f"{_where(_join(path, name))} is required")
    if not schema.get("additionalProperties", True):
        extra = sorted(set(value) - set(properties))
        if extra:
            raise SkillParameterError(f"{_where(_join(path, extra[0]))} is not declared (known: {sorted(properties)})")
    result: dict[str, Any] = {}
    for name, sub in properties.items():
        if name in value:
            result[name] = check_value(value[name], sub, _join(path, name))
        elif "default" in sub:
            # A copy: a caller mutating its parameters must not change the schema's default.
            result[name] = copy.deepcopy(sub["default"])
    for name in value.keys() - properties.keys():
        result[name] = value[name]
    return result
