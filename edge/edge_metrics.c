/*
 * edge_metrics.c - counters and the /metrics, /healthz endpoint
 *
 * Counters are process-wide relaxed atomics: every reject, limit hit and
 * downstream fault increments one, so no path is silent. A thread of its
 * own serves them in Prometheus text format with libevent's evhttp, on a
 * loopback address by default.
 * Trust: HTTP requests come from whoever reaches the metrics address;
 * evhttp bounds headers and bodies (set below) and only GET of two paths
 * is answered.
 */
#include "edge/edge_int.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>

#include "lib/mx_err.h"
#include "lib/mx_log.h"
#include "lib/mx_metrics.h"

static _Atomic int64_t edge_metrics_ctr[EDGE_C__COUNT];
static _Atomic uint64_t edge_metrics_lat[EDGE_LAT_BUCKETS + 1];
static _Atomic uint64_t edge_metrics_lat_sum;
static atomic_int edge_metrics_draining;

/* bucket upper bounds, microseconds */
static const uint64_t edge_metrics_lat_le[EDGE_LAT_BUCKETS] = {
    100,
    250,
    500,
    1000,
    2500,
    5000,
    10000,
    25000,
    50000,
    100000,
    250000,
    500000,
    1000000,
    2500000,
    5000000,
    10000000,
};

