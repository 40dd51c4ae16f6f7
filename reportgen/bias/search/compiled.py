"""The TensorFlow side of the searches: Adam on a few variables, and the loss toward targets.

Both run inside one compiled ``tf.function`` per search: eager ``GradientTape`` through Conv2D
crashes on this project's CPU build, and one call per class would be dominated by overhead.
Adam is written out (eight lines) because Keras 3's optimisers build their state lazily on
first use, which a ``tf.function`` traced once cannot do.
"""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

from reportgen.loading.model import Classifier

EPSILON = 1e-30  # floor under a probability before its log: keeps the gradient finite


class Adam:
    """Adam (Kingma and Ba, 2015) on ``variables``, applied inside a compiled function.

    Neural Cleanse's betas (0.5, 0.9): a short search must follow a changing penalty quickly."""

    def __init__(self, variables: Sequence[tf.Variable], learning_rate: float,
                 beta_1: float = 0.5, beta_2: float = 0.9) -> None:
        self.variables = list(variables)
        self.learning_rate, self.beta_1, self.beta_2 = learning_rate, beta_1, beta_2
        self.moments = [tf.Variable(tf.zeros_like(v), trainable=False) for v in self.variables]
        self.squares = [tf.Variable(tf.zeros_like(v), trainable=False) for v in self.variables]
        self.count = tf.Variable(0.0, trainable=False)

    def apply(self, gradients: Sequence[tf.Tensor]) -> None:
        """One update from the gradients of the loss, one per variable (same shapes)."""
        self.count.assign_add(1.0)
        first = 1.0 - self.beta_1 ** self.count
        second = 1.0 - self.beta_2 ** self.count
        for var, grad, moment, square in zip(self.variables, gradients, self.moments,
                                             self.squares):
            moment.assign(self.beta_1 * moment + (1.0 - self.beta_1) * grad)
            square.assign(self.beta_2 * square + (1.0 - self.beta_2) * tf.square(grad))
            step = self.learning_rate * (moment / first) / (tf.sqrt(square / second) + 1e-8)
            var.assign_sub(step)


def target_loss(classifier: Classifier, edited: tf.Tensor,
                goals: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    """edited (B, m, h, w) float32 0–255, goals (B,) int32 → per candidate (B,): the mean
    cross-entropy toward its goal and the share of its m images predicted as the goal."""
    shape = tf.shape(edited)
    height, width = classifier.image_size
    probs = classifier.probabilities_tf(tf.reshape(edited, [-1, height, width]))
    probs = tf.reshape(probs, [shape[0], shape[1], -1])
    chosen = tf.gather(probs, goals, axis=2, batch_dims=1)  # (B, m)
    entropy = -tf.reduce_mean(tf.math.log(tf.maximum(chosen, EPSILON)), axis=1)
    hits = tf.equal(tf.argmax(probs, axis=2, output_type=tf.int32), goals[:, None])
    return entropy, tf.reduce_mean(tf.cast(hits, tf.float32), axis=1)
