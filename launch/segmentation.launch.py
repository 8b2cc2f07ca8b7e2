"""Launch segmentation_node on a camera topic, optionally managed (lifecycle) and with RViz.

Example:
  ros2 launch seg_perception segmentation.launch.py image:=/camera/image_raw
  ros2 launch seg_perception segmentation.launch.py image:=/camera/image_raw compressed:=true
  ros2 launch seg_perception segmentation.launch.py image:=/camera/image_raw use_flow:=true
  ros2 launch seg_perception segmentation.launch.py managed:=true autostart:=false

Only the arguments a user gives override the params file: an empty `model`,
`checkpoint`, `compressed` or `use_flow` leaves that parameter to `params_file`.
"""

import tempfile
from pathlib import Path

import lifecycle_msgs.msg
from ament_index_python.packages import get_package_share_directory
from launch.actions import (
    DeclareLaunchArgument,
    EmitEvent,
    LogInfo,
    OpaqueFunction,
    RegisterEventHandler,
)
from launch.events import matches_action
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import LifecycleNode, Node
from launch_ros.event_handlers import OnStateTransition
from launch_ros.events.lifecycle import ChangeState

from launch import LaunchContext, LaunchDescription
from seg_perception.rviz_config import render_rviz_config, write_rviz_config

NODE_NAME = "segmentation_node"
MODELS = ["lraspp", "fcn8s", "unet", "deeplabv3plus"]


def _arg(context: LaunchContext, name: str) -> str:
    return LaunchConfiguration(name).perform(context)


def _overrides(context: LaunchContext) -> dict:
    """Parameters the user set with launch arguments (empty ones are left to the file;
    launch_ros would also read an empty substituted value as YAML null and refuse it)."""
    overrides = {}
    for name in ("model", "checkpoint"):
        if _arg(context, name):
            overrides[name] = _arg(context, name)
    if _arg(context, "compressed"):
        overrides["input_transport"] = (
            "compressed" if _arg(context, "compressed") == "true" else "raw"
        )
    if _arg(context, "use_flow"):
        overrides["use_flow"] = _arg(context, "use_flow") == "true"
    return overrides


def _transition(node: LifecycleNode, transition: int) -> EmitEvent:
    return EmitEvent(
        event=ChangeState(lifecycle_node_matcher=matches_action(node), transition_id=transition)
    )


def _params_file(context: LaunchContext) -> str:
    """``params_file``, refused in one line when it is not a file (launch_ros would only
    warn and start the node with its defaults)."""
    path = _arg(context, "params_file")
    if not Path(path).expanduser().is_file():
        raise FileNotFoundError(f"params_file {path} not found")
    return path


def _segmentation(context: LaunchContext) -> list:
    image = _arg(context, "image")
    namespace = _arg(context, "namespace")
    overrides = _overrides(context)
    common = {
        "package": "seg_perception",
        "name": NODE_NAME,
        "namespace": namespace,
        "output": "screen",
        "parameters": [_params_file(context), *([overrides] if overrides else [])],
        # compressed input follows the image remap, as image_transport does
        "remappings": [("image", image), ("image/compressed", f"{image}/compressed")],
    }
    actions: list = []
    if _arg(context, "managed") == "true":
        node = LifecycleNode(executable="segmentation_lifecycle_node", **common)
        actions.append(node)
        if _arg(context, "autostart") == "true":
            Transition = lifecycle_msgs.msg.Transition
            actions.append(
                RegisterEventHandler(
                    OnStateTransition(
                        target_lifecycle_node=node,
                        goal_state="inactive",
                        entities=[_transition(node, Transition.TRANSITION_ACTIVATE)],
                    )
                )
            )
            actions.append(_transition(node, Transition.TRANSITION_CONFIGURE))
    else:
        actions.append(Node(executable="segmentation_node", **common))
    actions += _rviz(context, image, namespace)
    if _arg(context, "web") == "true":
        actions.append(
            Node(
                package="seg_perception",
                executable="segmentation_view",
                name="segmentation_view",
                namespace=namespace,
                output="screen",
                parameters=[
                    {
                        "node": NODE_NAME,
                        "host": _arg(context, "web_host"),
                        "port": int(_arg(context, "web_port")),
                    }
                ],
                remappings=[("image", image)],
            )
        )
    return actions


def _rviz(context: LaunchContext, image: str, namespace: str) -> list:
    """RViz's config, generated for this launch's namespace and remaps (always written,
    so it can be checked), and RViz itself with rviz:=true."""
    share = Path(get_package_share_directory("seg_perception"))
    compressed = _arg(context, "compressed") == "true"
    text = render_rviz_config(
        (share / "config" / "rviz" / "segmentation.rviz").read_text(),
        f"{image}/compressed" if compressed else image,
        namespace,
        NODE_NAME,
    )
    target = _arg(context, "rviz_config") or str(
        Path(tempfile.gettempdir())
        / f"seg_perception_{namespace.strip('/').replace('/', '_') or 'root'}.rviz"
    )
    path = write_rviz_config(target, text)
    actions: list = [LogInfo(msg=f"RViz config: {path}")]
    if _arg(context, "rviz") == "true":
        actions.append(Node(package="rviz2", executable="rviz2", arguments=["-d", str(path)]))
    return actions


def generate_launch_description() -> LaunchDescription:
    share = Path(get_package_share_directory("seg_perception"))
    arguments = [
        DeclareLaunchArgument(
            "image",
            default_value="/camera/image_raw",
            description="Camera image topic; compressed input is read from '<image>/compressed'",
        ),
        DeclareLaunchArgument(
            "compressed",
            default_value="",
            choices=["", "true", "false"],
            description="true: subscribe sensor_msgs/CompressedImage on '<image>/compressed'; "
            "empty: as the params file says (raw by default)",
        ),
        DeclareLaunchArgument(
            "model",
            default_value="",
            choices=["", *MODELS],
            description="Model architecture (must match the checkpoint); "
            "empty: as the params file says",
        ),
        DeclareLaunchArgument(
            "checkpoint",
            default_value="",
            description="Checkpoint file; empty: as the params file says (the bundled model)",
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
            "managed",
            default_value="false",
            choices=["true", "false"],
            description="true: start segmentation_lifecycle_node, a managed (lifecycle) node",
        ),
        DeclareLaunchArgument(
            "autostart",
            default_value="true",
            choices=["true", "false"],
            description="With managed:=true, configure and activate the node at launch",
        ),
        DeclareLaunchArgument(
            "rviz",
            default_value="false",
            choices=["true", "false"],
            description="Also start RViz on the node's topics",
        ),
        DeclareLaunchArgument(
            "web",
            default_value="false",
            choices=["true", "false"],
            description="Also serve the live overlay, legend and diagnostics to a browser "
            "(segmentation_view) on http://web_host:web_port/",
        ),
        DeclareLaunchArgument(
            "web_host",
            default_value="127.0.0.1",
            description="Address of the browser view; 0.0.0.0 lets the whole network watch",
        ),
        DeclareLaunchArgument(
            "web_port", default_value="8080", description="Port of the browser view"
        ),
        DeclareLaunchArgument(
            "rviz_config",
            default_value="",
            description="Where to write the generated RViz config; "
            "empty: a file in the temp folder",
        ),
    ]
    return LaunchDescription([*arguments, OpaqueFunction(function=_segmentation)])
