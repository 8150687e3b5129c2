/*
 * mx_metrics.h - Prometheus text exposition and the /metrics, /healthz
 * endpoint every daemon serves
 *
 * A program keeps its counters in its own table (names with labels and a
 * type per entry, in the order of its enum); this module renders such a
 * table (one "# TYPE" line per metric family, families kept adjacent)
 * and serves it with libevent's evhttp on a base the program runs.
 * Trust: HTTP requests come from whoever reaches the address; evhttp
 * bounds headers (8 KiB) and bodies (1 KiB), times out idle connections
 * (10 s), and only GET of the two paths is answered.
 */
#ifndef MX_METRICS_H
#define MX_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;
struct event_base;
struct evhttp;

/* one metric of a table: "name{labels}" and "counter" or "gauge" */
struct mx_metric_def {
	const char *name;
	const char *type;
};

/* the value of entry i of a table */
typedef int64_t (*mx_metrics_get_fn)(size_t i);

/*
 * mx_metrics_render - append the n entries of defs with their values,
 * grouped by family (the name before '{'): one "# TYPE" line per family,
 * then all of its entries, families in the order they first appear
 */
void mx_metrics_render(struct evbuffer *out, const struct mx_metric_def *defs,
    size_t n, mx_metrics_get_fn get);

/* what the endpoint asks the program */
struct mx_metrics_page {
	void (*render)(struct evbuffer *out); /* the /metrics body */
	int (*is_draining)(void); /* 1: /healthz answers 503 draining */
};

/*
 * mx_metrics_serve - bind HOST:PORT ("[v6]:port" too) on base and answer
 * /metrics and /healthz from page (borrowed until mx_metrics_close).
 * Returns the server, or NULL (bad address: *rc = MX_EINVAL; cannot
 * bind: MX_EIO).
 */
struct evhttp *mx_metrics_serve(struct event_base *base, const char *addr,
    const struct mx_metrics_page *page, int *rc);
/*
 * mx_http_serve - the bounded HTTP server every endpoint of ours uses:
 * bind HOST:PORT on base, answer GET only (others 405), headers at most
 * MX_HTTP_HEADERS_MAX bytes, bodies MX_HTTP_BODY_MAX, idle connections
 * closed after MX_HTTP_TIMEOUT_S; every request goes to cb(req, arg).
 * Returns the server or NULL (*rc: MX_EINVAL bad address, MX_EIO cannot
 * bind). Free with mx_metrics_close.
 */
#define MX_HTTP_HEADERS_MAX 8192
#define MX_HTTP_BODY_MAX 1024
#define MX_HTTP_TIMEOUT_S 10
struct evhttp_request;
struct evhttp *mx_http_serve(struct event_base *base, const char *addr,
    void (*cb)(struct evhttp_request *, void *), void *arg, int *rc);

/* mx_metrics_close - free the server; NULL does nothing */
void mx_metrics_close(struct evhttp *http);

#endif /* MX_METRICS_H */
