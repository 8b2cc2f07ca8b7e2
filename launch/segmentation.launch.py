"""Launch segmentation_node on a camera topic, optionally with RViz.

Example:
  ros2 launch seg_perception segmentation.launch.py image:=/camera/image_raw
  ros2 launch seg_perception segmentation.launch.py image:=/camera/image_raw compressed:=true
  ros2 launch seg_perception segmentation.launch.py image:=/camera/image_raw use_flow:=true
"""

from pathlib import Path

from ament_index_python.packages import get_package_share_directory
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from launch import LaunchContext, LaunchDescription


def _segmentation_node(context: LaunchContext) -> list[Node]:
    """The node, with arguments resolved here: the input transport follows 'compressed',
    and an empty 'checkpoint' or 'use_flow' is left to the params file (launch_ros would
    read an empty substituted value as YAML null and refuse it)."""
    compressed = LaunchConfiguration("compressed").perform(context) == "true"
    image = LaunchConfiguration("image").perform(context)
    overrides = {
        "model": LaunchConfiguration("model").perform(context),
        "input_transport": "compressed" if compressed else "raw",
    }
    use_flow = LaunchConfiguration("use_flow").perform(context)
    if use_flow:  # empty: the params file decides
        overrides["use_flow"] = use_flow == "true"
    checkpoint = LaunchConfiguration("checkpoint").perform(context)
    if checkpoint:
        overrides["checkpoint"] = checkpoint
    return [
        Node(
            package="seg_perception",
            executable="segmentation_node",
            name="segmentation_node",
            namespace=LaunchConfiguration("namespace"),
            output="screen",
            parameters=[LaunchConfiguration("params_file"), overrides],
            remappings=[("image", image), ("image/compressed", f"{image}/compressed")],
        )
    ]


def generate_launch_description() -> LaunchDescription:
    share = Path(get_package_share_directory("seg_perception"))
    arguments = [
        DeclareLaunchArgument(
            "image",
            default_value="/camera/image_raw",
            description="Camera image topic; compressed:=true uses '<image>/compressed'",
        ),
        DeclareLaunchArgument(
            "compressed",
            default_value="false",
            choices=["true", "false"],
            description="Subscribe sensor_msgs/CompressedImage on '<image>/compressed'",
        ),
        DeclareLaunchArgument(
            "model",
            default_value="lraspp",
            choices=["lraspp", "fcn8s", "unet", "deeplabv3plus"],
            description="Model architecture (must match the checkpoint)",
        ),
        DeclareLaunchArgument(
            "checkpoint",
            default_value="",
            description="Checkpoint file; empty = the bundled CamVid lraspp checkpoint",
        ),
        DeclareLaunchArgument(
            "use_flow",
            default_value="",
            choices=["", "true", "false"],
            description="true: also publish ~/motion and ~/flow (optical flow and a "
            "two-stream model); empty: as the params file says (false by default)",
        ),
        DeclareLaunchArgument(
            "params_file",
            default_value=str(share / "config" / "segmentation.yaml"),
            description="Parameter YAML for segmentation_node",
        ),
        DeclareLaunchArgument("namespace", default_value="", description="Namespace of the node"),
        DeclareLaunchArgument(
            "rviz",
            default_value="false",
            choices=["true", "false"],
            description="Also start RViz with config/rviz/segmentation.rviz",
        ),
    ]
    rviz = Node(
        package="rviz2",
        executable="rviz2",
        arguments=["-d", str(share / "config" / "rviz" / "segmentation.rviz")],
        condition=IfCondition(LaunchConfiguration("rviz")),
    )
    return LaunchDescription([*arguments, OpaqueFunction(function=_segmentation_node), rviz])
