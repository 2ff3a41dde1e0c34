"""A small convolutional image classifier."""

from flax import nnx


class CNNClassifier(nnx.Module):
  """Two 3x3 conv blocks (the second strided), global average pooling and a
  linear head; channel-last ``(B, H, W, C)`` images in, logits ``(B, classes)`` out.
  """

  def __init__(self, in_channels: int, num_classes: int, width: int = 32, *, rngs: nnx.Rngs):
    self.c1 = nnx.Conv(in_channels, width, kernel_size=(3, 3), rngs=rngs)
    self.c2 = nnx.Conv(width, width, kernel_size=(3, 3), rngs=rngs)
    self.c3 = nnx.Conv(width, 2 * width, kernel_size=(3, 3), strides=(2, 2), rngs=rngs)
    self.head = nnx.Linear(2 * width, num_classes, rngs=rngs)

  def features(self, x):
    x = nnx.relu(self.c1(x))
    x = nnx.relu(self.c2(x))
    x = nnx.relu(self.c3(x))
    return x.mean(axis=(1, 2))

  def __call__(self, x):
    return self.head(self.features(x))
