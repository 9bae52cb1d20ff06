/* Intentionally empty translation unit: lets a static library exist before it has sources. */
typedef int lt_empty_translation_unit;
