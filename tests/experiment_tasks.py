"""Task entries for the experiment-runner tests (imported by the workers by name)."""
import os
import time

from numpy_nn.experiments import cached

LOADS = 0


def _load(name):
    global LOADS
    LOADS += 1
    return f"data:{name}"


def count_loads(config):
    """How many times this worker process has loaded the dataset so far."""
    data = cached(_load, config["dataset"])
    return {"metrics": {"loads": LOADS}, "data": data}


def sleepy(config):
    """Sleeps (light on a shared machine), then returns a number made from the seed; fails on
    request."""
    time.sleep(config.get("seconds", 0.2))
    if config.get("fail"):
        raise ValueError(f"asked to fail (seed {config['seed']})")
    return {"metrics": {"value": config["seed"] ** 2}, "history": {"value": [config["seed"]]},
            "worker_pid": os.getpid()}
