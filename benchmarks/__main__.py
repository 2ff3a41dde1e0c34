"""``python -m benchmarks``: every catalog loss vs optax and a memory-bound baseline.

``python -m benchmarks --peers``: jaxloss beside the PyTorch peers (torch, MONAI,
kornia, pytorch-msssim, pytorch-metric-learning, tslearn), see
:mod:`benchmarks.peers`.
"""

import sys

if "--peers" in sys.argv[1:]:
  from benchmarks.peers import main
else:
  from benchmarks.run import main

main()
