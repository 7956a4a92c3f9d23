/*
 * C++ and Rust (legacy and v0) demangling through libiberty's
 * cplus_demangle, which recognises all three styles on its own. Parameters
 * are kept for C++ ("ns::Foo<int>::bar(int)"), as perf and addr2line -C show
 * them; Rust legacy names lose their "::h<hash>" suffix.
 */
#include <libiberty/demangle.h>
#include <stdlib.h>

#include "sym_int.h"

char *sym_demangle(const char *name)
{
	/* Only names that look mangled: C names are most of them, and cheap to skip. */
	if (name[0] != '_' || (name[1] != 'Z' && name[1] != 'R' && name[1] != '_'))
		return NULL;
	return cplus_demangle(name, DMGL_PARAMS | DMGL_ANSI | DMGL_AUTO);
}
