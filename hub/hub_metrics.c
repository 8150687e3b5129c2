/*
 * hub_metrics.c - mxhub's counters and its /metrics, /healthz endpoint
 *
 * The hub is one thread, so counters are plain integers; the endpoint is
 * an evhttp server on the hub's own loop. Names follow the edge's
 * (Prometheus text format, mxhub_ prefix).
 * Trust: requests come from whoever reaches the metrics address; evhttp
 * bounds headers and bodies and only GET of two paths is answered.
 */
#include "hub/hub.h"

#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "lib/mx_err.h"
#include "lib/mx_metrics.h"

static int64_t hub_metrics_ctr[HUB_M__COUNT];
static struct evhttp *hub_metrics_http;

/* name with labels and type of each counter, in enum hub_metric order */
static const struct mx_metric_def hub_metrics_names[HUB_M__COUNT] = {
    [HUB_M_TEL_BATCHES] = {"mxhub_telemetry_batches_total", "counter"},
    [HUB_M_TEL_EVENTS] = {"mxhub_telemetry_events_total", "counter"},
    [HUB_M_TEL_DROPPED] = {"mxhub_telemetry_edge_dropped_total", "counter"},
    [HUB_M_TEL_DUP] = {"mxhub_telemetry_duplicates_total", "counter"},
    [HUB_M_BAD_TOPIC] = {"mxhub_refused_total{reason=\"topic\"}", "counter"},
    [HUB_M_BAD_TELEMETRY] = {"mxhub_refused_total{reason=\"telemetry\"}",
        "counter"},
    [HUB_M_BAD_FEED] = {"mxhub_refused_total{reason=\"feed_malformed\"}",
        "counter"},
    [HUB_M_FEED_FORGED] = {"mxhub_refused_total{reason=\"feed_forged\"}",
        "counter"},
    [HUB_M_FEED_UNTRUSTED] = {"mxhub_refused_total{reason=\"feed_untrusted\"}",
        "counter"},
    [HUB_M_FEED_REPLAY] = {"mxhub_refused_total{reason=\"feed_replay\"}",
        "counter"},
    [HUB_M_FEED_ACCEPTED] = {"mxhub_feed_submissions_total", "counter"},
    [HUB_M_FEED_RECORDS] = {"mxhub_records_changed_total{by=\"feed\"}",
        "counter"},
    [HUB_M_RULE_RECORDS] = {"mxhub_records_changed_total{by=\"rule\"}",
        "counter"},
    [HUB_M_CTR_FULL] = {"mxhub_counter_refused_total{reason=\"full\"}",
        "counter"},
    [HUB_M_CTR_ERRORS] = {"mxhub_counter_refused_total{reason=\"error\"}",
        "counter"},
    [HUB_M_STORE_ERRORS] = {"mxhub_store_errors_total", "counter"},
    [HUB_M_PENDING_FULL] = {"mxhub_changes_dropped_total", "counter"},
    [HUB_M_BATCHES] = {"mxhub_update_batches_total", "counter"},
    [HUB_M_RECORDS_OUT] = {"mxhub_update_records_total", "counter"},
    [HUB_M_OUTQ_DROPPED] = {"mxhub_update_batches_dropped_total", "counter"},
    [HUB_M_SNAPSHOTS] = {"mxhub_snapshots_total", "counter"},
    [HUB_M_SNAPSHOT_RECORDS] = {"mxhub_snapshot_records", "gauge"},
    [HUB_M_SEQ] = {"mxhub_update_seq", "gauge"},
    [HUB_M_EPOCH] = {"mxhub_update_epoch", "gauge"},
    [HUB_M_SNAPSHOT_MS] = {"mxhub_snapshot_unix_ms", "gauge"},
    [HUB_M_CONNECTED] = {"mxhub_broker_connected", "gauge"},
    [HUB_M_OBSERVE_HITS] = {"mxhub_observe_hits_total", "counter"},
    [HUB_M_BREAKER] = {"mxhub_breaker_revokes_total", "counter"},
    [HUB_M_PROMOTED] = {"mxhub_observe_promoted_total", "counter"},
    [HUB_M_STATUS] = {"mxhub_edge_status_total", "counter"},
    [HUB_M_BAD_STATUS] = {"mxhub_refused_total{reason=\"status\"}", "counter"},
    [HUB_M_SNAP_ASKED] = {"mxhub_snapshots_asked_total", "counter"},
    [HUB_M_SUBSCRIBED] = {"mxhub_broker_subscribed", "gauge"},
    [HUB_M_QUERIES] = {"mxhub_queries_total", "counter"},
    [HUB_M_QUERY_BAD] = {"mxhub_refused_total{reason=\"query\"}", "counter"},
    [HUB_M_QUERY_DENIED] = {"mxhub_refused_total{reason=\"query_auth\"}",
        "counter"},
};

/* hub_metrics_inc - one more */
void
hub_metrics_inc(enum hub_metric c)
{
	hub_metrics_ctr[c]++;
}

/* hub_metrics_add - n more */
void
hub_metrics_add(enum hub_metric c, int64_t n)
{
	hub_metrics_ctr[c] += n;
}

/* hub_metrics_set - a gauge's value */
void
hub_metrics_set(enum hub_metric c, int64_t v)
{
	hub_metrics_ctr[c] = v;
}

/* hub_metrics_get - current value */
int64_t
hub_metrics_get(enum hub_metric c)
{
	return hub_metrics_ctr[c];
}

/* hub_metrics_value - entry i of the table (mx_metrics_get_fn) */
static int64_t
hub_metrics_value(size_t i)
{
	return hub_metrics_ctr[i];
}

/* hub_metrics_render - the /metrics body */
static void
hub_metrics_render(struct evbuffer *out)
{
	mx_metrics_render(
	    out, hub_metrics_names, HUB_M__COUNT, hub_metrics_value);
}

static const struct mx_metrics_page hub_metrics_page = {
    hub_metrics_render, NULL};

/* hub_metrics_start - bind on the hub's loop */
int
hub_metrics_start(struct event_base *base, const char *addr)
{
	int rc;

	hub_metrics_http = mx_metrics_serve(base, addr, &hub_metrics_page, &rc);
	return hub_metrics_http != NULL ? 0 : rc;
}

/* hub_metrics_stop - close the endpoint */
void
hub_metrics_stop(void)
{
	mx_metrics_close(hub_metrics_http);
	hub_metrics_http = NULL;
}
