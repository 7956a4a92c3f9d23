/*
 * The HTTP server (include/ember/web.h): libmicrohttpd with a small thread
 * pool, one read-only store connection per worker, the embedded UI (or a
 * folder of it for development) and the JSON API (api.c).
 *
 * Safety: a non-loopback address needs a token (Authorization: Bearer, or
 * ?token= once, which sets a cookie); on loopback without a token, requests
 * must name a loopback Host (so a web page cannot reach the API through DNS
 * rebinding). Only GET and HEAD are served, request headers are bounded by
 * libmicrohttpd's per-connection memory limit, static paths come from the
 * asset table (or pass web__static_path_ok and stay beneath --web-root), and
 * HTML is served with a Content-Security-Policy that allows no inline script.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "ember/log.h"
#include "ember/storage.h"
#include "ember/web.h"
#include "ember/assets.h"
#include "mime.h"
#include "web_int.h"

#define TOKEN_MIN	16
#define TOKEN_MAX	256
#define TOKEN_COOKIE	"ember_token"
#define MAX_THREADS	16
#define MAX_CONNECTIONS 64
#define CONN_MEMORY	(64 * 1024)
#define MAX_STATIC_FILE (16 << 20)
#define GZIP_MIN	1024

static const char csp_html[] = "default-src 'none'; script-src 'self'; style-src 'self'; "
			       "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "
			       "form-action 'none'; frame-ancestors 'none'";

struct web_server {
	struct MHD_Daemon *mhd;
	unsigned int port;
	char addr[INET6_ADDRSTRLEN + 2]; /* bound address, IPv6 in brackets */
	bool loopback;
	char token[TOKEN_MAX + 1];
	size_t token_len;
	char *db_path;
	int root_fd; /* --web-root, or -1 */
	char host[256];

	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct store **idle; /* connections not in use */
	size_t nr_idle, nr_open, max_open;
};

/* ---- options ------------------------------------------------------------------ */

static void set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* "ADDR:PORT", "[V6]:PORT", "localhost:PORT", ":PORT" -> a socket address. */
static int parse_listen(const char *s, struct sockaddr_storage *ss, socklen_t *len, bool *loopback)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *h;
	unsigned long port;
	size_t hl;
	char *end;

	memset(ss, 0, sizeof(*ss));
	if (s[0] == '[') {
		colon = strstr(s, "]:");
		if (!colon)
			return -EINVAL;
		h = s + 1;
		hl = (size_t)(colon - h);
		colon++;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		h = s;
		hl = (size_t)(colon - s);
	}
	if (hl >= sizeof(host) || !colon[1])
		return -EINVAL;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (errno || *end || port > 65535 || colon[1] < '0' || colon[1] > '9')
		return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (!hl || !strcmp(host, "localhost"))
		strcpy(host, "127.0.0.1");
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1 && s[0] != '[') {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		*len = sizeof(*in4);
		*loopback = in4->sin_addr.s_addr == htonl(INADDR_LOOPBACK);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*in6);
		*loopback = IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
		return 0;
	}
	return -EINVAL;
}

/* The token file's first line, which must be 16-256 printable characters without spaces. */
static int read_token(struct web_server *ws, const char *path, char *err, size_t errlen)
{
	char buf[TOKEN_MAX + 3];
	size_t n, i;
	FILE *f;

	f = fopen(path, "re");
	if (!f) {
		int e = errno;

		set_err(err, errlen, "cannot read the token file %s: %s", path, strerror(e));
		return -e;
	}
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	n = strlen(buf);
	for (i = 0; i < n; i++)
		if (buf[i] <= ' ' || buf[i] > '~' || buf[i] == ';' || buf[i] == ',')
			break;
	if (n < TOKEN_MIN || n > TOKEN_MAX || i < n) {
		set_err(err, errlen,
			"the token in %s must be %d to %d printable characters without spaces, "
			"';' or ',' on the first line (e.g. `head -c 32 /dev/urandom | base64 > "
			"%s`)",
			path, TOKEN_MIN, TOKEN_MAX, path);
		return -EINVAL;
	}
	memcpy(ws->token, buf, n + 1);
	ws->token_len = n;
	return 0;
}

