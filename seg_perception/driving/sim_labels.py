"""Ground-truth segmentation of CarRacing frames, from the simulator's own drawing.

The environment draws its world with flat-coloured polygons (grass field and
patches, road tiles, red/white kerbs, the car's hull and wheels) and then the
indicator bar. ``render_labels`` repeats that drawing with one flat label value per
class instead of the colours, with the same camera transform, flip and 96x96
downscale (nearest instead of smooth), so each label pixel says what the simulator
drew there. Limits: pixels on a class boundary were blended by the anti-aliased
colour render and carry the class drawn last there; tyre skid marks are not drawn
(they are road or grass underneath).
"""

from __future__ import annotations

import numpy as np

from ..classes import ClassSet

__all__ = ["DRIVING_CLASSES", "render_labels", "ROAD", "GRASS", "KERB", "CAR", "BACKGROUND"]

DRIVING_CLASSES = ClassSet(
    names=("road", "grass", "kerb", "car", "background"),
    colors=((128, 64, 128), (107, 142, 35), (220, 20, 60), (0, 0, 142), (0, 0, 0)),
)
ROAD, GRASS, KERB, CAR, BACKGROUND = range(5)
_KERB_COLORS = {(255, 255, 255), (255, 0, 0)}


def _label_color(class_id: int) -> tuple[int, int, int]:
    return (class_id, class_id, class_id)


def render_labels(env) -> np.ndarray:
    """(96, 96) uint8 class ids of the frame the environment last rendered.

    Args:
        env: the unwrapped ``CarRacing`` environment after ``reset`` or ``step``.
    """
    import pygame
    from gymnasium.envs.box2d import car_racing as cr

    surf = pygame.Surface((cr.WINDOW_W, cr.WINDOW_H))
    angle = -env.car.hull.angle
    zoom = 0.1 * cr.SCALE * max(1 - env.t, 0) + cr.ZOOM * cr.SCALE * min(env.t, 1)
    scroll_x = -(env.car.hull.position[0]) * zoom
    scroll_y = -(env.car.hull.position[1]) * zoom
    trans = pygame.math.Vector2((scroll_x, scroll_y)).rotate_rad(angle)
    trans = (cr.WINDOW_W / 2 + trans[0], cr.WINDOW_H / 4 + trans[1])

    def to_screen(points):
        rotated = [pygame.math.Vector2(p).rotate_rad(angle) for p in points]
        return [(p[0] * zoom + trans[0], p[1] * zoom + trans[1]) for p in rotated]

    surf.fill(_label_color(GRASS))  # the field outside the patches is grass-coloured too
    for poly, color in env.road_poly:
        kind = KERB if tuple(int(c) for c in color) in _KERB_COLORS else ROAD
        pygame.draw.polygon(surf, _label_color(kind), to_screen(poly))
    for body in env.car.drawlist:
        for fixture in body.fixtures:
            transform = fixture.body.transform
            path = [transform * v for v in fixture.shape.vertices]
            pygame.draw.polygon(surf, _label_color(CAR), to_screen([(p[0], p[1]) for p in path]))
    surf = pygame.transform.flip(surf, False, True)
    # the indicator bar drawn over the bottom 5/40 of the window
    bar_top = cr.WINDOW_H - 5 * cr.WINDOW_H / 40.0
    pygame.draw.rect(
        surf, _label_color(BACKGROUND), (0, bar_top, cr.WINDOW_W, cr.WINDOW_H - bar_top)
    )
    small = pygame.transform.scale(surf, (cr.STATE_W, cr.STATE_H))
    pixels = np.transpose(np.array(pygame.surfarray.pixels3d(small)), axes=(1, 0, 2))
    return np.ascontiguousarray(pixels[:, :, 0])
