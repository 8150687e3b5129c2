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

/* mx_metrics_render - TYPE lines per family, then name and value */
void
mx_metrics_render(struct evbuffer *out, const struct mx_metric_def *defs,
    size_t n, mx_metrics_get_fn get)
{
	const char *last = "";
	size_t i;

	for (i = 0; i < n; i++) {
		const char *name = defs[i].name;
		size_t base = strcspn(name, "{");

		if (strncmp(last, name, base) != 0 ||
		    (last[base] != '{' && last[base] != '\0'))
			evbuffer_add_printf(out, "# TYPE %.*s %s\n", (int)base,
			    name, defs[i].type);
		last = name;
		evbuffer_add_printf(out, "%s %lld\n", name, (long long)get(i));
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

/* mx_metrics_serve - bind and answer */
struct evhttp *
mx_metrics_serve(struct event_base *base, const char *addr,
    const struct mx_metrics_page *page, int *rc)
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
	evhttp_set_max_headers_size(http, 8192);
	evhttp_set_max_body_size(http, 1024);
	evhttp_set_timeout(http, 10);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET);
	evhttp_set_gencb(http, mx_metrics_request, (void *)page);
	if (evhttp_bind_socket(http, host, port) != 0) {
		evhttp_free(http);
		*rc = MX_EIO;
		return NULL;
	}
	*rc = 0;
	return http;
}

/* mx_metrics_close - free the server */
void
mx_metrics_close(struct evhttp *http)
{
	if (http != NULL)
		evhttp_free(http);
}
