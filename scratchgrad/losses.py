"""Old path of the loss functions: they live in `scratchgrad.nn.losses` now (with `LOSSES`).

Each takes predictions and targets and returns one `Value` for lists of Values (or one
`Tensor` for a Tensor or an array). Label conventions: ``hinge_loss`` takes y in
{-1, +1}; ``binary_cross_entropy_with_logits`` takes t in [0, 1] (``(y + 1) / 2``).
"""

from scratchgrad.nn.losses import (
    LOSSES,
    Loss,
    binary_cross_entropy_with_logits,
    hinge_loss,
    l1_penalty,
    l2_penalty,
    mean_squared_error,
    mse_loss,
    softmax_cross_entropy,
    squared_error,
)
