/*
 * Finding a binary's debug info outside it.
 *
 *   - by build-id: <dir>/.build-id/ab/cdef....debug for each debug dir
 *     (default /usr/lib/debug), where distributions install -dbg packages;
 *   - by .gnu_debuglink: the named file beside the binary, in its .debug/
 *     subdirectory, and under <dir>/<binary's directory>/ for each debug dir;
 *   - through debuginfod (libdebuginfod, dlopen'ed so ember does not depend on
 *     it) when the user turned it on: DEBUGINFOD_URLS says where to ask;
 *   - MiniDebugInfo: an xz-compressed ELF in .gnu_debugdata holding the
 *     .symtab entries that .dynsym lacks (Fedora, some others).
 *
 * A candidate file is used only when its build-id equals the binary's, or,
 * when the binary has none, its CRC-32 equals the one in the debuglink.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <lzma.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "ember/log.h"
#include "sym_int.h"

#define MINIDEBUG_MAX (64u << 20) /* decompressed size limit */

static const char *const default_debug_dirs[] = {"/usr/lib/debug", NULL};

int sym_debug__crc32_fd(int fd, uint32_t *out)
{
	unsigned char buf[65536];
	uLong crc = crc32(0, NULL, 0);
	off_t off = 0;
	ssize_t n;

	while ((n = pread(fd, buf, sizeof(buf), off)) > 0) {
		crc = crc32(crc, buf, (uInt)n);
		off += n;
	}
	if (n < 0)
		return -errno;
	*out = (uint32_t)crc;
	return 0;
}

/* Opens @path and checks it is the debug file of @info; 0 or -errno. */
static int debug__try(const struct sym_elf_info *info, const char *path, bool check_crc, int *fd,
		      Elf **elf)
{
	struct sym_elf_info dinfo;
	uint32_t crc;
	int err;

	err = sym_elf__begin(path, fd, elf);
	if (err)
		return err;
	err = sym_elf__info(*elf, &dinfo);
	if (err)
		goto out_fail;
	if (info->build_id_len) {
		if (dinfo.build_id_len != info->build_id_len ||
		    memcmp(dinfo.build_id, info->build_id, info->build_id_len)) {
			err = -ENOENT;
			goto out_fail;
		}
	} else if (check_crc) {
		err = sym_debug__crc32_fd(*fd, &crc);
		if (!err && crc != info->debuglink_crc)
			err = -ENOENT;
		if (err)
			goto out_fail;
	}
	/* A debug file worth having has DWARF or at least a symbol table. */
	if (!dinfo.has_dwarf && !dinfo.has_symtab) {
		err = -ENOENT;
		goto out_fail;
	}
	pr_debug("symbolizer: debug file %s", path);
	return 0;

out_fail:
	elf_end(*elf);
	close(*fd);
	*elf = NULL;
	*fd = -1;
	return err;
}

/* Through libdebuginfod, loaded on first use; 0 or -ENOENT. */
static int debug__debuginfod(const struct sym_elf_info *info, int *fd, Elf **elf)
{
	typedef void *(*begin_fn)(void);
	typedef int (*find_fn)(void *, const unsigned char *, int, char **);
	static void *lib, *client;
	static begin_fn begin;
	static find_fn find;
	static bool tried;
	char *path = NULL;
	int dfd, err;

	if (!tried) {
		tried = true;
		lib = dlopen("libdebuginfod.so.1", RTLD_NOW | RTLD_LOCAL);
		if (!lib) {
			pr_warn("--debuginfod: cannot load libdebuginfod.so.1 (install "
				"libdebuginfod1): %s",
				dlerror());
			return -ENOENT;
		}
		begin = (begin_fn)dlsym(lib, "debuginfod_begin");
		find = (find_fn)dlsym(lib, "debuginfod_find_debuginfo");
		client = begin ? begin() : NULL;
		if (!client || !find) {
			pr_warn("--debuginfod: libdebuginfod.so.1 is unusable");
			client = NULL;
		}
		if (!getenv("DEBUGINFOD_URLS") || !*getenv("DEBUGINFOD_URLS"))
			pr_warn("--debuginfod: DEBUGINFOD_URLS is not set; no server to ask");
	}
	if (!client || !info->build_id_len)
		return -ENOENT;
	dfd = find(client, info->build_id, (int)info->build_id_len, &path);
	if (dfd < 0)
		return -ENOENT;
	close(dfd);
	err = path ? debug__try(info, path, false, fd, elf) : -ENOENT;
	free(path);
	return err;
}

