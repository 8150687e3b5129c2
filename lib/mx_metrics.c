/*
 * mx_metrics.c - Prometheus text exposition and the metrics endpoint
 * (see mx_metrics.h)
 */
#include "lib/mx_metrics.h"

#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "lib/mx_err.h"
#include "lib/mx_parse.h"

/* mx_metrics_family - the length of name's family (the part before '{') */
static size_t
mx_metrics_family(const char *name)
{
	return strcspn(name, "{");
}

/* mx_metrics_same - a and b belong to one family */
static int
mx_metrics_same(const char *a, const char *b)
{
	size_t n = mx_metrics_family(a);

	return n == mx_metrics_family(b) && strncmp(a, b, n) == 0;
}

/*
 * mx_metrics_render - each family once, in the order of its first entry:
 * its "# TYPE" line, then every entry of it wherever it sits in the table
 * (the text format wants one TYPE line and a family's lines together)
 */
void
mx_metrics_render(struct evbuffer *out, const struct mx_metric_def *defs,
    size_t n, mx_metrics_get_fn get)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		for (j = 0; j < i; j++)
			if (mx_metrics_same(defs[j].name, defs[i].name))
				break;
		if (j < i)
			continue; /* rendered with its family already */
		evbuffer_add_printf(out, "# TYPE %.*s %s\n",
		    (int)mx_metrics_family(defs[i].name), defs[i].name,
		    defs[i].type);
		for (j = i; j < n; j++)
			if (mx_metrics_same(defs[j].name, defs[i].name))
				evbuffer_add_printf(out, "%s %lld\n",
				    defs[j].name, (long long)get(j));
	}
}

/* mx_metrics_request - answer one HTTP request */
static void
mx_metrics_request(struct evhttp_request *req, void *arg)
{
	const struct mx_metrics_page *page = arg;
	const char *uri = evhttp_request_get_uri(req);
	struct evbuffer *out = evbuffer_new();
	struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);

	if (out == NULL) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		evhttp_send_error(req, 405, NULL);
	} else if (strcmp(uri, "/metrics") == 0) {
		page->render(out);
		evhttp_add_header(
		    hdr, "Content-Type", "text/plain; version=0.0.4");
		evhttp_send_reply(req, 200, "OK", out);
	} else if (strcmp(uri, "/healthz") == 0) {
		int draining = page->is_draining != NULL && page->is_draining();

		evbuffer_add_printf(out, "%s\n", draining ? "draining" : "ok");
		evhttp_add_header(hdr, "Content-Type", "text/plain");
		evhttp_send_reply(req, draining ? 503 : 200,
		    draining ? "Draining" : "OK", out);
	} else {
		evhttp_send_error(req, 404, NULL);
	}
	evbuffer_free(out);
}

/* mx_http_serve - a bounded evhttp server on addr */
struct evhttp *
mx_http_serve(struct event_base *base, const char *addr,
    void (*cb)(struct evhttp_request *, void *), void *arg, int *rc)
{
	struct evhttp *http;
	char host[64];
	uint16_t port;

	if (mx_parse_hostport(addr, strlen(addr), host, sizeof(host), &port) !=
	    0) {
		*rc = MX_EINVAL;
		return NULL;
	}
	if ((http = evhttp_new(base)) == NULL) {
		*rc = MX_EIO;
		return NULL;
	}
	evhttp_set_max_headers_size(http, MX_HTTP_HEADERS_MAX);
	evhttp_set_max_body_size(http, MX_HTTP_BODY_MAX);
	evhttp_set_timeout(http, MX_HTTP_TIMEOUT_S);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET);
	evhttp_set_gencb(http, cb, arg);
	if (evhttp_bind_socket(http, host, port) != 0) {
		evhttp_free(http);
		*rc = MX_EIO;
		return NULL;
	}
	*rc = 0;
	return http;
}

/* mx_metrics_serve - bind and answer */
struct evhttp *
mx_metrics_serve(struct event_base *base, const char *addr,
    const struct mx_metrics_page *page, int *rc)
{
	return mx_http_serve(base, addr, mx_metrics_request, (void *)page, rc);
}

/* mx_metrics_close - free the server */
void
mx_metrics_close(struct evhttp *http)
{
	if (http != NULL)
		evhttp_free(http);
}