/* name and help of each counter; the order follows enum edge_ctr */
static const struct mx_metric_def edge_metrics_names[EDGE_C__COUNT] = {
    [EDGE_C_CONN_ACCEPTED] = {"mxedge_connections_total{result=\"accepted\"}",
        "counter"},
    [EDGE_C_CONN_REFUSED_PER_IP] =
        {"mxedge_connections_total{result=\"refused_per_ip\"}", "counter"},
    [EDGE_C_CONN_REFUSED_MAX] =
        {"mxedge_connections_total{result=\"refused_max_sessions\"}",
            "counter"},
    [EDGE_C_CONN_REFUSED_PROXY] =
        {"mxedge_connections_total{result=\"refused_proxy_untrusted\"}",
            "counter"},
    [EDGE_C_SESSIONS_OPEN] = {"mxedge_sessions_open", "gauge"},
    [EDGE_C_TXN_ACCEPTED] = {"mxedge_transactions_total{verdict=\"accepted\"}",
        "counter"},
    [EDGE_C_TXN_REJECTED] = {"mxedge_transactions_total{verdict=\"rejected\"}",
        "counter"},
    [EDGE_C_TXN_TEMPFAILED] =
        {"mxedge_transactions_total{verdict=\"tempfailed\"}", "counter"},
    [EDGE_C_TXN_DS_REFUSED] =
        {"mxedge_transactions_total{verdict=\"destination_refused\"}",
            "counter"},
    [EDGE_C_TXN_FAILED] = {"mxedge_transactions_total{verdict=\"failed\"}",
        "counter"},
    [EDGE_C_RCPT_FORWARDED] = {"mxedge_recipients_total{result=\"forwarded\"}",
        "counter"},
    [EDGE_C_RCPT_CACHE_REFUSED] =
        {"mxedge_recipients_total{result=\"cache_unknown\"}", "counter"},
    [EDGE_C_RCPT_RELAY_DENIED] =
        {"mxedge_recipients_total{result=\"relay_denied\"}", "counter"},
    [EDGE_C_RCPT_OTHER_ROUTE] =
        {"mxedge_recipients_total{result=\"other_route\"}", "counter"},
    [EDGE_C_RCPT_TOO_MANY] = {"mxedge_recipients_total{result=\"too_many\"}",
        "counter"},
    [EDGE_C_BYTES_IN] = {"mxedge_message_bytes_total{dir=\"in\"}", "counter"},
    [EDGE_C_BYTES_OUT] = {"mxedge_message_bytes_total{dir=\"out\"}", "counter"},
    [EDGE_C_DS_CONNECT] = {"mxedge_downstream_errors_total{kind=\"connect\"}",
        "counter"},
    [EDGE_C_DS_TIMEOUT] = {"mxedge_downstream_errors_total{kind=\"timeout\"}",
        "counter"},
    [EDGE_C_DS_RESET] = {"mxedge_downstream_errors_total{kind=\"reset\"}",
        "counter"},
    [EDGE_C_DS_TLS] = {"mxedge_downstream_errors_total{kind=\"tls\"}",
        "counter"},
    [EDGE_C_DS_PROTO] = {"mxedge_downstream_errors_total{kind=\"protocol\"}",
        "counter"},
    [EDGE_C_DS_REPLY_4XX] =
        {"mxedge_downstream_errors_total{kind=\"reply_4xx\"}", "counter"},
    [EDGE_C_DS_REPLY_5XX] =
        {"mxedge_downstream_errors_total{kind=\"reply_5xx\"}", "counter"},
    [EDGE_C_REJ_LINE_TOO_LONG] =
        {"mxedge_rejects_total{reason=\"line_too_long\"}", "counter"},
    [EDGE_C_REJ_SYNTAX] = {"mxedge_rejects_total{reason=\"syntax\"}",
        "counter"},
    [EDGE_C_REJ_BAD_SEQUENCE] =
        {"mxedge_rejects_total{reason=\"bad_sequence\"}", "counter"},
    [EDGE_C_REJ_UNKNOWN_CMD] =
        {"mxedge_rejects_total{reason=\"unknown_command\"}", "counter"},
    [EDGE_C_REJ_TOO_MANY_ERRORS] =
        {"mxedge_rejects_total{reason=\"too_many_errors\"}", "counter"},
    [EDGE_C_REJ_TIMEOUT] = {"mxedge_rejects_total{reason=\"timeout\"}",
        "counter"},
    [EDGE_C_REJ_SIZE] = {"mxedge_rejects_total{reason=\"size\"}", "counter"},
    [EDGE_C_REJ_BARE_NEWLINE] =
        {"mxedge_rejects_total{reason=\"bare_newline\"}", "counter"},
    [EDGE_C_REJ_NUL] = {"mxedge_rejects_total{reason=\"nul\"}", "counter"},
    [EDGE_C_REJ_DATA_LINE] = {"mxedge_rejects_total{reason=\"data_line\"}",
        "counter"},
    [EDGE_C_REJ_PROXY] = {"mxedge_rejects_total{reason=\"proxy\"}", "counter"},
    [EDGE_C_REJ_TLS] = {"mxedge_rejects_total{reason=\"tls\"}", "counter"},
    [EDGE_C_CF_MIME_BROKEN] =
        {"mxedge_content_flags_total{flag=\"mime_broken\"}", "counter"},
    [EDGE_C_CF_UNCLOSED] = {"mxedge_content_flags_total{flag=\"unclosed\"}",
        "counter"},
    [EDGE_C_CF_BOUNDARY_UNSEEN] =
        {"mxedge_content_flags_total{flag=\"boundary_unseen\"}", "counter"},
    [EDGE_C_CF_HDR_BROKEN] = {"mxedge_content_flags_total{flag=\"hdr_broken\"}",
        "counter"},
    [EDGE_C_CF_TOO_MANY_PARTS] =
        {"mxedge_content_flags_total{flag=\"too_many_parts\"}", "counter"},
    [EDGE_C_CF_TOO_DEEP] = {"mxedge_content_flags_total{flag=\"too_deep\"}",
        "counter"},
    [EDGE_C_CF_HDR_TRUNCATED] =
        {"mxedge_content_flags_total{flag=\"hdr_truncated\"}", "counter"},
    [EDGE_C_CF_BAD_B64] = {"mxedge_content_flags_total{flag=\"bad_b64\"}",
        "counter"},
    [EDGE_C_CF_HTML_ONLY] = {"mxedge_content_flags_total{flag=\"html_only\"}",
        "counter"},
    [EDGE_C_CF_HAS_EXEC] = {"mxedge_content_flags_total{flag=\"has_exec\"}",
        "counter"},
    [EDGE_C_CF_HAS_SCRIPT] = {"mxedge_content_flags_total{flag=\"has_script\"}",
        "counter"},
    [EDGE_C_CF_HAS_MACRO] = {"mxedge_content_flags_total{flag=\"has_macro\"}",
        "counter"},
    [EDGE_C_CF_HAS_ARCHIVE] =
        {"mxedge_content_flags_total{flag=\"has_archive\"}", "counter"},
    [EDGE_C_CF_NAME_MISMATCH] =
        {"mxedge_content_flags_total{flag=\"name_mismatch\"}", "counter"},
    [EDGE_C_CF_URLS_TRUNCATED] =
        {"mxedge_content_flags_total{flag=\"urls_truncated\"}", "counter"},
    [EDGE_C_CF_ATTACH_TRUNCATED] =
        {"mxedge_content_flags_total{flag=\"attach_truncated\"}", "counter"},
    [EDGE_C_CF_BAD_BOUNDARY] =
        {"mxedge_content_flags_total{flag=\"bad_boundary\"}", "counter"},
    [EDGE_C_CONTENT_LITE] = {"mxedge_filter_degraded_total{layer=\"content\"}",
        "counter"},
    [EDGE_C_CF_LITE] = {"mxedge_content_flags_total{flag=\"lite\"}", "counter"},
    [EDGE_C_BARE_NL_NORMALIZED] = {"mxedge_bare_newline_normalized_total",
        "counter"},
    [EDGE_C_REJ_STARTTLS_PIPE] =
        {"mxedge_rejects_total{reason=\"starttls_pipelining\"}", "counter"},
    [EDGE_C_REJ_NO_TLS_NEEDED] =
        {"mxedge_rejects_total{reason=\"tls_required\"}", "counter"},
    [EDGE_C_TLS_INBOUND] = {"mxedge_tls_sessions_total{dir=\"inbound\"}",
        "counter"},
    [EDGE_C_TLS_OUTBOUND] = {"mxedge_tls_sessions_total{dir=\"outbound\"}",
        "counter"},
    [EDGE_C_RCACHE_WRITE_DROPPED] = {"mxedge_rcpt_cache_writes_dropped_total",
        "counter"},
    [EDGE_C_RCACHE_FULL] = {"mxedge_rcpt_cache_full_total", "counter"},
    [EDGE_C_RELOADS] = {"mxedge_reloads_total{result=\"ok\"}", "counter"},
    [EDGE_C_RELOAD_FAILED] = {"mxedge_reloads_total{result=\"failed\"}",
        "counter"},
    [EDGE_C_TEL_EVENTS] = {"mxedge_telemetry_events_total{result=\"built\"}",
        "counter"},
    [EDGE_C_TEL_SENT] = {"mxedge_telemetry_events_total{result=\"sent\"}",
        "counter"},
    [EDGE_C_TEL_DROPPED] = {"mxedge_telemetry_events_total{result=\"dropped\"}",
        "counter"},
    [EDGE_C_TEL_BATCHES] = {"mxedge_telemetry_batches_total", "counter"},
    [EDGE_C_MQTT_CONNECTS] = {"mxedge_mqtt_connects_total", "counter"},
    [EDGE_C_TEL_QUEUED] = {"mxedge_telemetry_queue_events", "gauge"},
    [EDGE_C_MQTT_CONNECTED] = {"mxedge_mqtt_connected", "gauge"},
    [EDGE_C_LAYER_FAIL_IP] = {"mxedge_filter_failures_total{layer=\"ip\"}",
        "counter"},
    [EDGE_C_LAYER_FAIL_GEO] = {"mxedge_filter_failures_total{layer=\"geo\"}",
        "counter"},
    [EDGE_C_LAYER_FAIL_PROTOCOL] =
        {"mxedge_filter_failures_total{layer=\"protocol\"}", "counter"},
    [EDGE_C_LAYER_FAIL_ENVELOPE] =
        {"mxedge_filter_failures_total{layer=\"envelope\"}", "counter"},
    [EDGE_C_LAYER_FAIL_CONTENT] =
        {"mxedge_filter_failures_total{layer=\"content\"}", "counter"},
    [EDGE_C_LAYER_FAIL_POLICY] =
        {"mxedge_filter_failures_total{layer=\"policy\"}", "counter"},
    [EDGE_C_FILTER_OBSERVED] = {"mxedge_filter_observed_hits_total", "counter"},
    [EDGE_C_RCPT_DIR] =
        {"mxedge_recipients_total{result=\"directory_unknown\"}", "counter"},
    [EDGE_C_RCPT_TRAP] = {"mxedge_recipients_total{result=\"spam_trap\"}",
        "counter"},
    [EDGE_C_REJ_POLICY_CONNECT] =
        {"mxedge_rejects_total{reason=\"policy_connect\"}", "counter"},
    [EDGE_C_REJ_POLICY_ENVELOPE] =
        {"mxedge_rejects_total{reason=\"policy_envelope\"}", "counter"},
    [EDGE_C_TXN_TAGGED] = {"mxedge_transactions_tagged_total", "counter"},
    [EDGE_C_UPD_APPLIED] = {"mxedge_updates_total{result=\"applied\"}",
        "counter"},
    [EDGE_C_UPD_STALE] = {"mxedge_updates_total{result=\"stale\"}", "counter"},
    [EDGE_C_UPD_GAP] = {"mxedge_updates_total{result=\"gap\"}", "counter"},
    [EDGE_C_UPD_DEFERRED] = {"mxedge_updates_total{result=\"deferred\"}",
        "counter"},
    [EDGE_C_UPD_FORGED] = {"mxedge_updates_total{result=\"forged\"}",
        "counter"},
    [EDGE_C_UPD_UNTRUSTED] = {"mxedge_updates_total{result=\"untrusted\"}",
        "counter"},
    [EDGE_C_UPD_MALFORMED] = {"mxedge_updates_total{result=\"malformed\"}",
        "counter"},
    [EDGE_C_UPD_REFUSED] = {"mxedge_updates_total{result=\"refused\"}",
        "counter"},
    [EDGE_C_UPD_FAILED] = {"mxedge_updates_total{result=\"failed\"}",
        "counter"},
    [EDGE_C_UPD_CHUNK_KEPT] = {"mxedge_updates_total{result=\"chunk_kept\"}",
        "counter"},
    [EDGE_C_UPD_SNAP_LOADED] =
        {"mxedge_updates_total{result=\"snapshot_loaded\"}", "counter"},
    [EDGE_C_UPD_SNAP_REFUSED] =
        {"mxedge_updates_total{result=\"snapshot_refused\"}", "counter"},
    [EDGE_C_UPD_IGNORED] = {"mxedge_updates_total{result=\"ignored\"}",
        "counter"},
    [EDGE_C_UPD_BUF_DROPPED] = {"mxedge_update_buffer_dropped_total",
        "counter"},
    [EDGE_C_UPD_BUFFERED] = {"mxedge_update_buffer_batches", "gauge"},
    [EDGE_C_UPD_RECORDS] = {"mxedge_update_records_total", "counter"},
    [EDGE_C_SNAP_LOADED] = {"mxedge_snapshots_total{result=\"loaded\"}",
        "counter"},
    [EDGE_C_SNAP_REFUSED] = {"mxedge_snapshots_total{result=\"refused\"}",
        "counter"},
    [EDGE_C_SNAP_FAILED] = {"mxedge_snapshots_total{result=\"failed\"}",
        "counter"},
    [EDGE_C_SNAP_RECORDS] = {"mxedge_snapshot_records_total", "counter"},
};