static int bind_socket(const struct sockaddr_storage *ss, socklen_t len, const char *listen_s,
		       char *err, size_t errlen)
{
	int fd, one = 1, e;

	fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		e = errno;
		set_err(err, errlen, "cannot create a socket: %s", strerror(e));
		return -e;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, len) || listen(fd, 64)) {
		e = errno;
		set_err(err, errlen, "cannot listen on %s: %s%s", listen_s, strerror(e),
			e == EADDRINUSE	     ? " (another server uses that port: pick another with "
					       "--listen ADDR:PORT)"
			: e == EADDRNOTAVAIL ? " (no interface of this machine has that address)"
					     : "");
		close(fd);
		return -e;
	}
	return fd;
}

/* ---- store connections ------------------------------------------------------------- */

static struct store *pool__get(struct web_server *ws)
{
	struct store_open_opts o = {0};
	struct store *st = NULL;
	char err[256];

	pthread_mutex_lock(&ws->lock);
	while (!ws->nr_idle && ws->nr_open >= ws->max_open)
		pthread_cond_wait(&ws->cond, &ws->lock);
	if (ws->nr_idle) {
		st = ws->idle[--ws->nr_idle];
		pthread_mutex_unlock(&ws->lock);
		return st;
	}
	ws->nr_open++;
	pthread_mutex_unlock(&ws->lock);

	st = store__open(ws->db_path, &o, err, sizeof(err));
	if (!st) {
		pr_warn("web: cannot open %s: %s", ws->db_path, err);
		pthread_mutex_lock(&ws->lock);
		ws->nr_open--;
		pthread_cond_signal(&ws->cond);
		pthread_mutex_unlock(&ws->lock);
	}
	return st;
}

static void pool__put(struct web_server *ws, struct store *st)
{
	pthread_mutex_lock(&ws->lock);
	ws->idle[ws->nr_idle++] = st;
	pthread_cond_signal(&ws->cond);
	pthread_mutex_unlock(&ws->lock);
}

/* ---- responses ------------------------------------------------------------------- */

static bool accepts_gzip(struct MHD_Connection *c)
{
	const char *ae = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept-Encoding");

	return ae && strstr(ae, "gzip");
}

/* Gzips @len bytes of @data into a new buffer; NULL if it does not pay or fails. */
static void *gzip(const void *data, size_t len, size_t *out_len)
{
	z_stream z = {0};
	size_t cap;
	void *out;

	if (len < GZIP_MIN || len > UINT_MAX / 2)
		return NULL;
	if (deflateInit2(&z, 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		return NULL;
	cap = deflateBound(&z, (uLong)len);
	out = malloc(cap);
	if (!out) {
		deflateEnd(&z);
		return NULL;
	}
	z.next_in = (Bytef *)data;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END || z.total_out >= len) {
		deflateEnd(&z);
		free(out);
		return NULL;
	}
	*out_len = z.total_out;
	deflateEnd(&z);
	return out;
}

static void common_headers(struct MHD_Response *resp, const char *type)
{
	MHD_add_response_header(resp, "Content-Type", type);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	if (!strncmp(type, "text/html", 9))
		MHD_add_response_header(resp, "Content-Security-Policy", csp_html);
}

/*
 * Queues @len bytes of @body (@owned: malloc'ed and taken over, else static)
 * with @status. Bodies over GZIP_MIN are gzipped for clients that accept it.
 */
static enum MHD_Result send_body(struct MHD_Connection *c, unsigned int status, const char *type,
				 void *body, size_t len, bool owned, const char *cache,
				 const char *filename)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;
	size_t zlen = 0;
	char disp[160];
	void *z = NULL;

	if (accepts_gzip(c))
		z = gzip(body, len, &zlen);
	if (z) {
		if (owned)
			free(body);
		body = z;
		len = zlen;
		owned = true;
	}
	resp = MHD_create_response_from_buffer(
		len, body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		if (owned)
			free(body);
		return MHD_NO;
	}
	common_headers(resp, type);
	MHD_add_response_header(resp, "Cache-Control", cache);
	MHD_add_response_header(resp, "Vary", "Accept-Encoding");
	if (z)
		MHD_add_response_header(resp, "Content-Encoding", "gzip");
	if (filename && *filename) {
		snprintf(disp, sizeof(disp), "attachment; filename=\"%s\"", filename);
		MHD_add_response_header(resp, "Content-Disposition", disp);
	}
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned int status, const char *msg)
{
	return send_body(c, status, "text/plain; charset=utf-8", (void *)msg, strlen(msg), false,
			 "no-store", NULL);
}

