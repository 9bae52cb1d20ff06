/* The status document (docs/monitoring.md) as the table `trigctl status` and `trigctl top`
 * print: health first, normal operation (ring depth) apart from losses, each loss counter
 * named, percentiles "-" without a sample. Tolerates documents of older or newer daemons
 * (a missing field prints as 0 or "-"). */
#ifndef LARTRIG_TRIGCTL_STATUS_TABLE_H
#define LARTRIG_TRIGCTL_STATUS_TABLE_H

#include <jansson.h>
#include <stdio.h>

void status_table_print(FILE *out, json_t *status);

#endif
