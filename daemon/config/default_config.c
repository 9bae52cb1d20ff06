/* The configuration trigd runs with when no -c is given: every key at its default (the key table
 * in config.c) and these four small simulated cells (one front-end board each: 128 channels, 48
 * collection wires), all in one process. docs/config.md explains every key. */
#include "config.h"

const char trigd_default_config_text[] = "cells = (\n"
                                         "  { id = 0; source = \"sim\"; n_fembs = 1; },\n"
                                         "  { id = 1; source = \"sim\"; n_fembs = 1; },\n"
                                         "  { id = 2; source = \"sim\"; n_fembs = 1; },\n"
                                         "  { id = 3; source = \"sim\"; n_fembs = 1; }\n"
                                         ");\n";
