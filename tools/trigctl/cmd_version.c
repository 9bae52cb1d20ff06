#include <stdio.h>

#include "commands.h"

int cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("trigctl %s\n", LARTRIG_VERSION);
    return 0;
}
