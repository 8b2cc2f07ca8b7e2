"""Run a launch file the way ``ros2 launch PKG FILE ARGS`` does (used by the launch tests).

Usage: python run_launch.py LAUNCH_FILE [name:=value ...]; SIGINT shuts it down cleanly.
Each process gets ``$SEG_PERCEPTION_SIGTERM_TIMEOUT`` seconds (launch's default: 5) to
exit after SIGINT before launch escalates: on an overloaded 2-core test machine a node's
clean exit can take longer, and the tests still require that it exits by itself.
"""

from __future__ import annotations

import os
import sys

from launch.actions import IncludeLaunchDescription, SetLaunchConfiguration
from launch.launch_description_sources import PythonLaunchDescriptionSource

from launch import LaunchDescription, LaunchService


def main(argv: list[str]) -> int:
    path, launch_arguments = argv[0], [tuple(a.split(":=", 1)) for a in argv[1:]]
    service = LaunchService(argv=argv[1:])
    timeout = os.environ.get("SEG_PERCEPTION_SIGTERM_TIMEOUT", "5")
    service.include_launch_description(
        LaunchDescription(
            [
                SetLaunchConfiguration("sigterm_timeout", timeout),
                IncludeLaunchDescription(
                    PythonLaunchDescriptionSource(path), launch_arguments=launch_arguments
                ),
            ]
        )
    )
    return service.run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
