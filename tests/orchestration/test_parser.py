"""L3 alone: the offline parser on the seed task, paraphrases and refusals."""

import pytest

from dynamical.orchestration import (
    AmbiguousObjectError,
    EmptyTaskError,
    ParserDecomposer,
    UnknownObjectError,
    UnparsableTaskError,
    WorldSnapshot,
)


def steps(task, world):
    return [(s.action, s.args) for s in ParserDecomposer().decompose(task, world).steps]


SEED_PLAN = [
    ("grasp", {"obj": "red_cube"}),
    ("lift", {"obj": "red_cube"}),
    ("place", {"obj": "red_cube", "surface": "shelf"}),
]


@pytest.mark.parametrize(
    "task",
    [
        "pick up the red cube and place it on the shelf",
        "Pick up the red cube, then place it on the shelf.",
        "grab the crimson block and put it up on the shelf",
        "please take the red cube to the shelf",
    ],
)
def test_seed_task_and_paraphrases_give_grasp_lift_place(task, world):
    assert steps(task, world) == SEED_PLAN


def test_upper_shelf_is_its_own_surface(world):
    assert steps("move the red cube onto the upper shelf", world)[-1] == (
        "place",
        {"obj": "red_cube", "surface": "shelf_upper"},
    )
    assert steps("put the blue block on the bottom shelf", world)[-1][1]["surface"] == "shelf_lower"


def test_handover_to_the_left_hand_grasps_with_the_right_first(world):
    assert steps("hand the cup to your left hand", world) == [
        ("grasp", {"obj": "red_cup", "side": "right"}),
        ("handover", {"obj": "red_cup", "from_side": "right", "to_side": "left"}),
    ]


def test_object_already_held_is_not_grasped_again(world):
    held = world.model_copy(update={"holding": {"left": "green_cube"}})
    assert steps("put the green cube on the table", held) == [
        ("lift", {"obj": "green_cube", "side": "left"}),
        ("place", {"obj": "green_cube", "surface": "table", "side": "left"}),
    ]


def test_unknown_verbs_pass_through_with_their_arguments(world):
    wave, look = ParserDecomposer().decompose("wave with your left hand and look at the blue cube", world).steps
    assert (wave.action, wave.text, wave.args) == (None, "wave with your left hand", {"side": "left"})
    assert look.args == {"obj": "blue_cube", "target": "blue_cube"}


def test_put_it_down_returns_it_where_it_rested(world):
    assert steps("pick up the green cube and put it down", world)[-1] == (
        "place",
        {"obj": "green_cube", "surface": "table"},
    )


def test_unknown_object_is_refused_with_the_known_ones(world):
    with pytest.raises(UnknownObjectError, match="yellow cube.*red_cube.*green_cube.*blue_cube.*red_cup"):
        ParserDecomposer().decompose("pick up the yellow cube", world)
    with pytest.raises(UnknownObjectError, match="'banana'.*known objects: red_cube"):
        ParserDecomposer().decompose("grab the banana", world)
    with pytest.raises(UnknownObjectError, match="middle shelf.*known surfaces: table, shelf"):
        ParserDecomposer().decompose("put the red cube on the middle shelf", world)


def test_ambiguous_object_names_the_candidates(world):
    with pytest.raises(AmbiguousObjectError, match="red_cube, green_cube, blue_cube.*'the red cube'"):
        ParserDecomposer().decompose("pick up the cube", world)
    with pytest.raises(AmbiguousObjectError, match="red_cube, red_cup"):
        ParserDecomposer().decompose("lift the red one", world)


@pytest.mark.parametrize("task", ["", "   ", "please", ", and then ."])
def test_empty_task_is_refused(task, world):
    with pytest.raises(EmptyTaskError):
        ParserDecomposer().decompose(task, world)


def test_placement_without_destination_asks_for_one(world):
    with pytest.raises(UnparsableTaskError, match="where the red cube should go.*table, shelf"):
        ParserDecomposer().decompose("move the red cube", world)


