"""seg_perception: pixel-level perception for ROS 2 robots (models, training, nodes)."""

__version__ = "0.1.0"
