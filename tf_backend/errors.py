"""The one error tf_backend raises for things it cannot translate."""


class UntranslatableError(ValueError):
    """A layer, setting or object has no exact equivalent on the other side.

    The message names the layer (or optimizer, loss, schedule) and the setting at fault, so the
    user knows what to change; nothing is ever approximated silently.
    """