static struct event_base *edge_metrics_base;
static struct evhttp *edge_metrics_http;
static pthread_t edge_metrics_thread;
static int edge_metrics_running;

/* edge_metrics_add - add to a counter */
void
edge_metrics_add(enum edge_ctr c, int64_t n)
{
	atomic_fetch_add_explicit(
	    &edge_metrics_ctr[c], n, memory_order_relaxed);
}

/* edge_metrics_get - read a counter */
int64_t
edge_metrics_get(enum edge_ctr c)
{
	return atomic_load_explicit(&edge_metrics_ctr[c], memory_order_relaxed);
}

/* edge_metrics_latency - one end-of-data latency sample */
void
edge_metrics_latency(uint64_t us)
{
	size_t i = 0;

	while (i < EDGE_LAT_BUCKETS && us > edge_metrics_lat_le[i])
		i++;
	atomic_fetch_add_explicit(
	    &edge_metrics_lat[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(
	    &edge_metrics_lat_sum, us, memory_order_relaxed);
}

/* edge_metrics_set_draining - /healthz turns 503 */
void
edge_metrics_set_draining(void)
{
	atomic_store(&edge_metrics_draining, 1);
}

/* edge_metrics_value - entry i of the table (mx_metrics_get_fn) */
static int64_t
edge_metrics_value(size_t i)
{
	return edge_metrics_get((enum edge_ctr)i);
}

/* edge_metrics_render - the counters, then the end-of-data histogram */
static void
edge_metrics_render(struct evbuffer *out)
{
	uint64_t cum = 0;
	size_t i;

	mx_metrics_render(
	    out, edge_metrics_names, EDGE_C__COUNT, edge_metrics_value);
	evbuffer_add_printf(
	    out, "# TYPE mxedge_end_of_data_seconds histogram\n");
	for (i = 0; i < EDGE_LAT_BUCKETS; i++) {
		cum += atomic_load(&edge_metrics_lat[i]);
		evbuffer_add_printf(out,
		    "mxedge_end_of_data_seconds_bucket{le=\"%g\"} %llu\n",
		    (double)edge_metrics_lat_le[i] / 1e6,
		    (unsigned long long)cum);
	}
	cum += atomic_load(&edge_metrics_lat[EDGE_LAT_BUCKETS]);
	evbuffer_add_printf(out,
	    "mxedge_end_of_data_seconds_bucket{le=\"+Inf\"} %llu\n"
	    "mxedge_end_of_data_seconds_sum %g\n"
	    "mxedge_end_of_data_seconds_count %llu\n",
	    (unsigned long long)cum,
	    (double)atomic_load(&edge_metrics_lat_sum) / 1e6,
	    (unsigned long long)cum);
}

/* edge_metrics_is_draining - /healthz says 503 while draining */
static int
edge_metrics_is_draining(void)
{
	return atomic_load(&edge_metrics_draining);
}

static const struct mx_metrics_page edge_metrics_page = {
    edge_metrics_render, edge_metrics_is_draining};

/* edge_metrics_main - the metrics thread */
static void *
edge_metrics_main(void *arg)
{
	(void)arg;
	event_base_dispatch(edge_metrics_base);
	return NULL;
}

/* edge_metrics_start - bind and serve from a thread of its own */
int
edge_metrics_start(const char *addr)
{
	int rc = MX_EIO;

	edge_metrics_base = event_base_new();
	if (edge_metrics_base == NULL)
		return MX_EIO;
	edge_metrics_http =
	    mx_metrics_serve(edge_metrics_base, addr, &edge_metrics_page, &rc);
	if (edge_metrics_http == NULL)
		goto fail;
	if (pthread_create(
	        &edge_metrics_thread, NULL, edge_metrics_main, NULL) != 0) {
		rc = MX_EIO;
		goto fail;
	}
	edge_metrics_running = 1;
	return 0;
fail:
	mx_metrics_close(edge_metrics_http);
	edge_metrics_http = NULL;
	event_base_free(edge_metrics_base);
	edge_metrics_base = NULL;
	return rc;
}

/* edge_metrics_stop - stop the thread and free */
void
edge_metrics_stop(void)
{
	if (!edge_metrics_running)
		return;
	event_base_loopbreak(edge_metrics_base);
	pthread_join(edge_metrics_thread, NULL);
	mx_metrics_close(edge_metrics_http);
	event_base_free(edge_metrics_base);
	edge_metrics_running = 0;
}