static enum MHD_Result send_reply(struct MHD_Connection *c, struct web_reply *r)
{
	enum MHD_Result ret;

	if (!r->body)
		return send_text(c, 503, "out of memory\n");
	ret = send_body(c, r->status, r->type, r->body, r->len, true, "no-store", r->filename);
	r->body = NULL;
	return ret;
}

/* ---- static files ----------------------------------------------------------------- */

/* Reads @path beneath the web root (no escape through "..", symlinks or /proc magic links). */
static enum MHD_Result send_disk_file(struct web_server *ws, struct MHD_Connection *c,
				      const char *path)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	const char *mime = web_mime__of(path);
	struct stat sb;
	ssize_t got;
	char *buf;
	int fd;

	if (!mime)
		return send_text(c, 404, "not found\n");
	fd = (int)syscall(SYS_openat2, ws->root_fd, path, &how, sizeof(how));
	if (fd < 0)
		return send_text(c, 404, "not found\n");
	if (fstat(fd, &sb) || !S_ISREG(sb.st_mode) || sb.st_size > MAX_STATIC_FILE) {
		close(fd);
		return send_text(c, 404, "not found\n");
	}
	buf = malloc((size_t)sb.st_size + 1);
	if (!buf) {
		close(fd);
		return send_text(c, 503, "out of memory\n");
	}
	got = read(fd, buf, (size_t)sb.st_size);
	close(fd);
	if (got != sb.st_size) {
		free(buf);
		return send_text(c, 500, "read error\n");
	}
	return send_body(c, 200, mime, buf, (size_t)got, true, "no-cache", NULL);
}

static enum MHD_Result send_static(struct web_server *ws, struct MHD_Connection *c, const char *url)
{
	const struct web_asset *a;
	const char *path = url + 1;

	if (!*path)
		path = "index.html";
	if (!web__static_path_ok(path))
		return send_text(c, 404, "not found\n");
	if (ws->root_fd >= 0)
		return send_disk_file(ws, c, path);
	a = web_asset__find(path);
	if (!a)
		return send_text(c, 404, "not found\n");
	return send_body(c, 200, a->mime, (void *)a->data, a->len, false, "no-cache", NULL);
}

/* ---- auth ------------------------------------------------------------------------- */

static bool token_eq(const struct web_server *ws, const char *s)
{
	size_t n, i;
	unsigned char d = 0;

	if (!s)
		return false;
	n = strlen(s);
	if (n != ws->token_len)
		return false;
	for (i = 0; i < n; i++)
		d |= (unsigned char)(s[i] ^ ws->token[i]);
	return !d;
}

/* Host header of a loopback-only server: 127.0.0.1, localhost or [::1], any port. */
static bool host_ok(const char *host)
{
	static const char *const names[] = {"127.0.0.1", "localhost", "[::1]"};
	size_t i, n;

	if (!host)
		return true; /* HTTP/1.0 */
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		n = strlen(names[i]);
		if (!strncasecmp(host, names[i], n) && (!host[n] || host[n] == ':'))
			return true;
	}
	return false;
}

