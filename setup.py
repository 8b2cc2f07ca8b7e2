"""ament_python package definition (also installable with pip into a virtualenv)."""

from glob import glob

from setuptools import find_packages, setup

PACKAGE = "seg_perception"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test", "test.*"]),
    package_data={
        PACKAGE: [
            "checkpoints/*.pt",
            "checkpoints/*.onnx",
            "checkpoints/*/*.pt",
            "samples/*/*.*",
            "samples/*/*/*.*",
            "web/*.html",
            "driving/*.yaml",
        ]
    },
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.py")),
        (f"share/{PACKAGE}/config", glob("config/*.yaml")),
        (f"share/{PACKAGE}/config/train", glob("config/train/*.yaml")),
        (f"share/{PACKAGE}/config/train/ablation", glob("config/train/ablation/*.yaml")),
        (f"share/{PACKAGE}/config/train/zoo", glob("config/train/zoo/*.yaml")),
        (f"share/{PACKAGE}/config/datasets", glob("config/datasets/*.yaml")),
        (f"share/{PACKAGE}/config/fewshot", glob("config/fewshot/*.yaml")),
        (f"share/{PACKAGE}/config/motion", glob("config/motion/*.yaml")),
        (f"share/{PACKAGE}/config/motion/mobilenet", glob("config/motion/mobilenet/*.yaml")),
        (f"share/{PACKAGE}/config/vos", glob("config/vos/*.yaml")),
        (f"share/{PACKAGE}/config/vos/dev", glob("config/vos/dev/*.yaml")),
        (f"share/{PACKAGE}/config/driving", glob("config/driving/*.yaml")),
        (f"share/{PACKAGE}/config/instances", glob("config/instances/*.yaml")),
        (f"share/{PACKAGE}/config/rviz", glob("config/rviz/*.rviz")),
        (f"share/{PACKAGE}/config/dds", glob("config/dds/*.xml")),
    ],
    install_requires=["setuptools"],
    zip_safe=False,
    maintainer="seg_perception maintainers",
    maintainer_email="seg-perception@example.com",
    description="Real-time semantic segmentation for ROS 2 camera topics",
    license="Apache-2.0",
    python_requires=">=3.10",
    tests_require=["pytest"],
    entry_points={
        "console_scripts": [
            "seg-perception = seg_perception.cli:entry",
            "segmentation_node = seg_perception.nodes.segmentation_node:main",
            "segmentation_lifecycle_node = seg_perception.nodes.segmentation_lifecycle_node:main",
            "sim_bridge_node = seg_perception.nodes.sim_bridge_node:main",
            "policy_node = seg_perception.nodes.policy_node:main",
            "segmentation_view = seg_perception.nodes.web_view_node:main",
        ],
    },
)
