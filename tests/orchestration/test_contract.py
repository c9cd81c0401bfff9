"""The contract check alone: symbolic holding/hand_empty/on, hand variables, geometric predicates."""

import pytest

from dynamical.orchestration import ContractError, check_contract


def chain(manifests, *steps):
    return [(manifests[skill], params) for skill, params in steps]


def test_seed_chain_holds_and_leaves_reachable_as_an_assumption(manifests, world):
    assumptions = check_contract(
        chain(
            manifests,
            ("grasp", {"obj": "red_cube"}),
            ("lift", {"obj": "red_cube", "height": 0.1}),
            ("place", {"obj": "red_cube", "surface": "shelf"}),
        ),
        world,
    )
    assert len(assumptions) == 1 and "reachable(obj=red_cube, side=?)" in assumptions[0]


def test_place_without_grasp_names_the_broken_link(manifests, world):
    with pytest.raises(ContractError, match=r"step 1 place.*needs holding\(obj=red_cube.*nothing holds red_cube"):
        check_contract(chain(manifests, ("place", {"obj": "red_cube", "surface": "shelf"})), world)


def test_third_grasp_finds_no_free_hand(manifests, world):
    with pytest.raises(ContractError, match="step 3 grasp.*no hand is free"):
        check_contract(
            chain(
                manifests,
                ("grasp", {"obj": "red_cube"}),
                ("grasp", {"obj": "blue_cube"}),
                ("grasp", {"obj": "green_cube"}),
            ),
            world,
        )


def test_named_hand_must_be_empty(manifests, world):
    with pytest.raises(ContractError, match=r"step 2 wave.*hand_empty\(side=left\).*left hand holds red_cube"):
        check_contract(
            chain(manifests, ("grasp", {"obj": "red_cube", "side": "left"}), ("wave", {"side": "left"})), world
        )


def test_handover_binds_the_skill_chosen_hand_and_frees_it(manifests, world):
    # grasp leaves the hand to the skill; the handover says it was the left one; wave then has the left free.
    check_contract(
        chain(
            manifests,
            ("grasp", {"obj": "red_cube"}),
            ("handover", {"obj": "red_cube", "from_side": "left", "to_side": "right"}),
            ("wave", {"side": "left"}),
        ),
        world,
    )


def test_world_state_is_the_starting_point(manifests, world):
    full = world.model_copy(update={"holding": {"left": "green_cube", "right": "blue_cube"}})
    with pytest.raises(ContractError, match="no hand is free.*green_cube"):
        check_contract(chain(manifests, ("grasp", {"obj": "red_cube"})), full)
    # What is held can be placed straight away.
    check_contract(chain(manifests, ("place", {"obj": "green_cube", "surface": "table"})), full)


def test_oracle_decides_geometric_predicates(manifests, world):
    steps = chain(manifests, ("grasp", {"obj": "red_cube", "side": "right"}))
    seen = []

    def unreachable(predicate):
        seen.append(str(predicate))
        return False

    with pytest.raises(ContractError, match=r"reachable\(obj=red_cube, side=right\).*does not hold"):
        check_contract(steps, world, oracle=unreachable)
    assert seen == ["reachable(obj=red_cube, side=right)"]
    assert check_contract(steps, world, oracle=lambda p: True) == []
