"""`dynamical bench route` and `dynamical bench plan`: the orchestrator's accuracy and latency.

Both run with 20 registered skills: the 11 built-ins and 9 more defined here (wipe, pour, ...).

route: the router is trained as always (manifests → ``paraphrase.training_texts``); it is then
asked to route held-out sentences generated here from *other* frames, other verbs (synonyms a
person would use, not the manifests' tags) and other objects. Top-1 and top-3 accuracy, the share
of off-topic sentences it refuses, the latency of one uncached sentence, and the retraining time.

plan: 10 robots, a workload of varied tasks over the tabletop world, every strategy; latency of
``orchestrate`` through all layers (L3–L7, nothing executed). "warm" is the steady state, with
the step texts' embeddings cached (the parser's step texts repeat); "cold" clears the embedding
cache before every request, so each step is embedded by MiniLM anew.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
from pydantic import BaseModel

from dynamical.orchestration.assignment import AssignmentStrategy
from dynamical.orchestration.embedding import SentenceEmbedder
from dynamical.orchestration.fleet import RobotCapabilities, RobotLocation
from dynamical.orchestration.orchestrator import build_orchestrator
from dynamical.orchestration.plan import OrchestrationRequest
from dynamical.orchestration.router import MoESkillRouter
from dynamical.orchestration.world import default_world_snapshot
from dynamical.skills.builtin.catalog import EMBODIMENT, builtin_manifests
from dynamical.skills.manifest import ActionSpace, SkillManifest

_OBJ = {"type": "string"}


def _extra(skill_id: str, name: str, description: str, tags: list[str], props: list[str]) -> SkillManifest:
    return SkillManifest(
        id=skill_id,
        version="1.0.0",
        name=name,
        description=description,
        tags=tags,
        kind="scripted",
        embodiment=EMBODIMENT,
        action_space=ActionSpace(type="joint_positions", groups=["arm_right", "hand_right"]),
        parameters_schema={"type": "object", "properties": {p: _OBJ for p in props}, "required": props},
        nominal_duration_s=5.0,
        entry_point=f"dynamical.bench.skills:{name.replace(' ', '')}",
    )


EXTRA_MANIFESTS = [
    _extra("wipe_surface", "Wipe surface", "Wipe a surface clean with a cloth held in the hand.",
           ["cleaning", "wipe", "clean", "scrub"], ["surface"]),
    _extra("pour", "Pour", "Tilt a held container to pour its contents into another container.",
           ["pour", "fill", "liquid", "kitchen"], ["obj", "target"]),
    _extra("open_drawer", "Open drawer", "Pull a drawer open by its handle.", ["drawer", "open", "pull"], ["target"]),
    _extra("close_drawer", "Close drawer", "Push an open drawer shut.", ["drawer", "close", "shut"], ["target"]),
    _extra("push", "Push", "Push an object across a surface without grasping it.",
           ["push", "nudge", "shove", "slide"], ["obj"]),
    _extra("stack", "Stack", "Stack one object on top of another object.",
           ["stack", "pile", "tower"], ["obj", "target"]),
    _extra("scan_barcode", "Scan barcode", "Hold an object's barcode in front of the scanner to read it.",
           ["scan", "barcode", "inventory", "read"], ["obj"]),
    _extra("fold_cloth", "Fold cloth", "Fold a towel or a piece of cloth neatly in half.",
           ["fold", "laundry", "towel", "cloth"], ["obj"]),
    _extra("press_button", "Press button", "Press a button or a switch with the index finger.",
           ["press", "button", "switch", "activate"], ["target"]),
]  # fmt: skip


def bench_manifests() -> list[SkillManifest]:
    """The 20 skills of both benches."""
    return [*builtin_manifests(), *EXTRA_MANIFESTS]


# Held-out verbs: how people ask for each skill, chosen without looking at the manifests' tags.
HELD_OUT_VERBS: dict[str, list[str]] = {
    "grasp": ["grab hold of", "seize", "clutch", "get a grip on", "pick up"],
    "lift": ["raise", "hoist", "elevate", "lift up"],
    "place": ["put", "set", "lay", "set down"],
    "pick_and_place": ["move", "relocate", "shift", "transport"],
    "handover": ["pass", "hand over", "swap", "move"],
    "wave": ["wave to", "wave hello to", "greet", "say hello to"],
    "point_at": ["point to", "indicate", "point your finger at", "show me"],
    "look_at": ["look at", "turn your head toward", "glance at", "watch"],
    "reach": ["reach for", "reach out to", "approach", "move your hand to"],
    "open_hand": ["open your hand", "release your grip", "spread your fingers", "unclench your fist"],
    "go_home": ["go home", "return to the rest pose", "go back to your home position", "reset your posture"],
    "wipe_surface": ["wipe down", "clean", "scrub", "polish"],
    "pour": ["pour", "pour out", "decant"],
    "open_drawer": ["open", "pull open", "slide open"],
    "close_drawer": ["close", "shut", "push shut"],
    "push": ["push", "nudge", "shove"],
    "stack": ["stack", "pile up", "stack up"],
    "scan_barcode": ["scan", "read the barcode of", "scan in"],
    "fold_cloth": ["fold", "fold up", "neatly fold"],
    "press_button": ["press", "push", "hit"],
}
# Held-out frames by what the skill takes; none of them is a training frame.
HELD_OUT_FRAMES: dict[str, list[str]] = {
    "none": ["could you {v}?", "I'd like you to {v}", "robot, {v} right away"],
    "obj": ["could you {v} the {o}?", "I'd like you to {v} the {o}", "robot, {v} that {o} for me"],
    "obj_surface": ["could you {v} the {o} onto the {s}?", "I'd like you to {v} the {o} over on the {s}"],
    "obj_target": ["could you {v} the {o} into the {t}?", "I'd like you to {v} the {o} on the {t}"],
    "hands": ["could you {v} the {o} from your {h} hand to the other one?", "{v} the {o} between your hands"],
    "target": ["could you {v} the {t}?", "I'd like you to {v} the {t}", "robot, {v} that {t} for me"],
    "drawer": ["could you {v} the {d}?", "I'd like you to {v} the {d}"],
    "button": ["could you {v} the {b}?", "I'd like you to {v} the {b}"],
    "surface": ["could you {v} the {s}?", "I'd like you to {v} the {s}"],
    "person": ["could you {v} the {p}?", "{v} our {p}"],
}
# Plausible arguments per skill, none of them in the training pools.
HELD_OUT_OBJECTS = ["mug", "apple", "screwdriver", "yellow block", "jar", "tennis ball"]
HELD_OUT_SURFACES = ["workbench", "windowsill", "cart", "kitchen counter"]
HELD_OUT_ARGS: dict[str, dict[str, list[str]]] = {
    "fold_cloth": {"o": ["towel", "napkin", "t-shirt"]},
    "pour": {"o": ["jug", "kettle", "water bottle"], "t": ["mug", "bowl", "jar"]},
    "stack": {"o": ["yellow block", "small crate", "saucer"], "t": ["green block", "big crate", "dinner plate"]},
    "wipe_surface": {"s": ["workbench", "windowsill", "kitchen counter"]},
}
_SHAPE = {
    "place": "obj_surface", "pick_and_place": "obj_surface", "handover": "hands", "wave": "person",
    "open_hand": "none", "go_home": "none", "wipe_surface": "surface", "pour": "obj_target", "stack": "obj_target",
    "open_drawer": "drawer", "close_drawer": "drawer", "press_button": "button",
    "point_at": "target", "look_at": "target", "reach": "target",
}  # fmt: skip
OFF_TOPIC = [
    "bake a chocolate cake", "what is the weather like tomorrow", "sing me a song", "book a flight to Paris",
    "tell me a joke about cats", "how tall is Mount Everest", "write an email to my boss", "order a pizza",
    "translate this sentence into German", "what time is it in Tokyo",
]  # fmt: skip


def held_out_sentences(seed: int = 1) -> list[tuple[str, str]]:
    """(sentence, skill id) pairs from the held-out verbs, frames and objects."""
    rng = np.random.default_rng(seed)
    pairs = []
    for skill_id, verbs in HELD_OUT_VERBS.items():
        frames = HELD_OUT_FRAMES[_SHAPE.get(skill_id, "obj")]
        for verb in verbs:
            for frame in frames:
                pools = HELD_OUT_ARGS.get(skill_id, {})
                text = frame.format(
                    v=verb,
                    o=rng.choice(pools.get("o", HELD_OUT_OBJECTS)),
                    s=rng.choice(pools.get("s", HELD_OUT_SURFACES)),
                    t=rng.choice(pools.get("t", [*HELD_OUT_OBJECTS, *HELD_OUT_SURFACES])),
                    h=rng.choice(["left", "right"]),
                    d=rng.choice(["top drawer", "kitchen drawer", "desk drawer"]),
                    b=rng.choice(["red button", "light switch", "start button"]),
                    p=rng.choice(["visitor", "guests", "new colleague"]),
                )
                pairs.append((text, skill_id))
    return pairs


class RouteBenchResult(BaseModel):
    skills: int
    training_sentences: int
    train_s: float
    """First training, embeddings of every training sentence included."""
    retrain_s: float
    """Registering one more skill (the others' embeddings cached)."""
    held_out_sentences: int
    top1_accuracy: float
    top3_accuracy: float
    off_topic_refused: float
    """Share of off-topic sentences answered with "no skill matches"."""
    in_domain_refused: float
    """Share of held-out sentences refused (they all name a registered skill)."""
    route_ms_p50: float
    """One uncached sentence: MiniLM embedding + gate."""
    route_ms_p99: float
    unseen_verb_sentences: int
    """Held-out sentences whose verb phrase is in no training sentence (neither tag nor thesaurus)."""
    unseen_verb_top1_accuracy: float
    misses: list[str]


def bench_route(embedder: SentenceEmbedder, seed: int = 1) -> RouteBenchResult:
    manifests = bench_manifests()
    start = time.perf_counter()
    router = MoESkillRouter(embedder, manifests[:-1])
    train_s = time.perf_counter() - start
    retrain_s = router.register(manifests[-1])
    pairs = held_out_sentences(seed)
    known = {v for verbs in router.verbs.values() for v in verbs}
    latencies, top1, top3, refused, misses = [], 0, 0, 0, []
    unseen, unseen_hits = 0, 0
    for (text, skill_id), verb in zip(pairs, held_out_verbs(seed), strict=True):
        t0 = time.perf_counter()
        result = router.route(text)
        latencies.append((time.perf_counter() - t0) * 1e3)
        top1 += result.skill_id == skill_id
        if verb not in known:
            unseen += 1
            unseen_hits += result.skill_id == skill_id
        top3 += skill_id in result.skill_ids
        refused += not result.matched
        if result.skill_id != skill_id:
            misses.append(f"{text!r}: {result.skill_id} instead of {skill_id}")
    off = router.route_many(OFF_TOPIC)
    ms = np.array(latencies)
    return RouteBenchResult(
        skills=len(router.skill_ids),
        training_sentences=router.training_sentences,
        train_s=round(train_s, 3),
        retrain_s=round(retrain_s, 3),
        held_out_sentences=len(pairs),
        top1_accuracy=round(top1 / len(pairs), 4),
        top3_accuracy=round(top3 / len(pairs), 4),
        off_topic_refused=round(sum(not r.matched for r in off) / len(off), 4),
        in_domain_refused=round(refused / len(pairs), 4),
        route_ms_p50=round(float(np.percentile(ms, 50)), 3),
        route_ms_p99=round(float(np.percentile(ms, 99)), 3),
        unseen_verb_sentences=unseen,
        unseen_verb_top1_accuracy=round(unseen_hits / unseen, 4) if unseen else 1.0,
        misses=misses,
    )


def held_out_verbs(seed: int = 1) -> list[str]:
    """The verb phrase of each sentence of ``held_out_sentences(seed)``, in the same order."""
    return [
        verb
        for skill_id, verbs in HELD_OUT_VERBS.items()
        for verb in verbs
        for _ in HELD_OUT_FRAMES[_SHAPE.get(skill_id, "obj")]
    ]


def bench_fleet() -> tuple[list[RobotCapabilities], list[RobotLocation]]:
    """10 humanoids around three cells; some lack the extra skills, some are busy or queued."""
    all_ids = frozenset(m.id for m in bench_manifests())
    builtin_ids = frozenset(m.id for m in builtin_manifests())
    robots, locations = [], []
    for i in range(10):
        robot_id = f"humanoid-{i + 1:02d}"
        robots.append(
            RobotCapabilities(
                robot_id=robot_id,
                embodiment=EMBODIMENT,
                skills=all_ids if i % 3 else builtin_ids,
                busy=i in (2, 7),
                queue_length=i % 4,
            )
        )
        angle = 2 * np.pi * i / 10
        locations.append(
            RobotLocation(
                robot_id=robot_id,
                position=(float(1.5 * np.cos(angle)), float(1.5 * np.sin(angle)), 0.0),
                workspace_id=["tabletop", "cell-2", "cell-3"][i % 3],
            )
        )
    return robots, locations


_TASKS = [
    "pick up the {o} and place it on the {s}",
    "grab the {o} and put it on the {s}",
    "move the {o} onto the {s}",
    "lift the {o}",
    "hand the {o} to your {h} hand",
    "wave with your {h} hand",
    "look at the {o}",
    "point at the {s}",
]
_SAID_OBJECTS = ["red cube", "crimson block", "green cube", "blue block", "cup", "red cup"]
_SAID_SURFACES = ["shelf", "upper shelf", "lower shelf", "table"]


def plan_workload(n: int, seed: int = 0) -> list[OrchestrationRequest]:
    rng = np.random.default_rng(seed)
    strategies = list(AssignmentStrategy)
    return [
        OrchestrationRequest(
            task_description=str(rng.choice(_TASKS)).format(
                o=rng.choice(_SAID_OBJECTS), s=rng.choice(_SAID_SURFACES), h=rng.choice(["left", "right"])
            ),
            assignment_strategy=strategies[i % len(strategies)],
        )
        for i in range(n)
    ]


class PlanBenchResult(BaseModel):
    skills: int
    robots: int
    requests: int
    steps_per_plan_mean: float
    warm_ms_p50: float
    warm_ms_p99: float
    warm_ms_max: float
    cold_ms_p50: float
    cold_ms_p99: float
    layer_ms_p50: dict[str, float]
    """Warm, per layer."""


def bench_plan(embedder: SentenceEmbedder, requests: int = 400, cold_requests: int = 60) -> PlanBenchResult:
    robots, locations = bench_fleet()
    orchestrator = build_orchestrator(bench_manifests(), robots, locations, default_world_snapshot(), embedder=embedder)
    workload = plan_workload(requests)
    for request in workload:  # warm-up: first embeddings, lazy imports, allocator
        orchestrator.orchestrate(request)
    warm, steps, layers = _timed(orchestrator, workload)
    cold = []
    for request in workload[:cold_requests]:
        embedder.clear_cache()
        cold += _timed(orchestrator, [request])[0]
    # The router's own training sentences went with the cache: embed them again for later users.
    orchestrator.router.train()
    w, c = np.array(warm), np.array(cold)
    return PlanBenchResult(
        skills=len(orchestrator.router.skill_ids),
        robots=len(robots),
        requests=len(workload),
        steps_per_plan_mean=round(float(np.mean(steps)), 2),
        warm_ms_p50=round(float(np.percentile(w, 50)), 3),
        warm_ms_p99=round(float(np.percentile(w, 99)), 3),
        warm_ms_max=round(float(w.max()), 3),
        cold_ms_p50=round(float(np.percentile(c, 50)), 3),
        cold_ms_p99=round(float(np.percentile(c, 99)), 3),
        layer_ms_p50={k: round(float(np.median(v)), 3) for k, v in layers.items()},
    )


def _timed(orchestrator: Any, workload: list[OrchestrationRequest]) -> tuple[list[float], list[int], dict]:
    times, steps, layers = [], [], {}
    for request in workload:
        t0 = time.perf_counter()
        plan = orchestrator.orchestrate(request)
        times.append((time.perf_counter() - t0) * 1e3)
        steps.append(len(plan.steps))
        for layer, ms in plan.timings_ms.items():
            layers.setdefault(layer, []).append(ms)
    return times, steps, layers
