"""CarRacing-v3 driven by the learned policy over ROS 2 topics.

sim_bridge_node (camera, labels, episode, reset service) -> policy_node (cmd_vel)
-> sim_bridge_node; optionally segmentation_node on the same frames with the
policy's auxiliary segmentation branch.

Example:
  ros2 launch seg_perception driving_sim.launch.py
  ros2 launch seg_perception driving_sim.launch.py step_mode:=lock_step segmentation:=true
"""

from pathlib import Path

from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

import seg_perception
from launch import LaunchContext, LaunchDescription


def _nodes(context: LaunchContext) -> list[Node]:
    share = Path(get_package_share_directory("seg_perception"))
    config = share / "config" / "driving"
    camera = "/sim_bridge_node/image"
    bridge_overrides = {
        "step_mode": LaunchConfiguration("step_mode").perform(context),
        "seed": int(LaunchConfiguration("seed").perform(context)),
    }
    policy_overrides = {}
    checkpoint = LaunchConfiguration("checkpoint").perform(context)
    if checkpoint:  # empty: the bundled policy (launch_ros reads "" as YAML null)
        policy_overrides["checkpoint"] = checkpoint
    # installed with the Python package (package_data), not in the share directory
    segmentation_checkpoint = str(
        Path(seg_perception.__file__).parent / "checkpoints" / "driving" / "segmentation.pt"
    )
    return [
        Node(
            package="seg_perception",
            executable="sim_bridge_node",
            name="sim_bridge_node",
            output="screen",
            parameters=[str(config / "sim_bridge.yaml"), bridge_overrides],
            remappings=[("cmd_vel", "/cmd_vel")],
        ),
        Node(
            package="seg_perception",
            executable="policy_node",
            name="policy_node",
            output="screen",
            parameters=[str(config / "policy_node.yaml"), policy_overrides],
            remappings=[("image", camera), ("cmd_vel", "/cmd_vel")],
        ),
        Node(
            package="seg_perception",
            executable="segmentation_node",
            name="segmentation_node",
            output="screen",
            condition=IfCondition(LaunchConfiguration("segmentation")),
            parameters=[
                str(config / "segmentation.yaml"),
                {"checkpoint": segmentation_checkpoint},
            ],
            remappings=[("image", camera)],
        ),
    ]


def generate_launch_description() -> LaunchDescription:
    arguments = [
        DeclareLaunchArgument(
            "step_mode",
            default_value="fixed_rate",
            choices=["fixed_rate", "lock_step"],
            description="fixed_rate: the simulator steps at 50 Hz with the newest command; "
            "lock_step: one step per command (deterministic)",
        ),
        DeclareLaunchArgument(
            "seed", default_value="1000", description="Track seed of the first episode"
        ),
        DeclareLaunchArgument(
            "checkpoint",
            default_value="",
            description="Policy checkpoint; empty = the bundled CarRacing policy",
        ),
        DeclareLaunchArgument(
            "segmentation",
            default_value="false",
            choices=["true", "false"],
            description="Also run segmentation_node with the policy's segmentation branch",
        ),
    ]
    return LaunchDescription([*arguments, OpaqueFunction(function=_nodes)])
