/*
 * CPU list parsing ("0-3,8,10-11", as in /sys/devices/system/cpu/online).
 * Private to the profiler.
 */
#ifndef EMBER_PROFILER_CPUS_H
#define EMBER_PROFILER_CPUS_H

struct cpu_set_list {
	int *v;
	int n;
};

/* Parses @text into @out (owned, free with cpus__free). 0 or -EINVAL/-ENOMEM. */
int cpus__parse(const char *text, struct cpu_set_list *out);
/* Reads the online CPUs from sysfs. */
int cpus__online(struct cpu_set_list *out);
void cpus__free(struct cpu_set_list *c);

#endif
