/*
 * ctl_http.c - mxctl's small HTTP/1.0 GET: the hub's metrics page and its
 * query endpoint
 *
 * One request per connection (HTTP/1.0: the server closes when done), a
 * timeout on connect, send and every read, and a bounded answer.
 * Trust: the answer comes from the network: the status line is parsed
 * strictly, the body is cut at CTL_HTTP_MAX bytes, and callers print it
 * or parse it as untrusted text.
 */
#include "feeds/ctl.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "lib/mx_alloc.h"
#include "lib/mx_err.h"
#include "lib/mx_parse.h"

/* ctl_http_enc - append s percent-encoded (RFC 3986 unreserved kept) */
static int
ctl_http_enc(char *out, size_t cap, size_t *o, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			if (*o + 1 >= cap)
				return MX_ETOOBIG;
			out[(*o)++] = (char)c;
		} else {
			if (*o + 3 >= cap)
				return MX_ETOOBIG;
			out[(*o)++] = '%';
			out[(*o)++] = hex[c >> 4];
			out[(*o)++] = hex[c & 15];
		}
	}
	out[*o] = '\0';
	return 0;
}

/* ctl_http_query - path?name=value&... with names and values encoded */
int
ctl_http_query(
    char *out, size_t cap, const char *path, const char *const *params)
{
	size_t o, i;
	int n = snprintf(out, cap, "%s", path);

	if (n < 0 || (size_t)n >= cap)
		return MX_ETOOBIG;
	o = (size_t)n;
	for (i = 0; params[i] != NULL && params[i + 1] != NULL; i += 2) {
		if (params[i + 1][0] == '\0')
			continue; /* not given */
		if (o + 2 >= cap)
			return MX_ETOOBIG;
		out[o] = o == (size_t)n ? '?' : '&';
		o++;
		if (ctl_http_enc(out, cap, &o, params[i]) != 0 || o + 2 >= cap)
			return MX_ETOOBIG;
		out[o++] = '=';
		if (ctl_http_enc(out, cap, &o, params[i + 1]) != 0)
			return MX_ETOOBIG;
	}
	out[o] = '\0';
	return 0;
}

/* ctl_http_parse - status code and body of a whole answer in buf */
int
ctl_http_parse(const char *buf, size_t len, int *status, size_t *body_off)
{
	const char *end;
	int code = 0, i;

	/* "HTTP/1.x NNN" */
	if (len < 12 || memcmp(buf, "HTTP/1.", 7) != 0 ||
	    (buf[7] != '0' && buf[7] != '1') || buf[8] != ' ')
		return MX_EPROTO;
	for (i = 9; i < 12; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return MX_EPROTO;
		code = code * 10 + (buf[i] - '0');
	}
	if (code < 100 || (len > 12 && buf[12] != ' ' && buf[12] != '\r'))
		return MX_EPROTO;
	end = memmem(buf, len, "\r\n\r\n", 4);
	if (end == NULL)
		return MX_EPROTO;
	*status = code;
	*body_off = (size_t)(end - buf) + 4;
	return 0;
}

/* ctl_http_get - GET target from hostport; see ctl.h */
int
ctl_http_get(const char *hostport, const char *target, const char *token,
    struct ctl_http_answer *ans, char *err, size_t errlen)
{
	struct addrinfo hints, *ai = NULL;
	struct timeval tv = {CTL_HTTP_TIMEOUT_S, 0};
	char host[256], port[8], *req = NULL;
	size_t len = 0, off, cap = CTL_HTTP_MAX + 1, rl;
	uint16_t p;
	ssize_t k;
	int fd = -1, rc = MX_EIO, n;

	memset(ans, 0, sizeof(*ans));
	if (mx_parse_hostport(
	        hostport, strlen(hostport), host, sizeof(host), &p) != 0) {
		snprintf(err, errlen, "'%.64s' is not HOST:PORT", hostport);
		return MX_EINVAL;
	}
	snprintf(port, sizeof(port), "%u", (unsigned)p);
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, port, &hints, &ai) != 0 || ai == NULL) {
		snprintf(err, errlen, "cannot resolve %s", host);
		goto out;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) != 0 ||
	    connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		snprintf(err, errlen, "%s: %s", hostport, strerror(errno));
		goto out;
	}
	rl = strlen(target) + strlen(host) + CTL_SECRET_MAX + 80;
	req = mx_malloc(rl);
	n = snprintf(req, rl, "GET %s HTTP/1.0\r\nHost: %s\r\n%s%s%s\r\n",
	    target, host, token[0] ? "Authorization: Bearer " : "", token,
	    token[0] ? "\r\n" : "");
	if (n < 0 || (size_t)n >= rl || write(fd, req, (size_t)n) != n) {
		snprintf(err, errlen, "%s: cannot send the request", hostport);
		goto out;
	}
	ans->buf = mx_malloc(cap);
	while (len < CTL_HTTP_MAX &&
	       (k = read(fd, ans->buf + len, CTL_HTTP_MAX - len)) > 0)
		len += (size_t)k;
	ans->buf[len] = '\0';
	if (ctl_http_parse(ans->buf, len, &ans->status, &off) != 0) {
		snprintf(err, errlen, "%s: no HTTP answer", hostport);
		goto out;
	}
	ans->body = ans->buf + off;
	ans->body_len = len - off;
	ans->is_cut = len == CTL_HTTP_MAX;
	rc = 0;
out:
	if (rc != 0) {
		mx_free(ans->buf);
		memset(ans, 0, sizeof(*ans));
	}
	mx_free(req);
	if (fd >= 0)
		close(fd);
	if (ai != NULL)
		freeaddrinfo(ai);
	return rc;
}

/* ctl_http_free - the answer's buffer */
void
ctl_http_free(struct ctl_http_answer *ans)
{
	mx_free(ans->buf);
	memset(ans, 0, sizeof(*ans));
}
