import pytest
from pydantic import ValidationError

from dynamical.skills import Predicate, SkillManifest, SkillParameterError, SkillRef, version_key

from .conftest import manifest_dict, policy_manifest, scripted_manifest


def test_valid_manifest_round_trips_through_json() -> None:
    manifest = scripted_manifest()
    assert SkillManifest.model_validate_json(manifest.model_dump_json()) == manifest
    assert manifest.roles == ["independent"]
    assert str(manifest.ref) == "pick_cube@1.0.0"


@pytest.mark.parametrize("bad_id", ["Pick", "1pick", "p", "pick-cube", "pick cube", "x" * 65])
def test_bad_id_is_refused(bad_id: str) -> None:
    with pytest.raises(ValidationError) as error:
        scripted_manifest(id=bad_id)
    assert [e["loc"] for e in error.value.errors()] == [("id",)]


@pytest.mark.parametrize("bad_version", ["1.0", "v1.0.0", "1.0.0.0", "01.0.0", "1.0.0-", "1.0.0+build", "1.0.0\n"])
def test_bad_semver_is_refused(bad_version: str) -> None:
    with pytest.raises(ValidationError) as error:
        scripted_manifest(version=bad_version)
    assert [e["loc"] for e in error.value.errors()] == [("version",)]


def test_semver_precedence() -> None:
    ordered = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-beta", "1.0.0", "1.2.0", "1.10.0", "2.0.0"]
    assert sorted(reversed(ordered), key=version_key) == ordered
    assert scripted_manifest(version="1.2.0").version_tuple < scripted_manifest(version="1.10.0").version_tuple


def test_scripted_without_entry_point_is_refused() -> None:
    with pytest.raises(ValidationError, match="entry_point"):
        scripted_manifest(entry_point=None)


def test_scripted_entry_point_must_be_module_colon_callable() -> None:
    with pytest.raises(ValidationError, match="package.module:callable"):
        scripted_manifest(entry_point="dynamical/skills/pick.py")


def test_policy_without_weights_is_refused() -> None:
    with pytest.raises(ValidationError, match="safetensors"):
        policy_manifest(weights=[])


def test_policy_with_entry_point_is_refused() -> None:
    with pytest.raises(ValidationError, match="entry_point"):
        policy_manifest(entry_point="pkg.mod:fn")


def test_scripted_with_weights_is_refused() -> None:
    with pytest.raises(ValidationError, match="no weights"):
        scripted_manifest(weights=["policy"])


@pytest.mark.parametrize("name", ["../policy", "a/b", "policy.safetensors", ""])
def test_weight_names_are_plain(name: str) -> None:
    with pytest.raises(ValidationError, match="weight name"):
        policy_manifest(weights=[name])


def test_unknown_field_and_group_are_refused() -> None:
    with pytest.raises(ValidationError, match="extra"):
        SkillManifest.model_validate(manifest_dict(colour="red"))
    with pytest.raises(ValidationError, match="groups"):
        scripted_manifest(action_space={"type": "joint_positions", "groups": ["tail"]})
    with pytest.raises(ValidationError, match="groups"):
        scripted_manifest(action_space={"type": "joint_positions", "groups": []})


def test_roles_non_empty() -> None:
    with pytest.raises(ValidationError, match="roles"):
        scripted_manifest(roles=[])


def test_parameters_schema_must_be_an_object_schema() -> None:
    with pytest.raises(ValidationError, match='must be a JSON Schema with "type": "object"'):
        scripted_manifest(parameters_schema={"type": "array"}, preconditions=[], postconditions=[])


def test_unsupported_schema_keyword_is_refused() -> None:
    schema = {"type": "object", "properties": {"object": {"type": "string", "pattern": "^[a-z]+$"}}}
    with pytest.raises(ValidationError, match="pattern"):
        scripted_manifest(parameters_schema=schema, preconditions=[], postconditions=[])


def test_predicate_referring_to_undeclared_parameter_is_refused() -> None:
    with pytest.raises(ValidationError, match="target"):
        scripted_manifest(postconditions=[{"name": "on", "args": {"obj": "$object", "support": "$target"}}])


def test_predicate_binding_substitutes_parameters() -> None:
    predicate = Predicate(name="holding", args={"obj": "$object", "side": "right"})
    bound = predicate.bind({"object": "red_cube"})
    assert bound == Predicate(name="holding", args={"obj": "red_cube", "side": "right"})
    assert predicate.args["obj"] == "$object"  # binding returns a new predicate
    negated = Predicate(name="hand_empty", args={"side": "$side"}, negate=True).bind({"side": "left"})
    assert negated.negate
    assert str(negated) == "not hand_empty(side=left)"


def test_predicate_binding_names_the_unknown_parameter() -> None:
    predicate = Predicate(name="on", args={"obj": "$object", "support": "$target"})
    with pytest.raises(SkillParameterError, match="'target'"):
        predicate.bind({"object": "red_cube"})


def test_validate_parameters_fills_defaults() -> None:
    assert scripted_manifest().validate_parameters({"object": "red_cube", "lift_m": 0.1}) == {
        "object": "red_cube",
        "side": "right",
        "lift_m": 0.1,
    }


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "parameter 'object' is required"),
        ({"object": 3}, "parameter 'object' must be of type string"),
        ({"object": "red_cube", "side": "up"}, "parameter 'side' must be one of"),
        ({"object": "red_cube", "lift_m": True}, "parameter 'lift_m' must be of type number"),
        ({"object": "red_cube", "lift_m": 0.5}, "parameter 'lift_m' must be ≤ 0.3"),
    ],
)
def test_validate_parameters_names_the_parameter(params: dict, message: str) -> None:
    with pytest.raises(SkillParameterError, match=message):
        scripted_manifest().validate_parameters(params)


def test_validate_parameters_nested_and_closed_objects() -> None:
    schema = {
        "type": "object",
        "properties": {
            "waypoints": {"type": "array", "items": {"type": "integer"}},
            "target": {
                "type": "object",
                "properties": {"x": {"type": "number"}},
                "required": ["x"],
                "additionalProperties": False,
            },
        },
        "additionalProperties": False,
    }
    manifest = scripted_manifest(parameters_schema=schema, preconditions=[], postconditions=[])
    assert manifest.validate_parameters({"waypoints": [1, 2], "target": {"x": 0.4}}) == {
        "waypoints": [1, 2],
        "target": {"x": 0.4},
    }
    with pytest.raises(SkillParameterError, match=r"parameter 'waypoints\[1\]' must be of type integer"):
        manifest.validate_parameters({"waypoints": [1, 2.5]})
    with pytest.raises(SkillParameterError, match="parameter 'target.x' is required"):
        manifest.validate_parameters({"target": {}})
    with pytest.raises(SkillParameterError, match="parameter 'speed' is not declared"):
        manifest.validate_parameters({"speed": 1.0})


def test_skill_ref_parse_and_str() -> None:
    ref = SkillRef.parse("pick_cube@1.2.0")
    assert ref == SkillRef(id="pick_cube", version="1.2.0")
    assert str(ref) == "pick_cube@1.2.0"
    with pytest.raises(ValueError, match="id@version"):
        SkillRef.parse("pick_cube")
