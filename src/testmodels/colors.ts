// The colour model's embedding space: one dimension per colour, in this order.

export const COLORS = ['red', 'green', 'blue', 'yellow', 'black', 'white'] as const;
export type Color = (typeof COLORS)[number];

/** Each colour's prototype in rgb [0, 1]. */
export const COLOR_PROTOTYPES: Record<Color, readonly [number, number, number]> = {
  red: [1, 0, 0],
  green: [0, 1, 0],
  blue: [0, 0, 1],
  yellow: [1, 1, 0],
  black: [0, 0, 0],
  white: [1, 1, 1],
};
