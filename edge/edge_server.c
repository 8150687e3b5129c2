/*
 * edge_server.c - mxedge process: listeners, worker threads, signals
 *
 * Every worker thread has its own libevent loop and its own listening
 * socket per listener, bound with SO_REUSEPORT, so the kernel spreads
 * connections over the workers and a new mxedge process can bind the same
 * ports while an old one drains (zero-interruption upgrade). The main
 * thread owns the signals: SIGTERM, SIGINT and SIGUSR2 stop accepting and
 * drain sessions (bounded by drain_time); SIGHUP reloads the
 * configuration; sessions keep the snapshot they started with. The
 * telemetry thread starts after the store and stops after the workers,
 * so it publishes every session's last event; SIGUSR2 (an upgrade)
 * leaves the retained status to the successor instead of saying offline.
 * The same thread applies the trusted hubs' updates to the store.
 * Trust: none beyond the configuration and the connecting address: a
 * connection to a proxy listener from a source outside proxy_trusted is
 * closed here, before a session exists (and so before it could send a
 * PROXY header); sessions handle peer input.
 */
#include "edge/edge_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>

#include "lib/mx_alloc.h"
#include "lib/mx_err.h"
#include "lib/mx_log.h"

#define EDGE_DRAIN_TICK_MS 100

struct edge_server edge_srv = {
    .lock = PTHREAD_MUTEX_INITIALIZER,
};

static int edge_server_argc;
static char **edge_server_argv;
static struct event_base *edge_server_base;

/* edge_server_conf - a reference on the current configuration */
struct edge_conf *
edge_server_conf(void)
{
	struct edge_conf *c;

	pthread_mutex_lock(&edge_srv.lock);
	c = edge_conf_ref(edge_srv.conf);
	pthread_mutex_unlock(&edge_srv.lock);
	return c;
}

/* edge_server_bind - one listening socket with SO_REUSEPORT */
static int
edge_server_bind(const struct edge_listen *l)
{
	int fd, one = 1;

	fd = socket(
	    l->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
	    (l->addr.ss_family == AF_INET6 &&
	        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) !=
	            0) ||
	    bind(fd, (const struct sockaddr *)&l->addr, l->addrlen) != 0 ||
	    listen(fd, 1024) != 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/*
 * edge_server_untrusted - a connection to a proxy listener from a source
 * not in proxy_trusted: closed before any byte is read or written. It
 * must never get to assert a client address, and no greeting tells a
 * scanner what listens here.
 */
static void
edge_server_untrusted(
    const struct edge_listen *l, evutil_socket_t fd, const struct sockaddr *sa)
{
	char host[INET6_ADDRSTRLEN] = "unknown";
	unsigned port = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
	}
	edge_metrics_inc(EDGE_C_CONN_REFUSED_PROXY);
	mx_info("REJECT client=[%s]:%u listen=%s reason=proxy_untrusted "
	        "action=close",
	    host, port, l->text);
	evutil_closesocket(fd);
}

/* edge_server_accept - a new connection on one of the worker's sockets */
static void
edge_server_accept(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct edge_worker *w = arg;
	struct edge_conf *c = edge_server_conf();
	size_t i;
	int one = 1, is_proxy = 0;

	for (i = 0; i < w->n_lev; i++) {
		if (w->lev[i] == lev) {
			is_proxy = i < c->n_listen && c->listen[i].is_proxy;
			break;
		}
	}
	/* only a trusted proxy may send the header that names the client */
	if (is_proxy &&
	    !edge_proxy_trusted(c->proxy_trusted, c->n_proxy_trusted, sa)) {
		edge_server_untrusted(&c->listen[i], fd, sa);
		edge_conf_unref(c);
		return;
	}
	edge_conf_unref(c);
	/* replies are small and must leave at once */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	edge_in_accept(w, fd, sa, salen, is_proxy);
}

/* edge_server_stop_listening - close this worker's listeners */
static void
edge_server_stop_listening(struct edge_worker *w)
{
	size_t i;

	for (i = 0; i < w->n_lev; i++) {
		if (w->lev[i] != NULL) {
			evconnlistener_free(w->lev[i]);
			w->lev[i] = NULL;
		}
	}
}