def test_snapshot_lists_tabletop_objects_colours_and_shelf_levels(world):
    assert {(o.name, o.colour, o.kind, o.resting_on) for o in world.objects} == {
        ("red_cube", "red", "cube", "table_top"),
        ("green_cube", "green", "cube", "table_top"),
        ("blue_cube", "blue", "cube", "table_top"),
        ("red_cup", "red", "cup", "table_top"),
    }
    tops = {s.name: round(s.top_m, 3) for s in world.surfaces}
    assert tops == {"table": 0.75, "shelf": 0.9, "shelf_lower": 0.9, "shelf_upper": 1.15}
    assert WorldSnapshot.model_validate_json(world.model_dump_json()) == world


@pytest.mark.parametrize(
    ("task", "obj"),
    [
        ("pick up the block which is blue", "blue_cube"),
        ("lift the cube that is red", "red_cube"),
        ("grab the cup that's red", "red_cup"),
        ("pick up the blue one", "blue_cube"),
        ("pick up the one that is green", "green_cube"),
        ("take the thing which is coloured blue", "blue_cube"),
        ("lift the red one on the left", "red_cup"),  # the cup is 0.45 m further to the robot's left
        ("lift the red one on the right", "red_cube"),
        ("grab the red one that is on the left-hand side", "red_cup"),
        ("pick up the cube on your left", "green_cube"),
        ("pick up the leftmost cube", "green_cube"),
        ("pick up the rightmost block", "red_cube"),
    ],
)
def test_attributes_after_the_noun_and_places_pick_the_object(task, obj, world):
    assert steps(task, world)[0] == ("grasp", {"obj": obj})


def test_a_place_after_the_object_is_neither_a_hand_nor_a_destination(world):
    assert steps("take the red one on the left to the shelf", world) == [
        ("grasp", {"obj": "red_cup"}),
        ("lift", {"obj": "red_cup"}),
        ("place", {"obj": "red_cup", "surface": "shelf"}),
    ]
    # A hand is still a hand: "on your left hand" names no place.
    assert steps("put the cube which is blue on the shelf with your left hand", world)[0] == (
        "grasp",
        {"obj": "blue_cube", "side": "left"},
    )
    # A relative clause about where it rests says nothing about where it goes.
    with pytest.raises(UnparsableTaskError, match="does not say where"):
        ParserDecomposer().decompose("move the green cube that is on the table", world)


def test_attributes_after_the_noun_stay_strict_about_real_ambiguity(world):
    with pytest.raises(AmbiguousObjectError, match="red_cube, red_cup"):
        ParserDecomposer().decompose("pick up the one which is red", world)
    with pytest.raises(AmbiguousObjectError, match="red_cube, green_cube, blue_cube"):
        ParserDecomposer().decompose("pick up the block that is on the table", world)
    with pytest.raises(UnknownObjectError, match="'block which is yellow'"):
        ParserDecomposer().decompose("pick up the block which is yellow", world)
    # Two blue things: "the blue one" could be either.
    blue_cup = world.objects[3].model_copy(update={"name": "blue_cup", "colour": "blue"})
    two_blue = world.model_copy(update={"objects": [*world.objects[:3], blue_cup]})
    with pytest.raises(AmbiguousObjectError, match="blue_cube, blue_cup"):
        ParserDecomposer().decompose("pick up the blue one", two_blue)
    # ... and "on the left" decides only when one is clearly further left than the other.
    assert steps("pick up the blue one on the left", two_blue)[0] == ("grasp", {"obj": "blue_cup"})
    beside = [o.model_copy(update={"position": (0.4, 0.02 * k, 0.775)}) for k, o in enumerate(world.objects[:3])]
    close = world.model_copy(update={"objects": [*beside, world.objects[3]]})
    with pytest.raises(AmbiguousObjectError, match="about as far left"):
        ParserDecomposer().decompose("pick up the cube on the left", close)
