// The words the generated tokenizers know as whole tokens.

import { type Color, COLORS } from './colors.js';

export const ENGLISH_COLOR_WORDS: Record<Color, readonly string[]> = {
  red: ['red'],
  green: ['green'],
  blue: ['blue'],
  yellow: ['yellow'],
  black: ['black'],
  white: ['white'],
};

/** Hebrew, Arabic, Russian (with ё and with е) and Chinese names of each colour. */
export const OTHER_LANGUAGE_COLOR_WORDS: Record<Color, readonly string[]> = {
  red: ['אדום', 'أحمر', 'красный', '红'],
  green: ['ירוק', 'أخضر', 'зелёный', 'зеленый', '绿'],
  blue: ['כחול', 'أزرق', 'синий', '蓝'],
  yellow: ['צהוב', 'أصفر', 'жёлтый', 'желтый', '黄'],
  black: ['שחור', 'أسود', 'чёрный', 'черный', '黑'],
  white: ['לבן', 'أبيض', 'белый', '白'],
};

/** Words that are not colours, so ordinary queries have whole-word tokens too. */
export const COMMON_WORDS = ['a', 'photo', 'of', 'the', 'sky', 'at', 'sunset', 'car', 'dog', 'cat', 'beach', 'people'] as const;

export const ENGLISH_WORDS: readonly string[] = [...COLORS.flatMap((c) => ENGLISH_COLOR_WORDS[c]), ...COMMON_WORDS];

export const MULTILINGUAL_WORDS: readonly string[] = [...ENGLISH_WORDS, ...COLORS.flatMap((c) => OTHER_LANGUAGE_COLOR_WORDS[c])];