/* edge_server_drain_tick - in the worker: stop accepting, close idle */
static void
edge_server_drain_tick(evutil_socket_t fd, short what, void *arg)
{
	struct edge_worker *w = arg;

	(void)fd;
	(void)what;
	if (!w->is_draining) {
		w->is_draining = 1;
		edge_server_stop_listening(w);
	}
	edge_in_drain(w);
}

/* edge_server_worker_main - one worker's loop */
static void *
edge_server_worker_main(void *arg)
{
	struct edge_worker *w = arg;

	event_base_dispatch(w->base);
	edge_content_pool_drain();
	return NULL;
}

/* edge_server_worker_new - base, listeners and read handle for a worker */
static struct edge_worker *
edge_server_worker_new(const struct edge_conf *c, size_t index)
{
	struct edge_worker *w = mx_calloc(1, sizeof(*w));
	size_t i;

	w->index = index;
	{
		struct event_config *cfg = event_config_new();

		/* an event added and removed within one loop turn costs no
		 * epoll_ctl at all */
		if (cfg != NULL)
			event_config_set_flag(
			    cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
		w->base = cfg ? event_base_new_with_config(cfg) : NULL;
		if (cfg != NULL)
			event_config_free(cfg);
	}
	if (w->base == NULL)
		mx_fatal("event_base_new failed");
	for (i = 0; i < c->n_listen; i++) {
		int fd = edge_server_bind(&c->listen[i]);

		if (fd < 0)
			mx_fatal("listen %s: %s", c->listen[i].text,
			    strerror(errno));
		w->lev[i] = evconnlistener_new(w->base, edge_server_accept, w,
		    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd);
		if (w->lev[i] == NULL)
			mx_fatal("listen %s: evconnlistener_new failed",
			    c->listen[i].text);
	}
	w->n_lev = c->n_listen;
	w->drain_ev =
	    event_new(w->base, -1, EV_PERSIST, edge_server_drain_tick, w);
	if (edge_srv.store != NULL &&
	    proto_store_read_begin(edge_srv.store, &w->rtxn) == 0)
		proto_store_read_end(w->rtxn);
	return w;
}

/* edge_server_reload - SIGHUP: a new snapshot for new sessions */
static void
edge_server_reload(void)
{
	struct edge_conf *nc, *old;
	int check;
	size_t i;

	nc = edge_conf_load(edge_server_argc, edge_server_argv, &check);
	if (nc == NULL) {
		edge_metrics_inc(EDGE_C_RELOAD_FAILED);
		mx_warn("RELOAD_FAILED reason=\"configuration refused; the "
		        "running one stays\"");
		return;
	}
	pthread_mutex_lock(&edge_srv.lock);
	old = edge_srv.conf;
	/* listeners belong to the running process: changing them needs a
	 * new process (which an upgrade gives without losing mail) */
	if (nc->n_listen != old->n_listen)
		mx_warn("RELOAD listen=changed applied=no reason=\"listeners "
		        "change with a restart\"");
	for (i = 0; i < nc->n_listen && i < old->n_listen; i++)
		nc->listen[i] = old->listen[i];
	nc->n_listen = old->n_listen;
	edge_srv.conf = nc;
	pthread_mutex_unlock(&edge_srv.lock);
	mx_log_set_level(nc->verbose ? MX_LOG_DEBUG : MX_LOG_INFO);
	edge_conf_unref(old);
	edge_metrics_inc(EDGE_C_RELOADS);
	mx_notice("RELOAD routes=%zu max_size=%llu", nc->n_routes,
	    (unsigned long long)nc->max_size);
}

static struct event *edge_server_grace_ev; /* the accept grace's timer */
static int edge_server_grace_sig;          /* the signal it delays */

/* edge_server_drain_now - stop accepting in every worker, then drain */
static void
edge_server_drain_now(int sig)
{
	struct timeval tick = {0, EDGE_DRAIN_TICK_MS * 1000};
	size_t i;

	if (atomic_exchange(&edge_srv.draining, 1))
		return;
	mx_notice("DRAIN signal=%d sessions=%d", (int)sig,
	    atomic_load(&edge_srv.sessions));
	edge_metrics_set_draining();
	for (i = 0; i < edge_srv.n_workers; i++)
		event_add(edge_srv.workers[i]->drain_ev, &tick);
	for (i = 0; i < edge_srv.n_workers; i++)
		event_active(edge_srv.workers[i]->drain_ev, EV_TIMEOUT, 0);
}

/* edge_server_grace_end - the accept grace is over: drain */
static void
edge_server_grace_end(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	edge_server_drain_now(edge_server_grace_sig);
}

/* edge_server_signal - main-thread signal handler (libevent) */
static void
edge_server_signal(evutil_socket_t sig, short what, void *arg)
{
	struct edge_conf *c;
	uint64_t grace;

	(void)what;
	(void)arg;
	if (sig == SIGHUP) {
		edge_server_reload();
		return;
	}
	/* SIGUSR2 is the upgrade: a successor already serves the same
	 * ports and owns this edge's status */
	if (sig == SIGUSR2)
		atomic_store(&edge_srv.handover, 1);
	c = edge_server_conf();
	grace = c->drain_accept_time;
	edge_conf_unref(c);
	/*
	 * A listener closed while a load balancer still sends to it resets
	 * the connections queued on it. With drain_accept_time, a SIGTERM
	 * or SIGINT first turns /healthz to 503 and keeps taking sessions
	 * until the balancer has taken this edge out; a second signal, or
	 * SIGUSR2 (the successor is listening already), drains at once.
	 */
	if (sig != SIGUSR2 && grace > 0 && edge_server_grace_ev == NULL &&
	    !atomic_load(&edge_srv.draining)) {
		struct timeval tv = {
		    (time_t)(grace / 1000), (suseconds_t)(grace % 1000) * 1000};

		edge_server_grace_sig = (int)sig;
		edge_server_grace_ev =
		    evtimer_new(edge_server_base, edge_server_grace_end, NULL);
		if (edge_server_grace_ev != NULL &&
		    evtimer_add(edge_server_grace_ev, &tv) == 0) {
			edge_metrics_set_draining();
			mx_notice("DRAIN_GRACE signal=%d accept_time=%llums",
			    (int)sig, (unsigned long long)grace);
			return;
		}
	}
	edge_server_drain_now((int)sig);
}

/* edge_server_watch - while draining: exit when idle or out of time */
static void
edge_server_watch(evutil_socket_t fd, short what, void *arg)
{
	static uint64_t drain_start;
	struct edge_conf *c;
	struct timespec ts;
	uint64_t now;

	(void)fd;
	(void)what;
	(void)arg;
	if (!atomic_load(&edge_srv.draining))
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	if (drain_start == 0)
		drain_start = now;
	c = edge_server_conf();
	if (atomic_load(&edge_srv.sessions) == 0 ||
	    now - drain_start >= c->drain_time) {
		mx_notice(
		    "STOP sessions_left=%d", atomic_load(&edge_srv.sessions));
		event_base_loopexit(edge_server_base, NULL);
	}
	edge_conf_unref(c);
}

/* edge_server_retired_one - warn about a hub with a position, no key */
static int
edge_server_retired_one(
    void *arg, const char *hub_id, uint64_t epoch, uint64_t seq)
{
	const struct edge_conf *c = arg;
	size_t i;

	for (i = 0; i < c->n_hub_keys; i++)
		if (strcmp(c->hub_keys[i].id, hub_id) == 0)
			return 0;
	mx_warn("HUB_RETIRED hub=%s epoch=%llu seq=%llu: no hub_key trusts "
	        "it; its records stay in the cache until: mxcache -d %s "
	        "forget-hub %s",
	    hub_id, (unsigned long long)epoch, (unsigned long long)seq,
	    c->data_dir, hub_id);
	return 0;
}

/*
 * edge_server_retired - once at start: hubs whose records this cache
 * holds but that no hub_key trusts any more (their records would stay
 * for good)
 */
static void
edge_server_retired(const struct edge_conf *c)
{
	struct proto_txn *t = NULL;
	int rc;

	if ((rc = proto_store_read_begin(edge_srv.store, &t)) == 0) {
		rc =
		    proto_store_each_pos(t, edge_server_retired_one, (void *)c);
		proto_store_read_free(t);
	}
	if (rc != 0)
		mx_warn("data_dir %s: cannot list the hubs' positions: %s",
		    c->data_dir, mx_strerror(rc));
}

/* edge_server_open_store - the LMDB cache, creating its directory */
static int
edge_server_open_store(const struct edge_conf *c)
{
	struct proto_store_opts o;
	int rc;

	if (mkdir(c->data_dir, 0700) != 0 && errno != EEXIST) {
		mx_err("data_dir %s: %s", c->data_dir, strerror(errno));
		return -1;
	}
	memset(&o, 0, sizeof(o));
	o.map_bytes = c->map_size;
	o.max_readers = EDGE_WORKERS_MAX + 16;
	o.no_sync = 1; /* the cache can be rebuilt from a snapshot */
	rc = proto_store_open(c->data_dir, &o, &edge_srv.store);
	if (rc != 0) {
		mx_err("data_dir %s: cannot open the LMDB cache: %s",
		    c->data_dir, mx_strerror(rc));
		return -1;
	}
	edge_server_retired(c);
	return 0;
}

/*
 * edge_server_updates - the receiver of the trusted hubs' updates, with
 * copies of their keys (the configuration snapshot may go on a reload);
 * NULL without hub keys
 */
static struct edge_upd *
edge_server_updates(const struct edge_conf *c)
{
	uint8_t raw[PROTO_PUBKEY_LEN];
	const struct edge_hub_key *h;
	struct edge_upd *u;
	struct proto_key *k;
	size_t i, j;

	if (c->n_hub_keys == 0)
		return NULL;
	u = edge_upd_new(edge_srv.store, c->snapshot_max);
	for (i = 0; i < c->n_hub_keys; i++) {
		h = &c->hub_keys[i];
		for (j = 0; j < h->n_keys; j++) {
			k = NULL;
			if (proto_key_public_raw(h->keys[j], raw) != 0 ||
			    proto_key_from_public_raw(raw, &k) != 0 ||
			    edge_upd_trust(u, h->id, k) != 0)
				mx_fatal(
				    "hub_key %s: cannot use the key", h->id);
		}
		mx_notice("UPDATES hub=%s keys=%zu topics=mxs/v1/updates/%s,"
		          "mxs/v1/snapshot/%s/+",
		    h->id, h->n_keys, h->id, h->id);
	}
	return u;
}

/*
 * edge_server_telemetry - start the MQTT thread when a broker is set,
 * with the hubs' updates when hub keys are. Broker settings and hub keys
 * are read here, once: SIGHUP does not reconnect.
 */
static void
edge_server_telemetry(const struct edge_conf *c)
{
	struct edge_tel_conf tc;
	int rc;

	if (c->broker_host[0] == '\0') {
		mx_info("TELEMETRY off reason=\"no broker configured\"");
		if (c->n_hub_keys > 0)
			mx_warn("UPDATES off hubs=%zu reason=\"no broker "
			        "configured\"",
			    c->n_hub_keys);
		return;
	}
	memset(&tc, 0, sizeof(tc));
	snprintf(tc.broker_host, sizeof(tc.broker_host), "%s", c->broker_host);
	tc.broker_port = c->broker_port;
	snprintf(tc.edge_id, sizeof(tc.edge_id), "%s", c->edge_id);
	snprintf(tc.pop, sizeof(tc.pop), "%s", c->pop);
	tc.cafile = c->broker_cafile;
	tc.certfile = c->broker_certfile;
	tc.keyfile = c->broker_keyfile;
	tc.username = c->broker_username;
	tc.password = c->broker_password;
	tc.queue_max = (size_t)c->telemetry_queue;
	tc.queue_bytes_max = c->telemetry_queue_bytes;
	tc.batch_max = (size_t)c->telemetry_batch;
	tc.flush_ms = c->telemetry_flush_time;
	tc.status_ms = c->status_interval;
	if (c->rcpt_salt_len > 0) {
		memcpy(tc.salt, c->rcpt_salt, c->rcpt_salt_len);
		tc.salt_len = c->rcpt_salt_len;
	} else {
		/* hashes still hide the local parts, but only match within
		 * this process: the hub cannot count one recipient across
		 * edges or restarts */
		tc.salt_len = 32;
		if (getrandom(tc.salt, tc.salt_len, 0) != (ssize_t)tc.salt_len)
			mx_fatal("telemetry: no random bytes for the salt");
		mx_warn("TELEMETRY_SALT source=random reason=\"rcpt_salt_file "
		        "not set: recipient hashes will not match those of "
		        "other edges or of this edge after a restart\"");
	}
	tc.upd = edge_server_updates(c);
	rc = edge_tel_start(&tc);
	explicit_bzero(tc.salt, sizeof(tc.salt));
	if (rc != 0)
		mx_fatal("telemetry: cannot start the MQTT client for %s: %s",
		    c->broker, mx_strerror(rc));
}

/* edge_server_run - the process from start to exit */
int
edge_server_run(struct edge_conf *conf)
{
	static const int sigs[] = {SIGTERM, SIGINT, SIGUSR2, SIGHUP};
	struct event *sev[4], *watch;
	struct timeval tick = {0, EDGE_DRAIN_TICK_MS * 1000};
	size_t i, n;
	long cores;

	edge_srv.conf = conf;
	if (edge_server_open_store(conf) != 0)
		return 1;
	if (edge_rcache_start(edge_srv.store, conf->rcpt_cache_max) != 0)
		mx_fatal("cannot start the recipient cache writer");
	edge_server_telemetry(conf);
	if (conf->metrics[0] != '\0' && edge_metrics_start(conf->metrics) != 0)
		mx_fatal("metrics %s: cannot listen", conf->metrics);
	cores = sysconf(_SC_NPROCESSORS_ONLN);
	n = conf->workers > 0 ? conf->workers : (cores > 0 ? (size_t)cores : 1);
	if (n > EDGE_WORKERS_MAX)
		n = EDGE_WORKERS_MAX;
	for (i = 0; i < n; i++)
		edge_srv.workers[i] = edge_server_worker_new(conf, i);
	edge_srv.n_workers = n;

	edge_server_base = event_base_new();
	if (edge_server_base == NULL)
		mx_fatal("event_base_new failed");
	for (i = 0; i < 4; i++) {
		sev[i] = evsignal_new(
		    edge_server_base, sigs[i], edge_server_signal, NULL);
		event_add(sev[i], NULL);
	}
	watch = event_new(
	    edge_server_base, -1, EV_PERSIST, edge_server_watch, NULL);
	event_add(watch, &tick);
	for (i = 0; i < n; i++)
		if (pthread_create(&edge_srv.workers[i]->thread, NULL,
		        edge_server_worker_main, edge_srv.workers[i]) != 0)
			mx_fatal("cannot start worker %zu", i);
	for (i = 0; i < conf->n_listen; i++)
		mx_notice("READY listen=%s proxy=%d workers=%zu version=%s",
		    conf->listen[i].text, conf->listen[i].is_proxy, n,
		    EDGE_VERSION);

	event_base_dispatch(edge_server_base);

	for (i = 0; i < n; i++)
		event_base_loopexit(edge_srv.workers[i]->base, NULL);
	for (i = 0; i < n; i++) {
		struct edge_worker *w = edge_srv.workers[i];

		pthread_join(w->thread, NULL);
		edge_server_stop_listening(w);
		event_free(w->drain_ev);
		if (w->rtxn != NULL)
			proto_store_read_free(w->rtxn);
		/* sessions still open past drain_time are cut here */
		while (w->sessions != NULL)
			edge_in_destroy(w->sessions);
		event_base_free(w->base);
		mx_free(w);
	}
	/* every session has ended and submitted its event: flush them */
	edge_tel_stop(!atomic_load(&edge_srv.handover));
	for (i = 0; i < 4; i++)
		event_free(sev[i]);
	event_free(watch);
	if (edge_server_grace_ev != NULL)
		event_free(edge_server_grace_ev);
	edge_server_grace_ev = NULL;
	event_base_free(edge_server_base);
	edge_metrics_stop();
	edge_rcache_stop();
	proto_store_close(edge_srv.store);
	edge_conf_unref(edge_srv.conf);
	return 0;
}

/* edge_server_set_args - keep argv for SIGHUP reloads */
void
edge_server_set_args(int argc, char **argv)
{
	edge_server_argc = argc;
	edge_server_argv = argv;
}
