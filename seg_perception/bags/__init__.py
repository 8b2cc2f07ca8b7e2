"""Rosbag tools without ROS: read any bag, decode its images, write bags, build and evaluate.

``bag_io`` opens rosbag2 (a folder with ``metadata.yaml``, or a bare ``.db3`` or
``.mcap`` file) and ROS 1 ``.bag`` files through ``rosbags`` and writes MCAP, sqlite3 or
ROS 1 bags atomically; ``bag_make`` builds a bag from an image sequence; ``bag_eval``
runs the node's ``SegmentationPipeline`` over a bag. Live playback and recording
(``rclpy``) live in ``seg_perception.nodes``.
"""