/*
 * Returns 1 when the request may go on, or 0 after queueing a refusal (or the
 * redirect that turns ?token= into a cookie) in *@ret.
 */
static int authorize(struct web_server *ws, struct MHD_Connection *c, const char *url,
		     enum MHD_Result *ret)
{
	const char *auth, *tok, *host;
	struct MHD_Response *resp;
	char cookie[TOKEN_MAX + 96];

	if (!ws->token_len) {
		host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
		if (host_ok(host))
			return 1;
		*ret = send_text(c, 403,
				 "Host not allowed: this server answers to 127.0.0.1, localhost "
				 "and [::1] only\n");
		return 0;
	}
	auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
	if (auth && !strncasecmp(auth, "Bearer ", 7) && token_eq(ws, auth + 7))
		return 1;
	if (token_eq(ws, MHD_lookup_connection_value(c, MHD_COOKIE_KIND, TOKEN_COOKIE)))
		return 1;
	tok = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token");
	if (token_eq(ws, tok)) {
		/* Once in the URL: move it into a cookie and drop it from the address bar. */
		resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
		if (!resp) {
			*ret = MHD_NO;
			return 0;
		}
		snprintf(cookie, sizeof(cookie),
			 TOKEN_COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict", ws->token);
		MHD_add_response_header(resp, "Set-Cookie", cookie);
		MHD_add_response_header(resp, "Location",
					web__static_path_ok(url + 1) || !strcmp(url, "/") ? url
											  : "/");
		MHD_add_response_header(resp, "Cache-Control", "no-store");
		MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
		*ret = MHD_queue_response(c, MHD_HTTP_SEE_OTHER, resp);
		MHD_destroy_response(resp);
		return 0;
	}
	*ret = send_text(c, 401,
			 "unauthorized: send 'Authorization: Bearer TOKEN', or open this page once "
			 "as /?token=TOKEN (the token is in the server's --auth-token-file)\n");
	return 0;
}

/* ---- requests ---------------------------------------------------------------------- */

struct arg_collect {
	struct web_arg args[WEB_MAX_ARGS];
	size_t n;
	bool too_many, too_long;
};

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				   const char *value)
{
	struct arg_collect *ac = cls;

	if (!strcmp(key, "token"))
		return MHD_YES;
	if (ac->n >= WEB_MAX_ARGS) {
		ac->too_many = true;
		return MHD_NO;
	}
	if (strlen(key) > 64 || (value && strlen(value) > WEB_MAX_ARG_LEN))
		ac->too_long = true;
	ac->args[ac->n].key = key;
	ac->args[ac->n].value = value ? value : "";
	ac->n++;
	return MHD_YES;
}

