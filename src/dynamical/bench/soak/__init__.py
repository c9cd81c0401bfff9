"""``dynamical bench soak``: many plain-language tasks through the REST API against a server and the
default robot agent in their own processes, with e-stops injected and a server restart, counting
what a long run leaves behind (stuck states, memory growth, processes, shared memory, lost executions).

generator: the tasks; processes: the server and agent processes; runner: the run; report: the result.
"""

from dynamical.bench.soak.generator import SoakTask, generate_tasks
from dynamical.bench.soak.report import SoakResult, print_soak
from dynamical.bench.soak.runner import run_soak

__all__ = ["SoakResult", "SoakTask", "generate_tasks", "print_soak", "run_soak"]
