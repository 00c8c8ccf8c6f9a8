"""Name lookup shared by every ``get(identifier)`` in the package, and the modules' ``dir()``.

One place decides how a string, a config dict or an object becomes the thing it names,
and what the error says when the name is unknown (it lists the valid names).
"""
from __future__ import annotations


def lookup(kind: str, identifier, registry: dict):
    """The entry of ``registry`` called ``identifier`` (case-insensitive), or a clear ValueError."""
    key = str(identifier)
    if key in registry:
        return registry[key]
    lowered = key.lower()
    for name, value in registry.items():
        if name.lower() == lowered:
            return value
    valid = ", ".join(sorted(registry))
    raise ValueError(f"Unknown {kind} {identifier!r}. Valid {kind} names: {valid}")


def from_config(kind: str, config, registry: dict):
    """Rebuild an object from ``{"class_name": ..., "config": {...}}`` using the registry."""
    if not isinstance(config, dict) or "class_name" not in config:
        raise ValueError(f"Could not interpret {kind} config {config!r}: expected a dict "
                         f"with 'class_name' and 'config'")
    cls = lookup(kind, config["class_name"], registry)
    kwargs = config.get("config") or {}
    if not isinstance(kwargs, dict):
        raise ValueError(f"{kind} config for {config['class_name']!r} must be a dict")
    return cls(**kwargs)


def get(kind: str, identifier, base: type, names: dict, classes: dict, expected: str = ""):
    """The object ``identifier`` stands for, as every module's ``get`` resolves it:

    * an instance of ``base`` is returned as it is;
    * a name is looked up in ``names`` (case-insensitive): a class found there is
      instantiated with its defaults, anything else (a shared instance) is returned;
    * a ``{"class_name": ..., "config": {...}}`` dict names one of ``classes``
      (:func:`from_config`).

    Anything else is a TypeError, ending with ``expected`` (": expected ...") when given.
    """
    if isinstance(identifier, base):
        return identifier
    if isinstance(identifier, str):
        found = lookup(kind, identifier, names)
        return found() if isinstance(found, type) else found
    if isinstance(identifier, dict):
        return from_config(kind, identifier, classes)
    raise TypeError(f"Could not interpret {kind} {identifier!r}{expected}")


def public_dir(names):
    """A module's ``__dir__``: ``dir(module)`` lists its public ``names`` only (the chapter
    prints ``dir(keras.activations)`` and the like)."""
    def __dir__():
        return sorted(names)
    return __dir__