static uint64_t wall_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static enum MHD_Result serve_api(struct web_server *ws, struct MHD_Connection *c,
				 const char *endpoint)
{
	struct web_api_ctx ctx = {.host = ws->host, .db_path = ws->db_path};
	struct arg_collect ac = {.n = 0};
	struct web_reply r = {0};
	enum MHD_Result ret;

	MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_arg, &ac);
	if (ac.too_many || ac.too_long) {
		web_reply__error(&r, 400, "too many or too long query parameters");
		return send_reply(c, &r);
	}
	ctx.st = pool__get(ws);
	if (!ctx.st) {
		web_reply__error(&r, 503, "cannot open the database %s", ws->db_path);
		return send_reply(c, &r);
	}
	ctx.now_ns = wall_ns();
	web_api__handle(&ctx, endpoint, ac.args, ac.n, &r);
	pool__put(ws, ctx.st);
	ret = send_reply(c, &r);
	web_reply__free(&r);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **req_cls)
{
	struct web_server *ws = cls;
	enum MHD_Result ret;
	struct MHD_Response *resp;

	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		resp = MHD_create_response_from_buffer(strlen("only GET and HEAD\n"),
						       (void *)"only GET and HEAD\n",
						       MHD_RESPMEM_PERSISTENT);
		if (!resp)
			return MHD_NO;
		MHD_add_response_header(resp, "Allow", "GET, HEAD");
		ret = MHD_queue_response(c, MHD_HTTP_METHOD_NOT_ALLOWED, resp);
		MHD_destroy_response(resp);
		return ret;
	}
	if (*upload_data_size)
		return send_text(c, 413, "request bodies are not accepted\n");
	if (!authorize(ws, c, url, &ret))
		return ret;
	if (!strncmp(url, "/api/v1/", 8))
		return serve_api(ws, c, url + 8);
	if (!strncmp(url, "/api/", 5) || !strcmp(url, "/api"))
		return send_text(c, 404, "not found: the API is under /api/v1/\n");
	return send_static(ws, c, url);
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decodes %HH in paths and query arguments, in place. A decoded NUL would cut
 * the string short ("/index.html%00.js" read as "/index.html"), so it becomes
 * DEL instead, which no path or parameter accepts.
 */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
	char *w = s, *r = s;
	int hi, lo;

	while (*r) {
		if (r[0] == '%' && (hi = hex_value(r[1])) >= 0 && (lo = hex_value(r[2])) >= 0) {
			*w = (char)(hi << 4 | lo);
			if (!*w)
				*w = 0x7f;
			w++;
			r += 3;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	pr_debug("web: %s", msg);
}

/* ---- start and stop ------------------------------------------------------------------ */

static int open_root(struct web_server *ws, const char *root, char *err, size_t errlen)
{
	struct open_how how = {.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
			       .resolve = RESOLVE_BENEATH};
	int fd, probe, e;

	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		e = errno;
		set_err(err, errlen, "--web-root %s: %s", root, strerror(e));
		return -e;
	}
	/* openat2 is what keeps paths beneath the root: refuse to run without it. */
	probe = (int)syscall(SYS_openat2, fd, ".", &how, sizeof(how));
	if (probe < 0) {
		e = errno;
		close(fd);
		set_err(err, errlen, "--web-root needs openat2() (Linux 5.6 or later): %s",
			strerror(e));
		return -e;
	}
	close(probe);
	ws->root_fd = fd;
	return 0;
}

static void free_server(struct web_server *ws)
{
	size_t i;

	for (i = 0; i < ws->nr_idle; i++)
		store__close(ws->idle[i]);
	free(ws->idle);
	if (ws->root_fd >= 0)
		close(ws->root_fd);
	pthread_cond_destroy(&ws->cond);
	pthread_mutex_destroy(&ws->lock);
	free(ws->db_path);
	free(ws);
}

static int first_connection(struct web_server *ws, char *err, size_t errlen)
{
	struct store_open_opts o = {0};
	struct store *st;
	char msg[512];

	msg[0] = '\0';
	st = store__open(ws->db_path, &o, msg, sizeof(msg));
	if (!st) {
		int e = errno ? errno : EIO;

		set_err(err, errlen, "%s", msg[0] ? msg : strerror(e));
		return -e;
	}
	ws->idle[ws->nr_idle++] = st;
	ws->nr_open = 1;
	return 0;
}

static void describe_bound(struct web_server *ws, const struct sockaddr_storage *ss)
{
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
	const struct sockaddr_in *in4 = (const struct sockaddr_in *)ss;
	char buf[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET6) {
		ws->port = ntohs(in6->sin6_port);
		if (inet_ntop(AF_INET6, &in6->sin6_addr, buf, sizeof(buf)))
			snprintf(ws->addr, sizeof(ws->addr), "[%s]", buf);
	} else {
		ws->port = ntohs(in4->sin_port);
		if (inet_ntop(AF_INET, &in4->sin_addr, buf, sizeof(buf)))
			snprintf(ws->addr, sizeof(ws->addr), "%s", buf);
	}
}

