/*
 * ember's entry point: dispatches to the subcommands.
 */
#include <stdio.h>
#include <string.h>

#include "ember/profiler.h"

static void usage(FILE *f)
{
	fprintf(f, "Usage: ember COMMAND [OPTIONS]\n"
		   "\n"
		   "An always-on CPU profiler for Linux: BPF sampling, ELF/DWARF symbolization,\n"
		   "flamegraphs.\n"
		   "\n"
		   "Commands:\n"
		   "  profile    sample processes, a command, or the whole host once, and write\n"
		   "             the profile (folded stacks for flamegraph.pl by default)\n"
		   "  daemon     sample every CPU continuously into an SQLite database\n"
		   "  export     write a time range of a database as a profile\n"
		   "  serve      the web UI and JSON API over a database (read-only, no root)\n"
		   "  convert    turn folded stacks or `perf script` output into another format\n"
		   "  import     store folded stacks or `perf script` output in a database\n"
		   "\n"
		   "Options:\n"
		   "  -h, --help       this help\n"
		   "  -V, --version    print the version\n"
		   "\n"
		   "'ember COMMAND --help' describes a command. See also ember(1).\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
		printf("ember %s\n", EMBER_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "profile"))
		return prof_cmd_profile(argc - 1, argv + 1);
	if (!strcmp(argv[1], "convert"))
		return prof_cmd_convert(argc - 1, argv + 1);
	if (!strcmp(argv[1], "import"))
		return prof_cmd_import(argc - 1, argv + 1);
	if (!strcmp(argv[1], "daemon"))
		return prof_cmd_daemon(argc - 1, argv + 1);
	if (!strcmp(argv[1], "export"))
		return prof_cmd_export(argc - 1, argv + 1);
	if (!strcmp(argv[1], "serve"))
		return prof_cmd_serve(argc - 1, argv + 1);
	fprintf(stderr, "ember: unknown command '%s'\nTry 'ember --help'.\n", argv[1]);
	return 2;
}
