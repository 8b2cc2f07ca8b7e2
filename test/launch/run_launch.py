"""Run a launch file the way ``ros2 launch PKG FILE ARGS`` does (used by the launch tests).

Usage: python run_launch.py LAUNCH_FILE [name:=value ...]; SIGINT shuts it down cleanly.
"""

from __future__ import annotations

import sys

from launch.actions import IncludeLaunchDescription
from launch.launch_description_sources import PythonLaunchDescriptionSource

from launch import LaunchService


def main(argv: list[str]) -> int:
    path, launch_arguments = argv[0], [tuple(a.split(":=", 1)) for a in argv[1:]]
    service = LaunchService(argv=argv[1:])
    service.include_launch_description(
        IncludeLaunchDescription(
            PythonLaunchDescriptionSource(path), launch_arguments=launch_arguments
        )
    )
    return service.run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
