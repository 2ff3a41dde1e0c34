"""Transitional shim: the example-input builders moved to jaxloss.catalog.cases._inputs."""

from jaxloss.catalog.cases._inputs import *  # noqa: F403