static struct web_server *fail(struct web_server *ws, int fd, int e)
{
	if (fd >= 0)
		close(fd);
	if (ws)
		free_server(ws);
	errno = e;
	return NULL;
}

struct web_server *web_server__start(const struct web_options *opts, char *err, size_t errlen)
{
	const char *listen_s = opts && opts->listen ? opts->listen : WEB_DEFAULT_LISTEN;
	struct sockaddr_storage ss, bound;
	socklen_t len, blen = sizeof(bound);
	struct web_server *ws;
	unsigned int threads;
	int fd = -1, e;

	if (!opts || !opts->db_path) {
		set_err(err, errlen, "no database given");
		return fail(NULL, -1, EINVAL);
	}
	ws = calloc(1, sizeof(*ws));
	if (!ws) {
		set_err(err, errlen, "out of memory");
		return fail(NULL, -1, ENOMEM);
	}
	ws->root_fd = -1;
	pthread_mutex_init(&ws->lock, NULL);
	pthread_cond_init(&ws->cond, NULL);
	if (!strcmp(listen_s, "none") || parse_listen(listen_s, &ss, &len, &ws->loopback)) {
		set_err(err, errlen,
			"bad listen address '%s': use ADDR:PORT with a numeric address "
			"(127.0.0.1:7070, [::1]:7070, 0.0.0.0:7070) or localhost:PORT",
			listen_s);
		return fail(ws, -1, EINVAL);
	}
	if (opts->auth_token_file) {
		e = read_token(ws, opts->auth_token_file, err, errlen);
		if (e)
			return fail(ws, -1, -e);
	} else if (!ws->loopback) {
		set_err(err, errlen,
			"refusing to serve on %s without a token: only 127.0.0.1, ::1 and "
			"localhost are served without one; give --auth-token-file FILE",
			listen_s);
		return fail(ws, -1, EINVAL);
	}
	threads = opts->threads ? opts->threads : 2;
	if (threads > MAX_THREADS)
		threads = MAX_THREADS;
	ws->max_open = threads;
	ws->idle = calloc(threads, sizeof(*ws->idle));
	ws->db_path = strdup(opts->db_path);
	if (!ws->idle || !ws->db_path) {
		set_err(err, errlen, "out of memory");
		return fail(ws, -1, ENOMEM);
	}
	if (gethostname(ws->host, sizeof(ws->host) - 1))
		strcpy(ws->host, "unknown");
	if (opts->web_root) {
		e = open_root(ws, opts->web_root, err, errlen);
		if (e)
			return fail(ws, -1, -e);
	}
	e = first_connection(ws, err, errlen);
	if (e)
		return fail(ws, -1, -e);
	fd = bind_socket(&ss, len, listen_s, err, errlen);
	if (fd < 0)
		return fail(ws, -1, -fd);
	if (!getsockname(fd, (struct sockaddr *)&bound, &blen))
		describe_bound(ws, &bound);

	ws->mhd = MHD_start_daemon(
		MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, handle, ws,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, ws, MHD_OPTION_LISTEN_SOCKET, fd,
		MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned int)MAX_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)30,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
		MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL, MHD_OPTION_END);
	if (!ws->mhd) {
		set_err(err, errlen, "cannot start the HTTP server on %s", listen_s);
		return fail(ws, fd, EIO);
	}
	return ws;
}

unsigned int web_server__port(const struct web_server *ws)
{
	return ws ? ws->port : 0;
}

const char *web_server__host(const struct web_server *ws)
{
	return ws ? ws->addr : "";
}

void web_server__stop(struct web_server *ws)
{
	if (!ws)
		return;
	/* Waits for the worker threads, which return their connections to the pool. */
	MHD_stop_daemon(ws->mhd);
	free_server(ws);
}
