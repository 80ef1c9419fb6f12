"""Entry point of `python -m training` (and of `torchrun -m training` for several GPUs)."""

import sys

from training.cli import main

sys.exit(main())