int sym_debug__find(const struct sym_debug_opts *o, const struct sym_elf_info *info,
		    const char *bin_path, int *fd, Elf **elf)
{
	const char *const *dirs = o && o->debug_dirs ? o->debug_dirs : default_debug_dirs;
	char path[4096], hex[2 * SYM_BUILD_ID_MAX + 1], bindir[4096];
	const char *slash;
	int i, n;

	if (info->build_id_len >= 2) {
		sym_elf__build_id_hex(info, hex);
		for (i = 0; dirs[i]; i++) {
			n = snprintf(path, sizeof(path), "%s/.build-id/%.2s/%s.debug", dirs[i], hex,
				     hex + 2);
			if (n > 0 && (size_t)n < sizeof(path) &&
			    !debug__try(info, path, false, fd, elf))
				return 0;
		}
	}
	slash = bin_path ? strrchr(bin_path, '/') : NULL;
	if (info->debuglink[0] && slash) {
		snprintf(bindir, sizeof(bindir), "%.*s", (int)(slash - bin_path), bin_path);
		n = snprintf(path, sizeof(path), "%s/%s", bindir, info->debuglink);
		/* Not the binary itself: a debuglink may name its own file. */
		if (n > 0 && (size_t)n < sizeof(path) && strcmp(path, bin_path) &&
		    !debug__try(info, path, true, fd, elf))
			return 0;
		n = snprintf(path, sizeof(path), "%s/.debug/%s", bindir, info->debuglink);
		if (n > 0 && (size_t)n < sizeof(path) && !debug__try(info, path, true, fd, elf))
			return 0;
		for (i = 0; dirs[i]; i++) {
			n = snprintf(path, sizeof(path), "%s%s/%s", dirs[i], bindir,
				     info->debuglink);
			if (n > 0 && (size_t)n < sizeof(path) &&
			    !debug__try(info, path, true, fd, elf))
				return 0;
		}
	}
	if (o && o->debuginfod && !debug__debuginfod(info, fd, elf))
		return 0;
	return -ENOENT;
}

int sym_debug__minidebuginfo(Elf *elf, char **bufp, Elf **out)
{
	lzma_stream strm = LZMA_STREAM_INIT;
	size_t cap = 1 << 16;
	Elf_Data *d;
	char *buf;
	lzma_ret ret;
	int err;

	d = sym_elf__section(elf, ".gnu_debugdata");
	if (!d || !d->d_buf || !d->d_size)
		return -ENOENT;
	if (lzma_stream_decoder(&strm, MINIDEBUG_MAX, 0) != LZMA_OK)
		return -ENOMEM;
	buf = malloc(cap);
	if (!buf) {
		err = -ENOMEM;
		goto out_end;
	}
	strm.next_in = d->d_buf;
	strm.avail_in = d->d_size;
	strm.next_out = (uint8_t *)buf;
	strm.avail_out = cap;
	for (;;) {
		ret = lzma_code(&strm, LZMA_FINISH);
		if (ret == LZMA_STREAM_END)
			break;
		if (ret != LZMA_OK && ret != LZMA_BUF_ERROR) {
			err = ret == LZMA_MEM_ERROR ? -ENOMEM : -EINVAL;
			goto out_free;
		}
		if (strm.avail_out) {
			err = -EINVAL; /* truncated input */
			goto out_free;
		}
		if (cap >= MINIDEBUG_MAX) {
			err = -E2BIG;
			goto out_free;
		}
		{
			char *nb = realloc(buf, cap * 2);

			if (!nb) {
				err = -ENOMEM;
				goto out_free;
			}
			buf = nb;
		}
		strm.next_out = (uint8_t *)buf + cap;
		strm.avail_out = cap;
		cap *= 2;
	}
	*out = elf_memory(buf, strm.total_out);
	if (!*out || elf_kind(*out) != ELF_K_ELF) {
		if (*out)
			elf_end(*out);
		err = -EINVAL;
		goto out_free;
	}
	*bufp = buf;
	lzma_end(&strm);
	return 0;

out_free:
	free(buf);
out_end:
	lzma_end(&strm);
	return err;
}
