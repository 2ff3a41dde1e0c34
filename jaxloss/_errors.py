"""The exceptions jaxloss raises for bad inputs (re-exported by ``jaxloss``)."""


class LossInputError(ValueError):
  """A loss got an input of the wrong shape, rank or value."""


class LossTypeError(TypeError):
  """A loss got an input of the wrong dtype or type."""
