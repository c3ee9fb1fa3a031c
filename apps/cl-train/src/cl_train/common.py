"""The shared ``cl-train`` conventions, re-exported from :mod:`cl_core.cli` (import-light).

Modality packages import them from ``cl_core.cli`` so they need not depend on this app.
"""

from cl_core.cli import (
    EXIT_INTERRUPTED,
    EXIT_USER_ERROR,
    UserFacingError,
    add_common_args,
    prepare_out_dir,
    run_with_user_errors,
    trainer_options,
)

__all__ = [
    "EXIT_INTERRUPTED",
    "EXIT_USER_ERROR",
    "UserFacingError",
    "add_common_args",
    "prepare_out_dir",
    "run_with_user_errors",
    "trainer_options",
]
