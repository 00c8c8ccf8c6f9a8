"""Regularizer shortcuts and defaults (the penalty gradients are checked in test_gradients.py)."""


def test_regularizer_shortcuts_have_keras_3_defaults():
    """keras.regularizers.l1/l2/l1_l2 are the classes in Keras 3: l1_l2() is 0/0 (Keras 2's
    function defaulted to 0.01/0.01), and the string 'l1_l2' agrees with the function."""
    from numpy_nn import regularizers
    assert (regularizers.l1_l2().l1, regularizers.l1_l2().l2) == (0.0, 0.0)
    assert regularizers.get("l1_l2").get_config() == regularizers.l1_l2().get_config()
    assert regularizers.l1().l1 == regularizers.l2().l2 == 0.01
